//! The one `ws://` / `wss://` URL parser of wasm-websocket: a small, strict
//! parser in place of the `url` crate, whose Unicode (IDNA) tables were most
//! of what the SDK added to an app's size. A URL is parsed once, into a
//! [`WsUrl`], and its parts (scheme, host, port, path) are read from that.
//!
//! It accepts `ws[s]://host[:port][/path][?query]` with the scheme in any case;
//! the host a DNS name (letters, digits, `-`, `.`, `_`, `~`), a dotted-decimal
//! IPv4 address or a bracketed IPv6 address; the port 0-65535. It refuses
//! what the `url` crate refused (no scheme, other schemes, an empty host, a
//! bad port or IP address, a fragment, credentials) and, being strict, also
//! what `url` quietly rewrote: a non-ASCII host (its ASCII `xn--` form works),
//! percent-escapes or odd characters in the host, IPv4 shorthands such as
//! `127.1`, control characters, a backslash before the query, and a scheme
//! not followed by `//`.
//!
//! Its serialized form ([`WsUrl::as_str`]) is what `url` serialized for the same input: scheme
//! and host in lowercase, the default port (80, 443) dropped, `/` for an empty
//! path, and in the path and query the characters an HTTP request line may not
//! hold percent-encoded (WHATWG's path and special-query sets: space, `"`,
//! `<`, `>`, `` ` ``, `{`, `}` or `'`, and every non-ASCII character as UTF-8).
//! Hosts parse it as an `http::Uri` and tungstenite matches the scheme
//! case-sensitively, so the lowercase scheme and the encoding are what they
//! need. Dot segments are resolved as `url` resolved them (`/a/./b/../c` is
//! `/a/c`), so that a server sees the path it saw before.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A checked `ws://` or `wss://` URL, in its serialized form and parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WsUrl {
    serialized: String,
    secure: bool,
    host: String,
    port: u16,
    path_start: usize,
}

/// Why a URL is not a `ws://` / `wss://` URL a client may open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    url: String,
    reason: String,
}

impl UrlError {
    /// The reason alone, without the URL.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for UrlError {
    /// The URL as given, then why: `"ftp://h": scheme ftp:// is not ws:// or wss://`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.url, self.reason)
    }
}

impl std::error::Error for UrlError {}

impl WsUrl {
    /// Parses and checks `raw` (see the module documentation for what is
    /// accepted and how it is serialized).
    pub fn parse(raw: &str) -> Result<WsUrl, UrlError> {
        parse(raw).map_err(|reason| UrlError {
            url: raw.to_owned(),
            reason,
        })
    }

    /// The URL to hand to a host or put in a request: scheme and host in
    /// lowercase, no default port, `/` for an empty path, the path and query
    /// percent-encoded where an HTTP request line needs it.
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    /// `wss://`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host: a lowercase DNS name, or an IP address (IPv6 without its
    /// brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host as an IP address, when the URL names one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The port: the one given, else 80 for `ws://` and 443 for `wss://`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path and query, as the request line carries them (`/chat?room=1`).
    pub fn path_and_query(&self) -> &str {
        &self.serialized[self.path_start..]
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.serialized)
    }
}

impl std::str::FromStr for WsUrl {
    type Err = UrlError;

    fn from_str(raw: &str) -> Result<WsUrl, UrlError> {
        WsUrl::parse(raw)
    }
}

/// Checks `raw`: its parts, or why it is refused (without the URL itself).
fn parse(raw: &str) -> Result<WsUrl, String> {
    // Like `url`, ignore leading and trailing spaces and control characters.
    let input = raw.trim_matches(|c: char| c <= ' ');
    let (scheme, rest) = match input.split_once(':') {
        Some((scheme, rest)) if is_scheme(scheme) => (scheme.to_ascii_lowercase(), rest),
        _ => return Err("relative URL without a base (expected ws:// or wss://)".into()),
    };
    let default_port = match scheme.as_str() {
        "ws" => 80,
        "wss" => 443,
        "http" | "https" => return Err(format!("scheme {scheme}:// is HTTP; use ws:// or wss://")),
        other => return Err(format!("scheme {other}:// is not ws:// or wss://")),
    };
    if let Some(c) = input.chars().find(char::is_ascii_control) {
        return Err(format!("contains the control character {c:?}"));
    }
    if input.contains('#') {
        return Err("a WebSocket URL may not have a fragment".into());
    }
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| format!("expected \"//\" after {scheme}:"))?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err("credentials in the URL are not sent; use an Authorization header".into());
    }
    let (host, port) = host_and_port(authority)?;
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    if path.contains('\\') {
        return Err("a backslash in the path; use '/'".into());
    }

    let mut out = String::with_capacity(input.len() + 8);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host);
    if let Some(port) = port.filter(|&port| port != default_port) {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let path_start = out.len();
    encode(&mut out, &resolve_dots(path), b" \"<>`{}");
    if let Some(query) = query {
        out.push('?');
        encode(&mut out, query, b" \"<>'");
    }
    let bare_host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host)
        .to_owned();
    Ok(WsUrl {
        serialized: out,
        secure: scheme == "wss",
        host: bare_host,
        port: port.unwrap_or(default_port),
        path_start,
    })
}

