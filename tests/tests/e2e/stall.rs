//! Nothing that happens to one connection stalls another in the same
//! component: the `stall` example keeps connection B busy with back-to-back
//! 16-byte round trips while something happens to connection A, and reports
//! B's longest gap. Every case runs through the polyfill (composed) and with
//! the engine in the app (direct, feature `sockets`).
//!
//! The measured gaps are a few milliseconds (the closing notes have the
//! figures); the tests allow 250 ms so that a busy machine does not fail
//! them, while the stalls they guard against were a second and more.

use std::time::Duration;

use serde::Deserialize;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::wasmtime::Serve;

/// The longest gap a test accepts.
const MAX_GAP: Duration = Duration::from_millis(250);

#[derive(Debug, Deserialize)]
struct StallReport {
    round_trips: u64,
    max_gap_ms: f64,
    a: String,
}

/// One run of `stall`: which client, its report, and A's server.
struct Run {
    client: &'static str,
    report: StallReport,
    server: FaultServer,
}

/// Runs `stall`, composed and direct, with A at `a_target` on a fault
/// server and `action`, and returns both runs after checking B's gaps.
fn b_keeps_going(a_target: &str, action: &str) -> Vec<Run> {
    [
        ("composed", Serve::app("stall")),
        ("direct", Serve::direct("stall")),
    ]
    .into_iter()
    .map(|(client, app)| {
        let server = FaultServer::start();
        let app = app.start();
        let (a, b) = (server.url(a_target), server.url("/echo"));
        let response = app.get(&[("a", &a), ("b", &b), ("action", action)]);
        assert_eq!(response.status, 200, "{client}: {}", response.text());
        let report: StallReport = serde_json::from_slice(&response.body).expect("a stall report");
        assert!(report.round_trips > 10, "{client}: {report:?}");
        assert!(
            report.max_gap_ms < MAX_GAP.as_secs_f64() * 1000.0,
            "{client}: B stalled while A did {action} against {a_target}: {report:?}"
        );
        Run {
            client,
            report,
            server,
        }
    })
    .collect()
}

#[test]
fn dropping_a_connection_whose_peer_reads_does_not_stall_another() {
    for run in b_keeps_going("/echo", "drop") {
        assert_eq!(run.report.a, "ok", "{}", run.client);
        let close = run.server.wait_for_close(crate::MARGIN);
        assert_eq!(close.code, Some(1000), "{}", run.client);
    }
}

#[test]
fn dropping_a_connection_whose_peer_stopped_reading_does_not_stall_another() {
    for run in b_keeps_going("/stop-reading?n=0", "drop") {
        assert_eq!(run.report.a, "ok", "{}", run.client);
    }
}

#[test]
fn a_peer_that_closes_and_keeps_tcp_open_does_not_stall_another() {
    for run in b_keeps_going("/close-open?code=1000&reason=bye", "recv") {
        assert_eq!(run.report.a, "ok", "{}", run.client);
    }
}

#[test]
fn a_ping_flood_on_one_connection_does_not_stall_another() {
    for run in b_keeps_going("/ping-flood?n=200000", "hold") {
        assert_eq!(run.report.a, "ok", "{}", run.client);
    }
}
