//! Golem 1.5.9's own WebSocket scenarios (`golem-worker-executor/tests/
//! websocket.rs`) run on the test host (`testhost/`), a host built the way
//! Golem's executor is, against the `golem-scenarios` example (the same
//! guest steps as Golem's `host-api-tests`, written on this crate).
//!
//! Each scenario runs live with an oplog; then, as Golem's tests restart the
//! executor, the host is stopped at a cut (a crash on purpose when a given
//! call starts: after connect, between sends, inside a receive with a
//! timeout, inside a receive waiting on the pollable, after close) and run
//! again on the same oplog: the replay must make the recorded calls (checked
//! with their arguments, `--strict`), the app must report what an
//! uninterrupted run reports, and the peer must see the live continuation
//! (a reopened connection echoes again; a closed one stays closed; a failed
//! reconnect is the app's error).
//!
//! The end-to-end scenarios that apply on Golem run on this host too, from
//! the one list of `tests/e2e/` (`on_both_hosts!` there).

#![cfg(not(target_family = "wasm"))]

mod host;
mod p3;
mod peer;

use std::time::Duration;

use host::{CRASHED, DIVERGED, Outcome, calls, entries, run, write_entries};
use peer::{Mode, Peer};

const CONNECT: &str = "golem:websocket/client::connect";
const SEND: &str = "golem:websocket/client::send";
const POLL: &str = "io::poll::poll";

/// A scenario run without interruption, recording its oplog.
fn live(oplog: &std::path::Path, args: &[&str]) -> Outcome {
    let path = oplog.to_str().expect("a UTF-8 path");
    run(&["--oplog", path], args)
}

/// The scenario crashed at `cut` (`NAME#K`), then restarted on the same
/// oplog: the restart's outcome, after checking that the crash happened.
fn restarted(oplog: &std::path::Path, cut: &str, args: &[&str]) -> Outcome {
    let path = oplog.to_str().expect("a UTF-8 path");
    let crashed = run(&["--oplog", path, "--crash-at", cut], args);
    assert_eq!(crashed.status, CRASHED, "no crash at {cut}: {crashed:?}");
    let restart = run(&["--oplog", path, "--strict"], args);
    assert_eq!(
        restart.status, 0,
        "the restart after {cut} failed: {restart:?}"
    );
    restart
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[test]
fn echo() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["echo", &peer.url(), "hello websocket"];
    assert_eq!(live(&oplog, &args).ok(), "hello websocket");
    let recorded = entries(&oplog);

    // Restarted after the end: all of it replayed, nothing on the network.
    let replay = run(&["--oplog", oplog.to_str().unwrap(), "--strict"], &args);
    assert_eq!(replay.ok(), "hello websocket");
    assert_eq!(entries(&oplog), recorded, "a full replay records nothing");
    assert_eq!(peer.accepted(), 1);
}

#[test]
fn echo_with_oplog_replay() {
    let peer = Peer::start(Mode::Echo);
    let args = [
        "echo-twice",
        &peer.url(),
        "hello websocket",
        "hello websocket 2",
    ];
    let expected = "hello websocket|hello websocket 2";
    for cut in [&format!("{CONNECT}#2"), &format!("{SEND}#2")] {
        let dir = temp();
        let restart = restarted(&dir.path().join("oplog"), cut, &args);
        assert_eq!(restart.ok(), expected, "cut at {cut}");
    }
    assert_eq!(
        peer.transcript(),
        [
            (0, "hello websocket".into()),
            (1, "hello websocket 2".into()),
            // Cut at the second send: the second connection (3) was open
            // when the host stopped; the restart reopened it (4).
            (2, "hello websocket".into()),
            (4, "hello websocket 2".into()),
        ],
        "each message once, on the connection it was meant for"
    );
    assert_eq!(peer.accepted(), 5);
}

#[test]
fn reconnect_replays_completed_steps_and_continues_live() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let args = ["roundtrip", &peer.url()];
    // Between sends: msg-1 and msg-2 echoed before the crash.
    let restart = restarted(&dir.path().join("oplog"), &format!("{SEND}#3"), &args);
    assert_eq!(restart.ok(), "msg-1|msg-2|msg-3|msg-4");
    assert_eq!(peer.accepted(), 2);
    assert_eq!(
        peer.transcript(),
        [
            (0, "msg-1".into()),
            (0, "msg-2".into()),
            (1, "msg-3".into()),
            (1, "msg-4".into()),
        ]
    );
}