/// RFC 3986 `scheme`: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// The host in its serialized form (lowercase, IPv6 in brackets) and the
/// port, if the authority names one.
fn host_and_port(authority: &str) -> Result<(String, Option<u16>), String> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed
            .split_once(']')
            .ok_or("invalid IPv6 address (no closing ']')")?;
        let address: Ipv6Addr = address
            .parse()
            .map_err(|_| format!("invalid IPv6 address [{address}]"))?;
        let port = match after {
            "" => None,
            _ => port(after.strip_prefix(':').ok_or("invalid port number")?)?,
        };
        return Ok((format!("[{}]", ipv6_text(address)), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, digits)) => (host, port(digits)?),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err("empty host".into());
    }
    if !host.is_ascii() {
        return Err(format!(
            "host {host:?} is not ASCII: write it in its ASCII (punycode, \"xn--\") form"
        ));
    }
    if let Some(c) = host
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
    {
        return Err(format!("invalid domain character {c:?} in host {host:?}"));
    }
    // A name whose last label is a number is an IPv4 address (as in `url`),
    // and then it must be four decimal numbers.
    let name = host.strip_suffix('.').unwrap_or(host);
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    if hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) {
        name.parse::<Ipv4Addr>().map_err(|_| {
            format!("invalid IPv4 address {host:?} (write it as four decimal numbers, a.b.c.d)")
        })?;
        // The parser takes four decimal numbers without leading zeros only,
        // which is the address's text as `Display` would write it (and
        // writing it here keeps that formatter out of the app).
        return Ok((name.to_owned(), port));
    }
    if name.split('.').any(str::is_empty) {
        return Err(format!("empty label in host {host:?}"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// An IPv6 address in its canonical text (RFC 5952, as `Ipv6Addr`'s
/// `Display` writes it): lowercase hex without leading zeros, the first
/// longest run of two or more zero groups as `::`, an IPv4-mapped address
/// as `::ffff:a.b.c.d`. Written out here because `Display` of `Ipv6Addr`
/// is 2 KB of code in every app that parses a URL.
fn ipv6_text(address: Ipv6Addr) -> String {
    let groups = address.segments();
    if let [0, 0, 0, 0, 0, 0xffff, high, low] = groups {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        return format!("::ffff:{a}.{b}.{c}.{d}");
    }
    // The first longest run of zero groups, if two or more long.
    let (mut best, mut best_len, mut run) = (0, 0, 0);
    for (i, &group) in groups.iter().enumerate() {
        run = if group == 0 { run + 1 } else { 0 };
        if run > best_len {
            best_len = run;
            best = i + 1 - run;
        }
    }
    let mut text = String::with_capacity(39);
    let mut i = 0;
    while i < groups.len() {
        if best_len >= 2 && i == best {
            text.push_str(if i == 0 { "::" } else { ":" });
            i += best_len;
            continue;
        }
        text.push_str(&format!("{:x}", groups[i]));
        i += 1;
        if i < groups.len() {
            text.push(':');
        }
    }
    text
}

/// The port after `:`: none when empty (as in `ws://host:/`), else 0-65535.
fn port(digits: &str) -> Result<Option<u16>, String> {
    if digits.is_empty() {
        return Ok(None);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid port number".into());
    }
    let value = digits.trim_start_matches('0');
    if value.is_empty() {
        return Ok(Some(0));
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| "invalid port number (0-65535)".into())
}

/// The path with its `.` and `..` segments resolved (also written as `%2e`),
/// as WHATWG URL parsing does: `/a/./b/../c` is `/a/c`, `/a/..` is `/`, an
/// empty path is `/`.
fn resolve_dots(path: &str) -> String {
    let is = |segment: &str, dots: &[&str]| dots.iter().any(|d| segment.eq_ignore_ascii_case(d));
    let mut segments: Vec<&str> = Vec::new();
    // The path is empty or starts with '/'.
    let mut parts = path.split('/').skip(1).peekable();
    while let Some(segment) = parts.next() {
        let last = parts.peek().is_none();
        if is(segment, &["..", ".%2e", "%2e.", "%2e%2e"]) {
            segments.pop();
        } else if !is(segment, &[".", "%2e"]) {
            segments.push(segment);
            continue;
        }
        if last {
            segments.push("");
        }
    }
    format!("/{}", segments.join("/"))
}

/// Appends `text`, percent-encoding non-ASCII characters (as UTF-8) and the
/// ASCII bytes in `set`.
fn encode(out: &mut String, text: &str, set: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for c in text.chars() {
        if c.is_ascii() && !set.contains(&(c as u8)) {
            out.push(c);
            continue;
        }
        let mut utf8 = [0; 4];
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(raw: &str) -> Result<String, String> {
        WsUrl::parse(raw)
            .map(|url| url.as_str().to_owned())
            .map_err(|e| e.reason().to_owned())
    }

    #[test]
    fn ipv6_text_is_what_display_writes() {
        // Every address whose groups are each 0, 1, 0xabcd or 0xffff: runs
        // of zeros of every length and place, ties, the IPv4-mapped form.
        for n in 0..4u32.pow(8) {
            let groups: [u16; 8] =
                std::array::from_fn(|i| [0, 1, 0xabcd, 0xffff][(n >> (2 * i) & 3) as usize]);
            let address = Ipv6Addr::from(groups);
            assert_eq!(ipv6_text(address), address.to_string(), "{groups:x?}");
        }
    }

    #[test]
    fn normalizes_as_the_url_crate_serialized() {
        for (input, expected) in [
            (
                "ws://127.0.0.1:9001/path?q=1",
                "ws://127.0.0.1:9001/path?q=1",
            ),
            ("WSS://Example.COM", "wss://example.com/"),
            ("Ws://h", "ws://h/"),
            ("ws://h?x=1", "ws://h/?x=1"),
            ("ws://h:80/", "ws://h/"),
            ("wss://h:443/a", "wss://h/a"),
            ("ws://h:443/", "ws://h:443/"),
            ("wss://h:80/", "wss://h:80/"),
            ("ws://h:/", "ws://h/"),
            ("ws://h:08080/", "ws://h:8080/"),
            ("ws://h:0/", "ws://h:0/"),
            ("ws://h:65535/", "ws://h:65535/"),
            ("wss://[::1]:443", "wss://[::1]/"),
            ("ws://[0:0:0:0:0:0:0:1]:9001/", "ws://[::1]:9001/"),
            ("ws://[2001:DB8::A]/", "ws://[2001:db8::a]/"),
            ("ws://xn--bcher-kva.example/", "ws://xn--bcher-kva.example/"),
            ("ws://my_host.local./x", "ws://my_host.local./x"),
            ("ws://127.0.0.1./", "ws://127.0.0.1/"),
            ("  ws://h/ \n", "ws://h/"),
            ("ws://h/a b/\"<>`{}", "ws://h/a%20b/%22%3C%3E%60%7B%7D"),
            ("ws://h/?a b&c='\"<>`{}", "ws://h/?a%20b&c=%27%22%3C%3E`{}"),
            (
                "ws://h/caf\u{e9}?q=\u{1f980}",
                "ws://h/caf%C3%A9?q=%F0%9F%A6%80",
            ),
            ("ws://h/%41%zz|^[]", "ws://h/%41%zz|^[]"),
            ("ws://h/?q=a\\b/c?d", "ws://h/?q=a\\b/c?d"),
            ("ws://h/a/../b", "ws://h/b"),
            ("ws://h/a/./b/%2E/c/.%2e/d", "ws://h/a/b/d"),
            ("ws://h/a/b/..?q=/../", "ws://h/a/?q=/../"),
            ("ws://h/a/.", "ws://h/a/"),
            ("ws://h/../..", "ws://h/"),
            ("ws://h/a//b/", "ws://h/a//b/"),
            ("ws://h/..a/b.", "ws://h/..a/b."),
            // std's form of an IPv4-mapped address; `url` wrote [::ffff:102:304].
            ("ws://[::FFFF:1.2.3.4]/", "ws://[::ffff:1.2.3.4]/"),
        ] {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn refuses_with_the_reason() {
        for (input, reason) in [
            ("not a url", "relative URL"),
            ("127.0.0.1:9001", "relative URL"),
            ("", "relative URL"),
            ("http://example.com", "scheme http:// is HTTP"),
            ("HTTPS://example.com", "scheme https:// is HTTP"),
            ("ftp://example.com", "not ws:// or wss://"),
            ("ws:example.com", "expected \"//\" after ws:"),
            ("ws:/example.com", "expected \"//\""),
            ("ws://", "empty host"),
            ("ws:///path", "empty host"),
            ("ws://:9001/", "empty host"),
            ("ws://example.com/#frag", "fragment"),
            ("ws://example.com#", "fragment"),
            ("ws://user:pw@example.com/", "credentials"),
            ("ws://@example.com/", "credentials"),
            ("ws://b\u{fc}cher.example/", "punycode"),
            ("ws://B\u{dc}CHER.example/", "\"xn--\""),
            ("ws://exa mple.com/", "invalid domain character ' '"),
            ("ws://ex%61mple.com/", "invalid domain character '%'"),
            ("ws://a*b/", "invalid domain character '*'"),
            ("ws://h\\x/", "invalid domain character '\\\\'"),
            ("ws://a..b/", "empty label"),
            ("ws://.a/", "empty label"),
            ("ws://h:65536/", "invalid port number"),
            ("ws://h:99999999999999999999/", "invalid port number"),
            ("ws://h:-1/", "invalid port number"),
            ("ws://h:8o/", "invalid port number"),
            ("ws://h:1:2/", "invalid port number"),
            ("ws://127.1/", "invalid IPv4 address"),
            ("ws://1.2.3.256/", "invalid IPv4 address"),
            ("ws://010.0.0.1/", "invalid IPv4 address"),
            ("ws://0x7f000001/", "invalid IPv4 address"),
            ("ws://example.123/", "invalid IPv4 address"),
            ("ws://[::1/", "no closing ']'"),
            ("ws://[::g]/", "invalid IPv6 address"),
            ("ws://[fe80::1%25eth0]/", "invalid IPv6 address"),
            ("ws://[::1]x/", "invalid port number"),
            ("ws://[::1]:70000/", "invalid port number"),
            ("ws://h/a\\b", "backslash"),
            ("ws://h/a\tb", "control character '\\t'"),
            ("ws://h/?a\u{7f}", "control character '\\u{7f}'"),
            ("ws://h/\r\nHost: evil", "control character '\\r'"),
        ] {
            match normalize(input) {
                Err(message) => assert!(message.contains(reason), "{input:?}: {message}"),
                Ok(url) => panic!("{input:?} was accepted as {url:?}"),
            }
        }
    }

    #[test]
    fn the_parts_are_read_from_the_one_parse() {
        let url = WsUrl::parse("WS://Example.com:8080/a/../chat?x=1").unwrap();
        assert_eq!(url.as_str(), "ws://example.com:8080/chat?x=1");
        assert_eq!(
            (
                url.is_secure(),
                url.host(),
                url.port(),
                url.path_and_query()
            ),
            (false, "example.com", 8080, "/chat?x=1")
        );
        assert_eq!(url.ip(), None);
        let url = WsUrl::parse("wss://[::1]").unwrap();
        assert_eq!(
            (url.host(), url.port(), url.path_and_query()),
            ("::1", 443, "/")
        );
        assert_eq!(url.ip(), Some(IpAddr::from(Ipv6Addr::LOCALHOST)));
        assert_eq!(WsUrl::parse("ws://127.0.0.1").unwrap().port(), 80);
        assert_eq!("ws://h/".parse::<WsUrl>().unwrap().to_string(), "ws://h/");
    }

    #[test]
    fn the_error_names_the_url_and_the_reason() {
        let err = WsUrl::parse("ftp://h").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"ftp://h\": scheme ftp:// is not ws:// or wss://"
        );
        assert_eq!(err.reason(), "scheme ftp:// is not ws:// or wss://");
    }
}
