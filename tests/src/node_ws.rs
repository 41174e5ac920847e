//! Node's `ws` library as a peer (`tests/peers/ws_server.cjs`, `ws` pinned in
//! `tests/jco/package.json`): a second implementation that shares no code
//! with tungstenite, and one that sends a message as fragments when asked
//! (`/fragments`).

use std::process::Command;

use crate::peer::Peer;

/// The `ws` server on `127.0.0.1` (`ws://`), started as a [`Peer`] (stopped
/// when dropped).
pub enum NodeWsPeer {}

impl NodeWsPeer {
    /// Serves `ws://`.
    pub fn start() -> Peer {
        let mut command = Command::new("node");
        command.arg(crate::repo_path("tests/peers/ws_server.cjs"));
        Peer::spawn("node ws server", command, "ws")
    }
}
