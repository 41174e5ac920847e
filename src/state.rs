//! The connection states a WebSocket goes through.

use std::fmt;

/// Where a connection is in its life, as browsers' `readyState` tells it.
///
/// ```
/// use wasm_websocket::ConnectionState;
///
/// assert_eq!(ConnectionState::Closing.to_string(), "closing");
/// assert!(ConnectionState::Open.is_open());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// The opening handshake is under way (or, for a reconnecting client,
    /// waiting for the next attempt).
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A close frame was sent; the peer's answer is awaited. Messages still
    /// arrive; nothing more can be sent.
    Closing,
    /// The connection is over.
    Closed,
}

impl ConnectionState {
    /// Whether messages can be sent.
    pub fn is_open(self) -> bool {
        self == ConnectionState::Open
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Closing => "closing",
            ConnectionState::Closed => "closed",
        })
    }
}
