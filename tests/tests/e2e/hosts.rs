//! The echo example, composed with the polyfill and direct (feature
//! `sockets`), served by hosts other than wasmtime against the Python
//! `websockets` server: `wash dev` (wasmCloud, which reaches the machine's
//! loopback as `host.wasmcloud.internal` on the ports its project lists) and
//! `jco serve` (Node, through `localhost`: a name lookup). On each: text and
//! binary byte-exact up to 1 MiB, close codes both ways, a receive timeout,
//! 50 connections at once; on wash also what it refuses (a name or a port
//! its project does not list), with the hint naming wash's setting. And the
//! `server` example, a `wasi:cli` command, under `jco run` against Python
//! clients.

use std::path::Path;
use std::thread;

use serde_json::json;
use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::components::{composed, direct};
use wasm_websocket_tests::hosts::{self, WASH_LOOPBACK};
use wasm_websocket_tests::peer::{Peer, PeerClose};
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::ServedApp;

use crate::MARGIN;

#[test]
fn wash_dev_serves_the_composed_echo() {
    on_wash(&composed("echo"));
}

#[test]
fn wash_dev_serves_the_direct_echo() {
    on_wash(&direct("echo"));
}

#[test]
fn jco_serve_serves_the_composed_echo() {
    on_jco(&composed("echo"));
}

#[test]
fn jco_serve_serves_the_direct_echo() {
    on_jco(&direct("echo"));
}

#[test]
fn wash_dev_serves_the_wasmcloud_draft_example() {
    let mut peer = PythonPeer::start();
    let app = hosts::wash_dev(&composed("wasmcloud-draft"), &[port_of(&peer)]);
    draft_scenarios(&app, &mut peer, WASH_LOOPBACK);
}

#[test]
fn jco_serve_serves_the_wasmcloud_draft_example() {
    let mut peer = PythonPeer::start();
    let app = hosts::jco_serve(&composed("wasmcloud-draft"));
    draft_scenarios(&app, &mut peer, "localhost");
}

/// The wasmCloud draft example (plain bindings of
/// `wasmcloud:websocket@0.1.1-draft`, served by the polyfill) on another
/// host: text and binary byte-exact up to 1 MiB, a ping whose pong comes
/// back as a message, and close codes both ways.
fn draft_scenarios(app: &ServedApp, peer: &mut Peer, host: &str) {
    let url = |target: &str| peer.url_with_host(host, target);
    for (size, binary) in [
        ("0", "0"),
        ("70000", "1"),
        ("1048576", "0"),
        ("1048576", "1"),
    ] {
        let seen = draft(
            app,
            &[
                ("url", &url("/echo")),
                ("size", size),
                ("binary", binary),
                ("count", "2"),
                ("ping", "are you there"),
                ("close_code", "4001"),
                ("close_reason", "bye"),
            ],
        );
        let what = format!("size {size}, binary={binary}: {seen}");
        let received = seen["received"].as_array().expect("received");
        assert_eq!(received.len(), 3, "a pong and two echoes: {what}");
        assert!(
            received
                .iter()
                .any(|r| r["type"] == "pong" && r["data"] == "are you there"),
            "{what}"
        );
        let echoes: Vec<_> = received.iter().filter(|r| r["type"] != "pong").collect();
        assert!(echoes.iter().all(|r| r["echo_exact"] == true), "{what}");
        assert_eq!(seen["close_result"], "ok", "{what}");
        assert_eq!(
            seen["peer_close"],
            json!({"code": 4001, "reason": "bye"}),
            "{what}"
        );
    }
    // The peer closes first: its code and reason come back as a message.
    let seen = draft(
        app,
        &[("url", &url("/close?code=4003&reason=going%20home"))],
    );
    assert_eq!(
        seen["peer_close"],
        json!({"code": 4003, "reason": "going home"}),
        "{seen}"
    );
}

/// The draft example's JSON answer (it must be 200).
fn draft(app: &ServedApp, params: &[(&str, &str)]) -> serde_json::Value {
    let response = app.get(params);
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.text()))
}

/// The `server` example under `jco run`: one Python client's echo, ping
/// and close, then 50 clients at once.
#[test]
fn jco_run_runs_the_server_example() {
    let mut server = hosts::jco_run_server(&["--protocol", "chat.v2"]);
    let seen = server.python_client("echo", &["/room/1", "chat.v2"]);
    assert_eq!(
        seen,
        json!({
            "protocol": "chat.v2",
            "text": "héllo",
            "binary_ok": true,
            "pong": true,
            "close_code": 4001,
        })
    );
    let closed = server.wait_for_event("closed ", MARGIN);
    assert!(closed.ends_with(" 4001 client says bye"), "{closed}");
    let seen = server.python_client("many", &["50", "5"]);
    assert_eq!(seen, json!({"clients": 50, "all_echoed": true}));
}

