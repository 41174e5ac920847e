//! The protocol engine of wasm-websocket: RFC 6455 by tungstenite over the
//! non-blocking `wasi:sockets` TCP streams, `wss://` by rustls, each wait a
//! pollable with a deadline.
//!
//! Two pieces make a connection, and neither ever waits: [`connect`] opens a
//! client session step by step (lookup, TCP, TLS, handshake), and
//! [`session`] runs an open one (queue a frame whole or refuse it, read a
//! slice, close, flush, leave, and say what to wait on). The drivers are
//! thin: the polyfill component, which exports `golem:websocket/client@1.5.0`
//! and blocks inside its calls, and the SDK's direct client and server, which
//! wait on the wstd reactor. The layers below: [`wait`] (deadlines),
//! [`net`] (lookup, TCP), [`io`] (non-blocking streams), [`tls`],
//! [`transport`] (plain or TLS, with the close watch).
//!
//! Everything that decides (settings parsing, error classification, the
//! request head, work budgets) is pure and unit-tested on the host; the
//! protocol rules themselves (URLs, headers, close codes, limits) are the
//! dependency-free `wasm-websocket-protocol` crate's.

pub mod accept;
pub mod budget;
pub mod close_watch;
pub mod connect;
pub mod errors;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod io;
pub mod keepalive;
pub mod listen;
pub mod net;
pub mod session;
pub mod settings;
pub mod target;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;
pub mod wait;

/// The tungstenite this engine runs, for the types its users name.
pub use tungstenite;

/// The protocol rules this engine applies (URLs, headers, close codes,
/// limits), for its users' own checks: the polyfill's `close`, a ping's
/// payload.
pub use wasm_websocket_protocol as protocol;
