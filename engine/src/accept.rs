//! The server side of the opening handshake, in steps a caller drives over a
//! non-blocking stream: read the request head ([`HeadReader`]), let the app
//! decide on the [`Request`] (its path, headers and offered subprotocols),
//! then write the answer: a 101 with the subprotocol it chose
//! ([`accept_response`]) or a refusal with an HTTP status
//! ([`refusal_response`]). [`server_socket`] then starts tungstenite on the
//! stream, with the bytes read past the head.
//!
//! Parsing, checking and the answers are tungstenite's
//! (`handshake::server`); what decides here is pure and unit-tested on the
//! host.

use std::io::{self, Read};

use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server::{create_response, write_response};
use tungstenite::http::{HeaderValue, Response, StatusCode};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Error, WebSocket};
use wasm_websocket_protocol::headers;

use crate::transport::Transport;

pub use tungstenite::handshake::server::Request;
pub use wasm_websocket_protocol::limits::MAX_HEAD_SIZE;

/// How an error text names the settings that bound an accepted connection's
/// message and frame sizes: the SDK's `ServerConfig` sets them.
pub const SIZE_SETTINGS: &str = "ServerConfig::max_message_size / ServerConfig::max_frame_size";

/// A request the server answers with an HTTP error instead of a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status of the answer.
    pub status: u16,
    /// Why, for the answer's body and the server's log.
    pub text: String,
}

/// How reading the request head ended.
#[derive(Debug)]
pub enum HeadError {
    /// The request is not a WebSocket handshake this server takes: answer
    /// it with the refusal, then close.
    Refused(Refusal),
    /// The stream ended or failed before the head was complete.
    Io(io::Error),
}

/// Collects the request head from a non-blocking stream.
#[derive(Debug)]
pub struct HeadReader {
    buf: Vec<u8>,
    limit: usize,
}

impl Default for HeadReader {
    fn default() -> Self {
        HeadReader::new(MAX_HEAD_SIZE)
    }
}

impl HeadReader {
    /// A reader that refuses a head longer than `limit` bytes (431).
    pub fn new(limit: usize) -> HeadReader {
        HeadReader {
            buf: Vec::new(),
            limit,
        }
    }

    /// Reads what has arrived: `Ok(None)` when the stream has nothing more
    /// for now (`WouldBlock`: wait on its input, then call again), or the
    /// checked request and the bytes that came after its head.
    pub fn read_from(
        &mut self,
        stream: &mut impl Read,
    ) -> Result<Option<(Request, Vec<u8>)>, HeadError> {
        let mut chunk = [0u8; 4096];
        loop {
            // One byte past the limit tells "too long" from "exactly the limit".
            let room = (self.limit + 1)
                .saturating_sub(self.buf.len())
                .min(chunk.len());
            match stream.read(&mut chunk[..room]) {
                Ok(0) => {
                    return Err(HeadError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection before its handshake request was complete",
                    )));
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if let Some(done) = self.parse()? {
                        return Ok(Some(done));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(HeadError::Io(e)),
            }
        }
    }

