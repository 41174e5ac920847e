//! `bench-client <workload> <ws url> [params]`: the benchmark workloads of
//! `wasm-websocket-bench`, run with wasm-websocket inside a component.
//!
//! `bash scripts/build-components.sh` composes it with the polyfill into
//! `target/composed/bench-client.wasm`; the harness runs that under
//! `wasmtime run -Sinherit-network -Sallow-ip-name-lookup`, next to the native
//! tokio-tungstenite client, which takes the same command line. Every echo is
//! checked; the result is one JSON line on stdout, errors go to stderr.
//!
//! ```text
//! bench-client seq <url> <size> <count>
//! bench-client pipe <url> <size> <count> <window>
//! bench-client latency <url> <size> <count>
//! bench-client first <url>
//! bench-client concurrent <url> <connections> <round trips> <size>
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use wasm_websocket::{Message, WebSocket, WebSocketSender};
use wasm_websocket_bench::{
    FIRST_ECHO_SIZE, Payloads, Report, USAGE, Window, Workload, percentiles,
};

#[wstd::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (workload, url) = match Workload::parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(workload, &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one workload and prints its report as soon as it is measured (before
/// closing, so that the first echo is seen at once by the harness).
async fn run(workload: Workload, url: &str) -> Result<(), String> {
    let print = |report: Report| println!("{}", report.to_json());
    match workload {
        Workload::Sequential { size, count } => {
            let (mut ws, connect) = timed_connect(url).await?;
            let payloads = Payloads::new(size);
            let start = Instant::now();
            for seq in 0..count {
                round_trip(&mut ws, &payloads, seq).await?;
            }
            print(Report {
                workload: workload.name(),
                messages: count,
                bytes: count * size as u64,
                connect,
                elapsed: start.elapsed(),
                percentiles: None,
            });
            close(ws).await
        }
        Workload::Latency { size, count } => {
            let (mut ws, connect) = timed_connect(url).await?;
            let payloads = Payloads::new(size);
            let mut samples = Vec::with_capacity(count as usize);
            let start = Instant::now();
            for seq in 0..count {
                let sent = Instant::now();
                round_trip(&mut ws, &payloads, seq).await?;
                samples.push(sent.elapsed());
            }
            print(Report {
                workload: workload.name(),
                messages: count,
                bytes: count * size as u64,
                connect,
                elapsed: start.elapsed(),
                percentiles: percentiles(&mut samples),
            });
            close(ws).await
        }
        Workload::Pipelined {
            size,
            count,
            window,
        } => {
            let (ws, connect) = timed_connect(url).await?;
            let start = Instant::now();
            let mut sender = pipeline(ws, Payloads::new(size), count, window).await?;
            print(Report {
                workload: workload.name(),
                messages: count,
                bytes: count * size as u64,
                connect,
                elapsed: start.elapsed(),
                percentiles: None,
            });
            sender
                .close(None)
                .await
                .map_err(|e| format!("close failed: {e}"))
        }
        Workload::FirstEcho => {
            let start = Instant::now();
            let (mut ws, connect) = timed_connect(url).await?;
            round_trip(&mut ws, &Payloads::new(FIRST_ECHO_SIZE), 0).await?;
            print(Report {
                workload: workload.name(),
                messages: 1,
                bytes: FIRST_ECHO_SIZE as u64,
                connect,
                elapsed: start.elapsed(),
                percentiles: None,
            });
            close(ws).await
        }
        Workload::Concurrent {
            connections,
            round_trips,
            size,
        } => {
            // Every connection opens in a task of its own, all at once (with
            // the polyfill, connecting is one blocking host call, so they
            // open one after another); the round trips then run in one task
            // each.
            let start = Instant::now();
            let opening: Vec<_> = (0..connections)
                .map(|_| {
                    let url = url.to_owned();
                    wstd::runtime::spawn(async move { connect(&url).await })
                })
                .collect();
            let mut sockets = Vec::with_capacity(opening.len());
            for task in opening {
                sockets.push(task.await?);
            }
            let connect = start.elapsed();
            let payloads = Payloads::new(size);
            let start = Instant::now();
            let tasks: Vec<_> = sockets
                .into_iter()
                .enumerate()
                .map(|(index, mut ws)| {
                    let payloads = payloads.clone();
                    wstd::runtime::spawn(async move {
                        let first = index as u64 * round_trips;
                        for seq in first..first + round_trips {
                            round_trip(&mut ws, &payloads, seq).await?;
                        }
                        Ok::<_, String>(ws)
                    })
                })
                .collect();
            let mut sockets = Vec::with_capacity(tasks.len());
            for task in tasks {
                sockets.push(task.await?);
            }
            let messages = connections * round_trips;
            print(Report {
                workload: workload.name(),
                messages,
                bytes: messages * size as u64,
                connect,
                elapsed: start.elapsed(),
                percentiles: None,
            });
            for ws in sockets {
                close(ws).await?;
            }
            Ok(())
        }
    }
}

