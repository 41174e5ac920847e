//! Reconnecting (`ReconnectingWebSocket`, through `examples/feed`) against a
//! feed server that goes away and comes back on the same port: the app
//! reconnects on its schedule (delays measured in the app, within a
//! tolerance), resends its subscription on every connect and gets the feed
//! of each new connection; nothing is sent while disconnected; after the
//! app's own close, also while it waits to reconnect, no connect follows; a
//! server that keeps refusing ends the run after the bounded number of
//! attempts with a typed error; jittered delays stay within their bounds;
//! state and protocol read right at every step.

use std::time::Duration;

use serde::Deserialize;
use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::restartable::{PROTOCOL, Received, RestartableServer};
use wasm_websocket_tests::testhost::Host;
use wasm_websocket_tests::unused_port;
use wasm_websocket_tests::wasmtime::{Serve, ServedApp};

use crate::MARGIN;

on_both_hosts!(a_subscription_survives_two_server_restarts_on_schedule);

/// How much later than its delay an attempt may start on a busy machine.
/// Well below the gaps between the delays the tests use, so a wrong delay
/// still fails.
const LATE: Duration = Duration::from_millis(1000);

/// How much earlier than its delay an attempt may appear to start: the app
/// stamps an event after handling it, a few milliseconds after the delay
/// began.
const EARLY: Duration = Duration::from_millis(20);

/// The answer of `examples/feed`.
#[derive(Debug, Deserialize)]
struct FeedReport {
    events: Vec<FeedEvent>,
    end: End,
    after_close: AfterClose,
}

#[derive(Debug, Deserialize)]
struct FeedEvent {
    t_ms: u64,
    event: String,
    state: String,
    protocol: Option<String>,
    attempt: Option<u32>,
    agreed_protocol: Option<String>,
    data: Option<String>,
    close: Option<Close>,
    error: Option<String>,
    error_kind: Option<String>,
    retry_in_ms: Option<u64>,
    send: Option<String>,
}

#[derive(Debug, Deserialize)]
struct End {
    by: String,
    error: Option<String>,
    error_kind: Option<String>,
    close_result: Option<String>,
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AfterClose {
    recv: String,
    state: String,
}

fn feed(app: &ServedApp, params: &[(&str, &str)]) -> FeedReport {
    let response = app.get(params);
    assert_eq!(response.status, 200, "feed answered {}", response.text());
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|err| panic!("unexpected JSON ({err}): {}", response.text()))
}

/// Checks every wait of the log against `delays` (ms): each `disconnected`
/// and `connect_failed` names the delay its place in the series calls for
/// (the series starts again after `connected`), and the next attempt's event
/// comes that long after it, within [`EARLY`] and [`LATE`]. Nothing but
/// that attempt comes in between.
fn check_schedule(events: &[FeedEvent], delays: &[u64]) {
    let mut waits = 0;
    for (i, event) in events.iter().enumerate() {
        match event.event.as_str() {
            "connected" => waits = 0,
            "disconnected" | "connect_failed" => {
                let retry_in = event.retry_in_ms.expect("a retry_in_ms");
                let expected = delays[waits.min(delays.len() - 1)];
                assert_eq!(
                    retry_in, expected,
                    "wait {waits} of its series at event {i}: {event:?}"
                );
                waits += 1;
                let Some(next) = events.get(i + 1) else {
                    continue;
                };
                assert!(
                    next.event == "connected" || next.event == "connect_failed",
                    "event {} while disconnected: {next:?}",
                    i + 1
                );
                let measured = Duration::from_millis(next.t_ms - event.t_ms);
                let delay = Duration::from_millis(retry_in);
                assert!(
                    measured + EARLY >= delay && measured <= delay + LATE,
                    "the attempt after event {i} came {measured:?} after it, the delay is {delay:?}"
                );
            }
            _ => {}
        }
    }
}

