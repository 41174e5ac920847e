//! Fuzz target: the unmasker rewriting a client's frames for a server.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_protocol::fuzzing::unmask(data));
