//! Fuzz target: the URL parser's IPv4/IPv6 address parsers, against std's
//! `FromStr` for `Ipv4Addr`, `Ipv6Addr` and `IpAddr`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasm_websocket_protocol::fuzzing::ip_addr(data));
