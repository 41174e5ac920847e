//! The direct client: the example apps built with the feature `sockets`
//! connect with `WebSocket::connect_direct`, run the protocol engine
//! themselves over wasi:sockets, import no `golem:websocket`, and are served
//! without the polyfill. The scenarios of the composed apps that apply (the
//! round trips against Python `websockets` and the protocol errors run for
//! both clients in `python_peer` and `faults`): a 16 MiB round trip, close
//! codes both ways, a receive timeout, `wss://` with a test CA; and what
//! only this path offers: the agreed subprotocol, the response
//! headers and pings (which a `golem:websocket` connection refuses with a
//! typed error), `try_send` that queues a frame whole or gives it back, and
//! `reunite`.

use std::time::Duration;

use serde::Deserialize;
use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::certs::{Authority, Validity};
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::peer::PeerClose;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::Serve;
use wasm_websocket_tests::{components, wit};

use crate::MARGIN;

/// The apps of `target/direct/`: the direct client's (`feed` through the
/// reconnecting client) and the server.
const DIRECT_APPS: [&str; 7] = [
    "echo",
    "autobahn-client",
    "stall",
    "bench-client",
    "fanin",
    "feed",
    "server",
];

/// A direct app imports `wasi:sockets` and nothing of `golem:websocket`:
/// `sockets` and `server` leave the crate's `golem:websocket` connect
/// compiled in, and only a call to it would link its imports. (Every test
/// here also runs such an app on plain wasmtime, which has no
/// `golem:websocket`, but only for the apps and paths it drives.)
#[test]
fn direct_apps_import_no_golem_websocket() {
    for app in DIRECT_APPS {
        let world = wit::world(&wit::wasm_tools_wit(&components::direct(app)));
        let golem: Vec<&String> = world
            .imports
            .iter()
            .filter(|import| import.starts_with("golem:"))
            .collect();
        assert!(golem.is_empty(), "{app} imports {golem:?}");
        assert!(
            world
                .imports
                .iter()
                .any(|import| import.starts_with("wasi:sockets/tcp@")),
            "{app} does not import wasi:sockets/tcp: {:?}",
            world.imports
        );
    }
}

#[test]
fn sixteen_mib_round_trip_byte_exact_through_the_sink() {
    // One message: an app that sends 32 MiB to an echo server without
    // reading waits for ever, as over any TCP client (the echoes fill the
    // server's socket, so it stops reading).
    let server = FaultServer::start();
    let app = Serve::direct("echo").start();
    let size = (16 << 20).to_string();
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("size", &size),
            ("binary", "1"),
            ("via", "sink"),
            ("timeout_ms", "60000"),
        ])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert!(report.received[0].echo_exact, "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
}

#[test]
fn close_codes_and_reasons_cross_both_ways() {
    let mut peer = PythonPeer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("close_code", "4001"),
            ("close_reason", "bye"),
        ])
        .report();
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(report.close, Some(Close::new(4001, "bye")));
    assert_eq!(
        peer.wait_for_close(),
        PeerClose {
            path: "/echo".to_owned(),
            close_code: Some(4001),
            close_reason: Some("bye".to_owned()),
        }
    );

    let report = app
        .echo(&[("url", &peer.url("/close?code=4003&reason=going%20home"))])
        .report();
    assert_eq!(
        report.close,
        Some(Close::new(4003, "going home")),
        "{report:?}"
    );
    assert_eq!(report.error, None);

    let server = FaultServer::start();
    let report = app
        .echo(&[("url", &server.url("/close-after?n=0"))])
        .report();
    assert_eq!(report.close, Some(Close::new(1005, "")), "{report:?}");
}

#[test]
fn dropping_an_open_socket_sends_a_normal_close() {
    let server = FaultServer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[("url", &server.url("/echo")), ("close", "0")])
        .report();
    assert_eq!(report.close_result, None);
    assert_eq!(
        server.wait_for_close(MARGIN),
        ClientClose {
            code: Some(1000),
            reason: String::new(),
        }
    );
}

#[test]
fn a_receive_timeout_leaves_the_connection_open() {
    let server = FaultServer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("expect", "2"),
            ("timeout_ms", "500"),
        ])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.error_kind.as_deref(), Some("Timeout"), "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1000));
}

