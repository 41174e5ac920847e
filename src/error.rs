//! The crate's error type.

use crate::{CloseFrame, Message};

/// Everything that can go wrong with a WebSocket.
///
/// # Naming
/// Each variant names what it is about, as a noun, the way tungstenite's do
/// (`Protocol`, `Timeout`): [`Error::Connect`], [`Error::Send`] and
/// [`Error::Receive`] say which step failed, and the `Invalid*` variants
/// what was refused before anything reached the network. [`Error::kind`]
/// gives the variant without its data ([`ErrorKind`], named alike).
///
/// # How a connection ends
/// Two variants tell an end apart from a failure, and from each other:
/// - [`Error::ConnectionClosed`]: the peer's close frame ended the
///   connection, a normal end. A receive reports the peer's close as
///   [`Message::Close`]; a send that meets it first is this error, with the
///   frame (`None`: it carried no code).
/// - [`Error::ConnectionReset`]: the connection ended without a close frame
///   (the peer or the network dropped it), on every host.
///
/// What the calls return once the connection is over:
/// - **The peer closed**: `recv` returns [`Message::Close`] once, then
///   [`Error::AlreadyClosed`]. A send that meets the peer's close before the
///   receiver took it is [`Error::ConnectionClosed`] with the frame; after
///   the receiver took [`Message::Close`], [`Error::AlreadyClosed`].
///   [`close`](crate::WebSocket::close) returns `Ok(())`: the peer's close
///   completed the handshake.
/// - **It ended without a close frame**: `recv` returns
///   [`Error::ConnectionReset`] once, then [`Error::AlreadyClosed`].
/// - **Our close completed** (or timed out): every later send and close is
///   [`Error::AlreadyClosed`]; `recv` first returns what was kept (messages
///   that came while closing, the peer's [`Message::Close`] or the
///   [`Error::Timeout`] of a close that got no answer), then
///   [`Error::AlreadyClosed`].
///
/// Coming from tungstenite:
///
/// | tungstenite | this crate |
/// |---|---|
/// | `read()` returns `Ok(Message::Close(frame))`, then `Err(ConnectionClosed)` | `recv` returns `Message::Close(frame)`, then [`Error::AlreadyClosed`] |
/// | `Err(Protocol(ResetWithoutClosingHandshake))` | [`Error::ConnectionReset`] |
/// | `Err(AlreadyClosed)`: a call after the end was reported | [`Error::AlreadyClosed`] |
/// | `Err(WriteBufferFull(message))` | [`Error::WriteBufferFull`] (from `try_send`) |
///
/// tungstenite's `ConnectionClosed` is what its `read` says after the close
/// was reported; here a send that meets the peer's close first is
/// [`Error::ConnectionClosed`], with the frame.
///
/// ```
/// use wasm_websocket::{CloseCode, CloseFrame, Error, ErrorKind};
///
/// let err = Error::ConnectionClosed(Some(CloseFrame::new(CloseCode::Away, "restarting")));
/// assert_eq!(err.to_string(), "connection closed by the peer: 1001 (going away): restarting");
/// assert_eq!(err.kind(), ErrorKind::ConnectionClosed);
/// assert_eq!(Error::ConnectionReset.to_string(), "connection reset: it ended without a close frame");
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The connection or its opening handshake failed (host: `connection-failure`).
    #[error("connection failed: {0}")]
    Connect(String),
    /// A message could not be sent (host: `send-failure`).
    #[error("send failed: {0}")]
    Send(String),
    /// A message could not be received (host: `receive-failure`).
    #[error("receive failed: {0}")]
    Receive(String),
    /// The peer broke the WebSocket protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The peer's close frame ended the connection: a normal end. `None`
    /// when the frame carried no status code (1005). See
    /// [How a connection ends](Error#how-a-connection-ends).
    #[error("connection closed{}", match .0 {
        Some(frame) => format!(" by the peer: {frame}"),
        None => " by the peer, without a status code".to_owned(),
    })]
    ConnectionClosed(Option<CloseFrame>),
    /// The connection ended without a close frame: an abrupt end. See
    /// [How a connection ends](Error#how-a-connection-ends).
    ///
    /// Every host reports this end as this variant. Golem's host (and the
    /// test host) passes tungstenite's `ResetWithoutClosingHandshake` on as
    /// a `protocol-error` with the text "Connection reset without closing
    /// handshake": the crate reads exactly that text as this end, not as
    /// [`Error::Protocol`].
    #[error("connection reset: it ended without a close frame")]
    ConnectionReset,
    /// The WebSocket was already closed, and its close already reported.
    #[error("the WebSocket is already closed")]
    AlreadyClosed,
    /// A reconnecting client is between connections (connecting, or waiting
    /// for the next attempt): nothing was sent, and nothing is queued.
    #[error("not connected: the client is reconnecting")]
    NotConnected,
    /// [`WebSocketSender::try_send`](crate::WebSocketSender::try_send) found
    /// the connection's send queue full: nothing was sent,
    /// and here is the message back. Not a failure: try again later, or wait
    /// with [`send`](crate::WebSocketSender::send). Named as tungstenite
    /// names this case (`WriteBufferFull`), not after io's `WouldBlock`,
    /// which means "taken into a buffer, sent later".
    #[error("write buffer full: earlier frames still wait to be handed over; try again later")]
    WriteBufferFull(Message),
    /// An operation did not finish within its time limit. What it leaves
    /// depends on the call:
    /// [`recv_timeout`](crate::WebSocket::recv_timeout) leaves the
    /// connection as it was (receive again); a
    /// [`close`](crate::WebSocket::close) whose answer did not come within
    /// the close timeout ends the connection (the stream ends with this
    /// error, and every later call is [`Error::AlreadyClosed`]).
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
    /// What was asked is not available on this connection: e.g. a ping
    /// ([`Message::Ping`], [`WebSocket::ping`](crate::WebSocket::ping)) on a
    /// `golem:websocket` connection, which carries no control frames.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// Any other failure reported by the host.
    #[error("{0}")]
    Other(String),
}

