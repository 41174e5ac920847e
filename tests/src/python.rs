//! The Python `websockets` library as a peer: an independent implementation
//! (`tests/peers/websockets_server.py`), with and without TLS.

use std::path::Path;
use std::process::Command;

use crate::peer::Peer;

/// The `websockets` server on `127.0.0.1`, started as a [`Peer`] (stopped
/// when dropped).
pub enum PythonPeer {}

impl PythonPeer {
    /// Serves `ws://`.
    pub fn start() -> Peer {
        PythonPeer::spawn(&[], "ws")
    }

    /// Serves `wss://` with a certificate chain and key (PEM files).
    pub fn start_tls(cert: &Path, key: &Path) -> Peer {
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

    fn spawn(args: &[&std::ffi::OsStr], scheme: &'static str) -> Peer {
        let mut command = Command::new(crate::repo_path(".venv/bin/python"));
        command
            .arg("-u")
            .arg(crate::repo_path("tests/peers/websockets_server.py"))
            .args(args);
        Peer::spawn("python websockets server", command, scheme)
    }
}
