//! The wasmCloud draft interface (`wasmcloud:websocket@0.1.1-draft`) as the
//! polyfill serves it: `examples/wasmcloud-draft` (plain wit-bindgen
//! bindings of the draft) composed with the polyfill, under `wasmtime
//! serve`, against Python `websockets` and the fault server. One test per
//! row of wit/README.md ("The wasmCloud draft"), plus the round trips.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::peer::PeerClose;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::{Serve, ServedApp};

use crate::MARGIN;

/// The app's JSON answer, with its HTTP status.
fn call(app: &ServedApp, params: &[(&str, &str)]) -> (u16, Value) {
    let response = app.get(params);
    let body = serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("{e}: {}", response.text()));
    (response.status, body)
}

fn report(app: &ServedApp, params: &[(&str, &str)]) -> Value {
    let (status, body) = call(app, params);
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn text_and_binary_round_trip_byte_exact_and_the_states_read_as_the_draft_names_them() {
    let mut peer = PythonPeer::start();
    let app = Serve::app("wasmcloud-draft").start();
    for size in ["0", "125", "70000", "1048576"] {
        for binary in ["0", "1"] {
            let url = peer.url("/echo");
            let seen = report(
                &app,
                &[
                    ("url", &url),
                    ("size", size),
                    ("binary", binary),
                    ("count", "3"),
                    ("close_code", "4001"),
                    ("close_reason", "bye"),
                ],
            );
            let what = format!("size {size}, binary={binary}: {seen}");
            assert_eq!(seen["sent"], 3, "{what}");
            let received = seen["received"].as_array().expect("received");
            assert_eq!(received.len(), 3, "{what}");
            assert!(received.iter().all(|r| r["echo_exact"] == true), "{what}");
            assert_eq!(seen["url"], json!(url), "{what}");
            assert_eq!(seen["close_result"], "ok", "{what}");
            // The close answer arrives as a `close` message with the code
            // echoed; then receive is connection-closed.
            assert_eq!(
                seen["peer_close"],
                json!({"code": 4001, "reason": "bye"}),
                "{what}"
            );
            assert_eq!(seen["after_close"], "connection-closed", "{what}");
            assert_eq!(
                seen["states"],
                json!(["open", "closing", "closed"]),
                "{what}"
            );
            assert_eq!(
                peer.wait_for_close(),
                PeerClose {
                    path: "/echo".to_owned(),
                    close_code: Some(4001),
                    close_reason: Some("bye".to_owned()),
                }
            );
        }
    }
}

#[test]
fn receive_returns_none_at_once_while_nothing_has_arrived() {
    let server = FaultServer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let started = Instant::now();
    let seen = report(
        &app,
        &[
            ("url", &server.url("/silent")),
            ("count", "0"),
            ("expect", "1"),
            ("wait_ms", "300"),
        ],
    );
    assert_eq!(seen["first_receive"], "none", "{seen}");
    assert_eq!(seen["received"], json!([]), "{seen}");
    assert_eq!(seen["error"], Value::Null, "{seen}");
    assert!(started.elapsed() < MARGIN, "{:?}", started.elapsed());
}

#[test]
fn the_peers_close_is_a_close_message_once_then_connection_closed() {
    let peer = PythonPeer::start();
    let server = FaultServer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let seen = report(
        &app,
        &[
            ("url", &peer.url("/close?code=4003&reason=going%20home")),
            ("close", "0"),
        ],
    );
    assert_eq!(
        seen["peer_close"],
        json!({"code": 4003, "reason": "going home"}),
        "{seen}"
    );
    assert_eq!(seen["after_close"], "connection-closed", "{seen}");
    assert_eq!(seen["states"], json!(["open", "closed"]), "{seen}");

    // A close frame without a code reads 1005, with no reason.
    let seen = report(
        &app,
        &[("url", &server.url("/close-after?n=0")), ("close", "0")],
    );
    assert_eq!(
        seen["peer_close"],
        json!({"code": 1005, "reason": null}),
        "{seen}"
    );

    // An end without a close frame: connection-closed, nothing to carry.
    let seen = report(
        &app,
        &[
            ("url", &server.url("/drop?n=0")),
            ("count", "0"),
            ("expect", "1"),
            ("close", "0"),
        ],
    );
    assert_eq!(seen["error"], "connection-closed", "{seen}");
    assert_eq!(seen["after_close"], "connection-closed", "{seen}");
    assert_eq!(seen["states"], json!(["open", "closed"]), "{seen}");
}

#[test]
fn close_waits_for_its_frame_to_leave_not_for_the_answer() {
    // `/ignore-close` never answers a close: close still returns at once,
    // and the state stays `closing`.
    let server = FaultServer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let seen = report(
        &app,
        &[
            ("url", &server.url("/ignore-close")),
            ("count", "0"),
            ("wait_ms", "300"),
        ],
    );
    assert_eq!(seen["close_result"], "ok", "{seen}");
    assert_eq!(seen["peer_close"], Value::Null, "{seen}");
    assert_eq!(
        seen["states"],
        json!(["open", "closing", "closing"]),
        "{seen}"
    );
    assert_eq!(
        server.wait_for_close(MARGIN),
        ClientClose {
            code: Some(1000),
            reason: String::new(),
        }
    );
}

#[test]
fn a_ping_is_sent_as_a_message_and_its_pong_arrives_as_one() {
    let peer = PythonPeer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let seen = report(&app, &[("url", &peer.url("/echo")), ("ping", "hb-1")]);
    let received = seen["received"].as_array().expect("received");
    assert_eq!(received.len(), 2, "{seen}");
    assert_eq!(received[0]["type"], "pong", "{seen}");
    assert_eq!(received[0]["data"], "hb-1", "{seen}");
    assert_eq!(received[1]["echo_exact"], true, "{seen}");

    // Over 125 bytes: refused, typed.
    let long = "p".repeat(126);
    let seen = report(&app, &[("url", &peer.url("/echo")), ("ping", &long)]);
    let error = seen["error"].as_str().expect("an error");
    assert!(error.starts_with("invalid-message: "), "{seen}");
}

#[test]
fn the_config_offers_subprotocols_and_sends_headers() {
    let peer = PythonPeer::start();
    let server = FaultServer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let seen = report(
        &app,
        &[
            ("url", &peer.url("/subprotocol")),
            ("protocol", "chat"),
            ("protocol", "superchat"),
        ],
    );
    // The Python peer prefers superchat.
    assert_eq!(seen["subprotocol"], "superchat", "{seen}");
    assert_eq!(seen["received"][0]["data"], "superchat", "{seen}");

    let seen = report(&app, &[("url", &peer.url("/echo"))]);
    assert_eq!(seen["subprotocol"], Value::Null, "{seen}");

    report(
        &app,
        &[
            ("url", &server.url("/echo")),
            ("header", "Authorization: Bearer 3f9a"),
        ],
    );
    let handshake = &server.handshakes()[0];
    assert_eq!(handshake.header("authorization"), Some("Bearer 3f9a"));

    let (status, body) = call(
        &app,
        &[("url", &server.url("/echo")), ("header", "Host: evil")],
    );
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("connection-failed: ")),
        "{body}"
    );
}

