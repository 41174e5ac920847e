//! What the polyfill costs the component, seen from outside: dropping a
//! connection whose peer stopped reading, or whose peer closed but keeps TCP
//! open, does not wait; a ping flood from a peer that never reads costs the
//! wasmtime process a bounded amount of memory; a peer's close frame reaches
//! the app with the code and reason it carried (also 1002 with tungstenite's
//! own wording); a TCP reset from the peer is a closed error without a close
//! frame.

use std::time::{Duration, Instant};

use wasm_websocket_tests::apps::Close;
use wasm_websocket_tests::fault_server::{ClientClose, FaultServer};
use wasm_websocket_tests::wasmtime::{Serve, ServedApp};

use crate::MARGIN;

/// How much longer than the same run against a well-behaved peer a run may
/// take. The polyfill used to wait 1 s (for the peer to close TCP) when a
/// connection was dropped; a run that takes this much longer waited. (A run
/// takes a few milliseconds; the rest is room for a busy machine.)
const NO_WAIT: Duration = Duration::from_millis(800);

/// Runs `echo` with `params` and returns how long the request took.
fn timed(
    app: &ServedApp,
    params: &[(&str, &str)],
) -> (wasm_websocket_tests::apps::EchoReport, Duration) {
    let started = Instant::now();
    let report = app.echo(params).report();
    (report, started.elapsed())
}

/// The fastest of three runs of `echo` against `/echo` (a server of its own)
/// with `extra`: what a request costs on this machine when no peer misbehaves.
fn baseline(app: &ServedApp, extra: &[(&str, &str)]) -> Duration {
    let server = FaultServer::start();
    let url = server.url("/echo");
    let mut params = vec![("url", url.as_str())];
    params.extend_from_slice(extra);
    (0..3)
        .map(|_| timed(app, &params).1)
        .min()
        .expect("three runs")
}

#[test]
fn dropping_a_connection_whose_peer_stopped_reading_does_not_wait() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let drop_it = [("close", "0")];
    let usual = baseline(&app, &drop_it);
    let url = server.url("/stop-reading?n=1");
    let (report, took) = timed(&app, &[("url", &url), ("close", "0")]);
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert!(
        took < usual + NO_WAIT,
        "the drop waited: {took:?} against {usual:?} for a peer that reads"
    );
}

#[test]
fn a_peer_that_closes_but_keeps_tcp_open_costs_no_wait() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let usual = baseline(&app, &[]);
    let url = server.url("/close-open?code=4001&reason=bye");
    let (report, took) = timed(&app, &[("url", &url), ("expect", "2")]);
    assert_eq!(report.close, Some(Close::new(4001, "bye")), "{report:?}");
    assert_eq!(report.error, None, "{report:?}");
    assert!(
        took < usual + NO_WAIT,
        "the app waited for the peer to close TCP: {took:?} against {usual:?}"
    );
    // The close handshake was answered with the peer's code, and the
    // connection ended from the app's side.
    assert_eq!(
        server.wait_for_close(MARGIN),
        ClientClose {
            code: Some(4001),
            reason: "bye".to_owned()
        }
    );
    server.wait_for_tcp_end(MARGIN);
}

#[test]
fn a_peer_close_with_code_1002_is_reported_as_sent() {
    // tungstenite's own text for a close code that may not be sent, sent
    // here by a peer as a close of its own: it is a close, not an error.
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[
            (
                "url",
                &server.url("/close-after?n=0&code=1002&reason=Protocol%20violation"),
            ),
            ("expect", "2"),
        ])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(
        report.close,
        Some(Close::new(1002, "Protocol violation")),
        "{report:?}"
    );
}

#[test]
fn a_peer_close_without_a_code_reads_as_1005_through_close_open_too() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[("url", &server.url("/close-open")), ("expect", "2")])
        .report();
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.close, Some(Close::new(1005, "")), "{report:?}");
}

#[test]
fn a_tcp_reset_from_the_peer_is_a_reset_without_a_close_frame() {
    let server = FaultServer::start();
    let app = Serve::app("echo").start();
    let report = app
        .echo(&[("url", &server.url("/reset?n=1")), ("expect", "2")])
        .report();
    assert_eq!(report.received.len(), 1, "{report:?}");
    assert_eq!(
        report.error_kind.as_deref(),
        Some("ConnectionReset"),
        "{report:?}"
    );
    assert_eq!(report.close, None, "{report:?}");
}

/// Pings in the flood test, of 125 bytes each: their pongs (26 MB) are far
/// more than the kernel's socket buffers on loopback hold, so that most of
/// them find the socket full. Every pong that did used to be kept.
const FLOOD: &str = "200000";

/// The most a ping flood may add to the peak memory of the wasmtime
/// process.
const FLOOD_MEMORY: u64 = 8 << 20;

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_costs_bounded_memory() {
    let tag = format!("flood-{}-{:?}", std::process::id(), Instant::now());
    let server = FaultServer::start();
    let app = Serve::app("echo")
        .env("WASM_WEBSOCKET_TEST_TAG", tag.clone())
        .start();
    let pid = pid_of_wasmtime(&tag);
    // Warm up: one ordinary run, so that the peak below is the flood's.
    app.echo(&[("url", &server.url("/echo"))]).report();
    let before = peak_rss(pid);
    let url = server.url(&format!("/ping-flood?n={FLOOD}&size=125"));
    let report = app
        .echo(&[("url", &url), ("expect", "1"), ("close", "0")])
        .report();
    let after = peak_rss(pid);
    assert_eq!(
        report.received.first().and_then(|r| r.data.as_deref()),
        Some("flood done"),
        "{report:?}"
    );
    let grew = after.saturating_sub(before);
    eprintln!(
        "ping flood of {FLOOD}: peak RSS {} KiB -> {} KiB (+{} KiB)",
        before >> 10,
        after >> 10,
        grew >> 10
    );
    assert!(
        grew < FLOOD_MEMORY,
        "the flood grew the peak RSS by {} KiB (bound {} KiB)",
        grew >> 10,
        FLOOD_MEMORY >> 10
    );
}

/// The pid of the `wasmtime` process whose command line holds `tag`.
fn pid_of_wasmtime(tag: &str) -> u32 {
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        // The program may be `wasmtime` on PATH or the pinned .tools/bin/wasmtime.
        let program = cmdline.split('\0').next().unwrap_or_default();
        let is_wasmtime = std::path::Path::new(program).file_name() == Some("wasmtime".as_ref());
        if is_wasmtime && cmdline.contains(tag) {
            return pid;
        }
    }
    panic!("no wasmtime process with {tag} in its command line");
}

/// The peak resident set size of process `pid` (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmHWM in /proc/PID/status");
    kib << 10
}
