//! Against an independent implementation, the Python `websockets` library:
//! echo of text and binary (composed and direct), close codes and reasons in
//! both directions (on both hosts), and subprotocol selection. The scenarios
//! that need only an echo and a closing path are written once here, for
//! `node_peer` too.

use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::peer::{Peer, PeerClose, PeerEnd};
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::testhost::Host;
use wasm_websocket_tests::wasmtime::Serve;

on_both_hosts!(
    the_apps_close_code_and_reason_reach_the_server,
    the_servers_close_code_and_reason_reach_the_app,
);

/// 7-bit, 16-bit and 64-bit frame lengths, and a message over a receive
/// slice.
#[test]
fn text_and_binary_round_trip_byte_exact() {
    round_trips(
        &PythonPeer::start(),
        "/echo",
        &[
            "0", "5", "125", "126", "65536", "70000", "1048576", "5000000",
        ],
    );
}

fn the_apps_close_code_and_reason_reach_the_server(host: Host) {
    apps_close_reaches(&mut PythonPeer::start(), host);
}

fn the_servers_close_code_and_reason_reach_the_app(host: Host) {
    servers_close_reaches(&mut PythonPeer::start(), host);
}

// The scenarios against an independent peer, shared with `node_peer`.

/// Three messages of each size, text and binary, to `path` (an echo) and
/// back, byte for byte, through the polyfill and through the direct client
/// (feature `sockets`).
pub(super) fn round_trips(peer: &Peer, path: &str, sizes: &[&str]) {
    for app in [Serve::app("echo"), Serve::direct("echo")] {
        let app = app.start();
        for size in sizes {
            for binary in ["0", "1"] {
                let report = app
                    .echo(&[
                        ("url", &peer.url(path)),
                        ("size", size),
                        ("binary", binary),
                        ("count", "3"),
                        ("timeout_ms", "60000"),
                    ])
                    .report();
                let what = format!("{path}, size {size}, binary={binary}: {report:?}");
                assert_eq!((report.sent, report.received.len()), (3, 3), "{what}");
                assert!(report.received.iter().all(|r| r.echo_exact), "{what}");
                assert_eq!(report.close_result.as_deref(), Some("ok"), "{what}");
            }
        }
    }
}

/// The app's close code and reason reach the peer, after one message.
pub(super) fn apps_close_reaches(peer: &mut Peer, host: Host) {
    let app = Serve::on(host, "echo").start();
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
        peer.wait_for_end(),
        PeerEnd {
            close: PeerClose {
                path: "/echo".to_owned(),
                close_code: Some(4001),
                close_reason: Some("bye".to_owned()),
            },
            messages: 1,
        }
    );
}

/// The peer's close code and reason reach the app. The app reads the
/// server's close on both hosts; only the polyfill answers it
/// (wit/README.md, "The peer's close"): the server records the answer's
/// code, or none.
pub(super) fn servers_close_reaches(peer: &mut Peer, host: Host) {
    let app = Serve::on(host, "echo").start();
    let report = app
        .echo(&[("url", &peer.url("/close?code=4003&reason=going%20home"))])
        .report();
    assert_eq!(
        report.close,
        Some(Close::new(4003, "going home")),
        "{report:?}"
    );
    assert_eq!(report.error, None);
    let answer = match host {
        Host::Polyfill => (Some(4003), Some("going home".to_owned())),
        Host::Testhost => (None, None),
    };
    let close = peer.wait_for_close();
    assert_eq!((close.close_code, close.close_reason), answer);
}

#[test]
fn the_servers_subprotocol_selection_holds() {
    let peer = PythonPeer::start();
    let app = Serve::app("echo").start();
    let selected = |offers: &[&str]| {
        let url = peer.url("/subprotocol");
        let mut params = vec![("url", url.as_str())];
        params.extend(offers.iter().map(|offer| ("protocol", *offer)));
        app.echo(&params).report().received[0].data.clone().unwrap()
    };
    assert_eq!(selected(&["chat", "superchat"]), "superchat");
    assert_eq!(selected(&["chat"]), "chat");
    assert_eq!(selected(&[]), "");
}
