//! The opening request: URL, extra headers, subprotocols and the close bound.
//! The rules it is checked by are the protocol crate's
//! (`wasm-websocket-protocol`): the URL parser, the header and token checks,
//! the timeout clamp.

use std::time::Duration;

use wasm_websocket_protocol::{WsUrl, headers, limits};

use crate::{Error, Result};

/// How long [`WebSocket::close`](crate::WebSocket::close) waits for the peer's
/// close frame unless [`ClientRequest::close_timeout`] says otherwise.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = limits::DEFAULT_CLOSE_TIMEOUT;

/// The longest timeout the crate waits for; longer ones count as this (a year).
pub(crate) use limits::MAX_TIMEOUT;

/// A WebSocket opening request, built up before
/// [`WebSocket::connect_with`](crate::WebSocket::connect_with) checks and sends it.
///
/// Nothing is checked until then, so the builder methods never fail.
///
/// # Configuration style
/// The crate's three configuration types, `ClientRequest`,
/// `server::ServerConfig` (feature `server`) and [`ReconnectConfig`](crate::ReconnectConfig),
/// are built the same way:
/// - the fields are private, so a setting is always checked or clamped the
///   way its builder documents, and new settings can come without breaking
///   anyone;
/// - each setting has a consuming builder method named after it
///   (`close_timeout(d)`), as tungstenite's `WebSocketConfig` has; a list
///   setting's builder adds one item (`header`, `subprotocol`, `on_connect`);
/// - each setting has a getter named `get_` + the setting's name
///   (`get_close_timeout()`, plural for lists: `get_headers()`), which gives
///   the value as it will be used (after clamping). The `get_` prefix is
///   what keeps a getter apart from its builder of the same name.
///
/// ```
/// use std::time::Duration;
/// use wasm_websocket::ClientRequest;
///
/// let request = ClientRequest::new("wss://example.com/chat")
///     .header("Authorization", "Bearer 3f9a")
///     .subprotocol("chat.v2")
///     .subprotocol("chat.v1")
///     .close_timeout(Duration::from_secs(2));
/// assert_eq!(request.get_url(), "wss://example.com/chat");
/// assert_eq!(request.get_subprotocols(), ["chat.v2", "chat.v1"]);
/// assert_eq!(request.get_close_timeout(), Duration::from_secs(2));
/// assert_eq!(request.get_keepalive(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    url: String,
    headers: Vec<(String, String)>,
    subprotocols: Vec<String>,
    close_timeout: Duration,
    pongs: bool,
    keepalive: Option<(Duration, Duration)>,
    #[cfg(feature = "p3")]
    reconstruction_policy: Option<ReconstructionPolicy>,
}

/// What a Golem host does with a connection when it restores the component
/// after a restart (the `p3` feature; `reconstruction-policy` in the WIT).
///
/// Completed calls replay unchanged under either policy; the policy decides
/// what the first live call on a restored connection does.
#[cfg(feature = "p3")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconstructionPolicy {
    /// Reopen the connection to the same URL and headers (the host's default).
    ReconnectAutomatically,
    /// Fail that call with [`Error::SessionLost`] instead of reconnecting.
    ReportConnectionLoss,
}

impl ClientRequest {
    /// A request for `url`, which must be a `ws://` or `wss://` URL.
    ///
    /// The host must be ASCII: write an internationalized name in its
    /// punycode form (`xn--bcher-kva.example`, not `bücher.example`); a
    /// non-ASCII host is an [`Error::InvalidUrl`] that says so.
    pub fn new(url: impl Into<String>) -> Self {
        ClientRequest {
            url: url.into(),
            headers: Vec::new(),
            subprotocols: Vec::new(),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            pongs: false,
            keepalive: None,
            #[cfg(feature = "p3")]
            reconstruction_policy: None,
        }
    }