/// Every event reads the state and protocol right after it: open with the
/// agreed protocol while connected, connecting without one while not, and
/// nothing could be sent while not.
fn check_states(events: &[FeedEvent]) {
    for (i, event) in events.iter().enumerate() {
        match event.event.as_str() {
            "connected" | "message" => {
                assert_eq!(event.state, "open", "event {i}: {event:?}");
                assert_eq!(event.protocol.as_deref(), Some(PROTOCOL), "event {i}");
            }
            "disconnected" | "connect_failed" => {
                assert_eq!(event.state, "connecting", "event {i}: {event:?}");
                assert_eq!(event.protocol, None, "event {i}: {event:?}");
                assert_eq!(event.send.as_deref(), Some("NotConnected"), "event {i}");
            }
            other => panic!("unexpected event {other}: {event:?}"),
        }
    }
}

/// The indices of the `connected` events.
fn connects(events: &[FeedEvent]) -> Vec<usize> {
    (0..events.len())
        .filter(|&i| events[i].event == "connected")
        .collect()
}

fn a_subscription_survives_two_server_restarts_on_schedule(host: Host) {
    survives_two_restarts(Serve::on(host, "feed"));
}

/// The same with the direct build of the app: `ReconnectingWebSocket::
/// with_connect` and `WebSocket::connect_direct`, on plain wasmtime, which
/// has no `golem:websocket` for it to import. Its ends read as on the other
/// hosts.
#[test]
fn a_direct_subscription_survives_two_server_restarts_on_schedule() {
    survives_two_restarts(Serve::direct("feed"));
}