#[test]
fn reconnect_right_after_connect() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let args = ["roundtrip", &peer.url()];
    let restart = restarted(&dir.path().join("oplog"), &format!("{SEND}#1"), &args);
    assert_eq!(restart.ok(), "msg-1|msg-2|msg-3|msg-4");
    assert_eq!(peer.accepted(), 2);
    let on_second: Vec<_> = peer
        .transcript()
        .into_iter()
        .filter(|(c, _)| *c == 1)
        .collect();
    assert_eq!(
        on_second.len(),
        4,
        "all four sent on the reopened connection"
    );
}

#[test]
fn reconnect_failure_returns_guest_error() {
    let mut peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let path = oplog.to_str().unwrap();
    let args = ["roundtrip", &peer.url()];
    let crashed = run(
        &["--oplog", path, "--crash-at", &format!("{SEND}#3")],
        &args,
    );
    assert_eq!(crashed.status, CRASHED, "{crashed:?}");
    peer.stop();
    let restart = run(&["--oplog", path, "--strict"], &args);
    assert!(
        restart.error().contains("Connect("),
        "the failed reconnect reaches the app: {restart:?}"
    );
    assert_eq!(peer.accepted(), 1);
}

#[test]
fn closed_connection_stays_terminal_after_replay() {
    let peer = Peer::start(Mode::GreetThenClose);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["first-then-closed", &peer.url()];
    let first = live(&oplog, &args);
    let report = first.ok().to_owned();
    assert!(report.starts_with("msg-0|"), "{report}");
    assert_eq!(peer.accepted(), 1);
    let replay = run(&["--oplog", oplog.to_str().unwrap(), "--strict"], &args);
    assert_eq!(replay.ok(), report, "the replayed app sees the same close");
    assert_eq!(peer.accepted(), 1, "a closed connection is not reopened");
}

#[test]
fn successful_close_prevents_reconnect() {
    let peer = Peer::start(Mode::GreetAndHold);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["close-then-receive", &peer.url()];
    let report = live(&oplog, &args).ok().to_owned();
    assert!(report.starts_with("msg-0|closed|"), "{report}");
    let replay = run(&["--oplog", oplog.to_str().unwrap(), "--strict"], &args);
    assert_eq!(replay.ok(), report);
    assert_eq!(peer.accepted(), 1, "a closed connection is not reopened");
}

#[test]
fn receive_with_timeout() {
    let peer = Peer::start(Mode::Silent);
    let dir = temp();
    let args = ["receive-timeout", &peer.url(), "1000"];
    assert_eq!(live(&dir.path().join("live"), &args).error(), "Timeout");
    // Inside the receive with a timeout: it runs again live and times out.
    let restart = restarted(&dir.path().join("cut"), &format!("{POLL}#1"), &args);
    assert_eq!(restart.error(), "Timeout");
    assert_eq!(peer.accepted(), 3, "the cut run reconnected once");
}

#[test]
fn polling() {
    let peer = Peer::start(Mode::SendAfter(Duration::ZERO, "Hello from polling test"));
    let dir = temp();
    let args = ["poll", &peer.url(), "1000"];
    assert_eq!(
        live(&dir.path().join("live"), &args).ok(),
        "Hello from polling test"
    );
}

#[test]
fn polling_resumes_inside_a_receive_waiting_on_the_pollable() {
    let message = "Hello from polling test";
    let peer = Peer::start(Mode::SendAfter(Duration::from_millis(300), message));
    let dir = temp();
    let args = ["poll", &peer.url(), "5000"];
    let restart = restarted(&dir.path().join("oplog"), &format!("{POLL}#1"), &args);
    assert_eq!(restart.ok(), message);
    assert_eq!(peer.accepted(), 2);
}

