//! The peer servers of the end-to-end tests that another project wrote: the
//! Python `websockets` library ([`crate::python`]) and node's `ws`
//! ([`crate::node_ws`]). Both speak the same small protocol on their output
//! (`READY <port>`, then a JSON line per connection that ended), read here.

use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

use crate::process::Process;

/// A running peer server on `127.0.0.1`; stopped when dropped.
pub struct Peer {
    port: u16,
    scheme: &'static str,
    process: Process,
}

/// How a connection to the peer ended: the close frame the client sent.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct PeerClose {
    pub path: String,
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
}

/// How a connection to the peer ended, and how many data messages it
/// received (on `/echo` and `/delay`; `ws_server.cjs` counts them on every
/// path).
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct PeerEnd {
    #[serde(flatten)]
    pub close: PeerClose,
    pub messages: u64,
}

impl Peer {
    /// Starts `command`, a server that prints `READY <port>` once it listens
    /// on 127.0.0.1 and then one JSON line per connection that ended (see
    /// [`PeerEnd`]), serving `scheme` (`ws` or `wss`).
    pub fn spawn(name: &str, command: Command, scheme: &'static str) -> Peer {
        let mut process = Process::spawn(name, command);
        let port = process.wait_for_line(Duration::from_secs(60), |line| {
            line.strip_prefix("READY ")?.parse().ok()
        });
        Peer {
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
