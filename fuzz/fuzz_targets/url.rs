//! Fuzz target: the `ws://` / `wss://` URL parser (`WsUrl::parse`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_protocol::fuzzing::url(data));
