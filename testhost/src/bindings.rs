//! `golem:websocket/client@1.5.0` (WASI 0.2 shape) generated from the
//! project's `wit/`, as wasmtime-wasi-http does it: every function async and
//! trappable, the pollable mapped to wasmtime-wasi's own, the connection to
//! this crate's [`crate::websocket::Connection`].

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasm-websocket:worlds/sdk",
    imports: { default: async | trappable },
    with: {
        "wasi:io/poll": wasmtime_wasi::p2::bindings::io::poll,
        "golem:websocket/client.websocket-connection": crate::websocket::Connection,
    },
});
