//! The `fanin` example: several connections opened at once, split, their
//! receivers merged into one stream. A silent connection stalls none of the
//! others, the deadline bounds the wait, each stream ends after its peer's
//! close (which arrives exactly once), and a failed connection spoils none
//! of the others. On both hosts: the silent connection, and 101 connections
//! against Golem's pool of 100.

use std::thread;
use std::time::{Duration, Instant};

use wasm_websocket_tests::apps::FaninReport;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::testhost::Host;
use wasm_websocket_tests::unused_port;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

on_both_hosts!(
    a_silent_connection_does_not_stall_the_others,
    a_hundred_and_first_connection_against_golems_pool_of_100,
);

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

fn a_silent_connection_does_not_stall_the_others(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "fanin").start();
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

/// One request holds 100 connections until its deadline (its count is never
/// reached); meanwhile another asks for a 101st. By design (wit/README.md,
/// "Limits"): Golem's executor holds at most 100 connections (the test
/// host's pool, Golem's default) and the 101st connect waits until one of the
/// 100 is dropped, then proceeds; the polyfill has no pool, and the 101st
/// connects at once while the 100 are still open.
fn a_hundred_and_first_connection_against_golems_pool_of_100(host: Host) {
    const HOLD: Duration = Duration::from_secs(6);
    let server = FaultServer::start();
    let app = Serve::on(host, "fanin").start();
    let url = server.url("/echo");
    let holding: Vec<(&str, &str)> = vec![("url", url.as_str()); 100];
    let hold_ms = HOLD.as_millis().to_string();
    thread::scope(|scope| {
        let first = scope.spawn(|| {
            let mut params = holding.clone();
            params.extend([("count", "1000"), ("deadline_ms", hold_ms.as_str())]);
            app.fanin(&params)
        });
        let started = Instant::now();
        while server.connections() < 100 {
            assert!(
                started.elapsed() < HOLD,
                "the 100 connections take too long"
            );
            thread::sleep(Duration::from_millis(10));
        }
        let asked = Instant::now();
        let second = app.fanin(&[
            ("url", url.as_str()),
            ("count", "1"),
            ("deadline_ms", "30000"),
        ]);
        let waited = asked.elapsed();
        let answered = started.elapsed();
        let first_done = first.is_finished();
        let first = first.join().expect("the holding request");
        assert_eq!(first.connections.len(), 100, "{first:?}");
        assert!(
            first.connections.iter().all(|c| c.error.is_none()),
            "{first:?}"
        );
        assert!(first.deadline_hit, "{first:?}");
        assert!(second.count_reached, "the 101st proceeds: {second:?}");
        match host {
            // The pool frees a connection no earlier than the first
            // request's deadline, HOLD after it arrived (after `started`):
            // a 101st answered before then did not wait for the pool. (Not
            // whether the first request has answered by then: its answer
            // may come after the 101st's on a loaded machine.)
            Host::Testhost => assert!(
                answered >= HOLD,
                "the 101st connect did not wait for the pool: answered {answered:?} \
                 after the first request, asked after {:?}",
                answered - waited
            ),
            Host::Polyfill => assert!(
                !first_done,
                "the 101st waited until the 100 were closed ({waited:?})"
            ),
        }
    });
    assert_eq!(server.connections(), 101);
}