fn on_wash(component: &Path) {
    let mut peer = PythonPeer::start();
    let app = hosts::wash_dev(component, &[port_of(&peer)]);
    echo_scenarios(&app, &mut peer, WASH_LOOPBACK);

    // What wash refuses, with a hint that names wash's remedy: a name its
    // project does not list (`localhost`), and a loopback port it does not
    // list.
    let unlisted_name = peer.url_with_host("localhost", "/echo");
    let failure = app.echo(&[("url", &unlisted_name)]).connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(
        failure.error.contains("workload.allowedIpNameLookups"),
        "{failure:?}"
    );
    let unlisted_port = format!(
        "ws://{WASH_LOOPBACK}:{}/echo",
        wasm_websocket_tests::unused_port()
    );
    let failure = app.echo(&[("url", &unlisted_port)]).connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(
        failure.error.contains("workload.allowedHostLoopbackPorts"),
        "{failure:?}"
    );
}

fn on_jco(component: &Path) {
    let mut peer = PythonPeer::start();
    let app = hosts::jco_serve(component);
    echo_scenarios(&app, &mut peer, "localhost");
}

/// The port the Python server listens on.
fn port_of(peer: &Peer) -> u16 {
    let url = peer.url("");
    let (_, port) = url.rsplit_once(':').expect("ws://127.0.0.1:PORT");
    port.parse().expect("a port")
}

/// Runs every scenario through `app`, which reaches `peer` under the name
/// `host`. The app's close goes first: the peer reports its first
/// connection's close.
fn echo_scenarios(app: &ServedApp, peer: &mut Peer, host: &str) {
    let url = |target: &str| peer.url_with_host(host, target);

    let report = app
        .echo(&[
            ("url", &url("/echo")),
            ("close_code", "4001"),
            ("close_reason", "bye"),
        ])
        .report();
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(report.close, Some(Close::new(4001, "bye")), "{report:?}");
    let echo_url = url("/echo");
    let close_url = url("/close?code=4003&reason=going%20home");
    assert_eq!(
        peer.wait_for_close(),
        PeerClose {
            path: "/echo".to_owned(),
            close_code: Some(4001),
            close_reason: Some("bye".to_owned()),
        }
    );

    let report = app.echo(&[("url", &close_url)]).report();
    assert_eq!(
        report.close,
        Some(Close::new(4003, "going home")),
        "{report:?}"
    );
    assert_eq!(report.error, None, "{report:?}");

    // 7-bit, 16-bit and 64-bit frame lengths, up to a 1 MiB message.
    for size in ["0", "125", "126", "65536", "1048576"] {
        for binary in ["0", "1"] {
            let report = app
                .echo(&[
                    ("url", &echo_url),
                    ("size", size),
                    ("binary", binary),
                    ("count", "2"),
                    ("timeout_ms", "60000"),
                ])
                .report();
            let what = format!("size {size}, binary={binary}: {report:?}");
            assert_eq!((report.sent, report.received.len()), (2, 2), "{what}");
            let kind = if binary == "1" { "binary" } else { "text" };
            assert!(
                report
                    .received
                    .iter()
                    .all(|reply| reply.echo_exact && reply.kind == kind),
                "{what}"
            );
            assert_eq!(report.close_result.as_deref(), Some("ok"), "{what}");
        }
    }

    // One message sent, two awaited: the second wait times out, and the
    // connection still closes cleanly.
    let report = app
        .echo(&[("url", &echo_url), ("expect", "2"), ("timeout_ms", "500")])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.error_kind.as_deref(), Some("Timeout"), "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");

    // 50 requests at once, each with a connection of its own.
    thread::scope(|scope| {
        let runs: Vec<_> = (0..50)
            .map(|i| {
                let echo_url = &echo_url;
                scope.spawn(move || {
                    let msg = format!("connection {i}");
                    app.echo(&[("url", echo_url), ("msg", &msg), ("count", "3")])
                        .report()
                })
            })
            .collect();
        for (i, run) in runs.into_iter().enumerate() {
            let report = run.join().expect("a request thread");
            assert_eq!(report.received.len(), 3, "connection {i}: {report:?}");
            assert!(
                report.received.iter().all(|reply| reply.echo_exact),
                "connection {i}: {report:?}"
            );
            assert_eq!(
                report.close_result.as_deref(),
                Some("ok"),
                "connection {i}: {report:?}"
            );
        }
    });
}
