//! A WASI 0.3 command (`wasi:cli/run@0.3.0`) built with the crate's `p3`
//! feature: the app shape of golem-rust 3.x, runnable under `wasmtime run`
//! once composed with the polyfill's P3 build (`scripts/build-p3.sh`):
//!
//! ```sh
//! wasmtime run -Sinherit-network target/composed/p3-echo.wasm SCENARIO URL [ARG]
//! ```
//!
//! It runs one scenario and prints one JSON object. A step reads `"ok"`,
//! `"text:<text>"`, `"binary:<length>"`, `"close:<code>:<reason>"`
//! (`close:none` without a code) or the error's variant name (`"Timeout"`,
//! `"ConnectionReset"`, ...).
//!
//! - `round-trip URL`: sends a text (multi-byte UTF-8), a binary of all 256
//!   byte values and a 1 MiB binary to an echo server; reports what came back
//!   (`text`, `binary_hex`, `big_len`, `big_equal`).
//! - `close-by-app URL CODE REASON`: closes with CODE and REASON, then reads
//!   the stream to its end (`steps`).
//! - `close-by-peer URL`: sends `hi` and reads to the end: the peer's close.
//! - `timeouts URL TIMEOUT_MS`: sends `m0`..`m4` to a server that answers
//!   each late, and collects them with `recv_timeout(TIMEOUT_MS)` in a loop
//!   (`received`, `timeouts`).
//! - `abrupt URL`: sends `one` to a server that echoes it and then drops TCP;
//!   reads to the end (`steps`, `elapsed_ms`).
//! - `two SILENT_URL ECHO_URL`: waits for a message on the silent connection
//!   (up to 3 s) while making 20 round trips on the other (`silent`,
//!   `silent_ms`, `rounds`, `rounds_ms`, `slowest_round_ms`).
//! - `ticks SILENT_URL`: waits for a message on the silent connection (up to
//!   1 s) while a timer task ticks every 10 ms (`silent`, `ticks`,
//!   `latest_tick_ms`: the most a tick came late).
//! - `raw-timeout URL`: the interface itself, without the crate (as a
//!   golem-rust 3.x app calls it): sends `late` to a server that answers
//!   late, then `receive-with-timeout` 100 ms, 5000 ms and 0 ms (`steps`,
//!   `elapsed_ms` of each).
//! - `roundtrip URL N [lose]`: sends `msg-1`..`msg-N` to an echo server,
//!   each followed by a receive, then closes (`steps`): one host call at a
//!   time, the shape of Golem's replay scenarios. With `lose`, the connection
//!   asks for `report-connection-loss`.

use std::time::{Duration, Instant};

use futures_lite::{StreamExt, future};
use serde_json::{Value, json};
use wasm_websocket::{ClientRequest, CloseFrame, Error, Message, ReconstructionPolicy, WebSocket};

wit_bindgen::generate!({
    path: "wit",
    world: "app",
    generate_all,
});

/// The interface as the crate binds it (`wit/p3`, world `sdk`), for
/// `raw-timeout`: a second binding of the same import, as in an app that uses
/// golem-rust 3.x beside the crate.
mod raw {
    wit_bindgen::generate!({
        path: "../../wit/p3",
        world: "sdk",
        generate_all,
    });
}

struct App;

export!(App);

impl exports::wasi::cli::run::Guest for App {
    async fn run() -> Result<(), ()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match scenario(&args).await {
            Ok(report) => {
                println!("{report}");
                Ok(())
            }
            Err(problem) => {
                eprintln!("p3-echo: {problem}");
                Err(())
            }
        }
    }
}

/// The text of `round-trip`: one-, two-, three- and four-byte UTF-8.
const TEXT: &str = "héllo wörld ✓ 🦀";

/// How long `two` waits on the silent connection.
const SILENT_WAIT: Duration = Duration::from_secs(3);

/// How long `ticks` waits on the silent connection, and its timer's period.
const TICK_WAIT: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(10);

