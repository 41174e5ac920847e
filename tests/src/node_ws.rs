//! Node's `ws` library as a peer (`tests/peers/ws_server.cjs`, `ws` pinned in
//! `tests/jco/package.json`): a second implementation that shares no code
//! with tungstenite, and one that sends a message as fragments when asked
//! (`/fragments`).

use std::ops::{Deref, DerefMut};
use std::process::Command;

use crate::peer::Peer;

/// A running `ws` server on `127.0.0.1` (`ws://`); stopped when dropped.
pub struct NodeWsPeer(Peer);

impl NodeWsPeer {
    /// Serves `ws://`.
    pub fn start() -> NodeWsPeer {
        let mut command = Command::new("node");
        command.arg(crate::repo_path("tests/peers/ws_server.cjs"));
        NodeWsPeer(Peer::spawn("node ws server", command, "ws"))
    }
}

impl Deref for NodeWsPeer {
    type Target = Peer;

    fn deref(&self) -> &Peer {
        &self.0
    }
}

impl DerefMut for NodeWsPeer {
    fn deref_mut(&mut self) -> &mut Peer {
        &mut self.0
    }
}
