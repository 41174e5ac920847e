//! One component, two connections: connection B's back-to-back round trips
//! go on, with no gap over 50 ms, while connection A is dropped (its peer
//! reading or not), while A's peer closes it but keeps TCP open, and while
//! A's peer floods pings and never reads (the `stall` example).

use serde_json::Value;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::wasmtime::Serve;

/// The longest B may stall: what one slice of work for A may cost.
const MAX_GAP_MS: f64 = 50.0;

/// Runs `stall` with A at `a_target` and `action`; returns its answer.
fn stall(a_target: &str, action: &str) -> Value {
    let a = FaultServer::start();
    let b = FaultServer::start();
    let app = Serve::app("stall").start();
    let a_url = a.url(a_target);
    let b_url = b.url("/echo");
    let response = app.get(&[
        ("a", a_url.as_str()),
        ("b", b_url.as_str()),
        ("action", action),
        ("after_ms", "300"),
        ("run_ms", "1500"),
    ]);
    assert_eq!(response.status, 200, "{}", response.text());
    let report: Value = serde_json::from_slice(&response.body).expect("JSON");
    eprintln!("stall {a_target} {action}: {report}");
    assert_eq!(report["b_error"], Value::Null, "{report}");
    assert!(report["round_trips"].as_u64().unwrap_or(0) > 10, "{report}");
    report
}

fn max_gap(report: &Value) -> f64 {
    report["max_gap_ms"].as_f64().expect("max_gap_ms")
}

#[test]
fn dropping_a_connection_whose_peer_reads_does_not_stall_another() {
    let report = stall("/echo", "drop");
    assert!(max_gap(&report) < MAX_GAP_MS, "{report}");
}

#[test]
fn dropping_a_connection_whose_peer_stopped_reading_does_not_stall_another() {
    let report = stall("/stop-reading?n=0", "drop");
    assert!(max_gap(&report) < MAX_GAP_MS, "{report}");
}

#[test]
fn a_peer_that_closes_but_keeps_tcp_open_does_not_stall_another_connection() {
    let report = stall("/close-open?code=1000", "recv");
    assert!(
        report["a"]["result"]
            .as_str()
            .unwrap_or("")
            .starts_with("close"),
        "{report}"
    );
    assert!(max_gap(&report) < MAX_GAP_MS, "{report}");
}

#[test]
fn a_ping_flood_on_one_connection_does_not_stall_another() {
    let report = stall("/ping-flood?n=200000", "recv");
    assert_eq!(report["a"]["result"], "text \"flood done\"", "{report}");
    assert!(max_gap(&report) < MAX_GAP_MS, "{report}");
}