#[test]
fn an_abrupt_end_and_a_refused_connect_are_reported() {
    let server = FaultServer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[("url", &server.url("/drop?n=1")), ("expect", "2")])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(
        report.error_kind.as_deref(),
        Some("ConnectionReset"),
        "{report:?}"
    );

    let port = wasm_websocket_tests::unused_port();
    let failure = app
        .echo(&[("url", &format!("ws://127.0.0.1:{port}/"))])
        .connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(failure.error.contains("refused"), "{failure:?}");

    let failure = app
        .echo(&[("url", &server.url("/reject"))])
        .connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(failure.error.contains("403"), "{failure:?}");
}

#[test]
fn the_agreed_subprotocol_and_the_handshake_headers_are_reported() {
    let peer = PythonPeer::start();
    let direct = Serve::direct("echo").start();
    let url = peer.url("/subprotocol");
    let offers = [
        ("url", url.as_str()),
        ("protocol", "chat"),
        ("protocol", "superchat"),
    ];
    let report = direct.echo(&offers).report();
    assert_eq!(report.received[0].data.as_deref(), Some("superchat"));
    // Of two offers, the direct client knows which one the server took.
    assert_eq!(report.protocol.as_deref(), Some("superchat"), "{report:?}");
    let headers = report.handshake_headers.expect("the response headers");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(header("sec-websocket-protocol"), Some("superchat"));
    assert_eq!(
        header("upgrade").map(str::to_ascii_lowercase).as_deref(),
        Some("websocket")
    );
    assert!(header("sec-websocket-accept").is_some(), "{headers:?}");

    // The composed app cannot know either.
    let composed = Serve::app("echo").start();
    let report = composed.echo(&offers).report();
    assert_eq!(report.received[0].data.as_deref(), Some("superchat"));
    assert_eq!(report.protocol, None, "{report:?}");
    assert_eq!(report.handshake_headers, None, "{report:?}");
}

#[test]
fn pings_go_out_and_the_peers_pings_are_answered() {
    let server = FaultServer::start();
    let direct = Serve::direct("echo").start();
    let report = direct
        .echo(&[("url", &server.url("/echo")), ("ping", "are you there")])
        .report();
    assert_eq!(report.ping.as_deref(), Some("ok"), "{report:?}");
    assert!(report.received[0].echo_exact, "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");

    let too_long = "p".repeat(126);
    let report = direct
        .echo(&[("url", &server.url("/echo")), ("ping", &too_long)])
        .report();
    assert_eq!(report.ping.as_deref(), Some("Send"), "{report:?}");
    assert!(report.received[0].echo_exact, "still usable: {report:?}");

    // The server pings, waits for our pong and replies with its payload.
    let report = direct.echo(&[("url", &server.url("/ping"))]).report();
    assert_eq!(
        report.received[0].data.as_deref(),
        Some("pong:are you there"),
        "{report:?}"
    );

    // A golem:websocket connection carries no pings: a typed error.
    let composed = Serve::app("echo").start();
    let report = composed
        .echo(&[("url", &server.url("/echo")), ("ping", "hi")])
        .report();
    assert_eq!(report.ping.as_deref(), Some("Unsupported"), "{report:?}");
    assert!(report.received[0].echo_exact, "{report:?}");
}

/// Where the app asks for pongs, the answer to its ping arrives as a
/// message, before the echo of what it sent after the ping.
#[test]
fn pongs_are_received_where_the_app_asks_for_them() {
    let server = FaultServer::start();
    let direct = Serve::direct("echo").start();
    let report = direct
        .echo(&[
            ("url", &server.url("/echo")),
            ("ping", "heartbeat 1"),
            ("pongs", "1"),
            ("expect", "2"),
        ])
        .report();
    assert_eq!(report.ping.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(report.received.len(), 2, "{report:?}");
    assert_eq!(report.received[0].kind, "pong", "{report:?}");
    assert_eq!(
        report.received[0].data.as_deref(),
        Some("heartbeat 1"),
        "{report:?}"
    );
    assert!(report.received[1].echo_exact, "{report:?}");
}

#[test]
fn a_wss_round_trip_works_with_a_test_ca() {
    let ca = Authority::new("test CA");
    let identity = ca.issue(&["127.0.0.1"], Validity::Current);
    let mut peer = PythonPeer::start_tls(&identity.cert, &identity.key);
    let app = Serve::direct("echo")
        .env("WASM_WEBSOCKET_CA_PEM", ca.pem())
        .start();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("size", "1048576"),
            ("binary", "1"),
            ("count", "2"),
            ("timeout_ms", "60000"),
        ])
        .report();
    assert!(
        report.received.len() == 2 && report.received.iter().all(|r| r.echo_exact),
        "{report:?}"
    );
    assert_eq!(peer.wait_for_close().close_code, Some(1000));

    // Without the CA, the certificate is refused, with the reason.
    let untrusting = Serve::direct("echo").start();
    let failure = untrusting
        .echo(&[("url", &peer.url("/echo"))])
        .connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(failure.error.contains("unknown issuer"), "{failure:?}");
}

