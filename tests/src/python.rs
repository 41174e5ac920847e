//! The Python `websockets` library as a peer: an independent implementation
//! (`tests/peers/websockets_server.py`), with and without TLS.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

use crate::process::Process;

/// A running `websockets` server on `127.0.0.1`; stopped when dropped.
pub struct PythonPeer {
    port: u16,
    scheme: &'static str,
    process: Process,
}

/// How a connection to the Python server ended: the close frame the client sent.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct PeerClose {
    pub path: String,
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
}

/// How a connection to the Python server ended, and how many data messages
/// it received (on `/echo` and `/delay`).
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct PeerEnd {
    #[serde(flatten)]
    pub close: PeerClose,
    pub messages: u64,
}

impl PythonPeer {
    /// Serves `ws://`.
    pub fn start() -> PythonPeer {
        PythonPeer::spawn(&[], "ws")
    }

    /// Serves `wss://` with a certificate chain and key (PEM files).
    pub fn start_tls(cert: &Path, key: &Path) -> PythonPeer {
        PythonPeer::spawn(
            &[
                "--cert".as_ref(),
                cert.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
            ],
            "wss",
        )
    }

    fn spawn(args: &[&std::ffi::OsStr], scheme: &'static str) -> PythonPeer {
        let mut command = Command::new(crate::repo_path(".venv/bin/python"));
        command
            .arg("-u")
            .arg(crate::repo_path("tests/peers/websockets_server.py"))
            .args(args);
        let mut process = Process::spawn("python websockets server", command);
        let port = process.wait_for_line(Duration::from_secs(60), |line| {
            line.strip_prefix("READY ")?.parse().ok()
        });
        PythonPeer {
            port,
            scheme,
            process,
        }
    }

    /// `ws://127.0.0.1:PORT<target>` (or `wss://`).
    pub fn url(&self, target: &str) -> String {
        format!("{}://127.0.0.1:{}{target}", self.scheme, self.port)
    }

    /// `<scheme>://<host>:PORT<target>`: the same server under another host name.
    pub fn url_with_host(&self, host: &str, target: &str) -> String {
        format!("{}://{host}:{}{target}", self.scheme, self.port)
    }

    /// Waits until `n` connections ended (within 120 s) and returns the
    /// close frame the client sent on each, in the order they ended.
    pub fn wait_for_closes(&mut self, n: usize) -> Vec<PeerClose> {
        let closes = std::cell::RefCell::new(Vec::with_capacity(n));
        self.process
            .wait_for_line(Duration::from_secs(120), |line| {
                let close: PeerClose = serde_json::from_str(line).ok()?;
                let mut closes = closes.borrow_mut();
                closes.push(close);
                (closes.len() >= n).then_some(())
            });
        closes.into_inner()
    }

    /// Waits for the first connection to end and returns the close frame
    /// the client sent on it.
    pub fn wait_for_close(&mut self) -> PeerClose {
        self.wait_for_end().close
    }

    /// Waits for the first connection to end and returns the close frame
    /// the client sent on it and how many messages it received.
    pub fn wait_for_end(&mut self) -> PeerEnd {
        self.process.wait_for_line(Duration::from_secs(60), |line| {
            serde_json::from_str(line).ok()
        })
    }
}
