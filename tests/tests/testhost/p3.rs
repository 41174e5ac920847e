//! The WASI 0.3 shape on the test host: the P3 example app
//! (`examples-p3/echo`, a `wasi:cli/run@0.3.0` command built with the
//! crate's `p3` feature, not composed: its `golem:websocket` import is the
//! host's) run by the test host, which provides the P3 shape on
//! tokio-tungstenite with `receive` as a concurrent host call.
//!
//! Live, against the Python `websockets` peer (and the project's fault
//! server for an abrupt end and a silent connection): the scenarios the
//! polyfill's P3 build passes in `tests/e2e/p3.rs`. Then Golem's replay
//! scenarios in the P3 shape (one host call in flight at a time), on the
//! counting peer of the P2 replay tests: a full replay touches no network,
//! a log with a call removed or altered fails at its index, a restart
//! between sends reopens the connection and goes on (or, the peer gone, the
//! app sees the failed reopen), a connection closed before the restart stays
//! closed, and under `report-connection-loss` the restart answers
//! `session-lost` instead of reopening.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::python::PythonPeer;

use crate::host::{CRASHED, DIVERGED, Outcome, calls, entries, run_component, write_entries};
use crate::peer::{Mode, Peer};
use crate::temp;

/// Long enough for any answer here on a busy machine; only a hang nears it.
const MARGIN: Duration = Duration::from_secs(20);

/// The P3 app, uncomposed (built with the rest of the P3 mode by
/// `scripts/build-p3.sh`, once per test run).
fn app() -> &'static PathBuf {
    static APP: OnceLock<PathBuf> = OnceLock::new();
    APP.get_or_init(|| {
        wasm_websocket_tests::components::composed_p3("p3-echo");
        wasm_websocket_tests::repo_path("target/p3/wasm32-wasip2/release/p3_echo.wasm")
    })
}

/// A run of the P3 app on the test host that must end well: its report.
fn run(host: &[&str], args: &[&str]) -> Value {
    let outcome = run_p3(host, args);
    assert_eq!(outcome.status, 0, "p3-echo {args:?}: {outcome:?}");
    let report = outcome
        .line
        .unwrap_or_else(|| panic!("no report: {args:?}"));
    eprintln!("p3-echo {} on the test host: {report}", args[0]);
    report
}

fn run_p3(host: &[&str], args: &[&str]) -> Outcome {
    run_component(app(), host, args)
}

/// The P3 app crashed at `cut` (`NAME#K`), then restarted on the same
/// oplog: the restart's report, after checking that the crash happened
/// (`restarted` in main.rs does the same for the P2 scenarios).
fn restarted(oplog: &Path, cut: &str, args: &[&str]) -> Value {
    let path = oplog.to_str().expect("a UTF-8 path");
    let crashed = run_p3(&["--oplog", path, "--crash-at", cut], args);
    assert_eq!(crashed.status, CRASHED, "no crash at {cut}: {crashed:?}");
    run(&["--oplog", path, "--strict"], args)
}

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
    let report = run(&[], &["round-trip", &peer.url("/echo")]);
    assert_eq!(report["sent"], json!(["ok", "ok", "ok"]), "{report}");
    assert_eq!(report["text"], "héllo wörld ✓ 🦀", "{report}");
    let all_bytes: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    assert_eq!(report["binary_hex"], all_bytes.as_str(), "{report}");
    assert_eq!(report["big_len"], 1 << 20, "{report}");
    assert_eq!(report["big_equal"], true, "{report}");
    assert_eq!(report["close"], "ok", "{report}");
}

#[test]
fn p3_close_codes_both_ways() {
    // The app's close reaches the peer with its code and reason; the peer
    // answers with the same frame, which the app reads, and the stream ends.
    let mut peer = PythonPeer::start();
    let report = run(
        &[],
        &["close-by-app", &peer.url("/echo"), "4001", "app bye ✓"],
    );
    assert_eq!(
        strings(&report, "steps"),
        ["ok", "close:4001:app bye ✓", "end"]
    );
    let close = peer.wait_for_close();
    assert_eq!(
        (close.close_code, close.close_reason.as_deref()),
        (Some(4001), Some("app bye ✓"))
    );

    // The peer's close reaches the app with its code and reason.
    let peer = PythonPeer::start();
    let url = peer.url("/close?code=4002&reason=peer%20bye%20%E2%9C%93");
    let report = run(&[], &["close-by-peer", &url]);
    assert_eq!(
        strings(&report, "steps"),
        ["ok", "close:4002:peer bye ✓", "end"]
    );
}