async fn scenario(args: &[String]) -> Result<Value, String> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument {i}: usage: SCENARIO URL [ARG..]"))
    };
    let name = arg(0)?;
    let url = arg(1)?;
    let connect = |url: String| async move {
        WebSocket::connect(&url)
            .await
            .map_err(|err| format!("connect {url}: {err}"))
    };
    if name == "raw-timeout" {
        return raw_timeout(url).await;
    }
    if name == "roundtrip" {
        let count: usize = arg(2)?.parse().map_err(|_| "N must be a number")?;
        let mut request = ClientRequest::new(url);
        if args.get(3).map(String::as_str) == Some("lose") {
            request = request.reconstruction_policy(ReconstructionPolicy::ReportConnectionLoss);
        }
        let mut ws = WebSocket::connect_with(request)
            .await
            .map_err(|err| format!("connect {url}: {err}"))?;
        let mut steps = Vec::new();
        for i in 1..=count {
            let sent = outcome(ws.send(Message::text(format!("msg-{i}"))).await);
            if sent != "ok" {
                steps.push(sent);
                break;
            }
            steps.push(received(ws.recv().await));
        }
        steps.push(outcome(ws.close(None).await));
        return Ok(json!({ "steps": steps }));
    }
    let mut ws = connect(url.to_owned()).await?;
    let report = match name {
        "round-trip" => {
            let small: Vec<u8> = (0..=255).collect();
            let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            let mut sent = Vec::new();
            sent.push(outcome(ws.send(Message::text(TEXT)).await));
            sent.push(outcome(ws.send(Message::binary(small)).await));
            sent.push(outcome(ws.send(Message::binary(big.clone())).await));
            let text = ws.recv().await;
            let binary = ws.recv().await;
            let large = ws.recv().await;
            json!({
                "sent": sent,
                "text": match text {
                    Ok(Message::Text(text)) => text,
                    other => received(other),
                },
                "binary_hex": match binary {
                    Ok(Message::Binary(data)) => hex(&data),
                    other => received(other),
                },
                "big_len": large.as_ref().map_or(0, Message::len),
                "big_equal": matches!(&large, Ok(Message::Binary(data)) if *data == big),
                "close": outcome(ws.close(None).await),
            })
        }
        "close-by-app" => {
            let code: u16 = arg(2)?.parse().map_err(|_| "CODE must be a number")?;
            let reason = arg(3)?;
            let mut steps = vec![outcome(ws.close(Some(CloseFrame::new(code, reason))).await)];
            read_to_end(&mut ws, &mut steps).await;
            json!({ "steps": steps })
        }
        "close-by-peer" => {
            let mut steps = vec![outcome(ws.send(Message::text("hi")).await)];
            read_to_end(&mut ws, &mut steps).await;
            json!({ "steps": steps })
        }
        "timeouts" => {
            let timeout: u64 = arg(2)?.parse().map_err(|_| "TIMEOUT_MS must be a number")?;
            let sent: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
            for text in &sent {
                ws.send(Message::text(text.as_str()))
                    .await
                    .map_err(|err| format!("send: {err}"))?;
            }
            let (mut got, mut timeouts, mut other) = (Vec::new(), 0, Vec::new());
            // Bounded, so that a lost message ends the loop with a report.
            for _ in 0..200 {
                if got.len() == sent.len() {
                    break;
                }
                match ws.recv_timeout(Duration::from_millis(timeout)).await {
                    Ok(Message::Text(text)) => got.push(text),
                    Err(Error::Timeout) => timeouts += 1,
                    step => {
                        other.push(received(step));
                        break;
                    }
                }
            }
            json!({
                "received": got,
                "timeouts": timeouts,
                "other": other,
                "close": outcome(ws.close(None).await),
            })
        }
        "abrupt" => {
            let start = Instant::now();
            let mut steps = vec![outcome(ws.send(Message::text("one")).await)];
            read_to_end(&mut ws, &mut steps).await;
            json!({ "steps": steps, "elapsed_ms": start.elapsed().as_millis() as u64 })
        }
        "ticks" => {
            let start = Instant::now();
            let silent = async { received(ws.recv_timeout(TICK_WAIT).await) };
            let ticking = async {
                let (mut ticks, mut latest) = (0u64, Duration::ZERO);
                while start.elapsed() < TICK_WAIT {
                    let asked = Instant::now();
                    wasip3::clocks::monotonic_clock::wait_for(TICK.as_nanos() as u64).await;
                    latest = latest.max(asked.elapsed().saturating_sub(TICK));
                    ticks += 1;
                }
                (ticks, latest)
            };
            let (silent, (ticks, latest)) = future::zip(silent, ticking).await;
            json!({
                "silent": silent,
                "ticks": ticks,
                "latest_tick_ms": latest.as_millis() as u64,
                "close": outcome(ws.close(None).await),
            })
        }
        "two" => {
            let mut busy = connect(arg(2)?.to_owned()).await?;
            let start = Instant::now();
            let silent = async {
                let step = received(ws.recv_timeout(SILENT_WAIT).await);
                (step, start.elapsed())
            };
            let rounds = async {
                let (mut ok, mut slowest) = (0, Duration::ZERO);
                for i in 0..20 {
                    let sent_at = Instant::now();
                    let text = format!("round {i}");
                    if busy.send(Message::text(text.as_str())).await.is_err() {
                        break;
                    }
                    match busy.recv().await {
                        Ok(Message::Text(echo)) if echo == text => ok += 1,
                        _ => break,
                    }
                    slowest = slowest.max(sent_at.elapsed());
                }
                (ok, start.elapsed(), slowest)
            };
            let ((step, silent_for), (ok, rounds_for, slowest)) = future::zip(silent, rounds).await;
            json!({
                "silent": step,
                "silent_ms": silent_for.as_millis() as u64,
                "rounds": ok,
                "rounds_ms": rounds_for.as_millis() as u64,
                "slowest_round_ms": slowest.as_millis() as u64,
                "close": [outcome(busy.close(None).await), outcome(ws.close(None).await)],
            })
        }
        other => return Err(format!("unknown scenario {other:?}")),
    };
    Ok(report)
}

