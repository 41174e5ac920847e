//! Fuzz target: the close watch following a peer's frames.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_protocol::fuzzing::close_watch(data));