#[test]
fn p3_receive_timeouts_lose_no_message() {
    let peer = PythonPeer::start();
    // Each echo comes 60 ms late and the app waits 40 ms per receive: the
    // crate keeps the host's receive in flight across its timeouts.
    let report = run(&[], &["timeouts", &peer.url("/delay?ms=60"), "40"]);
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
fn p3_the_hosts_receive_with_timeout_waits_its_time_and_loses_nothing() {
    let peer = PythonPeer::start();
    // The interface itself: the echo comes 300 ms late; a 100 ms receive
    // gives up, the next one gets the message, a zero one returns at once.
    let report = run(&[], &["raw-timeout", &peer.url("/delay?ms=300")]);
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
    assert!(elapsed[2] < MARGIN.as_millis() as u64, "{report}");
    assert_eq!(report["close"], "Ok(())", "{report}");
}

#[test]
fn p3_an_abrupt_end_is_a_reset_and_ends_the_stream() {
    let server = FaultServer::start();
    // The server echoes one message, then ends TCP without a close frame.
    // Golem's host reports it unlike the polyfill (`closed`): tokio-tungstenite
    // reads it as `Protocol(ResetWithoutClosingHandshake)`, which Golem's
    // executor answers as `protocol-error` with that text (its
    // `to_wit_error`); the crate reads that text as the same end.
    let report = run(&[], &["abrupt", &server.url("/drop?n=1")]);
    assert_eq!(
        strings(&report, "steps"),
        ["ok", "text:one", "ConnectionReset", "end"]
    );
    assert!(millis(&report, "elapsed_ms") < MARGIN.as_millis() as u64);
}

#[test]
fn p3_a_silent_connection_does_not_stall_another() {
    let server = FaultServer::start();
    let report = run(&[], &["two", &server.url("/silent"), &server.url("/echo")]);
    // 20 round trips on the busy connection while the host's receive on the
    // silent one waits (the app gives up on it after 3 s).
    assert_eq!(report["rounds"], 20, "{report}");
    assert_eq!(report["silent"], "Timeout", "{report}");
    assert!(millis(&report, "silent_ms") >= 3000, "{report}");
    assert!(millis(&report, "rounds_ms") < 3000, "{report}");
    assert_eq!(report["close"], json!(["ok", "ok"]), "{report}");
}

/// What `roundtrip URL 4` reports when nothing goes wrong.
const ROUNDTRIP: [&str; 5] = ["text:msg-1", "text:msg-2", "text:msg-3", "text:msg-4", "ok"];

#[test]
fn p3_roundtrip_is_recorded_and_replayed() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let path = oplog.to_str().unwrap();
    let args = ["roundtrip", &peer.url(), "4"];
    let report = run(&["--oplog", path], &args);
    assert_eq!(strings(&report, "steps"), ROUNDTRIP);
    let recorded = entries(&oplog);
    let websocket: Vec<String> = calls(&recorded)
        .into_iter()
        .filter_map(|call| {
            call.strip_prefix("golem:websocket/client::")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        websocket,
        [
            "connect", "send", "receive", "send", "receive", "send", "receive", "send", "receive",
            "close", "receive"
        ],
        "the receive after close reads the closing handshake's answer: the host's `closed`"
    );

    // Restarted after the end: all of it replayed, nothing on the network.
    let replay = run(&["--oplog", path, "--strict"], &args);
    assert_eq!(strings(&replay, "steps"), ROUNDTRIP);
    assert_eq!(entries(&oplog), recorded, "a full replay records nothing");
    assert_eq!(peer.accepted(), 1);
}

#[test]
fn p3_a_log_with_a_call_removed_or_altered_fails_at_its_index() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let path = oplog.to_str().unwrap();
    let args = ["roundtrip", &peer.url(), "4"];
    run(&["--oplog", path], &args);
    let recorded = entries(&oplog);
    let send = "golem:websocket/client::send";
    let index = calls(&recorded)
        .iter()
        .enumerate()
        .filter(|(_, call)| *call == send)
        .nth(1)
        .map(|(index, _)| index)
        .expect("a second send");

    // The second send altered: a strict replay stops there.
    let mut altered = recorded.clone();
    altered[index]["args"]["message"]["text"] = "msg-X".into();
    write_entries(&oplog, &altered);
    let strict = run_p3(&["--oplog", path, "--strict"], &args);
    assert_eq!(strict.status, DIVERGED, "{strict:?}");
    let expected = format!(
        "replay diverged at oplog entry {index}: the log holds {send} {{\"message\":{{\"text\":\"msg-X\"}}}}, \
         the guest called {send} {{\"message\":{{\"text\":\"msg-2\"}}}}"
    );
    assert!(strict.stderr.contains(&expected), "{}", strict.stderr);

    // The second send removed: the guest's send meets the receive after it.
    let mut removed = recorded.clone();
    removed.remove(index);
    write_entries(&oplog, &removed);
    let short = run_p3(&["--oplog", path], &args);
    assert_eq!(short.status, DIVERGED, "{short:?}");
    let expected = format!(
        "replay diverged at oplog entry {index}: the log holds golem:websocket/client::receive"
    );
    assert!(short.stderr.contains(&expected), "{}", short.stderr);
    assert_eq!(peer.accepted(), 1, "a diverged replay opens nothing");
}