/// The `stall` app's answer (see examples/stall).
#[derive(Debug, Deserialize)]
struct StallReport {
    round_trips: u64,
    a: String,
}

#[test]
fn a_silent_or_flooding_connection_does_not_stall_another() {
    let server = FaultServer::start();
    let app = Serve::direct("stall")
        .request_timeout(Duration::from_secs(60))
        .start();
    for (a, action) in [("/silent", "hold"), ("/ping-flood?n=200000", "hold")] {
        let response = app.get(&[
            ("a", &server.url(a)),
            ("b", &server.url("/echo")),
            ("action", action),
        ]);
        assert_eq!(response.status, 200, "{}", response.text());
        let report: StallReport = serde_json::from_slice(&response.body).expect("a stall report");
        // B went on while A waited (its round trips are 16 bytes each).
        assert!(report.round_trips > 10, "{a}: {report:?}");
        assert_eq!(report.a, "ok", "{a}: {report:?}");
    }
}

#[test]
fn try_send_queues_each_frame_whole_or_gives_it_back() {
    let peer = PythonPeer::start();
    let direct = Serve::direct("echo").start();
    // 4 MiB frames, sent without waiting: the socket takes each one over
    // many turns, so the next `try_send` finds it busy and gets its message
    // back (the app then waits for room and tries again).
    let report = direct
        .echo(&[
            ("url", &peer.url("/echo")),
            ("via", "try"),
            ("size", "4194304"),
            ("binary", "1"),
            ("count", "4"),
            ("timeout_ms", "60000"),
        ])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!((report.sent, report.received.len()), (4, 4), "{report:?}");
    assert!(
        report.received.iter().all(|r| r.echo_exact),
        "every frame arrived whole: {report:?}"
    );
    assert!(
        report.would_block >= 1,
        "try_send never found the socket busy: {report:?}"
    );
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
}

/// Sends queue ahead (`session::SEND_AHEAD`) and go out without the app's
/// help: 200 messages sent and then left while the app waits on a timer are
/// echoed by then (the replies are read only after the pause, with zero
/// timeouts, so none waits for them to go out), and 200 sent right before a
/// drop all reach the peer, with the close after them.
#[test]
fn queued_sends_go_out_while_the_app_waits_elsewhere_or_drops_the_socket() {
    let mut peer = PythonPeer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("count", "200"),
            ("pause_ms", "500"),
            ("timeout_ms", "0"),
        ])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.received.len(), 200, "{report:?}");
    assert!(report.received.iter().all(|r| r.echo_exact), "{report:?}");
    let end = peer.wait_for_end();
    assert_eq!((end.messages, end.close.close_code), (200, Some(1000)));

    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("count", "200"),
            ("expect", "0"),
            ("close", "0"),
        ])
        .report();
    assert_eq!((report.error, report.sent), (None, 200));
    let end = peer.wait_for_end();
    assert_eq!((end.messages, end.close.close_code), (200, Some(1000)));
}

/// A close behind a full send queue is queued, not failed: against a peer
/// that never reads, the app `try_send`s 1 KiB messages until one comes back
/// (the queue full, the last frame held back whole), then closes. The close
/// frame goes behind them, so the close ends at its timeout (the peer never
/// answers), not with a send error that would mark the connection broken.
#[test]
fn a_close_behind_a_full_send_queue_is_queued_not_failed() {
    let server = FaultServer::start();
    let app = Serve::direct("echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/stop-reading?n=0")),
            ("via", "try"),
            ("until_full", "1"),
            ("size", "1024"),
            ("binary", "1"),
            ("count", "100000"),
            ("expect", "0"),
            ("close_code", "1000"),
        ])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.would_block, 1, "the queue never filled: {report:?}");
    assert_eq!(
        report.close_result.as_deref(),
        Some("timeout"),
        "{report:?}"
    );
}

#[test]
fn reunite_takes_the_halves_of_one_socket_and_refuses_crossed_ones() {
    crate::round_trip::assert_reunite_works(&Serve::direct("echo").start());
}
