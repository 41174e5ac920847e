//! The close handshake in both directions: codes and reasons reach the
//! server and the app; a close without a code reads as 1005 (on Golem's
//! host, 1000); the peer's close is answered (not on Golem's host);
//! dropping an open socket sends 1000 (these on both hosts); codes a client may not send are refused before
//! anything is sent; a peer that never answers a close (it ignores it, or
//! never reads at all) holds the app no longer than the close bound; once
//! the connection ended (the peer's close, the app's close, an abrupt end),
//! a further send is `AlreadyClosed`.

use std::time::{Duration, Instant};

use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::testhost::Host;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

on_both_hosts!(
    the_apps_close_code_and_reason_reach_the_server,
    the_servers_close_code_and_reason_reach_the_app,
    the_peers_close_is_answered_by_the_polyfill_only,
    after_the_apps_close_the_last_close_is_the_peers_or_the_apps_own,
    a_close_without_a_code_reaches_the_app,
    dropping_an_open_socket_sends_a_normal_close,
    a_reason_of_123_bytes_is_sent_whole,
);

/// The SDK's default close timeout, which `echo` uses.
const CLOSE_BOUND: Duration = Duration::from_secs(5);

fn the_apps_close_code_and_reason_reach_the_server(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
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
    // The server answers with the same code. The polyfill reports that
    // answer; Golem's host reports the app's own frame, which reads the same
    // here (the next scenario tells them apart).
    assert_eq!(report.close, Some(Close::new(4001, "bye for now")));
}

fn the_servers_close_code_and_reason_reach_the_app(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
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
    // The polyfill answered the close handshake with the same code; Golem's
    // host does not answer (the next scenario).
    if host == Host::Polyfill {
        assert_eq!(server.wait_for_close(MARGIN).code, Some(4002));
    }
}

/// By design (wit/README.md, "The peer's close"): the polyfill answers the
/// peer's close frame with the same code and reason, as RFC 6455 asks;
/// Golem's host reads it, makes the connection terminal and drops it with
/// the answer tokio-tungstenite queued still unsent, so the peer sees its
/// TCP connection end without a close frame. The peer here sends its close
/// and keeps TCP open until the client ends it.
fn the_peers_close_is_answered_by_the_polyfill_only(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/close-open?code=4002&reason=bye")),
            ("expect", "1"),
        ])
        .report();
    assert_eq!(report.received.len(), 0, "{report:?}");
    assert_eq!(report.close, Some(Close::new(4002, "bye")), "{report:?}");
    server.wait_for_tcp_end(MARGIN);
    let answers = match host {
        Host::Polyfill => vec![ClientClose {
            code: Some(4002),
            reason: "bye".into(),
        }],
        Host::Testhost => vec![],
    };
    assert_eq!(server.closes(), answers);
}

/// By design (wit/README.md, "After our close"): once the app closed, the
/// polyfill reads on and reports the peer's close frame; Golem's host never
/// reads again and reports the app's own. The peer here closes with 4002
/// after one message, the app with 1000 after it got that message.
fn after_the_apps_close_the_last_close_is_the_peers_or_the_apps_own(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    let report = app
        .echo(&[(
            "url",
            &server.url("/close-after?n=1&code=4002&reason=later"),
        )])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    let close = match host {
        Host::Polyfill => Close::new(4002, "later"),
        Host::Testhost => Close::new(1000, ""),
    };
    assert_eq!(report.close, Some(close), "{report:?}");
}

/// A close frame without a code: the polyfill hands it up as such (code
/// 1005 in the report); Golem's host turns it into 1000 "Connection closed"
/// (tokio-tungstenite's `Close(None)`, golem v1.5.9 `to_user_message`), by
/// design: wit/README.md, "A close frame without a code".
fn a_close_without_a_code_reaches_the_app(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    let report = app
        .echo(&[("url", &server.url("/close-after?n=0"))])
        .report();
    assert_eq!(report.received.len(), 0, "{report:?}");
    let close = match host {
        Host::Polyfill => Close::new(1005, ""),
        Host::Testhost => Close::new(1000, "Connection closed"),
    };
    assert_eq!(report.close, Some(close), "{report:?}");
    assert_eq!(report.error, None);
}

fn dropping_an_open_socket_sends_a_normal_close(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
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

fn a_reason_of_123_bytes_is_sent_whole(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
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
