//! The native baseline: the workloads run with a tokio-tungstenite client, as
//! `wasm-websocket-bench client <workload> <ws url> [params]`, the same command
//! line and output as the `bench-client` component.
//!
//! It runs on a current-thread runtime: the component runs on one thread too,
//! so the ratio compares the work done per message, not the number of cores.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt, future};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wasm_websocket_bench::{
    FIRST_ECHO_SIZE, Payloads, Report, USAGE, Window, Workload, percentiles,
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Runs the workload named by `args` and prints its report; failures go to stderr.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let (workload, url) = match Workload::parse(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("native client: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(workload, &url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("native client: {e}");
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
            let ws = pipeline(ws, Payloads::new(size), count, window).await?;
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
            let start = Instant::now();
            let sockets = future::try_join_all((0..connections).map(|_| connect(url))).await?;
            let connect = start.elapsed();
            let payloads = Payloads::new(size);
            let start = Instant::now();
            let tasks: Vec<_> = sockets
                .into_iter()
                .enumerate()
                .map(|(index, mut ws)| {
                    let payloads = payloads.clone();
                    tokio::spawn(async move {
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
                sockets.push(task.await.map_err(|e| e.to_string())??);
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
            future::try_join_all(sockets.into_iter().map(close)).await?;
            Ok(())
        }
    }
}

async fn connect(url: &str) -> Result<Ws, String> {
    let (ws, _response) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    Ok(ws)
}

async fn timed_connect(url: &str) -> Result<(Ws, Duration), String> {
    let start = Instant::now();
    let ws = connect(url).await?;
    Ok((ws, start.elapsed()))
}

/// Sends message `seq`, waits for its echo and checks it.
async fn round_trip(ws: &mut Ws, payloads: &Payloads, seq: u64) -> Result<(), String> {
    ws.send(Message::Binary(payloads.message(seq).into()))
        .await
        .map_err(|e| format!("send failed: {e}"))?;
    let reply = next_binary(ws).await?;
    payloads.check(seq, &reply)
}

/// `count` messages: a spawned task sends while this one receives, with at most
/// `window` messages unanswered.
async fn pipeline(ws: Ws, payloads: Payloads, count: u64, window: u64) -> Result<Ws, String> {
    let (mut sink, mut stream) = ws.split();
    let slots = Window::new(window);
    let sender = tokio::spawn({
        let slots = slots.clone();
        let payloads = payloads.clone();
        async move {
            for seq in 0..count {
                slots.acquire().await;
                sink.send(Message::Binary(payloads.message(seq).into()))
                    .await
                    .map_err(|e| format!("send failed: {e}"))?;
            }
            Ok::<_, String>(sink)
        }
    });
    for seq in 0..count {
        let reply = next_binary(&mut stream).await?;
        payloads.check(seq, &reply)?;
        slots.release();
    }
    let sink = sender.await.map_err(|e| e.to_string())??;
    sink.reunite(stream).map_err(|e| e.to_string())
}

/// The next binary message; pings and pongs are skipped.
async fn next_binary<S>(stream: &mut S) -> Result<Bytes, String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(Message::Binary(data))) => return Ok(data),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(format!("unexpected reply {other:?}")),
            Some(Err(e)) => return Err(format!("receive failed: {e}")),
            None => return Err("the connection ended".into()),
        }
    }
}

/// Closes and waits for the server's close.
async fn close(mut ws: Ws) -> Result<(), String> {
    ws.close(None)
        .await
        .map_err(|e| format!("close failed: {e}"))?;
    while let Some(message) = ws.next().await {
        message.map_err(|e| format!("receive while closing failed: {e}"))?;
    }
    Ok(())
}
