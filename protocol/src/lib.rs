//! The rules of the WebSocket protocol that wasm-websocket applies in more
//! than one place, written once and free of dependencies: the SDK's default
//! build (which has no protocol engine), the engine, the polyfill and the
//! server all take them from here.
//!
//! - [`url`]: the one `ws://` / `wss://` URL parser ([`WsUrl`]).
//! - [`headers`]: the headers the handshake owns, HTTP tokens, header names
//!   and values, subprotocol offers.
//! - [`close`]: which close codes may be sent, the reason and control-frame
//!   limits, close payloads (and the 1005 "no status" mapping).
//! - [`close_watch`]: follows a peer's frames to keep its close payload.
//! - [`limits`]: the default limits and the timeout clamp.
//! - [`unmask`]: takes a client's masks off the frames a server reads.
//!
//! ```
//! use wasm_websocket_protocol::{WsUrl, close, headers};
//!
//! let url = WsUrl::parse("WSS://Example.COM:443/chat?room=1").unwrap();
//! assert_eq!(url.as_str(), "wss://example.com/chat?room=1");
//! assert_eq!((url.host(), url.port(), url.is_secure()), ("example.com", 443, true));
//!
//! assert!(headers::check_header("Authorization", "Bearer 3f9a").is_ok());
//! assert!(headers::check_header("Sec-WebSocket-Key", "x").is_err());
//!
//! assert_eq!(close::outgoing(None, "bye"), Ok(Some(1000)));
//! assert!(close::outgoing(Some(1006), "").is_err());
//! ```
//!
//! Every function here takes any input without panicking; the parsers are
//! under property tests and fuzz targets (`fuzz/` in the repository).

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod close;
pub mod close_watch;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod headers;
pub mod limits;
pub mod unmask;
pub mod url;

pub use url::{UrlError, WsUrl};