    /// Adds a header to the handshake request, e.g. `Authorization`.
    ///
    /// Names must be HTTP tokens; values may hold visible ASCII, spaces and
    /// tabs (no CR, LF, NUL or other control characters, no non-ASCII).
    /// Headers the handshake writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Content-Length`, `Sec-WebSocket-Key`, `-Version`, `-Accept`,
    /// `-Extensions`) are refused, and `Sec-WebSocket-Protocol` is set with
    /// [`ClientRequest::subprotocol`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers a subprotocol, in order of preference; all offers travel in one
    /// `Sec-WebSocket-Protocol` header. Each must be an HTTP token, offered
    /// once.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// How long [`WebSocket::close`](crate::WebSocket::close) waits for the
    /// peer's close frame (default [`DEFAULT_CLOSE_TIMEOUT`]). Timeouts
    /// beyond a year count as a year.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = limits::clamp_timeout(timeout);
        self
    }

    /// Receive the peer's pongs as [`Message::Pong`](crate::Message::Pong)
    /// (default: no, they are read and dropped). Only a direct connection
    /// ([`WebSocket::connect_direct`](crate::WebSocket), feature `sockets`)
    /// sees pongs; a `golem:websocket` host answers pings and swallows pongs
    /// itself, so there this changes nothing.
    ///
    /// ```no_run
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// use wasm_websocket::{ClientRequest, Message, WebSocket};
    ///
    /// let request = ClientRequest::new("ws://127.0.0.1:9001/").pongs(true);
    /// let mut ws = WebSocket::connect_direct(request).await?;
    /// ws.ping(*b"hb-1").await?;
    /// while let Message::Text(_) | Message::Binary(_) = ws.recv().await? {}
    /// # Ok(())
    /// # }
    /// ```
    pub fn pongs(mut self, receive: bool) -> Self {
        self.pongs = receive;
        self
    }

    /// Keeps the connection alive and notices a dead peer (default: off):
    /// after `interval` in which nothing arrived from the peer a ping goes
    /// out, and when nothing (its pong or any other frame) arrives within
    /// `timeout` of that ping, the connection is closed (close code 1011)
    /// and the receive fails with [`Error::KeepaliveTimeout`]. Anything the
    /// peer sends counts, so a busy connection is never pinged. Durations
    /// count as at least 1 ms and at most a year.
    ///
    /// The clock is looked at while a receive waits (`recv`, the `Stream`,
    /// or the receiving half of a `split`): an app that never receives
    /// sends no keepalive pings. The answers to these pings are not handed
    /// up, even with [`ClientRequest::pongs`].
    ///
    /// Only a connection the crate runs itself
    /// ([`WebSocket::connect_direct`](crate::WebSocket), feature `sockets`)
    /// can ping: `golem:websocket` (Golem, and the polyfill behind the default
    /// build) has no ping in its interface, so there a request with a
    /// keepalive fails at connect with [`Error::Unsupported`] rather than
    /// run without the protection it asks for.
    ///
    /// ```no_run
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// use std::time::Duration;
    /// use wasm_websocket::{ClientRequest, Error, WebSocket};
    ///
    /// let request = ClientRequest::new("ws://127.0.0.1:9001/feed")
    ///     .keepalive(Duration::from_secs(20), Duration::from_secs(10));
    /// let mut ws = WebSocket::connect_direct(request).await?;
    /// match ws.recv().await {
    ///     Err(Error::KeepaliveTimeout(_)) => { /* the peer is gone: reconnect */ }
    ///     other => { let _ = other?; }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keepalive = Some((clamp_keepalive(interval), clamp_keepalive(timeout)));
        self
    }

    /// What the host does with the connection when it restores the
    /// component after a restart (the `p3` feature); the host's default when
    /// not set.
    ///
    /// ```
    /// use wasm_websocket::{ClientRequest, ReconstructionPolicy};
    ///
    /// let request = ClientRequest::new("wss://example.com/feed")
    ///     .reconstruction_policy(ReconstructionPolicy::ReportConnectionLoss);
    /// ```
    #[cfg(feature = "p3")]
    pub fn reconstruction_policy(mut self, policy: ReconstructionPolicy) -> Self {
        self.reconstruction_policy = Some(policy);
        self
    }

    /// The reconstruction policy set, if any (the `p3` feature).
    #[cfg(feature = "p3")]
    pub fn get_reconstruction_policy(&self) -> Option<ReconstructionPolicy> {
        self.reconstruction_policy
    }

    /// The URL as given to [`ClientRequest::new`].
    pub fn get_url(&self) -> &str {
        &self.url
    }

    /// The extra headers added with [`ClientRequest::header`], in order, as
    /// given (they are checked at connect).
    pub fn get_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The subprotocols offered with [`ClientRequest::subprotocol`], in
    /// order of preference.
    pub fn get_subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The close timeout (default [`DEFAULT_CLOSE_TIMEOUT`]).
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Whether the peer's pongs are received (default `false`).
    pub fn get_pongs(&self) -> bool {
        self.pongs
    }

    /// The keepalive `(interval, timeout)`, if set (default `None`).
    pub fn get_keepalive(&self) -> Option<(Duration, Duration)> {
        self.keepalive
    }

    /// The subprotocol the server agreed to if the crate can know it: the
    /// only one offered (see [`WebSocket::protocol`](crate::WebSocket::protocol)).
    /// A direct connection's response says which.
    pub(crate) fn agreed_protocol(&self) -> Option<String> {
        match self.subprotocols.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    /// Checks everything a client can check without the network and returns
    /// the URL, parsed once, and the headers to hand to the host.
    pub(crate) fn validate(&self) -> Result<(WsUrl, Vec<(String, String)>)> {
        let url = WsUrl::parse(&self.url).map_err(|e| Error::InvalidUrl(e.to_string()))?;
        let headers = headers::client_headers(&self.headers, &self.subprotocols)
            .map_err(|e| Error::InvalidHeader(e.to_string()))?;
        Ok((url, headers))
    }
}

