//! Where to connect and what to send in the opening handshake: the URL
//! parsed once by the protocol crate ([`WsUrl`]), and the handshake request
//! built from it (pure; unit-tested on the host).

use std::net::IpAddr;

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request;
use tungstenite::http::{HeaderName, HeaderValue, Uri};
use wasm_websocket_protocol::headers;

pub use wasm_websocket_protocol::WsUrl;

/// A parsed `ws://` or `wss://` URL, and its form for the handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `wss://`.
    pub secure: bool,
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// The URL as the handshake request uses it.
    pub uri: Uri,
}

impl Target {
    /// The target of a URL parsed already (the SDK's direct client parses
    /// each URL once, when it checks the request).
    pub fn new(url: &WsUrl) -> Result<Target, String> {
        let uri: Uri = url
            .as_str()
            .parse()
            .map_err(|e| format!("invalid URL {:?}: {e}", url.as_str()))?;
        Ok(Target {
            secure: url.is_secure(),
            host: url.host().to_owned(),
            port: url.port(),
            uri,
        })
    }

    /// The host as an IP address, when the URL names one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Parses a WebSocket URL given as text (the polyfill's `connect`) with the
/// protocol crate's parser, the error as the interface reports it.
pub fn parse(url: &str) -> Result<WsUrl, String> {
    WsUrl::parse(url).map_err(|e| format!("invalid URL {e}"))
}

/// Builds the opening-handshake request: tungstenite's standard headers plus the
/// caller's (a `Sec-WebSocket-Protocol` header offers subprotocols), each
/// checked by the protocol crate's rules.
pub fn request(target: &Target, headers: &[(String, String)]) -> Result<Request, String> {
    let mut request = target
        .uri
        .clone()
        .into_client_request()
        .map_err(|e| format!("invalid URL: {e}"))?;
    for (name, value) in headers {
        headers::check_header(name, value).map_err(|e| format!("invalid header: {e}"))?;
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for header {name:?}"))?;
        request.headers_mut().append(header, value);
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ws_and_wss_with_default_ports() {
        let t = Target::new(&parse("ws://example.com/chat?x=1").unwrap()).unwrap();
        assert_eq!(
            (t.secure, t.host.as_str(), t.port),
            (false, "example.com", 80)
        );
        assert_eq!(t.uri.path_and_query().unwrap().as_str(), "/chat?x=1");
        let t = Target::new(&parse("WSS://example.com").unwrap()).unwrap();
        assert_eq!(
            (t.secure, t.host.as_str(), t.port),
            (true, "example.com", 443)
        );
    }

    #[test]
    fn explicit_ports_and_ip_literals() {
        let t = Target::new(&parse("ws://127.0.0.1:9001/runCase?case=1&agent=a").unwrap()).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 9001));
        assert_eq!(t.ip(), Some("127.0.0.1".parse().unwrap()));
        let t = Target::new(&parse("wss://[::1]:8443/").unwrap()).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert_eq!(t.ip(), Some("::1".parse().unwrap()));
        assert_eq!(parse("ws://localhost/").unwrap().ip(), None);
    }

    #[test]
    fn rejects_what_is_not_a_websocket_url() {
        for (url, why) in [
            ("http://example.com/", "scheme http:// is HTTP"),
            ("example.com", "relative URL"),
            ("ws://example.com/#frag", "fragment"),
            ("ws://user:pw@example.com/", "credentials"),
            ("ws:///path", "empty host"),
            ("ws://exa mple.com/", "invalid domain character"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.starts_with("invalid URL \""), "{url}: {err}");
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn request_carries_extra_headers_and_subprotocols() {
        let t = Target::new(&parse("ws://example.com:8080/x").unwrap()).unwrap();
        let headers = vec![
            ("Authorization".to_string(), "Bearer t".to_string()),
            (
                "Sec-WebSocket-Protocol".to_string(),
                "chat, superchat".to_string(),
            ),
        ];
        let r = request(&t, &headers).unwrap();
        assert_eq!(r.headers()["authorization"], "Bearer t");
        assert_eq!(r.headers()["sec-websocket-protocol"], "chat, superchat");
        assert_eq!(r.headers()["host"], "example.com:8080");
        assert_eq!(r.headers()["sec-websocket-version"], "13");
    }

    #[test]
    fn request_rejects_handshake_headers_and_bad_values() {
        let t = Target::new(&parse("ws://example.com/").unwrap()).unwrap();
        let err = request(&t, &[("Sec-WebSocket-Key".into(), "x".into())]).unwrap_err();
        assert!(err.contains("written by the WebSocket handshake"), "{err}");
        let err = request(&t, &[("X-A".into(), "a\r\nb".into())]).unwrap_err();
        assert!(err.contains("value of X-A contains '\\r'"), "{err}");
        let err = request(&t, &[("bad name".into(), "v".into())]).unwrap_err();
        assert!(err.contains("not an HTTP token"), "{err}");
    }

    proptest! {
        /// Whatever the protocol crate accepts, the handshake request can be
        /// built from (http's URI parser takes the serialized form), with
        /// the same host, port and path.
        #[test]
        fn every_accepted_url_makes_a_request(raw in "(ws|wss|WS)://([a-z0-9_~.-]{1,12}|\\[::1\\]|10\\.0\\.0\\.1)(:[0-9]{1,5})?(/[ -~\u{e9}\u{1f980}]{0,20})?") {
            if let Ok(url) = WsUrl::parse(&raw) {
                let target = Target::new(&url).unwrap();
                let built = request(&target, &[]).unwrap();
                prop_assert_eq!(built.uri().to_string(), url.as_str());
                prop_assert_eq!((target.host.as_str(), target.port), (url.host(), url.port()));
            }
        }

        /// The engine refuses a header exactly when the protocol crate does.
        #[test]
        fn the_engine_and_the_protocol_crate_agree_on_headers(name in "[ -~]{0,8}", value in "[\u{0}-\u{7f}\u{e9}]{0,8}") {
            let t = Target::new(&parse("ws://h/").unwrap()).unwrap();
            let ok = request(&t, &[(name.clone(), value.clone())]).is_ok();
            prop_assert_eq!(ok, headers::check_header(&name, &value).is_ok());
        }
    }
}
