//! Fuzz target: the server's request-head reader (`HeadReader`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_engine::fuzzing::request_head(data));
