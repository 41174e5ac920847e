//! A WebSocket client (and server) for WebAssembly components, in the
//! vocabulary of [tungstenite](https://docs.rs/tungstenite): [`WebSocket`],
//! [`Message`], [`CloseFrame`], [`CloseCode`], [`Error`].
//!
//! A component cannot open a WebSocket by itself (`wasi:http` has no
//! upgrade), so a connection comes from one of two places, picked per
//! connection by the function that opens it: the host's interface
//! `golem:websocket/client@1.5.0` ([`WebSocket::connect`], the default), or
//! the protocol engine in the app over `wasi:sockets`
//! ([`WebSocket::connect_direct`], feature `sockets`). Either way the
//! connection is the same [`WebSocket`].
//!
//! # One example per host shape
//!
//! **Golem, or any WASI 0.2 host with the polyfill** (the default feature,
//! `p2`): `wasm-websocket = "0.1"`. The app imports `golem:websocket`, which
//! Golem 1.5 provides (golem-rust 2.x agents); on any other host, compose it
//! with this project's polyfill component (`wac plug app.wasm --plug
//! polyfill.wasm -o app.composed.wasm`), which implements the interface over
//! `wasi:sockets`.
//!
//! ```no_run
//! # #[cfg(feature = "p2")]
//! # mod app {
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
//! # }
//! # fn main() {}
//! ```
//!
//! **Golem with golem-rust 3.x** (feature `p3`): `wasm-websocket = {
//! version = "0.1", default-features = false, features = ["p3"] }`. The same
//! API on the WASI 0.3 shape of the interface, inside an async export run by
//! wit-bindgen's runtime (an agent method, or `wasi:cli/run`); no wstd.
//!
//! ```no_run
//! # #[cfg(feature = "p3")]
//! async fn greet(url: &str) -> wasm_websocket::Result<String> {
//!     use wasm_websocket::{Message, WebSocket};
//!
//!     let mut ws = WebSocket::connect(url).await?;
//!     ws.send(Message::text("hello")).await?;
//!     let reply = ws.recv().await?.into_text()?;
//!     ws.close(None).await?;
//!     Ok(reply)
//! }
//! ```
//!
//! **Without a host interface** (feature `sockets`): `wasm-websocket = {
//! version = "0.1", features = ["sockets"] }`. [`WebSocket::connect_direct`]
//! runs the protocol engine (tungstenite, rustls for `wss://`) in the app
//! over `wasi:sockets`: no polyfill and no composition; run it with
//! `wasmtime run -Sinherit-network` (or `wasmtime serve -Scli
//! -Sinherit-network`). Such a connection also reports the agreed
//! subprotocol and the response headers, sends pings and, where asked
//! ([`ClientRequest::pongs`]), shows pongs.
//!
//! ```no_run
//! # #[cfg(feature = "sockets")]
//! # mod app {
//! use wasm_websocket::{ClientRequest, Message, WebSocket};
//!
//! #[wstd::main]
//! async fn main() -> wasm_websocket::Result<()> {
//!     let request = ClientRequest::new("wss://127.0.0.1:9443/chat").subprotocol("chat.v1");
//!     let mut ws = WebSocket::connect_direct(request).await?;
//!     println!("agreed: {:?}", ws.protocol());
//!     ws.send(Message::text("hello")).await?;
//!     println!("got {}", ws.recv().await?.into_text()?);
//!     ws.close(None).await
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! **A server** (feature `server`): `wasm-websocket = { version = "0.1",
//! features = ["server"] }`. A `server::Listener` takes
//! WebSocket handshakes on a `wasi:sockets` TCP address; a wasi:cli command
//! run with `wasmtime run -Sinherit-network`. What it accepts is a
//! [`WebSocket`] as well.
//!
//! ```no_run
//! # #[cfg(feature = "server")]
//! # mod app {
//! use futures_lite::StreamExt;
//! use wasm_websocket::Message;
//! use wasm_websocket::server::Listener;
//!
//! #[wstd::main]
//! async fn main() -> wasm_websocket::Result<()> {
//!     let listener = Listener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let mut ws = listener.accept().await?.accept().await?;
//!         wstd::runtime::spawn(async move {
//!             while let Some(Ok(message)) = ws.next().await {
//!                 if let Message::Text(_) | Message::Binary(_) = message {
//!                     if ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             }
//!         })
//!         .detach();
//!     }
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! # Features
//! Cargo enables a feature for the whole build once any crate in it asks for
//! it, so the last column says what one dependency's choice does to the
//! others. A component imports only the interfaces its code calls
//! (`wasm-component-ld` leaves out the rest), so the imports listed are
//! those of the functions a feature adds, taken in by calling them.
//!
//! | Feature | Adds | Imports, once called | Runs on | Enabled by one crate, for the whole app |
//! |---|---|---|---|---|
//! | `p2` (default) | [`WebSocket::connect`], [`connect_with`](WebSocket::connect_with), [`ReconnectingWebSocket::new`], on the wstd reactor | `golem:websocket/client@1.5.0` (WASI 0.2 shape), `wasi:io`, `wasi:clocks` | Golem 1.5 (golem-rust 2.x); any WASI 0.2 host with the polyfill composed in (wasmtime, jco, wash) | Every crate gets the WASI 0.2 shape. Excludes `p3`: both in one build is a compile error. |
//! | `p3` | the same API on wit-bindgen's async runtime | `golem:websocket/client@1.5.0` (WASI 0.3 shape), `wasi:clocks@0.3.0` | Golem with golem-rust 3.x; a WASI 0.3 host with the polyfill's `p3` build composed in | Excludes `p2`: every crate that depends on this one must say `default-features = false`. |
//! | `sockets` | [`WebSocket::connect_direct`] | `wasi:sockets` (`tcp`, `ip-name-lookup`), `wasi:random` | any WASI 0.2 host that grants sockets: `wasmtime run`/`serve -Sinherit-network`, jco, wash; Golem, but not durably | Only adds (and turns on `p2`): every other crate's `connect` stays on `golem:websocket`. Builds the engine, rustls and ring for all (ring needs `clang` for wasm32). |
//! | `server` | the `server` module (`Listener`) | `wasi:sockets` (`tcp`) | a wasi:cli command under `wasmtime run -Sinherit-network`; Golem, but not durably | Only adds (and turns on `p2`); builds the engine without TLS. |
//!
//! Golem 1.5 provides `wasi:sockets` but does not record it: after a restart
//! a socket is gone and the replay runs its calls again live, so a Golem
//! agent connects with [`WebSocket::connect`], whose calls Golem records.
//!
//! ## What is not additive, and why
//! `p2` and `p3` exclude each other. They are two runtimes: WASI 0.2 waits on
//! pollables through the wstd reactor, WASI 0.3 awaits async host calls
//! through wit-bindgen's runtime, and a component runs one of them; every
//! async method of [`WebSocket`] waits on the one its shape needs. A build in
//! which one crate asks for `p3` and another keeps the default features
//! fails to compile and names both. `sockets` and `server` run the engine on
//! `wasi:sockets` 0.2 and the wstd reactor, so they turn `p2` on and, with
//! `p3`, meet the same error.
//!
//! The host is picked by the function that connects, not by an option on
//! [`ClientRequest`]: a connect that read such an option would call both
//! hosts, so every component would import `golem:websocket` (and the
//! engine's `wasi:sockets`) whether it used it or not, and a host without
//! the interface (plain `wasmtime run`) would refuse to instantiate a direct
//! app. [`ReconnectingWebSocket::with_connect`] takes the connect for the
//! same reason.
//!
//! # Conventions
//! The same rules hold across the API:
//! - **Pings and pongs** are messages ([`Message::Ping`], [`Message::Pong`],
//!   as in tungstenite); the connection answers the peer's pings itself,
//!   and pongs are received only where the app asked for them. What each
//!   kind of connection does with them: [Message's section](Message#pings-and-pongs).
//! - **Getters** are written once and shared: [`state`](WebSocket::state),
//!   [`url`](WebSocket::url), [`protocol`](WebSocket::protocol) and
//!   [`handshake_headers`](WebSocket::handshake_headers) are on
//!   [`WebSocket`] and on both halves of [`split`](WebSocket::split)
//!   ([`WebSocketSender`], [`WebSocketReceiver`]), with the same results.
//!   What a host does not report is `None`, never an error.
//! - **Configuration** ([`ClientRequest`], [`ReconnectConfig`],
//!   `server::ServerConfig`): private fields, a consuming builder named
//!   after each setting (`close_timeout(d)`), and a getter `get_` + its
//!   name (`get_close_timeout()`) that gives the value as used; see
//!   [ClientRequest's section](ClientRequest#configuration-style).
//! - **Errors**: one [`Error`] type, its variants nouns;
//!   [`Error::kind`] gives the variant without its data ([`ErrorKind`]) to
//!   match, log or report. How a connection ends (the peer's close, an end
//!   without a close frame, our own close) and what each call returns
//!   afterwards: [Error's section](Error#how-a-connection-ends).
//!
//! # Receiving without blocking
//! A receive waits on the connection's readiness through the runtime (under
//! `p2`, the [wstd](https://docs.rs/wstd) reactor) and then takes the
//! message without blocking, so other tasks of the component (other
//! connections, timers, HTTP requests) keep running. [`WebSocket`] is a
//! [`futures_core::Stream`] and a [`futures_sink::Sink`], so `futures-lite`
//! and `futures` combinators apply, and [`WebSocket::split`] gives a sender
//! and a receiver for two tasks.
//!
//! # Reconnecting
//! [`ReconnectingWebSocket`] connects again after an unexpected end, on a
//! schedule of delays ([`ReconnectConfig`]), resends the app's subscriptions
//! on every connect, and reports its messages and transitions as one stream
//! of [`Event`]s. It is built on [`WebSocket`] alone, so it runs on every
//! host shape (directly: [`ReconnectingWebSocket::with_connect`] with
//! `WebSocket::connect_direct`); how it meets Golem's durable replay is on
//! its page.
//!
//! What the crate relies on from a host is written down next to the WIT
//! (`wit/README.md`).
//!
//! # Limits
//! - `golem:websocket` carries text and binary messages and the close
//!   handshake; pings and pongs are answered by the host and not visible
//!   here: on its connections a ping ([`WebSocket::ping`],
//!   [`Message::Ping`]) is [`Error::Unsupported`] and
//!   [`WebSocket::handshake_headers`] is `None` (a direct connection sends
//!   pings, shows pongs where asked, and reports the headers).
//! - The subprotocol the server chose is not reported by the interface;
//!   [`WebSocket::protocol`] knows it when exactly one was offered.
//! - `connect`, `send` and `close` on `golem:websocket` are blocking host
//!   calls (not on a direct connection, whose waits are on the reactor): the
//!   component waits while the host does the handshake or hands over a frame
//!   (the polyfill bounds them: 30 s by default; its `close` only queues the
//!   frame). Receiving never blocks the component.
//! - A direct connection's limits and settings are the polyfill's (the same
//!   `WASM_WEBSOCKET_*` environment variables).
//! - A `WebSocket` must be used and dropped inside the runtime it was made
//!   in (under `p2`, the wstd `block_on`).
//!

// Without `sockets`, the links to `connect_direct` go to the feature table.
#![cfg_attr(
    not(feature = "sockets"),
    doc = " [`WebSocket::connect_direct`]: crate#features"
)]
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
