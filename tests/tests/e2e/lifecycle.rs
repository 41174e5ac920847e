//! The less common paths of a connection's life, through the `lifecycle`
//! example: a message after a receive timeout, a receiver waiting while the
//! other half closes, an unanswered close, a close given up and resumed,
//! and the close frames `send`, the `Sink` and `close(None)` put on the wire.
//! The first two on both hosts.

use serde::Deserialize;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::testhost::Host;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

on_both_hosts!(
    a_message_that_arrives_after_a_receive_timeout_is_still_received,
    a_receiver_waiting_while_the_other_half_closes_sees_the_answer,
);

#[derive(Debug, Deserialize)]
struct Steps {
    steps: Vec<String>,
    elapsed_ms: u64,
}

fn run(scenario: &str, url: &str, extra: &[(&str, &str)]) -> Steps {
    run_on(Host::Polyfill, scenario, url, extra)
}

fn run_on(host: Host, scenario: &str, url: &str, extra: &[(&str, &str)]) -> Steps {
    let app = Serve::on(host, "lifecycle").start();
    let mut params = vec![("scenario", scenario), ("url", url)];
    params.extend_from_slice(extra);
    let response = app.get(&params);
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_slice(&response.body).expect("the lifecycle report")
}

fn a_message_that_arrives_after_a_receive_timeout_is_still_received(host: Host) {
    let peer = PythonPeer::start();
    let url = peer.url("/delay?ms=300");
    let report = run_on(host, "late", &url, &[("timeout_ms", "50")]);
    assert_eq!(report.steps, ["ok", "Timeout", "text:late", "ok"]);
}

/// The receiver sees "the answer": on the polyfill the peer's close frame,
/// on Golem's host the app's own (wit/README.md, "After our close"); the
/// peer answers with the same code and reason, so both read the same.
fn a_receiver_waiting_while_the_other_half_closes_sees_the_answer(host: Host) {
    let mut peer = PythonPeer::start();
    let report = run_on(host, "split-close", &peer.url("/echo"), &[]);
    assert_eq!(report.steps, ["ok", "close:1000:bye"]);
    let close = peer.wait_for_close();
    assert_eq!(
        (close.close_code, close.close_reason.as_deref()),
        (Some(1000), Some("bye"))
    );
}

#[test]
fn an_unanswered_close_times_out_and_the_stream_says_so_once() {
    let server = FaultServer::start();
    let report = run(
        "unanswered",
        &server.url("/ignore-close"),
        &[("close_timeout_ms", "300")],
    );
    assert_eq!(report.steps, ["Timeout", "Timeout", "end"]);
}

#[test]
fn a_close_given_up_and_called_again_keeps_the_first_frame_and_deadline() {
    let server = FaultServer::start();
    let report = run(
        "cancel-close",
        &server.url("/ignore-close"),
        &[("close_timeout_ms", "1000"), ("cancel_ms", "100")],
    );
    assert_eq!(report.steps, ["cancelled", "Timeout"]);
    // The second close waited for the first one's deadline, not a new one.
    assert!(report.elapsed_ms >= 900, "{report:?}");
    assert!(
        report.elapsed_ms < 1100 + MARGIN.as_millis() as u64,
        "{report:?}"
    );
    let close = server.wait_for_close(MARGIN);
    assert_eq!((close.code, close.reason.as_str()), (Some(1000), "first"));
}

#[test]
fn a_close_message_sent_with_send_starts_the_close() {
    let mut peer = PythonPeer::start();
    let report = run("send-close", &peer.url("/echo"), &[]);
    assert_eq!(report.steps, ["ok", "close:4000:via send", "end"]);
    assert_eq!(peer.wait_for_close().close_code, Some(4000));
}

#[test]
fn a_close_message_sent_through_the_sink_starts_the_close() {
    let mut peer = PythonPeer::start();
    let report = run("sink-close", &peer.url("/echo"), &[]);
    assert_eq!(report.steps, ["ok", "close:4001:via sink", "end"]);
    assert_eq!(peer.wait_for_close().close_code, Some(4001));
}

#[test]
fn close_none_puts_a_close_frame_without_a_code_on_the_wire() {
    let mut peer = PythonPeer::start();
    let report = run("close-none", &peer.url("/echo"), &[]);
    assert_eq!(report.steps, ["ok", "close:none", "end"]);
    // The Python server reads a code-less close frame as 1005.
    assert_eq!(peer.wait_for_close().close_code, Some(1005));
}
