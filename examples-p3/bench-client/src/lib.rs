//! `p3-bench-client <workload> <ws url> [params]`: the benchmark workloads of
//! `wasm-websocket-bench` in a WASI 0.3 command (`wasi:cli/run@0.3.0`) built
//! with the crate's `p3` feature, the app shape of golem-rust 3.x.
//!
//! `scripts/build-p3.sh` composes it with the polyfill's P3 build into
//! `target/composed/p3-bench-client.wasm`; the harness runs that under
//! `wasmtime run -Sinherit-network -Sallow-ip-name-lookup` (wasmtime 48) next
//! to the native tokio-tungstenite client, which takes the same command line
//! (`examples/bench-client` is the same program for WASI 0.2). Every echo is
//! checked; the result is one JSON line on stdout, errors go to stderr.
//!
//! ```text
//! p3-bench-client seq <url> <size> <count>
//! p3-bench-client pipe <url> <size> <count> <window>
//! p3-bench-client latency <url> <size> <count>
//! p3-bench-client first <url>
//! p3-bench-client concurrent <url> <connections> <round trips> <size>
//! ```

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use wasm_websocket::{Message, WebSocket, WebSocketReceiver, WebSocketSender};
use wasm_websocket_bench::{
    FIRST_ECHO_SIZE, Payloads, Report, USAGE, Window, Workload, percentiles,
};

wit_bindgen::generate!({
    path: "wit",
    world: "app",
    generate_all,
});

struct App;

export!(App);

impl exports::wasi::cli::run::Guest for App {
    async fn run() -> Result<(), ()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let (workload, url) = match Workload::parse(&args) {
            Ok(parsed) => parsed,
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                return Err(());
            }
        };
        run(workload, &url).await.map_err(|e| {
            eprintln!("p3-bench-client: {e}");
        })
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
            // Connecting is one blocking host call: the connections open one
            // after another. The round trips then run on all at once.
            let start = Instant::now();
            let mut sockets = Vec::with_capacity(connections as usize);
            for _ in 0..connections {
                sockets.push(connect(url).await?);
            }
            let connect = start.elapsed();
            let payloads = Payloads::new(size);
            let start = Instant::now();
            let tasks = sockets
                .into_iter()
                .enumerate()
                .map(|(index, mut ws)| {
                    let payloads = payloads.clone();
                    Box::pin(async move {
                        let first = index as u64 * round_trips;
                        for seq in first..first + round_trips {
                            round_trip(&mut ws, &payloads, seq).await?;
                        }
                        Ok::<_, String>(ws)
                    })
                        as Pin<Box<dyn Future<Output = Result<WebSocket, String>>>>
                })
                .collect();
            let sockets = join_all(tasks).await;
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
                close(ws?).await?;
            }
            Ok(())
        }
    }
}

/// Runs every future to its end, all at once; their outputs in order.
async fn join_all<T>(mut futures: Vec<Pin<Box<dyn Future<Output = T>>>>) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

async fn connect(url: &str) -> Result<WebSocket, String> {
    WebSocket::connect(url)
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

/// `count` messages: one future sends while another receives, with at most
/// `window` messages unanswered. Returns the sender, to close with.
async fn pipeline(
    ws: WebSocket,
    payloads: Payloads,
    count: u64,
    window: u64,
) -> Result<WebSocketSender, String> {
    let (mut sender, receiver) = ws.split();
    let slots = Window::new(window);
    let sending = async {
        for seq in 0..count {
            slots.acquire().await;
            sender
                .send(Message::binary(payloads.message(seq)))
                .await
                .map_err(|e| format!("send failed: {e}"))?;
        }
        Ok::<_, String>(())
    };
    let receiving = receive_all(receiver, &payloads, count, &slots);
    // The first error ends both: a receive does not wait for a send that failed.
    futures_lite::future::try_zip(sending, receiving).await?;
    Ok(sender)
}

/// The receiving half of [`pipeline`]: checks `count` echoes in order, freeing
/// a slot of the window for each.
async fn receive_all(
    mut receiver: WebSocketReceiver,
    payloads: &Payloads,
    count: u64,
    slots: &Window,
) -> Result<(), String> {
    for seq in 0..count {
        let reply = next_binary(receiver.recv().await)?;
        payloads.check(seq, &reply)?;
        slots.release();
    }
    Ok(())
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
