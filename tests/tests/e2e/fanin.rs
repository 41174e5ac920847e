//! The `fanin` example: several connections opened at once, split, their
//! receivers merged into one stream. A silent connection stalls none of the
//! others, the deadline bounds the wait, each stream ends after its peer's
//! close (which arrives exactly once), and a failed connection spoils none
//! of the others.

use std::time::Duration;

use wasm_websocket_tests::apps::FaninReport;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::unused_port;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

/// The events of connection `conn`, as `type data` or `close code reason`.
fn events_of(report: &FaninReport, conn: usize) -> Vec<String> {
    report
        .events
        .iter()
        .filter(|e| e.conn == conn)
        .map(|e| match e.kind.as_str() {
            "close" => format!("close {} {}", e.code.unwrap(), e.reason.as_deref().unwrap()),
            "error" => format!("error {}", e.error.as_deref().unwrap()),
            kind => format!("{kind} {}", e.data.as_deref().unwrap_or_default()),
        })
        .collect()
}

#[test]
fn a_silent_connection_does_not_stall_the_others() {
    let server = FaultServer::start();
    let app = Serve::app("fanin").start();
    let deadline = Duration::from_secs(60);
    let report = app.fanin(&[
        ("url", &server.url("/silent")),
        ("url", &server.url("/burst?n=3")),
        ("url", &server.url("/echo")),
        ("count", "4"),
        ("deadline_ms", &deadline.as_millis().to_string()),
    ]);
    assert!(report.count_reached, "{report:?}");
    assert!(!report.deadline_hit, "{report:?}");
    assert!(
        Duration::from_millis(report.elapsed_ms) < MARGIN,
        "{report:?}"
    );
    let received: Vec<_> = report.connections.iter().map(|c| c.received).collect();
    assert_eq!(received, [0, 3, 1], "{report:?}");
    assert_eq!(events_of(&report, 2), ["text hello 2"]);
    for connection in &report.connections {
        assert_eq!(connection.error, None, "{report:?}");
        assert_eq!(connection.close_result.as_deref(), Some("ok"), "{report:?}");
    }
}

#[test]
fn the_deadline_bounds_the_wait() {
    let server = FaultServer::start();
    let app = Serve::app("fanin").start();
    let report = app.fanin(&[
        ("url", &server.url("/silent")),
        ("url", &server.url("/silent")),
        ("count", "1"),
        ("deadline_ms", "1500"),
    ]);
    assert!(report.deadline_hit, "{report:?}");
    assert!(!report.count_reached, "{report:?}");
    assert!(report.events.is_empty(), "{report:?}");
    assert!(report.elapsed_ms >= 1500, "{report:?}");
    assert!(Duration::from_millis(report.elapsed_ms) < Duration::from_millis(1500) + MARGIN);
}

#[test]
fn each_stream_ends_after_its_peers_close() {
    let server = FaultServer::start();
    let app = Serve::app("fanin").start();
    let report = app.fanin(&[
        ("url", &server.url("/burst?n=2")),
        ("url", &server.url("/burst?n=3")),
        ("deadline_ms", "60000"),
    ]);
    // No count: the merged stream ended because every stream ended.
    assert!(!report.deadline_hit, "{report:?}");
    assert_eq!(
        events_of(&report, 0),
        ["text burst 0", "text burst 1", "close 1000 burst done"]
    );
    assert_eq!(
        events_of(&report, 1),
        [
            "text burst 0",
            "text burst 1",
            "text burst 2",
            "close 1000 burst done"
        ]
    );
}

#[test]
fn a_failed_connection_spoils_none_of_the_others() {
    let server = FaultServer::start();
    let app = Serve::app("fanin").start();
    let refused = format!("ws://127.0.0.1:{}/", unused_port());
    let report = app.fanin(&[
        ("url", &refused),
        ("url", &server.url("/burst?n=1")),
        ("count", "1"),
        ("deadline_ms", "60000"),
    ]);
    assert!(report.count_reached, "{report:?}");
    assert!(
        report.connections[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("connection failed")
    );
    assert_eq!(report.connections[0].close_result, None);
    assert_eq!(report.connections[1].received, 1);
}
