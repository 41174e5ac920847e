//! End-to-end tests: the example components, composed with the polyfill (or
//! built with the feature `sockets`: `direct`),
//! under the real `wasmtime serve` (and, in `hosts`, `wash dev` and jco),
//! against real WebSocket servers on loopback. Each module proves one group of behaviours; the harness is the
//! `wasm_websocket_tests` library next to this file.
//!
//! The scenarios that apply on Golem are written once, as `fn name(host:
//! Host)`, and run on two hosts ([`on_both_hosts!`]): the polyfill (the app
//! composed with it, under `wasmtime serve`) and the test host (`testhost/`,
//! built like Golem 1.5.9's executor, serving the same app uncomposed).
//! Where the two differ by design (`wit/README.md`), the scenario says so
//! and asserts each host's behaviour.
//!
//! The first test to need a component builds them all once
//! (`scripts/build-components.sh`); every test starts its own `wasmtime
//! serve` and servers and stops them when it ends, passing or failing.

#![cfg(not(target_family = "wasm"))]

/// Makes each scenario `fn name(host: Host)` of the module two tests,
/// `name::polyfill` and `name::testhost` (filter with either word to run one
/// host's).
macro_rules! on_both_hosts {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            use wasm_websocket_tests::testhost::Host;

            #[test]
            fn polyfill() {
                super::$scenario(Host::Polyfill)
            }

            #[test]
            fn testhost() {
                super::$scenario(Host::Testhost)
            }
        }
    )+};
}

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
mod node_peer;
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
