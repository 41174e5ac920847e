//! Nothing that happens to one connection stalls another in the same
//! component: the `stall` example keeps connection B busy with back-to-back
//! 16-byte round trips while something happens to connection A, and reports
//! B's longest gap.
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

/// Runs `stall` with A at `a_target` on a fault server and `action`, and
/// returns its report after checking B's gaps.
fn b_keeps_going(a_target: &str, action: &str) -> (StallReport, FaultServer) {
    let server = FaultServer::start();
    let app = Serve::app("stall").start();
    let (a, b) = (server.url(a_target), server.url("/echo"));
    let response = app.get(&[("a", &a), ("b", &b), ("action", action)]);
    assert_eq!(response.status, 200, "{}", response.text());
    let report: StallReport = serde_json::from_slice(&response.body).expect("a stall report");
    assert!(report.round_trips > 10, "{report:?}");
    assert!(
        report.max_gap_ms < MAX_GAP.as_secs_f64() * 1000.0,
        "B stalled while A did {action} against {a_target}: {report:?}"
    );
    (report, server)
}

#[test]
fn dropping_a_connection_whose_peer_reads_does_not_stall_another() {
    let (report, server) = b_keeps_going("/echo", "drop");
    assert_eq!(report.a, "ok");
    assert_eq!(server.wait_for_close(crate::MARGIN).code, Some(1000));
}

#[test]
fn dropping_a_connection_whose_peer_stopped_reading_does_not_stall_another() {
    let (report, _server) = b_keeps_going("/stop-reading?n=0", "drop");
    assert_eq!(report.a, "ok");
}

#[test]
fn a_peer_that_closes_and_keeps_tcp_open_does_not_stall_another() {
    let (report, _server) = b_keeps_going("/close-open?code=1000&reason=bye", "recv");
    assert_eq!(report.a, "ok");
}

#[test]
fn a_ping_flood_on_one_connection_does_not_stall_another() {
    let (report, _server) = b_keeps_going("/ping-flood?n=200000", "hold");
    assert_eq!(report.a, "ok");
}