/// The shortest keepalive interval or timeout: a zero one counts as this.
pub(crate) const MIN_KEEPALIVE: Duration = Duration::from_millis(1);

/// A keepalive interval or timeout as used: at least [`MIN_KEEPALIVE`], at
/// most [`MAX_TIMEOUT`].
pub(crate) fn clamp_keepalive(d: Duration) -> Duration {
    limits::clamp_timeout(d).max(MIN_KEEPALIVE)
}

impl From<&str> for ClientRequest {
    fn from(url: &str) -> Self {
        ClientRequest::new(url)
    }
}

impl From<String> for ClientRequest {
    fn from(url: String) -> Self {
        ClientRequest::new(url)
    }
}

impl From<&String> for ClientRequest {
    fn from(url: &String) -> Self {
        ClientRequest::new(url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(request: ClientRequest) -> Result<(String, Vec<(String, String)>)> {
        request
            .validate()
            .map(|(url, headers)| (url.as_str().to_owned(), headers))
    }

    #[test]
    fn accepts_ws_and_wss_urls() {
        let (url, headers) = check(ClientRequest::new("ws://127.0.0.1:9001/path?q=1")).unwrap();
        assert_eq!(url, "ws://127.0.0.1:9001/path?q=1");
        assert!(headers.is_empty());
        assert!(check(ClientRequest::new("wss://[::1]:443")).is_ok());
        let (url, _) = check(ClientRequest::new("WSS://Example.COM")).unwrap();
        assert_eq!(url, "wss://example.com/");
    }

    #[test]
    fn rejects_bad_urls_with_the_reason() {
        for (url, reason) in [
            ("not a url", "relative URL"),
            ("http://example.com", "is HTTP"),
            ("https://example.com", "is HTTP"),
            ("ftp://example.com", "not ws:// or wss://"),
            ("ws://example.com/#frag", "fragment"),
            ("ws://user:pw@example.com/", "credentials"),
            ("ws://", "empty host"),
            (
                "ws://b\u{fc}cher.example/",
                "ASCII (punycode, \"xn--\") form",
            ),
        ] {
            match check(ClientRequest::new(url)) {
                Err(Error::InvalidUrl(m)) => assert!(m.contains(reason), "{url}: {m}"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_header_names_and_values() {
        for (name, value, reason) in [
            ("", "x", "not an HTTP token"),
            ("Bad Name", "x", "not an HTTP token"),
            ("X-Ünicode", "x", "not an HTTP token"),
            ("X-Split", "a\r\nInjected: yes", "'\\r'"),
            ("X-Nul", "a\0b", "'\\0'"),
            ("X-Control", "a\u{7f}b", "'\\u{7f}'"),
            ("X-Utf8", "café", "'é'"),
        ] {
            match check(ClientRequest::new("ws://h").header(name, value)) {
                Err(Error::InvalidHeader(m)) => assert!(m.contains(reason), "{name}: {m}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_headers_the_handshake_owns() {
        for name in [
            "Host",
            "upgrade",
            "CONNECTION",
            "Sec-WebSocket-Key",
            "sec-websocket-extensions",
        ] {
            let err = check(ClientRequest::new("ws://h").header(name, "x")).unwrap_err();
            assert!(
                matches!(err, Error::InvalidHeader(m) if m.contains("handshake")),
                "{name}"
            );
        }
        let err = check(ClientRequest::new("ws://h").header("Sec-WebSocket-Protocol", "chat"));
        assert!(matches!(err, Err(Error::InvalidHeader(m)) if m.contains("subprotocol")));
    }

    #[test]
    fn subprotocols_travel_in_one_header_after_the_others() {
        let (_, headers) = check(
            ClientRequest::new("ws://h")
                .subprotocol("chat.v2")
                .header("Authorization", "Bearer t")
                .subprotocol("chat.v1"),
        )
        .unwrap();
        assert_eq!(
            headers,
            [
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                (
                    "Sec-WebSocket-Protocol".to_owned(),
                    "chat.v2, chat.v1".to_owned()
                ),
            ]
        );
        let err = check(ClientRequest::new("ws://h").subprotocol("a b")).unwrap_err();
        assert!(matches!(err, Error::InvalidHeader(m) if m.contains("\"a b\"")));
        let err = check(
            ClientRequest::new("ws://h")
                .subprotocol("v1")
                .subprotocol("v1"),
        );
        assert!(matches!(err, Err(Error::InvalidHeader(m)) if m.contains("twice")));
    }

    #[test]
    fn keepalive_is_off_unless_set_and_clamped() {
        assert_eq!(ClientRequest::new("ws://h").get_keepalive(), None);
        let request = ClientRequest::new("ws://h")
            .keepalive(Duration::from_secs(20), Duration::from_secs(10));
        assert_eq!(
            request.get_keepalive(),
            Some((Duration::from_secs(20), Duration::from_secs(10)))
        );
        let request = ClientRequest::new("ws://h").keepalive(Duration::ZERO, Duration::MAX);
        assert_eq!(request.get_keepalive(), Some((MIN_KEEPALIVE, MAX_TIMEOUT)));
    }

    #[test]
    fn every_setting_reads_back_through_its_getter() {
        let request = ClientRequest::new("ws://h/feed");
        assert_eq!(request.get_url(), "ws://h/feed");
        assert!(request.get_headers().is_empty());
        assert!(request.get_subprotocols().is_empty());
        assert!(!request.get_pongs());
        let request = request
            .header("Authorization", "Bearer t")
            .header("X-Trace", "1")
            .subprotocol("v2")
            .subprotocol("v1")
            .pongs(true);
        assert_eq!(
            request.get_headers(),
            [
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                ("X-Trace".to_owned(), "1".to_owned())
            ]
        );
        assert_eq!(request.get_subprotocols(), ["v2", "v1"]);
        assert!(request.get_pongs());
    }

    #[test]
    fn close_timeout_defaults_to_five_seconds() {
        let request = ClientRequest::new("ws://h");
        assert_eq!(request.get_close_timeout(), DEFAULT_CLOSE_TIMEOUT);
        let request = request.close_timeout(Duration::from_millis(250));
        assert_eq!(request.get_close_timeout(), Duration::from_millis(250));
        let request = request.close_timeout(Duration::MAX);
        assert_eq!(request.get_close_timeout(), MAX_TIMEOUT);
    }
}
