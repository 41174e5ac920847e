//! Faults of the network and of the peer: a refused connection and an
//! unresolvable host fail fast; a stalled handshake fails at the connect
//! bound; a peer that never reads fails a large send at the send bound; an
//! abrupt TCP end is a closed error without a close frame; an oversized
//! message or frame and invalid frames close the connection with the right
//! code (1009, 1007, 1002) and a protocol error; a receive timeout leaves the
//! connection usable; pings are answered while the app reads.

use std::time::{Duration, Instant};

use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::unused_port;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

/// Well below the polyfill's default connect bound (30 s): a failure this
/// fast did not wait for it.
const FAST: Duration = Duration::from_secs(10);

#[test]
fn a_refused_connection_fails_fast() {
    let app = Serve::app("echo").start();
    let url = format!("ws://127.0.0.1:{}/", unused_port());
    let started = Instant::now();
    let failure = app.echo(&[("url", &url)]).connect_failure();
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(
        failure.error.to_lowercase().contains("refused"),
        "{failure:?}"
    );
}

#[test]
fn an_unresolvable_host_fails_fast() {
    // Without -Sallow-ip-name-lookup wasmtime refuses every lookup, so no
    // query leaves the machine.
    let app = Serve::app("echo").start();
    let started = Instant::now();
    let failure = app
        .echo(&[("url", "ws://no-such-host.invalid:9001/")])
        .connect_failure();
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(
        failure.error.contains("no-such-host.invalid"),
        "{failure:?}"
    );
}

#[test]
fn a_stalled_handshake_fails_at_the_connect_bound() {
    let bound = Duration::from_millis(2000);
    let server = FaultServer::start();
    let app = Serve::app("echo")
        .env(
            "WASM_WEBSOCKET_CONNECT_TIMEOUT_MS",
            bound.as_millis().to_string(),
        )
        .start();
    let started = Instant::now();
    let failure = app
        .echo(&[("url", &server.url("/stall"))])
        .connect_failure();
    let elapsed = started.elapsed();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    // The error names the bound that was hit.
    assert!(failure.error.contains("2000 ms"), "{failure:?}");
    assert!(
        elapsed >= bound - Duration::from_millis(200),
        "gave up early: {elapsed:?}"
    );
    assert!(elapsed < bound + MARGIN, "took {elapsed:?}");
}

#[test]
fn an_abrupt_tcp_end_is_a_reset_without_a_close_frame() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[("url", &server.url("/drop?n=1")), ("expect", "2")])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(
        report.error_kind.as_deref(),
        Some("ConnectionReset"),
        "{report:?}"
    );
    assert_eq!(
        report.error.as_deref(),
        Some("connection reset: it ended without a close frame")
    );
    assert_eq!(report.close, None);
}

#[test]
fn an_oversized_message_is_a_protocol_error_and_closes_with_1009() {
    let server = FaultServer::start();
    let app = Serve::app("echo")
        .env("WASM_WEBSOCKET_MAX_MESSAGE_SIZE", "1024")
        .start();
    let at_limit = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("size", "1024"),
            ("binary", "1"),
        ])
        .report();
    assert!(at_limit.received[0].echo_exact, "{at_limit:?}");

    let server = FaultServer::start();
    let over = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("size", "1025"),
            ("binary", "1"),
        ])
        .report();
    assert_eq!(over.error_kind.as_deref(), Some("Protocol"), "{over:?}");
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1009));
}

#[test]
fn an_oversized_frame_is_a_protocol_error_and_closes_with_1009() {
    let server = FaultServer::start();
    let app = Serve::app("echo")
        .env("WASM_WEBSOCKET_MAX_FRAME_SIZE", "1024")
        .start();
    let report = app
        .echo(&[("url", &server.url("/echo")), ("size", "1025")])
        .report();
    assert_eq!(report.error_kind.as_deref(), Some("Protocol"), "{report:?}");
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1009));
}

#[test]
fn a_send_to_a_peer_that_never_reads_fails_at_the_send_bound() {
    let bound = Duration::from_millis(2000);
    let server = FaultServer::start();
    let app = Serve::app("echo")
        .env(
            "WASM_WEBSOCKET_SEND_TIMEOUT_MS",
            bound.as_millis().to_string(),
        )
        .request_timeout(bound + MARGIN)
        .start();
    let started = Instant::now();
    // Far more than the socket buffers hold.
    let report = app
        .echo(&[
            ("url", &server.url("/blackhole")),
            ("size", "67108864"),
            ("binary", "1"),
        ])
        .report();
    let elapsed = started.elapsed();
    assert_eq!(report.sent, 0, "{report:?}");
    assert_eq!(report.error_kind.as_deref(), Some("Send"), "{report:?}");
    assert!(
        elapsed >= bound - Duration::from_millis(200),
        "gave up early: {elapsed:?}"
    );
    assert!(elapsed < bound + MARGIN, "took {elapsed:?}");
}

/// Through the polyfill and through the direct client (feature `sockets`).
#[test]
fn invalid_frames_are_protocol_errors_and_close_with_the_right_code() {
    for app in [Serve::app("echo"), Serve::direct("echo")] {
        let app = app.start();
        for (frame, code) in [
            ("utf8", 1007),
            ("rsv", 1002),
            ("opcode", 1002),
            ("masked", 1002),
            ("close-code", 1002),
        ] {
            let server = FaultServer::start();
            let report = app
                .echo(&[("url", &server.url(&format!("/invalid?frame={frame}")))])
                .report();
            assert_eq!(
                report.error_kind.as_deref(),
                Some("Protocol"),
                "{frame}: {report:?}"
            );
            assert_eq!(server.wait_for_close(MARGIN).code, Some(code), "{frame}");
        }
    }
}

#[test]
fn a_receive_timeout_leaves_the_connection_open() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let started = Instant::now();
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("expect", "2"),
            ("timeout_ms", "1000"),
        ])
        .report();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.error_kind.as_deref(), Some("Timeout"), "{report:?}");
    // Still open: the close handshake completes normally.
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1000));
}

#[test]
fn pings_are_answered_while_the_app_reads() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app.echo(&[("url", &server.url("/ping"))]).report();
    assert_eq!(
        report.received[0].data.as_deref(),
        Some("pong:are you there"),
        "{report:?}"
    );
}
