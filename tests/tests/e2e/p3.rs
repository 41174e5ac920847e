//! The WASI 0.3 mode: the P3 example (`examples-p3/echo`, a
//! `wasi:cli/run@0.3.0` command built with the crate's `p3` feature) composed
//! with the polyfill's P3 build, under `wasmtime run` (48): text and binary
//! byte-exact, close both ways with code and reason, a receive timeout that
//! loses nothing, an abrupt end, a silent connection that does not stall
//! another.

use std::time::Duration;

use serde_json::{Value, json};
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::run_p3;

use crate::MARGIN;

/// How long one run may take before the test gives up: compiling the
/// component on a busy machine, plus the margin. Only a hang gets near it.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the app; its report is printed (`--nocapture` shows it).
fn run(args: &[&str]) -> Value {
    let report = run_p3("p3-echo", args, RUN_TIMEOUT + MARGIN);
    eprintln!("p3-echo {}: {report}", args[0]);
    report
}

/// The app's report field `key` as a list of strings.
fn strings(report: &Value, key: &str) -> Vec<String> {
    serde_json::from_value(report[key].clone())
        .unwrap_or_else(|err| panic!("{key} in {report}: {err}"))
}

fn millis(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {report}"))
}

#[test]
fn p3_text_and_binary_come_back_byte_exact() {
    let peer = PythonPeer::start();
    let report = run(&["round-trip", &peer.url("/echo")]);
    assert_eq!(report["sent"], json!(["ok", "ok", "ok"]), "{report}");
    // One-, two-, three- and four-byte UTF-8, as the app sent it.
    assert_eq!(report["text"], "héllo wörld ✓ 🦀", "{report}");
    let all_bytes: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    assert_eq!(report["binary_hex"], all_bytes.as_str(), "{report}");
    assert_eq!(report["big_len"], 1 << 20, "{report}");
    assert_eq!(report["big_equal"], true, "{report}");
    assert_eq!(report["close"], "ok", "{report}");
}

#[test]
fn p3_the_apps_close_reaches_the_peer_with_its_code_and_reason() {
    let mut peer = PythonPeer::start();
    let report = run(&["close-by-app", &peer.url("/echo"), "4001", "app bye ✓"]);
    // The peer answers with the same frame, and the stream ends after it.
    assert_eq!(
        strings(&report, "steps"),
        ["ok", "close:4001:app bye ✓", "end"]
    );
    let close = peer.wait_for_close();
    assert_eq!(
        (close.close_code, close.close_reason.as_deref()),
        (Some(4001), Some("app bye ✓"))
    );
}

#[test]
fn p3_the_peers_close_reaches_the_app_with_its_code_and_reason() {
    let mut peer = PythonPeer::start();
    let report = run(&[
        "close-by-peer",
        &peer.url("/close?code=4002&reason=peer%20bye%20%E2%9C%93"),
    ]);
    assert_eq!(
        strings(&report, "steps"),
        ["ok", "close:4002:peer bye ✓", "end"]
    );
    // The polyfill answered the close: the peer got its code back.
    let close = peer.wait_for_close();
    assert_eq!(close.close_code, Some(4002));
}

#[test]
fn p3_receive_timeouts_lose_no_message() {
    let peer = PythonPeer::start();
    // Each echo comes 60 ms after the peer read the message, and the app
    // gives up on a receive after 40 ms, so the first receive always times
    // out, and most others too.
    let report = run(&["timeouts", &peer.url("/delay?ms=60"), "40"]);
    assert_eq!(
        strings(&report, "received"),
        ["m0", "m1", "m2", "m3", "m4"],
        "{report}"
    );
    assert!(
        report["timeouts"].as_u64().is_some_and(|n| n >= 1),
        "no receive timed out, so nothing was tested: {report}"
    );
    assert_eq!(report["other"], json!([]), "{report}");
}

#[test]
fn p3_an_abrupt_end_is_a_reset() {
    let server = FaultServer::start();
    // The server echoes one message, then ends TCP without a close frame.
    let report = run(&["abrupt", &server.url("/drop?n=1")]);
    assert_eq!(
        strings(&report, "steps"),
        ["ok", "text:one", "ConnectionReset", "end"]
    );
    assert!(millis(&report, "elapsed_ms") < MARGIN.as_millis() as u64);
}

#[test]
fn p3_a_silent_connection_does_not_stall_another() {
    let server = FaultServer::start();
    let report = run(&["two", &server.url("/silent"), &server.url("/echo")]);
    // 20 round trips on the busy connection, all done while the receive on
    // the silent one was still waiting (it gives up after 3 s).
    assert_eq!(report["rounds"], 20, "{report}");
    assert_eq!(report["silent"], "Timeout", "{report}");
    let silent_ms = millis(&report, "silent_ms");
    assert!(silent_ms >= 3000, "{report}");
    assert!(millis(&report, "rounds_ms") < 3000, "{report}");
    assert_eq!(report["close"], json!(["ok", "ok"]), "{report}");
}

#[test]
fn p3_the_polyfills_receive_with_timeout_waits_its_time_and_loses_nothing() {
    let peer = PythonPeer::start();
    // The interface itself, as a golem-rust 3.x app calls it: the echo comes
    // 300 ms late; a 100 ms receive gives up, the next one gets the message.
    let report = run(&["raw-timeout", &peer.url("/delay?ms=300")]);
    assert_eq!(
        strings(&report, "steps"),
        ["none", "text:late", "none"],
        "{report}"
    );
    let elapsed: Vec<u64> = serde_json::from_value(report["elapsed_ms"].clone()).unwrap();
    assert!(
        elapsed[0] >= 100,
        "the 100 ms receive returned early: {report}"
    );
    assert!(
        elapsed[2] < MARGIN.as_millis() as u64,
        "a zero timeout waited: {report}"
    );
    assert_eq!(report["close"], "Ok(())", "{report}");
}

#[test]
fn p3_a_waiting_receive_lets_the_apps_other_tasks_run() {
    let server = FaultServer::start();
    // A timer task ticks every 10 ms while a receive waits 1 s on a silent
    // connection: about 90 ticks when the receive blocks the component only
    // in short slices, one when it blocks for its whole wait. The bound is
    // far below 90 so that a loaded machine does not trip it.
    let report = run(&["ticks", &server.url("/silent")]);
    assert_eq!(report["silent"], "Timeout", "{report}");
    let ticks = millis(&report, "ticks");
    assert!(ticks >= 30, "the timer task was held up: {report}");
    assert_eq!(report["close"], "ok", "{report}");
}