/// Writes `Error::kind`, `ErrorKind` and `ErrorKind::as_str` from one list,
/// so that a kind is always named as its variant.
macro_rules! kinds {
    ($($variant:ident $(($($data:tt)*))?),* $(,)?) => {
        impl Error {
            /// Which kind of error this is, without its data: what an app
            /// matches on, logs or reports as a field, instead of parsing
            /// the text.
            ///
            /// ```
            /// use wasm_websocket::{Error, ErrorKind};
            ///
            /// let err = Error::Connect("connection refused".into());
            /// assert_eq!(err.kind(), ErrorKind::Connect);
            /// assert_eq!(err.kind().as_str(), "Connect");
            /// ```
            pub fn kind(&self) -> ErrorKind {
                match self {
                    $(Error::$variant $(($($data)*))? => ErrorKind::$variant,)*
                }
            }
        }

        /// The kind of an [`Error`] ([`Error::kind`]): one per variant, named
        /// alike, with no data. New kinds may come with new variants.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $(
                #[doc = concat!("[`Error::", stringify!($variant), "`].")]
                $variant,
            )*
        }

        impl ErrorKind {
            /// The kind's name, as its variant is spelled (`"Timeout"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

kinds! {
    InvalidUrl(_),
    InvalidHeader(_),
    InvalidCloseFrame(_),
    Connect(_),
    Send(_),
    Receive(_),
    Protocol(_),
    ConnectionClosed(_),
    ConnectionReset,
    AlreadyClosed,
    NotConnected,
    WriteBufferFull(_),
    Timeout,
    KeepaliveTimeout(_),
    SessionLost,
    Unsupported(_),
    Other(_),
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As derived (`Connect("refused")`), except that the message
/// [`Error::WriteBufferFull`] gives back is summed up, not printed: it may
/// be megabytes, and an `unwrap()` or a log line should not copy it out;
/// and that a keepalive timeout reads in milliseconds
/// (`KeepaliveTimeout(1500ms)`). (Written out, this is also smaller in an
/// app than the derived one, which carries `Message`'s and `Duration`'s
/// `Debug` along.)
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.kind().as_str();
        match self {
            Error::InvalidUrl(text)
            | Error::InvalidHeader(text)
            | Error::InvalidCloseFrame(text)
            | Error::Connect(text)
            | Error::Send(text)
            | Error::Receive(text)
            | Error::Protocol(text)
            | Error::Unsupported(text)
            | Error::Other(text) => f.debug_tuple(name).field(text).finish(),
            Error::ConnectionClosed(frame) => f.debug_tuple(name).field(frame).finish(),
            Error::KeepaliveTimeout(timeout) => f
                .debug_tuple(name)
                .field(&format_args!(
                    "{}ms",
                    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
                ))
                .finish(),
            Error::WriteBufferFull(message) => {
                let kind = match message {
                    Message::Text(_) => "text",
                    Message::Binary(_) => "binary",
                    Message::Close(_) => "close",
                    Message::Ping(_) => "ping",
                    Message::Pong(_) => "pong",
                };
                f.debug_tuple(name)
                    .field(&format_args!("<{kind} message, {} bytes>", message.len()))
                    .finish()
            }
            Error::ConnectionReset
            | Error::AlreadyClosed
            | Error::NotConnected
            | Error::Timeout
            | Error::SessionLost => f.write_str(name),
        }
    }
}

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    #[test]
    fn display_reads_well_in_a_log() {
        assert_eq!(
            Error::Connect("tcp connect to 127.0.0.1:1: refused".into()).to_string(),
            "connection failed: tcp connect to 127.0.0.1:1: refused"
        );
        assert_eq!(
            Error::ConnectionClosed(None).to_string(),
            "connection closed by the peer, without a status code"
        );
        assert_eq!(
            Error::ConnectionClosed(Some(CloseFrame::new(CloseCode::Normal, ""))).to_string(),
            "connection closed by the peer: 1000 (normal)"
        );
        assert_eq!(
            Error::ConnectionReset.to_string(),
            "connection reset: it ended without a close frame"
        );
        assert_eq!(Error::Timeout.to_string(), "timed out");
        assert_eq!(
            Error::KeepaliveTimeout(std::time::Duration::from_millis(1500)).to_string(),
            "the peer answered no keepalive ping within 1500 ms; the connection is closed"
        );
    }

    #[test]
    fn debug_is_the_derived_form_with_a_returned_message_summed_up_and_a_timeout_in_ms() {
        assert_eq!(
            format!("{:?}", Error::Connect("refused".into())),
            r#"Connect("refused")"#
        );
        assert_eq!(format!("{:?}", Error::ConnectionReset), "ConnectionReset");
        assert_eq!(
            format!("{:?}", Error::ConnectionClosed(None)),
            "ConnectionClosed(None)"
        );
        assert_eq!(
            format!(
                "{:?}",
                Error::WriteBufferFull(Message::binary(vec![7; 1 << 20]))
            ),
            "WriteBufferFull(<binary message, 1048576 bytes>)"
        );
        assert_eq!(
            format!(
                "{:?}",
                Error::KeepaliveTimeout(std::time::Duration::from_millis(1500))
            ),
            "KeepaliveTimeout(1500ms)"
        );
    }

    #[test]
    fn each_kind_is_named_as_its_variant() {
        let errors = [
            Error::InvalidUrl(String::new()),
            Error::InvalidHeader(String::new()),
            Error::InvalidCloseFrame(String::new()),
            Error::Connect(String::new()),
            Error::Send(String::new()),
            Error::Receive(String::new()),
            Error::Protocol(String::new()),
            Error::ConnectionClosed(None),
            Error::ConnectionReset,
            Error::AlreadyClosed,
            Error::NotConnected,
            Error::WriteBufferFull(Message::text("later")),
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