#[test]
fn connect_errors_are_typed_and_timeout_ms_bounds_the_connect() {
    let server = FaultServer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let (status, body) = call(&app, &[("url", "http://127.0.0.1:1/")]);
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid-url: ")),
        "{body}"
    );

    // `/stall` reads the request and never answers.
    let started = Instant::now();
    let (status, body) = call(
        &app,
        &[("url", &server.url("/stall")), ("timeout_ms", "400")],
    );
    let took = started.elapsed();
    assert_eq!((status, &body), (502, &json!({"error": "timeout"})));
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    let (status, body) = call(&app, &[("url", &server.url("/reject"))]);
    assert_eq!(status, 502, "{body}");
    let error = body["error"].as_str().expect("an error");
    assert!(
        error.starts_with("connection-failed: ") && error.contains("HTTP 403"),
        "{body}"
    );
}

#[test]
fn max_message_size_refuses_a_larger_message() {
    let mut peer = PythonPeer::start();
    let app = Serve::app("wasmcloud-draft").start();
    let seen = report(
        &app,
        &[
            ("url", &peer.url("/echo")),
            ("size", "2000"),
            ("max_message_size", "1000"),
        ],
    );
    let error = seen["error"].as_str().expect("an error");
    assert!(
        error.starts_with("protocol-error: message too big"),
        "{seen}"
    );
    assert_eq!(seen["after_close"], "connection-closed", "{seen}");
    assert_eq!(peer.wait_for_close().close_code, Some(1009));

    // At the limit it arrives.
    let seen = report(
        &app,
        &[
            ("url", &peer.url("/echo")),
            ("size", "1000"),
            ("max_message_size", "1000"),
        ],
    );
    assert_eq!(seen["received"][0]["echo_exact"], true, "{seen}");
}

#[test]
fn keepalive_gives_up_on_a_silent_peer_and_keeps_a_responsive_one() {
    let server = FaultServer::start();
    let peer = PythonPeer::start();
    let app = Serve::app("wasmcloud-draft").start();
    // `/blackhole` completes the handshake and never reads again.
    let started = Instant::now();
    let seen = report(
        &app,
        &[
            ("url", &server.url("/blackhole")),
            ("keepalive", "1"),
            ("keepalive_interval_ms", "300"),
            ("wait_ms", "30000"),
            ("close", "0"),
        ],
    );
    let took = started.elapsed();
    assert_eq!(seen["error"], "timeout", "{seen}");
    assert_eq!(seen["after_close"], "connection-closed", "{seen}");
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    // Python `websockets` answers the pings while it holds the echo back.
    let seen = report(
        &app,
        &[
            ("url", &peer.url("/delay?ms=2500")),
            ("keepalive", "1"),
            ("keepalive_interval_ms", "300"),
            ("wait_ms", "20000"),
        ],
    );
    assert_eq!(seen["error"], Value::Null, "{seen}");
    assert_eq!(seen["received"][0]["echo_exact"], true, "{seen}");
    // The keepalive's own pongs are not handed up.
    assert_eq!(seen["received"].as_array().map(Vec::len), Some(1), "{seen}");
}
