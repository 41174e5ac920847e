//! The crate's error type.

use crate::CloseFrame;

/// Everything that can go wrong with a WebSocket.
///
/// The first three variants come from checks made before anything reaches the
/// host. The variants from [`Error::ConnectionFailed`] to [`Error::Other`] map
/// one to one onto the host interface's `error` variant and keep its message.
///
/// ```
/// use wasm_websocket::{CloseCode, CloseFrame, Error};
///
/// let err = Error::Closed(Some(CloseFrame::new(CloseCode::Away, "restarting")));
/// assert_eq!(err.to_string(), "connection closed by the peer: 1001 (going away): restarting");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL does not parse, or is not a `ws://` or `wss://` URL a client may open.
    #[error("invalid WebSocket URL: {0}")]
    InvalidUrl(String),
    /// A request header has a bad name or value, or belongs to the handshake.
    #[error("invalid request header: {0}")]
    InvalidHeader(String),
    /// A close code a client may not send, or a reason longer than 123 bytes.
    #[error("invalid close frame: {0}")]
    InvalidCloseFrame(String),
    /// The connection or its opening handshake failed.
    #[error("connection failed: {0}")]
    ConnectionFailed(String),
    /// A message could not be sent.
    #[error("send failed: {0}")]
    SendFailed(String),
    /// A message could not be received.
    #[error("receive failed: {0}")]
    ReceiveFailed(String),
    /// The peer broke the WebSocket protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection is closed; with the close frame when there was one.
    /// `Closed(None)` is an end without a status code: an abrupt end, or a
    /// close frame that carried no code (1005), however it is reported.
    #[error("connection closed{}", match .0 {
        Some(frame) => format!(" by the peer: {frame}"),
        None => " without a status code".to_owned(),
    })]
    Closed(Option<CloseFrame>),
    /// The WebSocket was already closed, and its close already reported.
    #[error("the WebSocket is already closed")]
    AlreadyClosed,
    /// A reconnecting client is between connections (connecting, or waiting
    /// for the next attempt): nothing was sent, and nothing is queued.
    #[error("not connected: the client is reconnecting")]
    NotConnected,
    /// An operation did not finish within its time limit; the connection
    /// stays as it was (e.g. [`WebSocket::recv_timeout`](crate::WebSocket::recv_timeout)).
    #[error("timed out")]
    Timeout,
    /// The peer answered no keepalive ping within this timeout
    /// ([`ClientRequest::keepalive`](crate::ClientRequest::keepalive),
    /// `ServerConfig::keepalive`): the connection was closed (close code
    /// 1011 sent) and is over. Unlike [`Error::Timeout`], trying again on
    /// this connection is pointless: connect again.
    #[error("the peer answered no keepalive ping within {} ms; the connection is closed", .0.as_millis())]
    KeepaliveTimeout(std::time::Duration),
    /// The connection did not survive the host's reconstruction of the
    /// component (Golem, with [`ClientRequest::reconstruction_policy`]
    /// `ReportConnectionLoss`; only under the `p3` feature). A message sent
    /// before may still have reached the peer; connect again to go on.
    ///
    /// [`ClientRequest::reconstruction_policy`]: crate::ClientRequest
    #[error("the connection was lost when the host restored the component; connect again")]
    SessionLost,
    /// What was asked is not available on this connection: e.g.
    /// [`WebSocket::ping`](crate::WebSocket::ping) or the response headers on
    /// a `golem:websocket` connection, which carries neither.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// Any other failure reported by the host.
    #[error("{0}")]
    Other(String),
}

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_well_in_a_log() {
        assert_eq!(
            Error::ConnectionFailed("tcp connect to 127.0.0.1:1: refused".into()).to_string(),
            "connection failed: tcp connect to 127.0.0.1:1: refused"
        );
        assert_eq!(
            Error::Closed(None).to_string(),
            "connection closed without a status code"
        );
        assert_eq!(Error::Timeout.to_string(), "timed out");
        assert_eq!(
            Error::KeepaliveTimeout(std::time::Duration::from_millis(1500)).to_string(),
            "the peer answered no keepalive ping within 1500 ms; the connection is closed"
        );
    }
}