/// Two restarts of the feed server under `app`: the app reconnects on its
/// schedule, resends its subscription and gets each new connection's feed.
fn survives_two_restarts(app: Serve) {
    let server = RestartableServer::start();
    let app = app.start();
    let url = server.url("/feed");
    let delays = [200, 400, 800];
    let report = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            feed(
                &app,
                &[
                    ("url", &url),
                    ("protocol", PROTOCOL),
                    ("subscribe", "subscribe:btc"),
                    ("delays", "200,400,800"),
                    ("close_on", "bye"),
                    ("deadline_ms", "60000"),
                    ("linger_ms", "1500"),
                ],
            )
        });
        server.wait_for_ticks(1, 3, MARGIN);
        // Restart 1: the server goes away abruptly (no close frame) and
        // refuses connects for a second.
        server.stop_listening();
        server.drop_all();
        std::thread::sleep(Duration::from_millis(1000));
        server.resume();
        server.wait_for_ticks(2, 3, MARGIN);
        // Restart 2: the server says goodbye with a close frame and refuses
        // connects for a moment.
        server.stop_listening();
        server.close_all(1012, "service restart");
        std::thread::sleep(Duration::from_millis(400));
        server.resume();
        server.wait_for_ticks(3, 3, MARGIN);
        server.broadcast("bye");
        run.join().expect("the feed request")
    });
    let events = &report.events;
    eprintln!("{report:#?}");

    // Three connections, each announced once, each with the protocol.
    let connected = connects(events);
    assert_eq!(connected.len(), 3, "{events:#?}");
    assert_eq!(connected[0], 0, "the log starts connected: {events:#?}");
    for &i in &connected {
        assert_eq!(events[i].agreed_protocol.as_deref(), Some(PROTOCOL));
    }
    assert_eq!(events[0].attempt, Some(1));

    // The subscription went out first on every connection, and the feed of
    // every new connection reached the app.
    let handshakes = server.handshakes();
    assert_eq!(handshakes.len(), 3, "no connect after the app's close");
    for (k, handshake) in handshakes.iter().enumerate() {
        assert!(handshake.accepted);
        assert_eq!(handshake.offered.as_deref(), Some(PROTOCOL));
        let received = server.received_on(k + 1);
        assert_eq!(
            received.first(),
            Some(&Received::Text("subscribe:btc".into())),
            "connection {}: {received:?}",
            k + 1
        );
        assert!(
            !received.contains(&Received::Text("probe".into())),
            "a send while disconnected reached the server: {received:?}"
        );
        let start = connected[k];
        let end = connected.get(k + 1).copied().unwrap_or(events.len());
        let messages: Vec<&str> = events[start..end]
            .iter()
            .filter_map(|e| e.data.as_deref())
            .collect();
        let conn = k + 1;
        assert_eq!(
            messages.first().copied(),
            Some(format!("subscribed:btc conn{conn}").as_str())
        );
        assert!(
            messages[1..]
                .iter()
                .take_while(|m| **m != "bye")
                .all(|m| m.starts_with(&format!("conn{conn} tick"))),
            "connection {conn}: {messages:?}"
        );
        assert!(messages.len() >= 3, "connection {conn}: {messages:?}");
    }

    // The first end was abrupt, the second a close frame; each outage had
    // refused attempts, reported with their number and error.
    let ends: Vec<&FeedEvent> = events
        .iter()
        .filter(|e| e.event == "disconnected")
        .collect();
    assert_eq!(ends.len(), 2, "{events:#?}");
    // The abrupt end is a reset on both hosts: the polyfill reports the end
    // as `closed(none)`, Golem's host as tokio-tungstenite's protocol error
    // "Connection reset without closing handshake", which the crate reads as
    // the same end (wit/README.md, "An end without a close frame").
    assert_eq!(ends[0].close, None);
    assert_eq!(ends[0].error_kind.as_deref(), Some("ConnectionReset"));
    assert_eq!(
        ends[0].error.as_deref(),
        Some("connection reset: it ended without a close frame")
    );
    assert_eq!(ends[1].close, Some(Close::new(1012, "service restart")));
    assert_eq!(ends[1].error, None);
    for outage in 0..2 {
        let failed: Vec<&FeedEvent> = events[connected[outage]..connected[outage + 1]]
            .iter()
            .filter(|e| e.event == "connect_failed")
            .collect();
        assert!(!failed.is_empty(), "outage {outage}: {events:#?}");
        for (n, event) in failed.iter().enumerate() {
            assert_eq!(event.attempt, Some(n as u32 + 1), "{event:?}");
            assert_eq!(event.error_kind.as_deref(), Some("Connect"));
            assert!(
                event.error.as_deref().unwrap().contains("refused"),
                "{event:?}"
            );
        }
        assert_eq!(
            events[connected[outage + 1]].attempt,
            Some(failed.len() as u32 + 1)
        );
    }

    check_schedule(events, &delays);
    check_states(events);

    // The app's own close ended it for good.
    assert_eq!(events.last().unwrap().data.as_deref(), Some("bye"));
    assert_eq!(report.end.by, "close_on");
    assert_eq!(report.end.close_result.as_deref(), Some("ok"));
    assert_eq!(report.end.state.as_deref(), Some("closed"));
    assert_eq!(report.after_close.recv, "AlreadyClosed");
    assert_eq!(report.after_close.state, "closed");
    assert_eq!(
        server.received_on(3).last(),
        Some(&Received::Close(Some(1000), "done".into()))
    );
}

#[test]
fn a_close_while_waiting_to_reconnect_ends_it_for_good() {
    let server = RestartableServer::start();
    let app = Serve::app("feed").start();
    let url = server.url("/feed");
    let report = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            feed(
                &app,
                &[
                    ("url", &url),
                    ("protocol", PROTOCOL),
                    ("subscribe", "subscribe:eth"),
                    ("delays", "300"),
                    ("close_after_disconnects", "1"),
                    ("linger_ms", "1500"),
                ],
            )
        });
        server.wait_for_ticks(1, 2, MARGIN);
        server.drop_all();
        run.join().expect("the feed request")
    });
    let events = &report.events;
    let last = events.last().unwrap();
    assert_eq!(last.event, "disconnected", "{events:#?}");
    assert_eq!(last.retry_in_ms, Some(300));
    assert_eq!(report.end.by, "disconnects");
    assert_eq!(report.end.close_result.as_deref(), Some("ok"));
    assert_eq!(report.end.state.as_deref(), Some("closed"));
    assert_eq!(report.after_close.recv, "AlreadyClosed");
    assert_eq!(report.after_close.state, "closed");
    // 1.5 s after the close, five times the delay, still one connection.
    assert_eq!(server.handshakes().len(), 1, "{events:#?}");
    check_states(events);
}

