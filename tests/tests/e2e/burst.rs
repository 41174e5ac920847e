//! The server side under bursts: the `server` example under `wasmtime run
//! -Sinherit-network`, against many Python `websockets` clients at the same
//! moment (`tests/peers/burst_client.py`): handshakes at once, past the
//! connection limit, stuck handshakes, closes at once, and timeouts at
//! `Duration::MAX`.

use std::process::Command;

use serde_json::{Value, json};
use wasm_websocket_tests::component_server::ComponentServer;

use crate::MARGIN;

/// The handshake timeout the bursts run with, server and clients alike (in
/// seconds): generous, so that only a wedge fails them on a busy machine.
/// How fast a burst is served, against the default 10 s, is measured in
/// bench/README.md ("Bursts of handshakes").
const HANDSHAKE_TIMEOUT_S: u64 = 60;

/// The server with `args`, and a handshake timeout of [`HANDSHAKE_TIMEOUT_S`].
fn start(args: &[&str]) -> ComponentServer {
    let timeout = (HANDSHAKE_TIMEOUT_S * 1000).to_string();
    let mut all = vec!["--handshake-timeout-ms", &timeout];
    all.extend_from_slice(args);
    ComponentServer::start(&all)
}

/// Runs a scenario of `tests/peers/burst_client.py` against `server` and
/// returns the JSON it printed (the script bounds its own run).
fn burst(server: &ComponentServer, scenario: &str, args: &[&str]) -> Value {
    let output = Command::new(wasm_websocket_tests::repo_path(".venv/bin/python"))
        .arg(wasm_websocket_tests::repo_path(
            "tests/peers/burst_client.py",
        ))
        .arg(scenario)
        .arg(server.addr().to_string())
        .args(args)
        .output()
        .expect("run the Python burst client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python burst client ({scenario} {args:?}) failed ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the Python burst client printed no JSON ({e}):\n{stdout}"));
    eprintln!("burst {scenario} {args:?}: {seen}");
    seen
}

/// 1000 clients connect at the same moment (more than the listen backlog,
/// so the kernel queues part of them): each is through its handshake within
/// the handshake timeout and echoes a message, and a client after them is
/// served as well.
#[test]
fn a_burst_of_1000_handshakes_is_served_and_so_is_the_next_client() {
    let server = start(&["--max-connections", "2000"]);
    let seen = burst(
        &server,
        "connect",
        &["1000", &HANDSHAKE_TIMEOUT_S.to_string()],
    );
    assert_eq!(seen["served"], 1000, "{seen}");
    assert_eq!(seen["failed"], json!({}), "{seen}");
    assert_eq!(seen["after"], "ok", "{seen}");
}

/// A burst past `max_connections`: the connections within the limit are
/// served and stay; every other client is answered 503, none is left
/// without an answer.
#[test]
fn past_the_connection_limit_a_burst_is_answered_503() {
    let server = start(&["--max-connections", "100"]);
    let seen = burst(&server, "hold", &["300", &HANDSHAKE_TIMEOUT_S.to_string()]);
    assert_eq!(seen, json!({"101": 100, "http 503": 200}));
}

/// 300 handshakes that never finish (silent sockets, and half request heads)
/// arrive at once; a client meanwhile is served, before their handshake
/// timeout (20 s) ends; then the server ends every one of them.
#[test]
fn a_burst_of_stuck_handshakes_does_not_stop_the_accept_loop() {
    let server = ComponentServer::start(&["--handshake-timeout-ms", "20000"]);
    let seen = burst(&server, "stuck", &["300", "15"]);
    assert_eq!(seen["stuck"], 300, "{seen}");
    assert_eq!(seen["client"], "ok", "{seen}");
    assert_eq!(seen["closed_by_server"], 300, "{seen}");
}

/// 200 clients close with 1000 at the same moment: each gets the server's
/// close frame (1000) back before the TCP connection ends, none a bare TCP
/// end (which a client reports as 1006).
#[test]
fn clients_closing_at_once_each_get_the_close_frame() {
    let server = start(&[]);
    let seen = burst(&server, "close", &["200"]);
    assert_eq!(seen, json!({"clients": 200, "replies": {"1000": 200}}));
}

/// Handshake and close timeouts of `Duration::MAX` mean "no bound", not an
/// overflow: a client connects, echoes and closes, and the server (alive)
/// reports the close and serves the next one.
#[test]
fn timeouts_at_duration_max_do_not_panic() {
    let mut server =
        ComponentServer::start(&["--handshake-timeout-ms", "max", "--close-timeout-ms", "max"]);
    let seen = server.python_client("echo", &["/forever"]);
    assert_eq!(seen["text"], "héllo", "{seen}");
    assert_eq!(seen["close_code"], 4001, "{seen}");
    let closed = server.wait_for_event("closed ", MARGIN);
    assert!(closed.ends_with(" 4001 client says bye"), "{closed}");
    // The server closes first this time: its close timeout starts.
    let seen = server.python_client("closed", &["/close/4002"]);
    assert_eq!(
        seen,
        json!({"close_code": 4002, "reason": "closed on request"})
    );
    let seen = server.python_client("echo", &["/again"]);
    assert_eq!(seen["close_code"], 4001, "{seen}");
}
