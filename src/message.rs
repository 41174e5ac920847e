//! The messages a WebSocket carries.

use crate::{CloseFrame, Error};

/// A WebSocket message.
///
/// # Pings and pongs
/// Both are messages to send, as in tungstenite, but only pongs are ever
/// received:
///
/// | | direct connection (`WebSocket::connect_direct`) or one a `server::Listener` accepted | `golem:websocket` connection |
/// |---|---|---|
/// | send [`Message::Ping`] | a ping goes out | [`Error::Unsupported`] |
/// | send [`Message::Pong`] | an unsolicited pong goes out | [`Error::Unsupported`] |
/// | the peer's ping | answered with a pong by the connection, never received | answered by the host, never received |
/// | the peer's pong | received as [`Message::Pong`] where the app asked for pongs, else dropped | dropped by the host |
///
/// The peer's pings are not handed up: the connection has already answered
/// each one, so there is nothing left for the app to do, and a ping's
/// arrival is no sign of life the app needs (a keepalive,
/// [`ClientRequest::keepalive`](crate::ClientRequest::keepalive), watches
/// the peer instead). The `golem:websocket` interface has no control
/// frames, so there sending either is refused rather than dropped.
///
/// ```
/// use wasm_websocket::Message;
///
/// let msg = Message::text("hello");
/// assert!(msg.is_text());
/// assert_eq!(msg.len(), 5);
/// assert_eq!(msg.into_data(), b"hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A UTF-8 text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The peer's close frame; `None` when it carried no status code. Received
    /// at most once, as the last message of a connection. Sending one starts
    /// the close handshake, like [`WebSocket::close`](crate::WebSocket::close)
    /// without waiting for the peer's answer.
    Close(Option<CloseFrame>),
    /// A ping to send, with its payload (at most 125 bytes; a longer one is
    /// [`Error::Send`](crate::Error::Send) and the connection stays usable).
    /// The same as [`WebSocket::ping`](crate::WebSocket::ping). Never
    /// received: the peer's pings are answered by the connection itself
    /// (see [Pings and pongs](Message#pings-and-pongs)). A `golem:websocket`
    /// connection refuses it with [`Error::Unsupported`](crate::Error::Unsupported).
    ///
    /// ```no_run
    /// use wasm_websocket::{ClientRequest, Message, WebSocket};
    ///
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// // A direct connection (feature `sockets`); `pongs(true)` to see the answer.
    /// let request = ClientRequest::new("ws://127.0.0.1:9001/").pongs(true);
    /// let mut ws = WebSocket::connect_direct(request).await?;
    /// ws.send(Message::Ping(b"hb-1".to_vec())).await?;
    /// # Ok(())
    /// # }
    /// ```
    Ping(Vec<u8>),
    /// The peer's pong, with its payload: received only on a connection
    /// whose app asked for pongs ([`ClientRequest::pongs`](crate::ClientRequest::pongs),
    /// `ServerConfig::pongs`; features `sockets` and `server`), typically the
    /// answer to [`WebSocket::ping`](crate::WebSocket::ping). Sending one sends
    /// an unsolicited pong (a heartbeat the peer does not answer); a
    /// `golem:websocket` connection refuses that with
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    Pong(Vec<u8>),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Vec<u8>>) -> Self {
        Message::Binary(data.into())
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a close message.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// Whether this is a ping.
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a pong.
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// The payload's length in bytes (a close message's reason).
    pub fn len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
            Message::Close(frame) => frame.as_ref().map_or(0, |f| f.reason.len()),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as text. A binary message (or a ping's or pong's payload)
    /// must be valid UTF-8; a close message gives its reason.
    ///
    /// ```
    /// use wasm_websocket::{Error, Message};
    ///
    /// assert_eq!(Message::binary(*b"ok").into_text().unwrap(), "ok");
    /// assert!(matches!(Message::binary(vec![0xff]).into_text(), Err(Error::Other(_))));
    /// ```
    pub fn into_text(self) -> Result<String, Error> {
        match self {
            Message::Text(text) => Ok(text),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => {
                String::from_utf8(data)
                    .map_err(|e| Error::Other(format!("binary message is not UTF-8: {e}")))
            }
            Message::Close(frame) => Ok(frame.map(|f| f.reason).unwrap_or_default()),
        }
    }

    /// The payload as text, borrowed; see [`Message::into_text`].
    pub fn to_text(&self) -> Result<&str, Error> {
        match self {
            Message::Text(text) => Ok(text),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => {
                std::str::from_utf8(data)
                    .map_err(|e| Error::Other(format!("binary message is not UTF-8: {e}")))
            }
            Message::Close(frame) => Ok(frame.as_ref().map_or("", |f| &f.reason)),
        }
    }

    /// The payload as bytes.
    pub fn into_data(self) -> Vec<u8> {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
            Message::Close(frame) => frame.map(|f| f.reason.into_bytes()).unwrap_or_default(),
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(data)
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Message::Binary(data.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    #[test]
    fn constructors_and_predicates() {
        let text = Message::text("héllo");
        assert!(text.is_text() && !text.is_binary() && !text.is_close());
        assert_eq!(text.len(), 6);
        let binary = Message::binary([1u8, 2, 3]);
        assert!(binary.is_binary());
        assert_eq!(binary.len(), 3);
        assert!(Message::binary(Vec::new()).is_empty());
        assert!(Message::Close(None).is_close());
        assert!(Message::Close(None).is_empty());
        let ping = Message::Ping(b"hb?".to_vec());
        assert!(ping.is_ping() && !ping.is_pong() && !ping.is_binary());
        assert_eq!(ping.len(), 3);
        assert_eq!(ping.to_text().unwrap(), "hb?");
        assert_eq!(ping.into_data(), b"hb?");
        let pong = Message::Pong(b"hb".to_vec());
        assert!(pong.is_pong() && !pong.is_ping() && !pong.is_binary());
        assert_eq!(pong.len(), 2);
        assert_eq!(pong.into_data(), b"hb");
    }

    #[test]
    fn conversions_keep_the_payload() {
        assert_eq!(Message::from("a"), Message::Text("a".into()));
        assert_eq!(Message::from(vec![7u8]), Message::Binary(vec![7]));
        assert_eq!(Message::from(&b"xy"[..]).into_data(), b"xy");
        assert_eq!(Message::text("t").into_text().unwrap(), "t");
        assert_eq!(Message::binary(*b"utf8").to_text().unwrap(), "utf8");
        let close = Message::Close(Some(CloseFrame::new(CloseCode::Away, "later")));
        assert_eq!(close.len(), 5);
        assert_eq!(close.to_text().unwrap(), "later");
        assert_eq!(close.into_data(), b"later");
        assert_eq!(Message::Close(None).into_text().unwrap(), "");
    }

    #[test]
    fn binary_that_is_not_utf8_is_an_error_not_a_panic() {
        let msg = Message::binary(vec![0xc3, 0x28]);
        assert!(matches!(msg.to_text(), Err(Error::Other(m)) if m.contains("not UTF-8")));
        assert!(msg.into_text().is_err());
    }
}