async fn connect(url: &str) -> Result<WebSocket, String> {
    open(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))
}

async fn timed_connect(url: &str) -> Result<(WebSocket, Duration), String> {
    let start = Instant::now();
    let ws = connect(url).await?;
    Ok((ws, start.elapsed()))
}

/// Sends message `seq`, waits for its echo and checks it.
async fn round_trip(ws: &mut WebSocket, payloads: &Payloads, seq: u64) -> Result<(), String> {
    ws.send(Message::binary(payloads.message(seq)))
        .await
        .map_err(|e| format!("send failed: {e}"))?;
    let reply = next_binary(ws.recv().await)?;
    payloads.check(seq, &reply)
}

/// `count` messages: a spawned task sends while this one receives, with at most
/// `window` messages unanswered. Returns the sender, to close with.
async fn pipeline(
    ws: WebSocket,
    payloads: Payloads,
    count: u64,
    window: u64,
) -> Result<WebSocketSender, String> {
    let (mut sender, mut receiver) = ws.split();
    let slots = Window::new(window);
    let sending = wstd::runtime::spawn({
        let slots = slots.clone();
        let payloads = payloads.clone();
        async move {
            for seq in 0..count {
                slots.acquire().await;
                sender
                    .send(Message::binary(payloads.message(seq)))
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
            }
            Ok::<_, String>(sender)
        }
    });
    for seq in 0..count {
        let reply = next_binary(receiver.recv().await)?;
        payloads.check(seq, &reply)?;
        slots.release();
    }
    sending.await
}

/// The payload of a binary reply; anything else is an error.
fn next_binary(received: wasm_websocket::Result<Message>) -> Result<Vec<u8>, String> {
    match received {
        Ok(Message::Binary(data)) => Ok(data),
        Ok(other) => Err(format!("unexpected reply {other:?}")),
        Err(e) => Err(format!("receive failed: {e}")),
    }
}

/// Closes and waits for the server's close.
async fn close(mut ws: WebSocket) -> Result<(), String> {
    ws.close(None)
        .await
        .map_err(|e| format!("close failed: {e}"))
}

/// Opens a connection through the host's `golem:websocket` (the polyfill
/// composed into the app), or, built with the feature `sockets`, directly
/// over `wasi:sockets` (`WebSocket::connect_direct`): that build imports
/// no `golem:websocket` and runs without the polyfill.
#[cfg(not(feature = "sockets"))]
async fn open(url: &str) -> Result<WebSocket, wasm_websocket::Error> {
    WebSocket::connect(url).await
}

/// `open` of the direct build (feature `sockets`): see the one above.
#[cfg(feature = "sockets")]
async fn open(url: &str) -> Result<WebSocket, wasm_websocket::Error> {
    WebSocket::connect_direct(url).await
}
