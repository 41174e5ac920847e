//! The `futures` traits of an unsplit `WebSocket` (`echo` with `via=sink`):
//! messages fed through the `Sink` and flushed arrive byte-exact and in
//! order, replies come from the `Stream`, `SinkExt::close` sends close 1000
//! and waits for the peer's answer, and the `Stream` then yields the peer's
//! close once and ends. (The split receiver's `Stream` is the `fanin`
//! example's.)

use wasm_websocket_tests::apps::{Close, EchoOutcome};
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::peer::PeerClose;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::wasmtime::Serve;

use crate::MARGIN;

#[test]
fn messages_sent_through_the_sink_arrive_byte_exact_and_its_close_is_1000() {
    let app = Serve::app("echo").start();
    for (size, binary) in [("0", "0"), ("70000", "0"), ("1", "1"), ("70000", "1")] {
        let server = FaultServer::start();
        let report = app
            .echo(&[
                ("url", &server.url("/echo")),
                ("via", "sink"),
                ("size", size),
                ("binary", binary),
                ("count", "3"),
                ("timeout_ms", "60000"),
            ])
            .report();
        let what = format!("size {size}, binary={binary}: {report:?}");
        assert_eq!((report.sent, report.received.len()), (3, 3), "{what}");
        for reply in &report.received {
            let kind = if binary == "1" { "binary" } else { "text" };
            assert_eq!(reply.kind, kind, "{what}");
            assert_eq!(reply.len.to_string(), size, "{what}");
            assert!(reply.echo_exact, "{what}");
        }
        assert_eq!(report.error, None, "{what}");
        assert_eq!(report.close_result.as_deref(), Some("ok"), "{what}");
        // `Sink::poll_close` sent 1000 without a reason; the server's answer
        // came back through the stream.
        let expected = ClientClose {
            code: Some(1000),
            reason: String::new(),
        };
        assert_eq!(server.wait_for_close(MARGIN), expected, "{what}");
        assert_eq!(report.close, Some(Close::new(1000, "")), "{what}");
    }
}

#[test]
fn the_sink_keeps_order_and_content() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("via", "sink"),
            ("msg", "grüße, 世界"),
            ("count", "20"),
        ])
        .report();
    assert_eq!(report.sent, 20, "{report:?}");
    let data: Vec<_> = report.received.iter().map(|r| r.data.as_deref()).collect();
    assert_eq!(data, [Some("grüße, 世界"); 20], "{report:?}");
    assert!(report.received.iter().all(|r| r.echo_exact), "{report:?}");
}

#[test]
fn the_sinks_close_reaches_an_independent_server() {
    let mut peer = PythonPeer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("via", "sink"),
            ("msg", "through the sink"),
            ("binary", "1"),
        ])
        .report();
    assert!(report.received[0].echo_exact, "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(
        peer.wait_for_close(),
        PeerClose {
            path: "/echo".to_owned(),
            close_code: Some(1000),
            close_reason: Some(String::new()),
        }
    );
}

#[test]
fn the_stream_yields_the_peers_close_once_then_ends() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    // The burst's close is read by the stream during the collection.
    let report = app
        .echo(&[
            ("url", &server.url("/burst?n=3")),
            ("via", "sink"),
            ("expect", "10"),
        ])
        .report();
    let data: Vec<_> = report.received.iter().map(|r| r.data.as_deref()).collect();
    assert_eq!(
        data,
        [Some("burst 0"), Some("burst 1"), Some("burst 2")],
        "{report:?}"
    );
    assert_eq!(report.close, Some(Close::new(1000, "burst done")));
    assert_eq!(report.error, None, "{report:?}");
    // Closing after the peer's close is done at once.
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");

    // Not collected: the close arrives while the sink closes, and the stream
    // drained afterwards yields it and ends (the app answered at all).
    let server = FaultServer::start();
    let report = app
        .echo(&[
            ("url", &server.url("/burst?n=3")),
            ("via", "sink"),
            ("expect", "3"),
        ])
        .report();
    assert_eq!(report.received.len(), 3, "{report:?}");
    assert_eq!(report.close, Some(Close::new(1000, "burst done")));
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
}

#[test]
fn a_stream_timeout_leaves_the_connection_open() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("via", "sink"),
            ("expect", "2"),
            ("timeout_ms", "1000"),
        ])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(report.error_kind.as_deref(), Some("Timeout"), "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
    assert_eq!(server.wait_for_close(MARGIN).code, Some(1000));
}

#[test]
fn a_close_code_does_not_apply_to_the_sink() {
    let app = Serve::app("echo").start();
    for param in [("close_code", "4000"), ("close_reason", "bye")] {
        let outcome = app.echo(&[("url", "ws://127.0.0.1:1/"), ("via", "sink"), param]);
        match outcome {
            EchoOutcome::BadRequest(text) => assert!(text.contains("via=sink"), "{text}"),
            other => panic!("{param:?}: expected a bad request, got {other:?}"),
        }
    }
}