/// `raw-timeout`: `receive-with-timeout` called directly.
async fn raw_timeout(url: &str) -> Result<Value, String> {
    use raw::golem::websocket::client::{Message as RawMessage, WebsocketConnection};
    let show = |item: Result<Option<RawMessage>, _>| match item {
        Ok(Some(RawMessage::Text(text))) => format!("text:{text}"),
        Ok(Some(RawMessage::Binary(data))) => format!("binary:{}", data.len()),
        Ok(None) => "none".to_owned(),
        Err(err) => format!("{err:?}"),
    };
    let conn = WebsocketConnection::connect(url, None, None)
        .map_err(|err| format!("connect {url}: {err:?}"))?;
    conn.send(&RawMessage::Text("late".to_owned()))
        .map_err(|err| format!("send: {err:?}"))?;
    let (mut steps, mut elapsed) = (Vec::new(), Vec::new());
    for timeout_ms in [100, 5000, 0] {
        let start = Instant::now();
        steps.push(show(conn.receive_with_timeout(timeout_ms).await));
        elapsed.push(start.elapsed().as_millis() as u64);
    }
    let close = conn.close(Some(1000), Some("done"));
    Ok(json!({ "steps": steps, "elapsed_ms": elapsed, "close": format!("{close:?}") }))
}

/// Reads the stream to its end (at most 10 items), then `"end"`.
async fn read_to_end(ws: &mut WebSocket, steps: &mut Vec<String>) {
    for _ in 0..10 {
        match ws.next().await {
            Some(item) => steps.push(received(item)),
            None => {
                steps.push("end".to_owned());
                return;
            }
        }
    }
}

fn received(item: Result<Message, Error>) -> String {
    match item {
        Ok(Message::Text(text)) => format!("text:{text}"),
        Ok(Message::Binary(data)) => format!("binary:{}", data.len()),
        Ok(Message::Close(Some(frame))) => {
            format!("close:{}:{}", u16::from(frame.code), frame.reason)
        }
        Ok(Message::Close(None)) => "close:none".to_owned(),
        Ok(_) => "other".to_owned(),
        Err(err) => err.kind().to_string(),
    }
}

fn outcome(result: Result<(), Error>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(err) => err.kind().to_string(),
    }
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}
