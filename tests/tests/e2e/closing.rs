//! The close handshake in both directions: codes and reasons reach the
//! server and the app; a close without a code reads as 1005; dropping an open
//! socket sends 1000; codes a client may not send are refused before
//! anything is sent; a peer that never answers a close (it ignores it, or
//! never reads at all) holds the app no longer than the close bound; once
//! the connection ended (the peer's close, the app's close, an abrupt end),
//! a further send is `AlreadyClosed`.

use std::time::{Duration, Instant};

use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

/// The SDK's default close timeout, which `echo` uses.
const CLOSE_BOUND: Duration = Duration::from_secs(5);

#[test]
fn the_apps_close_code_and_reason_reach_the_server() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("close_code", "4001"),
            ("close_reason", "bye for now"),
        ])
        .report();
    let expected = ClientClose {
        code: Some(4001),
        reason: "bye for now".to_owned(),
    };
    assert_eq!(server.wait_for_close(MARGIN), expected);
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    // The server answers with the same code, and the app sees the answer.
    assert_eq!(report.close, Some(Close::new(4001, "bye for now")));
}

#[test]
fn the_servers_close_code_and_reason_reach_the_app() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            (
                "url",
                &server.url("/close-after?n=1&code=4002&reason=server%20says%20bye"),
            ),
            ("expect", "5"),
        ])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.close, Some(Close::new(4002, "server says bye")));
    assert_eq!(
        report.error, None,
        "a peer's close is a message, not an error"
    );
    // The app answered the close handshake with the same code.
    assert_eq!(server.wait_for_close(MARGIN).code, Some(4002));
}

#[test]
fn a_close_without_a_code_reads_as_1005() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[("url", &server.url("/close-after?n=0"))])
        .report();
    assert_eq!(report.received.len(), 0, "{report:?}");
    assert_eq!(report.close, Some(Close::new(1005, "")));
    assert_eq!(report.error, None);
}

#[test]
fn dropping_an_open_socket_sends_a_normal_close() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[("url", &server.url("/echo")), ("close", "0")])
        .report();
    assert_eq!(report.close_result, None);
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1000));
}

#[test]
fn close_codes_a_client_may_not_send_are_refused_before_sending() {
    let app = Serve::app("echo").start();
    let long_reason = "r".repeat(124);
    let cases = [
        ("999", ""),
        ("1004", ""),
        ("1005", ""),
        ("1006", ""),
        ("1015", ""),
        ("1016", ""),
        ("2999", ""),
        ("5000", ""),
        ("1000", long_reason.as_str()),
    ];
    for (code, reason) in cases {
        let server = FaultServer::start();
        let report = app
            .echo(&[
                ("url", &server.url("/echo")),
                ("close_code", code),
                ("close_reason", reason),
            ])
            .report();
        let what = format!(
            "close_code={code}, reason of {} bytes: {report:?}",
            reason.len()
        );
        let result = report.close_result.unwrap();
        assert!(result.starts_with("invalid close frame"), "{what}");
        // Nothing was sent; the socket, dropped open, closed normally.
        assert_eq!(server.wait_for_close(MARGIN).code, Some(1000), "{what}");
    }
}

#[test]
fn a_reason_of_123_bytes_is_sent_whole() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let reason = "é".repeat(61) + "x";
    assert_eq!(reason.len(), 123);
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("close_code", "3000"),
            ("close_reason", &reason),
        ])
        .report();
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(
        server.wait_for_close(MARGIN),
        ClientClose {
            code: Some(3000),
            reason
        }
    );
}

/// Runs `echo` against `target`, which never answers the close, and checks
/// that closing gave up after the close bound.
fn close_ends_within_the_bound(server: &FaultServer, target: &str) {
    let app = Serve::app("echo").start();
    let started = Instant::now();
    let report = app
        .echo(&[("url", &server.url(target)), ("expect", "0")])
        .report();
    let elapsed = started.elapsed();
    assert_eq!(
        report.close_result.as_deref(),
        Some("timeout"),
        "{report:?}"
    );
    assert!(
        elapsed >= CLOSE_BOUND - Duration::from_millis(500),
        "gave up early: {elapsed:?}"
    );
    assert!(elapsed < CLOSE_BOUND + MARGIN, "took {elapsed:?}");
}

#[test]
fn a_peer_that_ignores_the_close_holds_the_app_no_longer_than_the_close_bound() {
    let server = FaultServer::start();
    close_ends_within_the_bound(&server, "/ignore-close");
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1000));
    // Then the TCP connection is given up too.
    server.wait_for_tcp_end(MARGIN);
}

#[test]
fn a_peer_that_never_reads_holds_the_app_no_longer_than_the_close_bound() {
    let server = FaultServer::start();
    close_ends_within_the_bound(&server, "/blackhole");
}

/// Runs `echo` with `send_after_close=1` and returns what the last send did.
fn send_after_close(server: &FaultServer, target: &str, params: &[(&str, &str)]) -> String {
    let app = Serve::app("echo").start();
    let url = server.url(target);
    let mut all = vec![("url", url.as_str()), ("send_after_close", "1")];
    all.extend_from_slice(params);
    let report = app.echo(&all).report();
    match report.after_close {
        Some(outcome) => outcome,
        None => panic!("no after_close: {report:?}"),
    }
}

#[test]
fn a_send_on_an_open_connection_succeeds() {
    // The control for the tests below: `after_close` reports a success too.
    let server = FaultServer::start();
    assert_eq!(send_after_close(&server, "/echo", &[("close", "0")]), "ok");
}

#[test]
fn a_send_after_the_peers_close_is_already_closed() {
    for via in ["api", "sink"] {
        let server = FaultServer::start();
        let target = "/close-after?n=1&code=4002&reason=done";
        // The peer's close is read while collecting; the app sends no close.
        let params = [("expect", "5"), ("close", "0"), ("via", via)];
        assert_eq!(
            send_after_close(&server, target, &params),
            "AlreadyClosed",
            "via={via}"
        );
    }
}

#[test]
fn a_send_after_the_apps_close_is_already_closed() {
    for via in ["api", "sink"] {
        let server = FaultServer::start();
        assert_eq!(
            send_after_close(&server, "/echo", &[("via", via)]),
            "AlreadyClosed",
            "via={via}"
        );
        assert_eq!(server.wait_for_close(MARGIN).code, Some(1000), "via={via}");
    }
}

#[test]
fn a_send_after_an_abrupt_end_is_already_closed() {
    let server = FaultServer::start();
    let params = [("expect", "2"), ("close", "0")];
    assert_eq!(
        send_after_close(&server, "/drop?n=1", &params),
        "AlreadyClosed"
    );
}