#[test]
fn polling_survives_repeated_timeouts() {
    let message = "delayed polling message";
    let peer = Peer::start(Mode::SendAfter(Duration::from_millis(150), message));
    let dir = temp();
    let args = ["poll-repeated", &peer.url(), "10", "30"];
    assert_eq!(live(&dir.path().join("live"), &args).ok(), message);
    // Inside a later receive with a timeout, after some timed out.
    let restart = restarted(&dir.path().join("cut"), &format!("{POLL}#3"), &args);
    assert_eq!(restart.ok(), message);
}

#[test]
fn async_bidirectional() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let args = ["bidi", &peer.url()];
    assert_eq!(live(&oplog, &args).ok(), "msg-a|msg-b|msg-c");
    let replay = run(&["--oplog", oplog.to_str().unwrap(), "--strict"], &args);
    assert_eq!(replay.ok(), "msg-a|msg-b|msg-c");
    assert_eq!(peer.accepted(), 1);
    let restart = restarted(&dir.path().join("cut"), &format!("{SEND}#2"), &args);
    assert_eq!(restart.ok(), "msg-a|msg-b|msg-c");
    assert_eq!(peer.accepted(), 3);
}

/// A recorded roundtrip, and the index of its second `send` (of `msg-2`).
fn recorded_roundtrip(peer: &Peer, oplog: &std::path::Path) -> (Vec<serde_json::Value>, usize) {
    assert_eq!(
        live(oplog, &["roundtrip", &peer.url()]).ok(),
        "msg-1|msg-2|msg-3|msg-4"
    );
    let recorded = entries(oplog);
    let second_send = calls(&recorded)
        .iter()
        .enumerate()
        .filter(|(_, call)| *call == SEND)
        .nth(1)
        .map(|(index, _)| index)
        .expect("a second send");
    (recorded, second_send)
}

#[test]
fn a_log_with_a_call_removed_fails_at_its_index() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let (mut recorded, index) = recorded_roundtrip(&peer, &oplog);
    let removed = recorded.remove(index);
    write_entries(&oplog, &recorded);
    let replay = run(
        &["--oplog", oplog.to_str().unwrap()],
        &["roundtrip", &peer.url()],
    );
    assert_eq!(replay.status, DIVERGED, "{replay:?}");
    let expected = format!(
        "replay diverged at oplog entry {index}: the log holds {} {}, the guest called {SEND} {}",
        recorded[index]["call"].as_str().unwrap(),
        recorded[index]["args"],
        removed["args"],
    );
    assert!(
        replay.stderr.contains(&expected),
        "{}\nexpected: {expected}",
        replay.stderr
    );
}

#[test]
fn a_log_with_a_call_altered_fails_at_its_index() {
    let peer = Peer::start(Mode::Echo);
    let dir = temp();
    let oplog = dir.path().join("oplog");
    let (mut recorded, index) = recorded_roundtrip(&peer, &oplog);
    let path = oplog.to_str().unwrap();
    let args = ["roundtrip", &peer.url()];

    // Its arguments: only a strict replay sees it (Golem checks names).
    recorded[index]["args"]["message"]["text"] = "msg-X".into();
    write_entries(&oplog, &recorded);
    let strict = run(&["--oplog", path, "--strict"], &args);
    assert_eq!(strict.status, DIVERGED, "{strict:?}");
    let expected = format!(
        "replay diverged at oplog entry {index}: the log holds {SEND} {{\"message\":{{\"text\":\"msg-X\"}}}}, \
         the guest called {SEND} {{\"message\":{{\"text\":\"msg-2\"}}}}"
    );
    assert!(
        strict.stderr.contains(&expected),
        "{}\nexpected: {expected}",
        strict.stderr
    );
    assert_eq!(
        run(&["--oplog", path], &args).ok(),
        "msg-1|msg-2|msg-3|msg-4"
    );

    // Its name: any replay sees it.
    recorded[index]["call"] = "golem:websocket/client::close".into();
    write_entries(&oplog, &recorded);
    let renamed = run(&["--oplog", path], &args);
    assert_eq!(renamed.status, DIVERGED, "{renamed:?}");
    assert!(
        renamed.stderr.contains(&format!(
            "replay diverged at oplog entry {index}: the log holds golem:websocket/client::close"
        )),
        "{}",
        renamed.stderr
    );
}
