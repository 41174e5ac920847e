//! Fuzz target: close payloads, a peer's read and an endpoint's checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_protocol::fuzzing::close_payload(data));
