//! Many connections in one component: the bench client's `concurrent`
//! workload opens 200, then 1000 connections at once to an independent echo
//! server (Python `websockets`), and each makes 10 round trips of 16 bytes in
//! a task of its own; the client checks every echo. Through the polyfill
//! (composed) and with the engine in the app (direct, feature `sockets`),
//! under `wasmtime run`.
//!
//! The bound only stops a hang: a livelocked component (the direct client
//! spun so from 150 connections opened at once, issue 19) never prints its
//! report. How fast it goes is the benchmark's business (`just bench`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use wasm_websocket_tests::components;
use wasm_websocket_tests::process::Process;
use wasm_websocket_tests::python::PythonPeer;

/// Round trips per connection.
const ROUND_TRIPS: u64 = 10;

/// The longest a run may take before the test calls it a hang.
const LIMIT: Duration = Duration::from_secs(180);

/// The bench client's report of a `concurrent` run.
#[derive(Debug, Deserialize)]
struct Report {
    workload: String,
    messages: u64,
}

/// Runs the bench client `component` with `connections` connections to a
/// fresh Python echo server and checks that every round trip completed.
fn all_round_trips_complete(component: &Path, connections: u64) {
    let peer = PythonPeer::start();
    let mut command = Command::new(wasm_websocket_tests::tool("wasmtime"));
    command
        .args(["run", "-Sinherit-network"])
        .arg(component)
        .arg("concurrent")
        .arg(peer.url("/echo"))
        .arg(connections.to_string())
        .arg(ROUND_TRIPS.to_string())
        .arg("16");
    let name = format!("{} with {connections} connections", component.display());
    let mut client = Process::spawn(&name, command);
    let report: Report = client.wait_for_line(LIMIT, |line| serde_json::from_str(line).ok());
    assert_eq!(report.workload, "concurrent", "{report:?}");
    assert_eq!(report.messages, connections * ROUND_TRIPS, "{report:?}");
}

#[test]
fn two_hundred_connections_at_once_through_the_polyfill() {
    all_round_trips_complete(&components::composed("bench-client"), 200);
}

#[test]
fn two_hundred_connections_at_once_with_the_engine_in_the_app() {
    all_round_trips_complete(&components::direct("bench-client"), 200);
}

#[test]
fn a_thousand_connections_at_once_through_the_polyfill() {
    all_round_trips_complete(&components::composed("bench-client"), 1000);
}

#[test]
fn a_thousand_connections_at_once_with_the_engine_in_the_app() {
    all_round_trips_complete(&components::direct("bench-client"), 1000);
}
