//! A component that exports `golem:websocket/client@1.5.0`, implemented inside
//! the guest over `wasi:sockets`: RFC 6455 by tungstenite, `wss://` by rustls.
//! The default (WASI 0.2) build also exports the wasmCloud draft interface,
//! `wasmcloud:websocket/client@0.1.1-draft`, over the same engine
//! (`export_wasmcloud`).
//!
//! Compose it into an app that imports the interface:
//! `wac plug app.wasm --plug polyfill.wasm -o app.composed.wasm`.
//! The contract of every function is in this crate's README.md.

// The p3 build uses neither the blocking receive nor subscribe.
#[cfg_attr(feature = "p3", allow(dead_code))]
mod connection;
#[cfg(feature = "p3")]
mod export_p3;
#[cfg(not(feature = "p3"))]
mod export_wasmcloud;

#[cfg(not(feature = "p3"))]
mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "polyfill",
        with: { "wasi:io/poll@0.2.3": wasip2::io::poll },
        generate_all,
    });
}

#[cfg(feature = "p3")]
use export_p3::bindings;

#[cfg(not(feature = "p3"))]
use bindings::exports::golem::websocket::client::{
    Error, Guest, GuestWebsocketConnection, Message, WebsocketConnection,
};
#[cfg(not(feature = "p3"))]
use wasip2::io::poll::Pollable;

#[cfg(not(feature = "p3"))]
use connection::Connection;

#[cfg(not(feature = "p3"))]
struct Polyfill;

#[cfg(not(feature = "p3"))]
impl Guest for Polyfill {
    type WebsocketConnection = Connection;
}

#[cfg(not(feature = "p3"))]
impl GuestWebsocketConnection for Connection {
    fn connect(
        url: String,
        headers: Option<Vec<(String, String)>>,
    ) -> Result<WebsocketConnection, Error> {
        Connection::open(&url, &headers.unwrap_or_default()).map(WebsocketConnection::new)
    }

    fn send(&self, message: Message) -> Result<(), Error> {
        Connection::send(self, message)
    }

    fn receive(&self) -> Result<Message, Error> {
        Connection::receive(self)
    }

    fn receive_with_timeout(&self, timeout_ms: u64) -> Result<Option<Message>, Error> {
        Connection::receive_with_timeout(self, timeout_ms)
    }

    fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), Error> {
        Connection::close(self, code, reason)
    }

    fn subscribe(&self) -> Pollable {
        Connection::subscribe(self)
    }
}

#[cfg(not(feature = "p3"))]
impl bindings::exports::wasmcloud::websocket::client::Guest for Polyfill {
    type Connection = export_wasmcloud::DraftConnection;

    fn connect(
        config: bindings::exports::wasmcloud::websocket::client::ClientConfig,
    ) -> Result<
        bindings::exports::wasmcloud::websocket::client::Connection,
        bindings::exports::wasmcloud::websocket::types::WebsocketError,
    > {
        export_wasmcloud::DraftConnection::open(config)
            .map(bindings::exports::wasmcloud::websocket::client::Connection::new)
    }
}

#[cfg(not(feature = "p3"))]
bindings::export!(Polyfill with_types_in bindings);