    /// The request once its head is complete and checked.
    fn parse(&mut self) -> Result<Option<(Request, Vec<u8>)>, HeadError> {
        match Request::try_parse(&self.buf) {
            Ok(Some((size, request))) => {
                check(&request).map_err(HeadError::Refused)?;
                Ok(Some((request, self.buf.split_off(size))))
            }
            Ok(None) if self.buf.len() > self.limit => Err(HeadError::Refused(Refusal {
                status: 431,
                text: format!("the handshake request is longer than {} bytes", self.limit),
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(HeadError::Refused(refusal_for(&e))),
        }
    }
}

/// Whether `request` is a WebSocket handshake (tungstenite's checks).
fn check(request: &Request) -> Result<(), Refusal> {
    create_response(request)
        .map(drop)
        .map_err(|e| refusal_for(&e))
}

fn refusal_for(e: &Error) -> Refusal {
    use tungstenite::error::ProtocolError;
    let status = match e {
        Error::Protocol(ProtocolError::WrongHttpMethod) => 405,
        Error::Protocol(ProtocolError::MissingSecWebSocketVersionHeader) => 426,
        Error::Protocol(
            ProtocolError::MissingUpgradeWebSocketHeader
            | ProtocolError::MissingConnectionUpgradeHeader,
        ) => 426,
        _ => 400,
    };
    Refusal {
        status,
        text: format!("not a WebSocket handshake request: {e}"),
    }
}

/// The subprotocols the client offers (`Sec-WebSocket-Protocol`), in its
/// order of preference.
pub fn offered_protocols(request: &Request) -> Vec<String> {
    request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(headers::offered_subprotocols)
        .map(str::to_string)
        .collect()
}

/// The 101 answer to `request`, naming `protocol` as the subprotocol
/// spoken; it must be one the client offered.
pub fn accept_response(request: &Request, protocol: Option<&str>) -> Result<Vec<u8>, String> {
    let mut response = create_response(request).map_err(|e| e.to_string())?;
    if let Some(protocol) = protocol {
        let offered = offered_protocols(request);
        if !offered.iter().any(|p| p == protocol) {
            return Err(format!(
                "subprotocol {protocol:?} was not offered by the client (it offered {offered:?})"
            ));
        }
        let value = HeaderValue::from_str(protocol)
            .map_err(|_| format!("invalid subprotocol {protocol:?}"))?;
        response
            .headers_mut()
            .insert("sec-websocket-protocol", value);
    }
    serialize(&response)
}

/// An HTTP answer with `status` (400-599) and `body` (plain text) that
/// refuses the WebSocket; the connection is closed after it.
pub fn refusal_response(status: u16, body: &str) -> Result<Vec<u8>, String> {
    if !(400..=599).contains(&status) {
        return Err(format!(
            "a refusal needs an HTTP error status (400-599), not {status}"
        ));
    }
    let status = StatusCode::from_u16(status).map_err(|e| e.to_string())?;
    let response = Response::builder()
        .status(status)
        .header("connection", "close")
        .header("content-type", "text/plain; charset=utf-8")
        .header("content-length", body.len())
        .body(())
        .map_err(|e| e.to_string())?;
    let mut bytes = serialize(&response)?;
    bytes.extend_from_slice(body.as_bytes());
    Ok(bytes)
}

fn serialize(response: &Response<()>) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    write_response(&mut bytes, response).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// tungstenite on a transport whose handshake is done, as the server, with
/// `tail` (what came after the request head) read first. The transport
/// takes the client's masks off ([`Transport::unmask`]), so tungstenite
/// accepts unmasked frames: the transport refuses a frame the client did not
/// mask.
pub fn server_socket(
    mut transport: Transport,
    tail: Vec<u8>,
    config: WebSocketConfig,
) -> WebSocket<Transport> {
    transport.unmask(tail);
    let config = config.accept_unmasked_frames(true);
    WebSocket::from_raw_socket(transport, Role::Server, Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn head(extra: &str) -> String {
        format!(
            "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    }

    /// A stream that hands out its bytes in chunks, then `WouldBlock`.
    struct Trickle {
        chunks: Vec<Vec<u8>>,
        end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.chunks.is_empty() {
                return if self.end {
                    Ok(0)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            let chunk = &mut self.chunks[0];
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.chunks.remove(0);
            }
            Ok(n)
        }
    }

    fn read_all(text: &str) -> Result<Option<(Request, Vec<u8>)>, HeadError> {
        let mut stream = Trickle {
            chunks: vec![text.as_bytes().to_vec()],
            end: false,
        };
        HeadReader::default().read_from(&mut stream)
    }

    fn refused(text: &str) -> Refusal {
        match read_all(text) {
            Err(HeadError::Refused(r)) => r,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_head_in_pieces_is_collected_and_the_tail_kept() {
        let text = head("Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n") + "\u{81}";
        let (first, second) = text.as_bytes().split_at(20);
        let mut stream = Trickle {
            chunks: vec![first.to_vec()],
            end: false,
        };
        let mut reader = HeadReader::default();
        assert!(reader.read_from(&mut stream).unwrap().is_none());
        stream.chunks.push(second.to_vec());
        let (request, tail) = reader.read_from(&mut stream).unwrap().unwrap();
        assert_eq!(request.uri().path(), "/chat");
        assert_eq!(request.uri().query(), Some("room=1"));
        assert_eq!(request.headers()["host"], "example.com");
        assert_eq!(offered_protocols(&request), ["chat.v2", "chat.v1"]);
        assert_eq!(tail, "\u{81}".as_bytes());
    }

    #[test]
    fn an_early_end_is_an_io_error() {
        let mut stream = Trickle {
            chunks: vec![b"GET / HTTP/1.1\r\n".to_vec()],
            end: true,
        };
        match HeadReader::default().read_from(&mut stream) {
            Err(HeadError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_is_not_a_handshake_is_refused_with_a_status() {
        let plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(refused(plain).status, 426);
        let post = head("").replacen("GET", "POST", 1);
        assert_eq!(refused(&post).status, 405);
        let old = head("").replace("Version: 13", "Version: 8");
        assert_eq!(refused(&old).status, 426);
        let bad_key = head("").replace(KEY, "short");
        assert_eq!(refused(&bad_key).status, 400);
        assert_eq!(refused("NOT HTTP\r\n\r\n").status, 400);
    }

    #[test]
    fn a_head_past_the_limit_is_refused_without_reading_on() {
        let mut text = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        text.resize(100_000, b'a');
        let mut stream = Trickle {
            chunks: vec![text],
            end: false,
        };
        match HeadReader::new(128).read_from(&mut stream) {
            Err(HeadError::Refused(r)) => assert_eq!(r.status, 431),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            stream.chunks[0].len(),
            100_000 - 129,
            "stopped at the limit"
        );
        // Exactly the limit is fine.
        let text = head("");
        let mut stream = Trickle {
            chunks: vec![text.as_bytes().to_vec()],
            end: false,
        };
        assert!(
            HeadReader::new(text.len())
                .read_from(&mut stream)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn the_answer_names_the_chosen_subprotocol_only_if_offered() {
        let (request, _) = read_all(&head("Sec-WebSocket-Protocol: a, b\r\n"))
            .unwrap()
            .unwrap();
        let answer = String::from_utf8(accept_response(&request, Some("b")).unwrap()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{answer}"
        );
        assert!(answer.contains("sec-websocket-protocol: b\r\n"), "{answer}");
        assert!(
            answer.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("\r\n\r\n"));
        let none = String::from_utf8(accept_response(&request, None).unwrap()).unwrap();
        assert!(!none.contains("sec-websocket-protocol"), "{none}");
        let err = accept_response(&request, Some("c")).unwrap_err();
        assert!(err.contains("\"c\" was not offered"), "{err}");
    }

    #[test]
    fn a_refusal_is_an_http_error_with_its_body() {
        let answer = String::from_utf8(refusal_response(403, "no entry").unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert!(answer.contains("content-length: 8\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nno entry"), "{answer}");
        assert!(refusal_response(200, "").is_err());
        assert!(refusal_response(101, "").is_err());
        assert!(refusal_response(600, "").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Extra headers a client may send: token names (not the
        /// handshake's own) and visible values.
        fn extra_headers() -> impl Strategy<Value = Vec<(String, String)>> {
            prop::collection::vec(("x-[a-z0-9-]{1,12}", "[!-~]([ -~]{0,30}[!-~])?"), 0..8)
        }

        proptest! {
            /// A handshake, however it is cut, is taken with its path,
            /// query, headers and offered subprotocols, and the bytes after
            /// it are kept.
            #[test]
            fn a_handshake_in_any_pieces_is_taken_whole(
                path in "/[a-zA-Z0-9._~/-]{0,20}",
                query in prop::option::of("[a-z0-9=&]{1,10}"),
                headers in extra_headers(),
                protocols in prop::collection::vec("[a-z0-9.]{1,8}", 0..4),
                tail in prop::collection::vec(any::<u8>(), 0..40),
                cut in 1usize..50,
            ) {
                let target = match &query {
                    Some(query) => format!("{path}?{query}"),
                    None => path.clone(),
                };
                let mut extra = String::new();
                for (name, value) in &headers {
                    extra.push_str(&format!("{name}: {value}\r\n"));
                }
                if !protocols.is_empty() {
                    extra.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", protocols.join(", ")));
                }
                let mut bytes = head(&extra).replacen("/chat?room=1", &target, 1).into_bytes();
                bytes.extend_from_slice(&tail);
                let mut stream = Trickle {
                    chunks: bytes.chunks(cut).map(<[u8]>::to_vec).collect(),
                    end: false,
                };
                let (request, rest) = HeadReader::default().read_from(&mut stream).unwrap().unwrap();
                prop_assert_eq!(request.uri().path(), path.as_str());
                prop_assert_eq!(request.uri().query(), query.as_deref());
                for (name, value) in &headers {
                    let all: Vec<_> = request.headers().get_all(name.as_str()).iter().collect();
                    prop_assert!(all.iter().any(|v| v.as_bytes() == value.as_bytes()), "{}", name);
                }
                prop_assert_eq!(offered_protocols(&request), protocols);
                // Whatever the stream had not handed out yet is still there.
                let mut after = rest;
                for chunk in stream.chunks {
                    after.extend_from_slice(&chunk);
                }
                prop_assert_eq!(after, tail);
            }

            /// A head longer than the limit is refused with 431, and no more
            /// than one byte past the limit is read.
            #[test]
            fn a_head_past_any_limit_is_431(limit in 16usize..2048, extra in 1usize..4096) {
                let mut text = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
                text.resize(limit + extra + 1, b'a');
                let total = text.len();
                let mut stream = Trickle { chunks: vec![text], end: false };
                match HeadReader::new(limit).read_from(&mut stream) {
                    Err(HeadError::Refused(r)) => prop_assert_eq!(r.status, 431),
                    other => prop_assert!(false, "{:?}", other),
                }
                let left: usize = stream.chunks.iter().map(Vec::len).sum();
                prop_assert_eq!(total - left, limit + 1);
            }

            /// A handshake with one byte changed is taken or refused with
            /// an HTTP error status, never anything else.
            #[test]
            fn a_damaged_handshake_is_taken_or_refused(at in 0usize..200, byte in any::<u8>()) {
                let mut bytes = head("").into_bytes();
                let at = at % bytes.len();
                bytes[at] = byte;
                let mut stream = Trickle { chunks: vec![bytes], end: true };
                match HeadReader::default().read_from(&mut stream) {
                    Ok(_) => {}
                    Err(HeadError::Refused(r)) => prop_assert!([400, 405, 426].contains(&r.status), "{:?}", r),
                    Err(HeadError::Io(e)) => prop_assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
                }
            }
        }
    }
}
