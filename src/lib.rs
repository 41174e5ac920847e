//! A WebSocket client for WebAssembly components (`wasm32-wasip2`), in the
//! vocabulary of [tungstenite](https://docs.rs/tungstenite): [`WebSocket`],
//! [`Message`], [`CloseFrame`], [`CloseCode`], [`Error`].
//!
//! A component cannot open a WebSocket by itself: `wasi:http` has no upgrade.
//! This crate imports the host interface `golem:websocket/client@1.5.0`, which
//! Golem provides; on any other WASI 0.2 host, compose the app with this
//! project's polyfill component (`wac plug app.wasm --plug polyfill.wasm -o
//! app.composed.wasm`), which implements the interface over `wasi:sockets`.
//!
//! ```no_run
//! use futures_lite::StreamExt;
//! use wasm_websocket::{ClientRequest, CloseCode, CloseFrame, Message, WebSocket};
//!
//! #[wstd::main]
//! async fn main() -> wasm_websocket::Result<()> {
//!     let request = ClientRequest::new("ws://127.0.0.1:9001/chat").subprotocol("chat.v1");
//!     let mut ws = WebSocket::connect_with(request).await?;
//!
//!     ws.send(Message::text("hello")).await?;
//!     if let Some(reply) = ws.next().await {
//!         println!("got {}", reply?.into_text()?);
//!     }
//!
//!     ws.close(Some(CloseFrame::new(CloseCode::Normal, "done"))).await
//! }
//! ```
//!
//! # Receiving without blocking
//! A receive waits on the connection's pollable through the
//! [wstd](https://docs.rs/wstd) reactor and then takes the message without
//! blocking, so other tasks of the component (other connections, timers, HTTP
//! requests) keep running. [`WebSocket`] is a [`futures_core::Stream`] and a
//! [`futures_sink::Sink`], so `futures-lite` and `futures` combinators apply,
//! and [`WebSocket::split`] gives a sender and a receiver for two tasks.
//!
//! # Reconnecting
//! [`ReconnectingWebSocket`] connects again after an unexpected end, on a
//! schedule of delays ([`ReconnectConfig`]), resends the app's subscriptions
//! on every connect, and reports its messages and transitions as one stream
//! of [`Event`]s. It is built on [`WebSocket`] alone, so it runs on every
//! host shape; how it meets Golem's durable replay is on its page.
//!
//! # Host shapes
//! The default feature `p2` binds the WASI 0.2 shape of the interface (Golem
//! 1.5, golem-rust 2.x, the polyfill) and waits on the wstd reactor. The
//! feature `p3` (with `default-features = false`) binds its WASI 0.3 shape
//! (golem-rust 3.x): `receive` is an async host call, timers come from
//! `wasi:clocks@0.3.0`, and there is no wstd. The API is the same in both.
//! What the crate relies on from a host is written down next to the WIT
//! (`wit/README.md`).
//!
//! # Without composition: the feature `sockets`
//! With `features = ["sockets"]`, [`WebSocket::connect`] runs the protocol
//! engine (tungstenite, rustls for `wss://`) in the app itself over
//! `wasi:sockets`: no polyfill, no composition, and no `golem:websocket`
//! import. Golem 1.5 provides `wasi:sockets`, but not durably: after a
//! restart the socket is gone and the replay runs its calls again live, so a
//! Golem agent should use the default build. Every wait (lookup, connect,
//! handshakes, a send that finds the socket full) is on the wstd reactor; the
//! connection also
//! reports the agreed subprotocol ([`WebSocket::protocol`]) and the response
//! headers ([`WebSocket::handshake_headers`]), sends pings
//! ([`WebSocket::ping`]) and, where asked ([`ClientRequest::pongs`]),
//! receives pongs ([`Message::Pong`]). Its limits and settings are the polyfill's (the
//! same `WASM_WEBSOCKET_*` environment variables). On a `golem:websocket`
//! connection, a ping is [`Error::Unsupported`] and `handshake_headers` is
//! `None`.
//!
//! # Limits
//! - The interface carries text and binary messages and the close handshake;
//!   pings and pongs are answered by the host and not visible here
//!   (`sockets` sends pings and shows pongs).
//! - The subprotocol the server chose is not reported by the interface;
//!   [`WebSocket::protocol`] knows it when exactly one was offered.
//! - `connect`, `send` and `close` are blocking host calls (not under
//!   `sockets`, whose waits are on the reactor): the component
//!   waits while the host does the handshake or hands over a frame (the
//!   polyfill bounds them: 30 s by default; its `close` only queues the
//!   frame). Receiving never blocks the component.
//! - A `WebSocket` must be used and dropped inside the runtime it was made
//!   in (under `p2`, the wstd `block_on`).

#![warn(missing_docs, unreachable_pub)]

mod close;
mod error;
mod host;
mod machine;
mod message;
mod reconnect;
mod request;
#[cfg(feature = "server")]
pub mod server;
mod socket;
mod state;

pub use close::{CloseCode, CloseFrame, MAX_CLOSE_REASON_LEN};
pub use error::{Error, ErrorKind, Result};
pub use message::Message;
pub use reconnect::{Event, ReconnectConfig, ReconnectingWebSocket};
#[cfg(feature = "p3")]
pub use request::ReconstructionPolicy;
pub use request::{ClientRequest, DEFAULT_CLOSE_TIMEOUT};
pub use socket::{ReuniteError, WebSocket, WebSocketReceiver, WebSocketSender};
pub use state::ConnectionState;
