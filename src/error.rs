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

impl Error {
    /// Which kind of error this is, without its message: what an app
    /// matches on, logs or reports as a field, instead of parsing the text.
    ///
    /// ```
    /// use wasm_websocket::{Error, ErrorKind};
    ///
    /// let err = Error::ConnectionFailed("connection refused".into());
    /// assert_eq!(err.kind(), ErrorKind::ConnectionFailed);
    /// assert_eq!(err.kind().as_str(), "ConnectionFailed");
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidUrl(_) => ErrorKind::InvalidUrl,
            Error::InvalidHeader(_) => ErrorKind::InvalidHeader,
            Error::InvalidCloseFrame(_) => ErrorKind::InvalidCloseFrame,
            Error::ConnectionFailed(_) => ErrorKind::ConnectionFailed,
            Error::SendFailed(_) => ErrorKind::SendFailed,
            Error::ReceiveFailed(_) => ErrorKind::ReceiveFailed,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::Closed(_) => ErrorKind::Closed,
            Error::AlreadyClosed => ErrorKind::AlreadyClosed,
            Error::NotConnected => ErrorKind::NotConnected,
            Error::Timeout => ErrorKind::Timeout,
            Error::KeepaliveTimeout(_) => ErrorKind::KeepaliveTimeout,
            Error::SessionLost => ErrorKind::SessionLost,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Other(_) => ErrorKind::Other,
        }
    }
}

/// The kind of an [`Error`] ([`Error::kind`]): one per variant, named alike,
/// with no message. New kinds may come with new variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::InvalidUrl`].
    InvalidUrl,
    /// [`Error::InvalidHeader`].
    InvalidHeader,
    /// [`Error::InvalidCloseFrame`].
    InvalidCloseFrame,
    /// [`Error::ConnectionFailed`].
    ConnectionFailed,
    /// [`Error::SendFailed`].
    SendFailed,
    /// [`Error::ReceiveFailed`].
    ReceiveFailed,
    /// [`Error::Protocol`].
    Protocol,
    /// [`Error::Closed`].
    Closed,
    /// [`Error::AlreadyClosed`].
    AlreadyClosed,
    /// [`Error::NotConnected`].
    NotConnected,
    /// [`Error::Timeout`].
    Timeout,
    /// [`Error::KeepaliveTimeout`].
    KeepaliveTimeout,
    /// [`Error::SessionLost`].
    SessionLost,
    /// [`Error::Unsupported`].
    Unsupported,
    /// [`Error::Other`].
    Other,
}

impl ErrorKind {
    /// The kind's name, as its variant is spelled (`"Timeout"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "InvalidUrl",
            ErrorKind::InvalidHeader => "InvalidHeader",
            ErrorKind::InvalidCloseFrame => "InvalidCloseFrame",
            ErrorKind::ConnectionFailed => "ConnectionFailed",
            ErrorKind::SendFailed => "SendFailed",
            ErrorKind::ReceiveFailed => "ReceiveFailed",
            ErrorKind::Protocol => "Protocol",
            ErrorKind::Closed => "Closed",
            ErrorKind::AlreadyClosed => "AlreadyClosed",
            ErrorKind::NotConnected => "NotConnected",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::KeepaliveTimeout => "KeepaliveTimeout",
            ErrorKind::SessionLost => "SessionLost",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::Other => "Other",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

    #[test]
    fn each_kind_is_named_as_its_variant() {
        let errors = [
            Error::InvalidUrl(String::new()),
            Error::InvalidHeader(String::new()),
            Error::InvalidCloseFrame(String::new()),
            Error::ConnectionFailed(String::new()),
            Error::SendFailed(String::new()),
            Error::ReceiveFailed(String::new()),
            Error::Protocol(String::new()),
            Error::Closed(None),
            Error::AlreadyClosed,
            Error::NotConnected,
            Error::Timeout,
            Error::KeepaliveTimeout(std::time::Duration::from_secs(1)),
            Error::SessionLost,
            Error::Unsupported(String::new()),
            Error::Other(String::new()),
        ];
        for err in errors {
            let debug = format!("{err:?}");
            let variant = debug.split('(').next().unwrap_or_default();
            assert_eq!(err.kind().as_str(), variant);
            assert_eq!(err.kind().to_string(), variant);
        }
    }
}
