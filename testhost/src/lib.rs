//! A native test host built like Golem 1.5.9's worker executor: wasmtime
//! (48.0.2, the CLI the project pins) with `golem:websocket/client@1.5.0`
//! in its WASI 0.2 shape implemented on tokio-tungstenite ([`websocket`]),
//! and Golem's durability: an oplog of every durable host call
//! ([`oplog`]), recorded, and replayed after a restart before the run goes
//! on live. The WASI 0.3 shape of the same interface ([`p3`]) is given to a
//! component that imports it, on wasmtime's component-model-async host
//! functions.
//!
//! Two modes, as the wasmtime CLI has them: [`command::run`] runs a
//! `wasi:cli` command once (with an oplog), [`serve::serve`] serves a
//! `wasi:http` component (live). `wasi:sockets` is denied in both, so a
//! guest reaches the network only through `golem:websocket`.
//!
//! Host-only: on wasm32 the crate is empty.

#![cfg(not(target_family = "wasm"))]
#![warn(missing_docs)]

mod bindings;
pub mod command;
pub mod ctx;
mod durable;
mod engine;
pub mod oplog;
pub mod p3;
pub mod serve;
pub mod websocket;
