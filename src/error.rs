//! The crate's error type.

use crate::CloseFrame;
use crate::bindings::golem::websocket::client as host;

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
    /// `Closed(None)` is an abrupt end without a close frame.
    #[error("connection closed{}", match .0 {
        Some(frame) => format!(" by the peer: {frame}"),
        None => " without a close frame".to_owned(),
    })]
    Closed(Option<CloseFrame>),
    /// The WebSocket was already closed, and its close already reported.
    #[error("the WebSocket is already closed")]
    AlreadyClosed,
    /// An operation did not finish within its time limit.
    #[error("timed out")]
    Timeout,
    /// Any other failure reported by the host.
    #[error("{0}")]
    Other(String),
}

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<host::Error> for Error {
    fn from(err: host::Error) -> Self {
        match err {
            host::Error::ConnectionFailure(m) => Error::ConnectionFailed(m),
            host::Error::SendFailure(m) => Error::SendFailed(m),
            host::Error::ReceiveFailure(m) => Error::ReceiveFailed(m),
            host::Error::ProtocolError(m) => Error::Protocol(m),
            host::Error::Closed(info) => {
                Error::Closed(info.map(|i| CloseFrame::new(i.code, i.reason)))
            }
            host::Error::Other(m) => Error::Other(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    #[test]
    fn host_errors_map_one_to_one_and_keep_their_text() {
        let cases = [
            (
                host::Error::ConnectionFailure("refused".into()),
                Error::ConnectionFailed("refused".into()),
            ),
            (
                host::Error::SendFailure("pipe".into()),
                Error::SendFailed("pipe".into()),
            ),
            (
                host::Error::ReceiveFailure("reset".into()),
                Error::ReceiveFailed("reset".into()),
            ),
            (
                host::Error::ProtocolError("rsv".into()),
                Error::Protocol("rsv".into()),
            ),
            (host::Error::Closed(None), Error::Closed(None)),
            (host::Error::Other("odd".into()), Error::Other("odd".into())),
        ];
        for (from, to) in cases {
            assert_eq!(Error::from(from), to);
        }
        let closed = host::Error::Closed(Some(host::CloseInfo {
            code: 4001,
            reason: "bye".into(),
        }));
        assert_eq!(
            Error::from(closed),
            Error::Closed(Some(CloseFrame::new(CloseCode::Library(4001), "bye")))
        );
    }

    #[test]
    fn display_reads_well_in_a_log() {
        assert_eq!(
            Error::ConnectionFailed("tcp connect to 127.0.0.1:1: refused".into()).to_string(),
            "connection failed: tcp connect to 127.0.0.1:1: refused"
        );
        assert_eq!(
            Error::Closed(None).to_string(),
            "connection closed without a close frame"
        );
        assert_eq!(Error::Timeout.to_string(), "timed out");
    }
}
