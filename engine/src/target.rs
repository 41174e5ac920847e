//! Where to connect and what to send in the opening handshake: URL parsing and
//! the handshake request (pure; unit-tested on the host).

use std::net::IpAddr;

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request;
use tungstenite::http::{HeaderName, HeaderValue, Uri};

/// A parsed `ws://` or `wss://` URL.
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
    /// The host as an IP address, when the URL names one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Parses a WebSocket URL.
pub fn parse(url: &str) -> Result<Target, String> {
    if url.contains('#') {
        return Err(format!(
            "invalid URL {url:?}: a WebSocket URL has no fragment"
        ));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("ws") => false,
        Some("wss") => true,
        Some(other) => {
            return Err(format!(
                "invalid URL {url:?}: scheme {other:?} is not ws or wss"
            ));
        }
        None => {
            return Err(format!(
                "invalid URL {url:?}: no scheme (expected ws:// or wss://)"
            ));
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("invalid URL {url:?}: no host"))?;
    if authority.as_str().contains('@') {
        return Err(format!(
            "invalid URL {url:?}: user information is not supported"
        ));
    }
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(format!("invalid URL {url:?}: no host"));
    }
    let port = authority
        .port_u16()
        .unwrap_or(if secure { 443 } else { 80 });
    Ok(Target {
        secure,
        host: host.to_string(),
        port,
        uri,
    })
}

/// Headers the handshake sets itself; a caller may not give them.
const HANDSHAKE_HEADERS: [&str; 8] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "content-length",
];

/// Builds the opening-handshake request: tungstenite's standard headers plus the
/// caller's (a `Sec-WebSocket-Protocol` header offers subprotocols).
pub fn request(target: &Target, headers: &[(String, String)]) -> Result<Request, String> {
    let mut request = target
        .uri
        .clone()
        .into_client_request()
        .map_err(|e| format!("invalid URL: {e}"))?;
    for (name, value) in headers {
        if HANDSHAKE_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return Err(format!(
                "header {name:?} is set by the WebSocket handshake and cannot be given"
            ));
        }
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

    #[test]
    fn ws_and_wss_with_default_ports() {
        let t = parse("ws://example.com/chat?x=1").unwrap();
        assert_eq!(
            (t.secure, t.host.as_str(), t.port),
            (false, "example.com", 80)
        );
        assert_eq!(t.uri.path_and_query().unwrap().as_str(), "/chat?x=1");
        let t = parse("WSS://example.com").unwrap();
        assert_eq!(
            (t.secure, t.host.as_str(), t.port),
            (true, "example.com", 443)
        );
    }

    #[test]
    fn explicit_ports_and_ip_literals() {
        let t = parse("ws://127.0.0.1:9001/runCase?case=1&agent=a").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 9001));
        assert_eq!(t.ip(), Some("127.0.0.1".parse().unwrap()));
        let t = parse("wss://[::1]:8443/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert_eq!(t.ip(), Some("::1".parse().unwrap()));
        assert_eq!(parse("ws://localhost/").unwrap().ip(), None);
    }

    #[test]
    fn rejects_what_is_not_a_websocket_url() {
        for (url, why) in [
            ("http://example.com/", "scheme \"http\" is not ws or wss"),
            ("example.com", "no scheme"),
            ("ws://example.com/#frag", "no fragment"),
            ("ws://user:pw@example.com/", "user information"),
            ("ws:///path", "invalid URL"),
            ("ws://exa mple.com/", "invalid URL"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn request_carries_extra_headers_and_subprotocols() {
        let t = parse("ws://example.com:8080/x").unwrap();
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
        let t = parse("ws://example.com/").unwrap();
        let err = request(&t, &[("Sec-WebSocket-Key".into(), "x".into())]).unwrap_err();
        assert!(err.contains("set by the WebSocket handshake"), "{err}");
        let err = request(&t, &[("X-A".into(), "a\r\nb".into())]).unwrap_err();
        assert!(err.contains("invalid value for header \"X-A\""), "{err}");
        let err = request(&t, &[("bad name".into(), "v".into())]).unwrap_err();
        assert!(err.contains("invalid header name"), "{err}");
    }
}
