//! A peer that closes many connections at the same moment gets every close
//! answered: Python `websockets` closes 200 connections of one component
//! (the `fanin` example, composed with the polyfill and with the direct
//! client) with 1000 at once, and each connection's close frame back from
//! the app must reach it before TCP ends, not a bare TCP end (1006). Under
//! wasmtime 48 the host's output streams take nothing for a while once
//! many write at once; the answer then waits in the session, and a dropped
//! session pushes it out before it closes TCP.

use std::time::Duration;

use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::Serve;

/// Connections the peer closes at once.
const CONNECTIONS: usize = 200;

fn every_close_is_answered(app: Serve) {
    let mut peer = PythonPeer::start();
    let app = app.start();
    let url = peer.url(&format!("/together?n={CONNECTIONS}"));
    let deadline = Duration::from_secs(60);
    let report = app.fanin(&[
        ("url", &url),
        ("copies", &CONNECTIONS.to_string()),
        ("deadline_ms", &deadline.as_millis().to_string()),
    ]);
    assert!(!report.deadline_hit, "{report:?}");
    let seen_by_app = report
        .events
        .iter()
        .filter(|e| e.kind == "close" && e.code == Some(1000))
        .count();
    assert_eq!(seen_by_app, CONNECTIONS, "the app saw every close");
    let answered = peer
        .wait_for_closes(CONNECTIONS)
        .iter()
        .filter(|close| close.close_code == Some(1000))
        .count();
    assert_eq!(answered, CONNECTIONS, "closes answered with 1000");
}

#[test]
fn the_composed_client_answers_200_closes_at_once() {
    every_close_is_answered(Serve::app("fanin"));
}

#[test]
fn the_direct_client_answers_200_closes_at_once() {
    every_close_is_answered(Serve::direct("fanin"));
}
