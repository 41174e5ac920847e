//! The protocol engine of wasm-websocket: RFC 6455 by tungstenite over the
//! non-blocking `wasi:sockets` TCP streams, `wss://` by rustls, each wait a
//! pollable with a deadline. The polyfill component exports
//! `golem:websocket/client@1.5.0` on top of it.
//!
//! Everything that decides (settings parsing, error classification, the
//! request head, work budgets) is pure and unit-tested on the host; the
//! protocol rules themselves (URLs, headers, close codes, limits) are the
//! dependency-free `wasm-websocket-protocol` crate's.

pub mod accept;
pub mod budget;
pub mod close_watch;
pub mod errors;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod io;
pub mod listen;
pub mod net;
pub mod settings;
pub mod target;
#[cfg(feature = "tls")]
pub mod tls;

/// The tungstenite this engine runs, for the types its users name.
pub use tungstenite;

/// The protocol rules this engine applies (URLs, headers, close codes,
/// limits), for its users' own checks: the polyfill's `close`, a ping's
/// payload.
pub use wasm_websocket_protocol as protocol;
