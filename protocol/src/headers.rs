//! The opening handshake's request headers: the ones the handshake writes
//! itself (a caller may not set them), HTTP tokens (RFC 9110 `tchar`), the
//! values a header may carry, and subprotocol offers.

use std::fmt;

/// Headers the handshake writes itself, in lowercase; a request may not set
/// them. (`Sec-WebSocket-Protocol` is not here: it carries the subprotocol
/// offer, see [`client_headers`].)
pub const HANDSHAKE_HEADERS: [&str; 8] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "content-length",
];

/// The header that offers subprotocols (and names the one chosen).
pub const SUBPROTOCOL_HEADER: &str = "Sec-WebSocket-Protocol";

/// Why a request header or subprotocol offer is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The name is empty or not an HTTP token.
    BadName(String),
    /// The handshake writes this header itself.
    HandshakeOwned(String),
    /// The value holds this character (a control character other than tab,
    /// or one that is not ASCII).
    BadValue {
        /// The header's name.
        name: String,
        /// The first character refused.
        found: char,
    },
    /// `Sec-WebSocket-Protocol` was given as a header, not as an offer.
    SubprotocolAsHeader,
    /// A subprotocol is empty or not an HTTP token.
    BadSubprotocol(String),
    /// A subprotocol is offered twice.
    RepeatedSubprotocol(String),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::BadName(name) => write!(f, "header name {name:?} is not an HTTP token"),
            HeaderError::HandshakeOwned(name) => write!(
                f,
                "{name} is written by the WebSocket handshake and cannot be set"
            ),
            HeaderError::BadValue { name, found } => {
                write!(f, "value of {name} contains {found:?}")
            }
            HeaderError::SubprotocolAsHeader => f.write_str(
                "set Sec-WebSocket-Protocol with ClientRequest::subprotocol, not as a header",
            ),
            HeaderError::BadSubprotocol(protocol) => {
                write!(f, "subprotocol {protocol:?} is not an HTTP token")
            }
            HeaderError::RepeatedSubprotocol(protocol) => {
                write!(f, "subprotocol {protocol:?} is offered twice")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// RFC 9110 `tchar`: a byte an HTTP token may hold.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// An HTTP token: one or more [`is_token_byte`] bytes (header names,
/// subprotocols).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Whether the handshake writes header `name` itself (any case).
pub fn is_handshake_header(name: &str) -> bool {
    HANDSHAKE_HEADERS
        .iter()
        .any(|owned| name.eq_ignore_ascii_case(owned))
}

/// The first character of `value` a header value may not hold: values may
/// hold visible ASCII, spaces and tabs (no CR, LF, NUL or other control
/// characters, nothing beyond ASCII).
pub fn bad_value_char(value: &str) -> Option<char> {
    value
        .chars()
        .find(|&c| c != '\t' && !(' '..='~').contains(&c))
}

/// Checks one request header a caller gives: an HTTP-token name that the
/// handshake does not write itself, and a value [`bad_value_char`] finds
/// nothing in. `Sec-WebSocket-Protocol` passes (a host takes the offer in it).
pub fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    if !is_token(name) {
        return Err(HeaderError::BadName(name.to_owned()));
    }
    if is_handshake_header(name) {
        return Err(HeaderError::HandshakeOwned(name.to_owned()));
    }
    if let Some(found) = bad_value_char(value) {
        return Err(HeaderError::BadValue {
            name: name.to_owned(),
            found,
        });
    }
    Ok(())
}

/// Checks subprotocol offers (HTTP tokens, each once) and returns the value
/// of the `Sec-WebSocket-Protocol` header that carries them, in order of
/// preference (`None` for no offer).
pub fn subprotocol_offer(protocols: &[String]) -> Result<Option<String>, HeaderError> {
    for (i, protocol) in protocols.iter().enumerate() {
        if !is_token(protocol) {
            return Err(HeaderError::BadSubprotocol(protocol.clone()));
        }
        if protocols[..i].contains(protocol) {
            return Err(HeaderError::RepeatedSubprotocol(protocol.clone()));
        }
    }
    Ok((!protocols.is_empty()).then(|| protocols.join(", ")))
}

