//! Messages cross the whole chain (app, SDK, the host's golem:websocket:
//! the polyfill or the test host, TCP, our server, and back) byte-exact, as
//! text and as binary, from 0 bytes to 16 MiB, in order; `try_send` and
//! `reunite` on a `golem:websocket` connection. On both hosts.

use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::python::PythonPeer;
use wasm_websocket_tests::testhost::Host;
use wasm_websocket_tests::wasmtime::{Serve, ServedApp};

const MIB: usize = 1 << 20;

on_both_hosts!(
    text_and_binary_round_trip_byte_exact_across_frame_length_encodings,
    sixteen_mib_messages_round_trip_byte_exact,
    text_and_binary_content_is_reported_as_sent,
    messages_arrive_in_the_order_sent,
    try_send_on_golem_websocket_always_sends_and_never_gives_a_message_back,
    reunite_works_on_a_golem_websocket_connection,
);

fn text_and_binary_round_trip_byte_exact_across_frame_length_encodings(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    // 0..=125 take a 7-bit length, 126..=65535 a 16-bit one, above that 64 bits.
    for size in [0, 1, 125, 126, 127, 65535, 65536, 65537, MIB] {
        for binary in ["0", "1"] {
            let size_text = size.to_string();
            let report = app
                .echo(&[
                    ("url", &server.url("/echo")),
                    ("size", &size_text),
                    ("binary", binary),
                    ("timeout_ms", "60000"),
                ])
                .report();
            let what = format!("size {size}, binary={binary}: {report:?}");
            assert_eq!((report.sent, report.received.len()), (1, 1), "{what}");
            let reply = &report.received[0];
            assert_eq!(
                reply.kind,
                if binary == "1" { "binary" } else { "text" },
                "{what}"
            );
            assert_eq!(reply.len, size, "{what}");
            assert!(reply.echo_exact, "{what}");
            assert_eq!(report.error, None, "{what}");
            assert_eq!(report.close_result.as_deref(), Some("ok"), "{what}");
        }
    }
}

fn sixteen_mib_messages_round_trip_byte_exact(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    let size = (16 * MIB).to_string();
    for binary in ["1", "0"] {
        let report = app
            .echo(&[
                ("url", &server.url("/echo")),
                ("size", &size),
                ("binary", binary),
                ("timeout_ms", "60000"),
            ])
            .report();
        assert_eq!(report.received.len(), 1, "{report:?}");
        assert_eq!(report.received[0].len, 16 * MIB);
        assert!(report.received[0].echo_exact, "binary={binary}: {report:?}");
        assert_eq!(
            report.received[0].data, None,
            "long data is left out of the report"
        );
    }
}

fn text_and_binary_content_is_reported_as_sent(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    let text = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("msg", "grüße, 世界"),
            ("count", "3"),
        ])
        .report();
    assert_eq!(text.sent, 3);
    assert_eq!(text.received.len(), 3);
    for reply in &text.received {
        assert_eq!(
            (reply.kind.as_str(), reply.data.as_deref()),
            ("text", Some("grüße, 世界"))
        );
        assert!(reply.echo_exact);
    }
    let binary = app
        .echo(&[
            ("url", &server.url("/echo")),
            ("msg", "hi\u{0}"),
            ("binary", "1"),
        ])
        .report();
    assert_eq!(binary.received[0].kind, "binary");
    assert_eq!(binary.received[0].data.as_deref(), Some("686900"));
}

fn messages_arrive_in_the_order_sent(host: Host) {
    let server = FaultServer::start();
    let app = Serve::on(host, "echo").start();
    let report = app
        .echo(&[("url", &server.url("/burst?n=50")), ("expect", "50")])
        .report();
    let data: Vec<_> = report
        .received
        .iter()
        .map(|r| r.data.clone().unwrap())
        .collect();
    let expected: Vec<_> = (0..50).map(|i| format!("burst {i}")).collect();
    assert_eq!(data, expected);
    assert_eq!(report.error, None);
    // The burst's close was not collected yet when the app closed. By design
    // (wit/README.md, "After our close"): the polyfill reads on and reports
    // the peer's close; Golem's host never reads after the app's close and
    // reports the app's own (1000, no reason).
    let close = match host {
        Host::Polyfill => Close::new(1000, "burst done"),
        Host::Testhost => Close::new(1000, ""),
    };
    assert_eq!(report.close, Some(close));
}

/// `golem:websocket`'s `send` is one blocking host call: `try_send` makes
/// it and never gives a message back, however large.
fn try_send_on_golem_websocket_always_sends_and_never_gives_a_message_back(host: Host) {
    let peer = PythonPeer::start();
    let app = Serve::on(host, "echo").start();
    let size = (4 * MIB).to_string();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("via", "try"),
            ("size", &size),
            ("binary", "1"),
            ("count", "4"),
            ("timeout_ms", "60000"),
        ])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!((report.sent, report.received.len()), (4, 4), "{report:?}");
    assert!(report.received.iter().all(|r| r.echo_exact), "{report:?}");
    assert_eq!(report.would_block, 0, "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
}

fn reunite_works_on_a_golem_websocket_connection(host: Host) {
    assert_reunite_works(&Serve::on(host, "echo").start());
}

/// The echo app splits a connection to the Python peer, sends two messages,
/// puts the halves together again (and is refused two crossed halves), and
/// closes: every message came back as sent and the close went through.
/// Shared with the direct client's test (`direct.rs`).
pub(crate) fn assert_reunite_works(app: &ServedApp) {
    let peer = PythonPeer::start();
    let report = app
        .echo(&[
            ("url", &peer.url("/echo")),
            ("reunite", "1"),
            ("count", "2"),
        ])
        .report();
    assert_eq!(report.reunite.as_deref(), Some("ok"), "{report:?}");
    assert_eq!((report.sent, report.received.len()), (2, 2), "{report:?}");
    assert!(report.received.iter().all(|r| r.echo_exact), "{report:?}");
    assert_eq!(report.close_result.as_deref(), Some("ok"), "{report:?}");
}
