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
        ip_addr(&self.host)
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
        let address =
            ipv6_addr(address).ok_or_else(|| format!("invalid IPv6 address [{address}]"))?;
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
        ipv4_addr(name).ok_or_else(|| {
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

/// `text` as an IPv4 or IPv6 address, exactly as `IpAddr`'s `FromStr`
/// reads it (see [`ipv4_addr`] and [`ipv6_addr`]).
pub(crate) fn ip_addr(text: &str) -> Option<IpAddr> {
    match ipv4_addr(text) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => ipv6_addr(text).map(IpAddr::V6),
    }
}

/// `text` as an IPv4 address, exactly as `Ipv4Addr`'s `FromStr` reads it:
/// four decimal numbers 0-255 separated by `.`, none empty and none with a
/// leading zero but `0` itself. Written out here (as are [`ipv6_addr`] and
/// [`ip_addr`]) because std's address parser is 2.7 KB of code in every
/// app that parses a URL.
pub(crate) fn ipv4_addr(text: &str) -> Option<Ipv4Addr> {
    ipv4_octets(text.as_bytes()).map(Ipv4Addr::from)
}

/// The four octets of an IPv4 address's text (see [`ipv4_addr`]).
fn ipv4_octets(text: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let digits = parts.next()?;
        if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        let mut value = 0u16;
        for &b in digits {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    match parts.next() {
        None => Some(octets),
        Some(_) => None,
    }
}

/// `text` as an IPv6 address, exactly as `Ipv6Addr`'s `FromStr` reads it:
/// eight groups of 1-4 hex digits separated by `:`, of which one `::`
/// stands for one or more zero groups, the last two groups optionally
/// written as an IPv4 address (after `::` or as the seventh and eighth
/// groups); no zone (`%eth0`), no brackets.
pub(crate) fn ipv6_addr(text: &str) -> Option<Ipv6Addr> {
    let text = text.as_bytes();
    let mut groups = [0; 8];
    match text.windows(2).position(|pair| pair == b"::") {
        None => {
            if ipv6_groups(text, &mut groups, true)? != 8 {
                return None;
            }
        }
        Some(gap) => {
            // An IPv4 part only at the end, and `::` is at least one group.
            let head = ipv6_groups(&text[..gap], &mut groups[..7], false)?;
            let mut tail = [0; 7];
            let tail_len = ipv6_groups(&text[gap + 2..], &mut tail[..7 - head], true)?;
            groups[8 - tail_len..].copy_from_slice(&tail[..tail_len]);
        }
    }
    Some(Ipv6Addr::from(groups))
}

/// Reads `text`, groups separated by single colons (the last one, when
/// `ipv4_last`, may be an IPv4 address, two groups), into `slots`: how many
/// groups it held, or `None` if one is not a group or they do not fit.
fn ipv6_groups(text: &[u8], slots: &mut [u16], ipv4_last: bool) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut count = 0;
    let mut parts = text.split(|&b| b == b':').peekable();
    while let Some(part) = parts.next() {
        if ipv4_last && parts.peek().is_none() && part.contains(&b'.') {
            let [a, b, c, d] = ipv4_octets(part)?;
            let pair = slots.get_mut(count..count + 2)?;
            pair[0] = u16::from_be_bytes([a, b]);
            pair[1] = u16::from_be_bytes([c, d]);
            return Some(count + 2);
        }
        if part.is_empty() || part.len() > 4 {
            return None;
        }
        let mut value = 0u16;
        for &b in part {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return None,
            };
            value = value << 4 | u16::from(digit);
        }
        *slots.get_mut(count)? = value;
        count += 1;
    }
    Some(count)
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
    use proptest::prelude::*;

    fn normalize(raw: &str) -> Result<String, String> {
        WsUrl::parse(raw)
            .map(|url| url.as_str().to_owned())
            .map_err(|e| e.reason().to_owned())
    }

    /// Asserts that the crate's address parsers read `text` as std's
    /// `FromStr` for `Ipv4Addr`, `Ipv6Addr` and `IpAddr` does.
    fn reads_as_std(text: &str) {
        crate::fuzzing::ip_addr(text.as_bytes());
    }

    /// Every way to write `parts` joined by `:`, without `::` and with it
    /// at each place, each also with a stray colon before, after or in
    /// the `::`.
    fn ipv6_texts(parts: &[&str]) -> Vec<String> {
        let mut texts = vec![parts.join(":")];
        for gap in 0..=parts.len() {
            let text = format!("{}::{}", parts[..gap].join(":"), parts[gap..].join(":"));
            texts.push(text.replacen("::", ":::", 1));
            texts.push(text);
        }
        let stray: Vec<String> = texts
            .iter()
            .flat_map(|text| [format!(":{text}"), format!("{text}:")])
            .collect();
        texts.extend(stray);
        texts
    }

    #[test]
    fn ipv4_addresses_read_as_std_reads_them() {
        const OCTETS: [&str; 17] = [
            "0", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "00", "01",
            "001", "1000", "",
        ];
        let mut parts = Vec::new();
        for n in 0..17usize.pow(4) {
            parts.clear();
            parts.extend((0..4).map(|i| OCTETS[n / 17usize.pow(i) % 17]));
            let text = parts.join(".");
            reads_as_std(&text);
            reads_as_std(&format!("{text}."));
            reads_as_std(&format!(".{text}"));
        }
        // Too few and too many numbers.
        for count in [1, 2, 3, 5] {
            for n in 0..5usize.pow(count) {
                let parts: Vec<&str> = (0..count)
                    .map(|i| ["0", "255", "256", "01", ""][n / 5usize.pow(i) % 5])
                    .collect();
                reads_as_std(&parts.join("."));
            }
        }
        for text in [
            "+1.2.3.4",
            "1.2.3.-4",
            " 1.2.3.4",
            "1.2.3.4 ",
            "1.2.3.\u{663}",
            "0x1.2.3.4",
        ] {
            reads_as_std(text);
        }
    }

    #[test]
    fn ipv6_addresses_read_as_std_reads_them() {
        // Every sequence of 0-9 groups, each "0" or "Ab9F".
        for count in 0..=9 {
            for n in 0..1usize << count {
                let parts: Vec<&str> = (0..count).map(|i| ["0", "Ab9F"][n >> i & 1]).collect();
                ipv6_texts(&parts)
                    .iter()
                    .for_each(|text| reads_as_std(text));
            }
        }
        // One odd part, in every place among 1-9 groups of "1".
        const ODD: [&str; 21] = [
            "00000",
            "12345",
            "fffff",
            "g",
            "",
            "0000",
            "FFFF",
            "abcd",
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.0.0.1",
            "1.2.3.4x",
            " 1",
            "1%eth0",
            "+1",
            "[1]",
            "\u{663}",
        ];
        for count in 1..=9 {
            for place in 0..count {
                for odd in ODD {
                    let mut parts = vec!["1"; count];
                    parts[place] = odd;
                    ipv6_texts(&parts)
                        .iter()
                        .for_each(|text| reads_as_std(text));
                }
            }
        }
        // Two `::`.
        for text in ["::1::", "1::2::3", "::::", "1::2:3::", "::1.2.3.4::"] {
            reads_as_std(text);
        }
    }

    /// Text near an address: eight groups of 1-4 (or 5) hex digits, maybe
    /// one more or one less, maybe the last two written as IPv4, maybe a
    /// run of them (or none) as `::`, then maybe one character replaced,
    /// added or removed.
    fn near_an_address() -> impl Strategy<Value = String> {
        let octet = "(0|00|1?[0-9]{1,2}|2[0-5][0-9])";
        let ipv4 = prop::string::string_regex(&format!("{octet}(\\.{octet}){{3}}")).unwrap();
        let group = prop_oneof![9 => "[0-9a-fA-F]{1,4}", 1 => "[0-9a-fA-F]{5}"];
        let count = prop_oneof![6 => Just(8), 1 => Just(7), 1 => Just(9)];
        let edit = (
            0..3u8,
            prop::sample::select(b"0aF:.x".to_vec()),
            any::<prop::sample::Index>(),
        );
        (
            prop::collection::vec(group, 9),
            count,
            prop::option::of(ipv4),
            prop::option::of((0..10usize, 0..9usize)),
            prop::option::weighted(0.5, edit),
        )
            .prop_map(|(groups, count, ipv4, gap, edit)| {
                let mut parts: Vec<&str> = groups[..count].iter().map(String::as_str).collect();
                if let Some(ipv4) = &ipv4 {
                    parts.truncate(count - 2);
                    parts.push(ipv4);
                }
                let mut text = match gap {
                    Some((start, len)) => {
                        let start = start.min(parts.len());
                        let end = (start + len).min(parts.len());
                        format!("{}::{}", parts[..start].join(":"), parts[end..].join(":"))
                    }
                    None => parts.join(":"),
                };
                if let Some((kind, byte, at)) = edit {
                    let (at, c) = (at.index(text.len() + 1), char::from(byte));
                    match kind {
                        0 if at < text.len() => text.replace_range(at..=at, &c.to_string()),
                        1 => text.insert(at, c),
                        _ if at < text.len() => drop(text.remove(at)),
                        _ => {}
                    }
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn random_text_reads_as_std_reads_it(text in "[0-9a-fA-F:.x]{0,45}") {
            reads_as_std(&text);
        }

        #[test]
        fn text_near_an_address_reads_as_std_reads_it(text in near_an_address()) {
            reads_as_std(&text);
        }
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