/// The headers a client's opening request carries besides the handshake's
/// own: `headers` (each checked with [`check_header`]; none may be
/// `Sec-WebSocket-Protocol`), then the subprotocol offer in one
/// `Sec-WebSocket-Protocol` header.
pub fn client_headers(
    headers: &[(String, String)],
    subprotocols: &[String],
) -> Result<Vec<(String, String)>, HeaderError> {
    let mut out = Vec::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        check_header(name, value)?;
        if name.eq_ignore_ascii_case(SUBPROTOCOL_HEADER) {
            return Err(HeaderError::SubprotocolAsHeader);
        }
        out.push((name.clone(), value.clone()));
    }
    if let Some(offer) = subprotocol_offer(subprotocols)? {
        out.push((SUBPROTOCOL_HEADER.to_owned(), offer));
    }
    Ok(out)
}

/// The subprotocols a `Sec-WebSocket-Protocol` header value offers, in
/// order: its comma-separated items, trimmed, empty ones left out.
pub fn offered_subprotocols(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_must_be_tokens_the_handshake_does_not_own() {
        assert!(check_header("Authorization", "Bearer t").is_ok());
        assert!(check_header("Sec-WebSocket-Protocol", "chat").is_ok());
        for name in ["", "Bad Name", "X-\u{dc}nicode", "a:b", "x\r\n"] {
            assert_eq!(
                check_header(name, "v"),
                Err(HeaderError::BadName(name.into()))
            );
        }
        for name in HANDSHAKE_HEADERS {
            assert_eq!(
                check_header(&name.to_uppercase(), "v"),
                Err(HeaderError::HandshakeOwned(name.to_uppercase()))
            );
        }
    }

    #[test]
    fn values_hold_visible_ascii_spaces_and_tabs() {
        assert!(check_header("X-A", "a b\tc~!").is_ok());
        for (value, found) in [
            ("a\r\nb", '\r'),
            ("a\0", '\0'),
            ("\u{7f}", '\u{7f}'),
            ("caf\u{e9}", '\u{e9}'),
        ] {
            assert_eq!(
                check_header("X-A", value),
                Err(HeaderError::BadValue {
                    name: "X-A".into(),
                    found
                })
            );
        }
        let text = check_header("X-A", "a\r").unwrap_err().to_string();
        assert_eq!(text, "value of X-A contains '\\r'");
    }

    #[test]
    fn subprotocols_travel_in_one_header_after_the_others() {
        let headers = vec![("Authorization".to_owned(), "Bearer t".to_owned())];
        let out = client_headers(&headers, &strings(&["chat.v2", "chat.v1"])).unwrap();
        assert_eq!(
            out,
            [
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                (
                    "Sec-WebSocket-Protocol".to_owned(),
                    "chat.v2, chat.v1".to_owned()
                ),
            ]
        );
        assert_eq!(client_headers(&[], &[]), Ok(vec![]));
        assert_eq!(
            subprotocol_offer(&strings(&["a b"])),
            Err(HeaderError::BadSubprotocol("a b".into()))
        );
        assert_eq!(
            subprotocol_offer(&strings(&["v1", "v1"])),
            Err(HeaderError::RepeatedSubprotocol("v1".into()))
        );
        let given = vec![("sec-websocket-protocol".to_owned(), "chat".to_owned())];
        assert_eq!(
            client_headers(&given, &[]),
            Err(HeaderError::SubprotocolAsHeader)
        );
    }

    #[test]
    fn an_offer_reads_back_item_by_item() {
        let items: Vec<&str> = offered_subprotocols(" a, ,b ,c").collect();
        assert_eq!(items, ["a", "b", "c"]);
    }
}
