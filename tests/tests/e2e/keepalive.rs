//! Keepalive on the engine's own connections (`ClientRequest::keepalive`,
//! `ServerConfig::keepalive`): a peer that completes the handshake and then
//! answers nothing is given up on in about interval + timeout with a typed
//! error; a peer that answers pings (Python `websockets`) keeps the
//! connection open through many intervals of silence; a `golem:websocket`
//! connection, which has no ping, refuses the setting at connect.

use std::time::{Duration, Instant};

use wasm_websocket_tests::component_server::ComponentServer;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::raw_client;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

/// `/blackhole` completes the handshake and never reads again: no pong.
#[test]
fn a_peer_that_answers_no_ping_ends_the_connection_with_a_typed_error() {
    let server = FaultServer::start();
    let app = Serve::direct("echo").start();
    let started = Instant::now();
    let report = app
        .echo(&[
            ("url", &server.url("/blackhole")),
            ("keepalive", "300,300"),
            // Far longer than interval + timeout: only the keepalive ends
            // the wait.
            ("timeout_ms", "30000"),
            ("close", "0"),
        ])
        .report();
    let took = started.elapsed();
    assert_eq!(
        report.error_kind.as_deref(),
        Some("KeepaliveTimeout"),
        "{report:?}"
    );
    assert_eq!(
        report.error.as_deref(),
        Some("the peer answered no keepalive ping within 300 ms; the connection is closed")
    );
    assert!(report.received.is_empty(), "{report:?}");
    // About interval + timeout (600 ms), not the 30 s receive timeout.
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// `/delay?ms=2500` (Python `websockets`) answers pings while it holds the
/// echo back for 2.5 s: eight intervals of silence, each pinged and
/// answered in time.
#[test]
fn a_peer_that_answers_pings_keeps_the_connection_open() {
    let peer = PythonPeer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[
            ("url", &peer.url("/delay?ms=2500")),
            ("keepalive", "300,300"),
            ("timeout_ms", "20000"),
        ])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert!(report.received[0].echo_exact, "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
}

/// `golem:websocket` has no ping: the composed app's request with a
/// keepalive fails at connect instead of running unprotected.
#[test]
fn a_golem_websocket_connection_refuses_keepalive() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let failure = app
        .echo(&[("url", &server.url("/echo")), ("keepalive", "300,300")])
        .connect_failure();
    assert_eq!(failure.error_kind, "Unsupported", "{failure:?}");
    assert!(failure.error.contains("keepalive"), "{failure:?}");
    assert_eq!(server.connections(), 0);
}

/// The server side: a client that completes the handshake and then reads
/// nothing (so answers no ping) is closed with 1011 and its connection
/// ended with the typed error.
#[test]
fn the_server_gives_up_on_a_client_that_answers_no_ping() {
    let mut server = ComponentServer::start(&["--keepalive-ms", "300,300"]);
    let mut client = raw_client::open(server.addr(), "/quiet", &[], MARGIN);
    let started = Instant::now();
    let ended = server.wait_for_event("ended ", MARGIN);
    let took = started.elapsed();
    assert!(
        ended.ends_with(
            " the peer answered no keepalive ping within 300 ms; the connection is closed"
        ),
        "{ended}"
    );
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // What reached the client after the 101: the ping, then close 1011.
    let ping = b"wasm-websocket keepalive";
    assert_eq!(
        raw_client::read_frame(&mut client),
        (0x89, ping.to_vec()),
        "a ping first"
    );
    let (opcode, close) = raw_client::read_frame(&mut client);
    assert_eq!(opcode, 0x88, "then a close: {close:?}");
    assert_eq!(&close[..2], &1011u16.to_be_bytes(), "{close:?}");
}

/// The server side with a client that answers pings (Python `websockets`):
/// it idles for 2 s, many intervals, and is still echoed afterwards.
#[test]
fn the_server_keeps_a_client_that_answers_pings() {
    let server = ComponentServer::start(&["--keepalive-ms", "300,300"]);
    let seen = server.python_client("idle", &["2"]);
    assert_eq!(seen, serde_json::json!({"echoed": "after the idle time"}));
}
