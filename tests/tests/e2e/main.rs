//! End-to-end tests: the example components, composed with the polyfill (or
//! built with the feature `sockets`: `direct`),
//! under the real `wasmtime serve` (and, in `hosts`, `wash dev` and jco),
//! against real WebSocket servers on loopback. Each module proves one group of behaviours; the harness is the
//! `wasm_websocket_tests` library next to this file.
//!
//! The first test to need a component builds them all once
//! (`scripts/build-components.sh`); every test starts its own `wasmtime
//! serve` and servers and stops them when it ends, passing or failing.

#![cfg(not(target_family = "wasm"))]

mod burst;
mod closing;
mod direct;
mod fanin;
mod faults;
mod handshake;
mod hosts;
mod keepalive;
mod lifecycle;
mod many;
mod no_tls;
mod p3;
mod polyfill_bounds;
mod preflight;
mod python_peer;
mod reconnect;
mod round_trip;
mod server;
mod settings;
mod sink_and_stream;
mod stall;
mod tls;
mod together;
mod wasmcloud_draft;

use std::time::Duration;

/// Slack added to every upper time bound a test checks: the machine may be
/// busy, and only a hang past the bound should fail a test.
const MARGIN: Duration = Duration::from_secs(20);