#[test]
fn p3_a_restart_between_sends_reopens_the_connection() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["roundtrip", &peer.url(), "4"];
    let restart = restarted(&oplog, "golem:websocket/client::send#3", &args);
    assert_eq!(strings(&restart, "steps"), ROUNDTRIP);
    // msg-1 and msg-2 once, on the first connection; the rest on the one
    // the restart reopened at its first live call.
    assert_eq!(
        peer.transcript(),
        [
            (0, "msg-1".into()),
            (0, "msg-2".into()),
            (1, "msg-3".into()),
            (1, "msg-4".into()),
        ]
    );
    assert_eq!(peer.accepted(), 2);
}

#[test]
fn p3_report_connection_loss_answers_session_lost_after_a_restart() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["roundtrip", &peer.url(), "4", "lose"];
    let restart = restarted(&oplog, "golem:websocket/client::send#3", &args);
    let steps = strings(&restart, "steps");
    assert_eq!(
        steps[..3],
        ["text:msg-1", "text:msg-2", "SessionLost"],
        "{restart}"
    );
    // Not reopened: the first connection was the only one.
    assert_eq!(peer.accepted(), 1);
    assert_eq!(peer.transcript().len(), 2);
}

#[test]
fn p3_a_failed_reconnect_is_the_apps_error() {
    let mut peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let path = oplog.to_str().unwrap();
    let args = ["roundtrip", &peer.url(), "4"];
    let crashed = run_p3(
        &[
            "--oplog",
            path,
            "--crash-at",
            "golem:websocket/client::send#3",
        ],
        &args,
    );
    assert_eq!(crashed.status, CRASHED, "{crashed:?}");
    // The peer is gone when the restart reopens the connection: the send
    // that reopens it fails, and the connection stays failed.
    peer.stop();
    let restart = run(&["--oplog", path, "--strict"], &args);
    assert_eq!(
        strings(&restart, "steps"),
        ["text:msg-1", "text:msg-2", "Connect", "Connect"]
    );
}

#[test]
fn p3_a_successful_close_prevents_reconnect() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["roundtrip", &peer.url(), "4"];
    // The cut: the receive after the close (the closing handshake's answer).
    let restart = restarted(&oplog, "golem:websocket/client::receive#5", &args);
    assert_eq!(strings(&restart, "steps"), ROUNDTRIP);
    // The replayed close left the connection terminal: the live receive
    // answered `closed` without opening a connection.
    assert_eq!(peer.accepted(), 1);
    let last = entries(&oplog).pop().expect("entries");
    assert_eq!(last["call"], "golem:websocket/client::receive", "{last}");
    assert_eq!(last["result"]["Err"]["closed"][0], 1000, "{last}");
}
