//! Golem 1.5.9's own WebSocket scenarios (its executor's
//! `tests/websocket.rs`, whose guest is
//! `test-components/host-api-tests/src/websocket.rs`), written on this
//! crate's API instead of golem-rust's raw bindings: a `wasi:cli` command
//! for the test host (`testhost/`), which provides `golem:websocket`
//! itself, so it is composed with nothing.
//!
//! `golem-scenarios SCENARIO URL [ARGS...]` prints one JSON line,
//! `{"scenario": .., "ok": ..}` or `{"scenario": .., "error": ..}` (the
//! crate's error, `Debug`-formatted):
//! - `echo URL TEXT`: connects, sends `TEXT`, receives the echo.
//! - `echo-twice URL A B`: `echo` of `A`, then of `B` on a new connection;
//!   `"A|B"` (Golem: `echo_and_record`, invoked twice).
//! - `roundtrip URL`: one connection, `msg-1` .. `msg-4` each sent and its
//!   echo received; `"msg-1|..|msg-4"` (Golem:
//!   `replay_reconnect_roundtrip`).
//! - `first-then-closed URL`: receives the first message, then the next
//!   twice: the peer's close, then the end (Golem:
//!   `connect_and_receive_first` and `receive_next_from_persisted_result`).
//! - `close-then-receive URL`: receives the first message, closes, receives
//!   again (Golem: `close_persisted_result`).
//! - `receive-timeout URL MS`: one receive with a timeout of `MS` from a
//!   silent peer (Golem: `receive_with_timeout_test`).
//! - `poll URL MS`: the same from a peer that sends (Golem:
//!   `poll_for_message`).
//! - `poll-repeated URL MS MAX`: up to `MAX` receives with a timeout of `MS`
//!   until one finds a message (Golem: `poll_until_message_after_timeouts`).
//! - `bidi URL`: `msg-a`, `msg-b`, `msg-c`, each sent and its echo awaited
//!   (Golem: `async_bidi_test`).

use std::time::Duration;

use serde_json::json;
use wasm_websocket::{Error, Message, Result, WebSocket};

#[wstd::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let scenario = args.first().copied().unwrap_or_default();
    let outcome = match args.as_slice() {
        ["echo", url, text] => echo(url, text).await,
        ["echo-twice", url, a, b] => echo_twice(url, a, b).await,
        ["roundtrip", url] => roundtrip(url).await,
        ["first-then-closed", url] => first_then_closed(url).await,
        ["close-then-receive", url] => close_then_receive(url).await,
        ["receive-timeout" | "poll", url, ms] => match number(ms) {
            Ok(ms) => receive_timeout(url, Duration::from_millis(ms)).await,
            Err(err) => Err(err),
        },
        ["poll-repeated", url, ms, max] => match (number(ms), number(max)) {
            (Ok(ms), Ok(max)) => poll_repeated(url, Duration::from_millis(ms), max).await,
            (Err(err), _) | (_, Err(err)) => Err(err),
        },
        ["bidi", url] => bidi(url).await,
        _ => Err(Error::Other(format!(
            "unknown scenario or arguments: {args:?}"
        ))),
    };
    let line = match outcome {
        Ok(ok) => json!({ "scenario": scenario, "ok": ok }),
        Err(err) => json!({ "scenario": scenario, "error": format!("{err:?}") }),
    };
    println!("{line}");
}

fn number(text: &str) -> Result<u64> {
    text.parse()
        .map_err(|_| Error::Other(format!("not a number: {text:?}")))
}

/// A received message as the scenarios report it.
fn shown(message: Message) -> String {
    match message {
        Message::Text(text) => text,
        Message::Binary(data) => format!("{} bytes", data.len()),
        other => format!("{other:?}"),
    }
}

async fn echo(url: &str, text: &str) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    ws.send(Message::text(text)).await?;
    Ok(shown(ws.recv().await?))
}

async fn echo_twice(url: &str, a: &str, b: &str) -> Result<String> {
    let first = echo(url, a).await?;
    let second = echo(url, b).await?;
    Ok(format!("{first}|{second}"))
}

async fn roundtrip(url: &str) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    let mut received = Vec::new();
    for payload in ["msg-1", "msg-2", "msg-3", "msg-4"] {
        ws.send(Message::text(payload)).await?;
        received.push(shown(ws.recv().await?));
    }
    Ok(received.join("|"))
}

/// What a receive gave, as a step of a longer report.
fn step(result: Result<Message>) -> String {
    match result {
        Ok(message) => shown(message),
        Err(err) => format!("{err:?}"),
    }
}

async fn first_then_closed(url: &str) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    let first = shown(ws.recv().await?);
    let closed = step(ws.recv().await);
    let after = step(ws.recv().await);
    Ok(format!("{first}|{closed}|{after}"))
}

async fn close_then_receive(url: &str) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    let first = shown(ws.recv().await?);
    let closed = match ws.close(None).await {
        Ok(()) => "closed".to_owned(),
        Err(err) => format!("{err:?}"),
    };
    let after = step(ws.recv().await);
    Ok(format!("{first}|{closed}|{after}"))
}

async fn receive_timeout(url: &str, timeout: Duration) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    Ok(shown(ws.recv_timeout(timeout).await?))
}

async fn poll_repeated(url: &str, timeout: Duration, max: u64) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    for _ in 0..max {
        match ws.recv_timeout(timeout).await {
            Ok(message) => return Ok(shown(message)),
            Err(Error::Timeout) => continue,
            Err(err) => return Err(err),
        }
    }
    Err(Error::Other(format!(
        "no message after {max} receives with a timeout"
    )))
}

async fn bidi(url: &str) -> Result<String> {
    let mut ws = WebSocket::connect(url).await?;
    let mut received = Vec::new();
    for payload in ["msg-a", "msg-b", "msg-c"] {
        ws.send(Message::text(payload)).await?;
        received.push(shown(ws.recv().await?));
    }
    Ok(received.join("|"))
}
