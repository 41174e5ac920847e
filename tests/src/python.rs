//! The Python `websockets` library as a peer: an independent implementation
//! (`tests/peers/websockets_server.py`), with and without TLS.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::Command;

use crate::peer::Peer;
pub use crate::peer::{PeerClose, PeerEnd};

/// A running `websockets` server on `127.0.0.1`; stopped when dropped.
pub struct PythonPeer(Peer);

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
        PythonPeer(Peer::spawn("python websockets server", command, scheme))
    }
}

impl Deref for PythonPeer {
    type Target = Peer;

    fn deref(&self) -> &Peer {
        &self.0
    }
}

impl DerefMut for PythonPeer {
    fn deref_mut(&mut self) -> &mut Peer {
        &mut self.0
    }
}
