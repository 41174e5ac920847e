//! Fuzz target: the request-header and subprotocol checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_protocol::fuzzing::headers(data));