#[test]
fn a_server_that_keeps_refusing_ends_after_the_bounded_attempts() {
    // Handshakes answered 503: the server counts every attempt.
    let server = RestartableServer::start();
    server.reject_handshakes(true);
    let app = Serve::app("feed").start();
    let report = feed(
        &app,
        &[
            ("url", &server.url("/feed")),
            ("protocol", PROTOCOL),
            ("subscribe", "subscribe:btc"),
            ("delays", "100,200"),
            ("max_attempts", "4"),
        ],
    );
    let events = &report.events;
    let failed: Vec<(Option<u32>, Option<u64>)> =
        events.iter().map(|e| (e.attempt, e.retry_in_ms)).collect();
    assert_eq!(
        failed,
        [
            (Some(1), Some(100)),
            (Some(2), Some(200)),
            (Some(3), Some(200))
        ],
        "three reported failures, then the fourth ends it: {events:#?}"
    );
    assert!(events.iter().all(|e| e.event == "connect_failed"));
    assert!(
        events[0].error.as_deref().unwrap().contains("503"),
        "{events:?}"
    );
    assert_eq!(report.end.by, "error");
    assert_eq!(report.end.error_kind.as_deref(), Some("Connect"));
    assert!(report.end.error.as_deref().unwrap().contains("503"));
    assert_eq!(report.after_close.recv, "AlreadyClosed");
    assert_eq!(report.after_close.state, "closed");
    let handshakes = server.handshakes();
    assert_eq!(handshakes.len(), 4, "{handshakes:?}");
    assert!(handshakes.iter().all(|h| !h.accepted));
    check_schedule(events, &[100, 200]);
    for event in events {
        assert_eq!(event.state, "connecting");
        assert_eq!(event.protocol, None);
        assert_eq!(event.send.as_deref(), Some("NotConnected"));
    }

    // Nothing listening at all: the same, with the refusal's error.
    let url = format!("ws://127.0.0.1:{}/", unused_port());
    let report = feed(
        &app,
        &[("url", &url), ("delays", "50"), ("max_attempts", "2")],
    );
    assert_eq!(report.events.len(), 1, "{report:?}");
    assert_eq!(report.end.error_kind.as_deref(), Some("Connect"));
    assert!(
        report.end.error.as_deref().unwrap().contains("refused"),
        "{report:?}"
    );
}

#[test]
fn jittered_delays_stay_within_their_bounds_and_are_waited_as_reported() {
    // The jitter's seed comes from wasi:random inside the component.
    let app = Serve::app("feed").start();
    let url = format!("ws://127.0.0.1:{}/", unused_port());
    let report = feed(
        &app,
        &[
            ("url", &url),
            ("delays", "200"),
            ("jitter", "0.5"),
            ("max_attempts", "8"),
        ],
    );
    let events = &report.events;
    assert_eq!(events.len(), 7, "{events:#?}");
    assert_eq!(report.end.error_kind.as_deref(), Some("Connect"));
    let delays: Vec<u64> = events.iter().map(|e| e.retry_in_ms.unwrap()).collect();
    assert!(
        delays.iter().all(|d| (100..=300).contains(d)),
        "200 ms +- 50 %: {delays:?}"
    );
    assert!(
        delays.windows(2).any(|w| w[0] != w[1]),
        "not jittered: {delays:?}"
    );
    for pair in events.windows(2) {
        let measured = Duration::from_millis(pair[1].t_ms - pair[0].t_ms);
        let delay = Duration::from_millis(pair[0].retry_in_ms.unwrap());
        assert!(
            measured + EARLY >= delay && measured <= delay + LATE,
            "waited {measured:?} for a delay of {delay:?}"
        );
    }
}
