//! The less common paths of a connection's life, one scenario per request:
//! a `wasi:http` handler that runs `scenario` against `url` and answers JSON
//! with what each step returned, `{"steps": [..], "elapsed_ms"}`. A step
//! reads `"ok"`, `"text:<text>"`, `"close:<code>:<reason>"` (`close:none`
//! for a close without a code), `"end"` (the stream ended) or the error's
//! variant name (`"Timeout"`, `"AlreadyClosed"`, ...).
//!
//! Scenarios (`close_timeout_ms`, default 5000, bounds every close):
//! - `late`: sends `late`, `recv_timeout(timeout_ms)` (default 50), then
//!   `recv`: a message that arrives after the timeout is still received.
//! - `split-close`: splits; one task waits in `recv` while the other half
//!   closes with 1000 `bye`; the waiting receiver sees the peer's answer.
//! - `unanswered`: `close` to a peer that never answers, then the stream:
//!   `Timeout`, then `Timeout` once more from the stream, then `end`.
//! - `cancel-close`: a `close` given up after `cancel_ms` (default 100),
//!   then `close` again: it sends nothing new and ends at the first one's
//!   deadline.
//! - `send-close`: `send(Message::Close(4000 "via send"))`, then the stream.
//! - `sink-close`: the same through `Sink::send`, with 4001 `via sink`.
//! - `close-none`: `close(None)`: a close frame without a code.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use wasm_websocket::{ClientRequest, CloseCode, CloseFrame, Error, Message, WebSocket};
use wstd::future::FutureExt as _;
use wstd::http::{Body, Request, Response, StatusCode};

/// The longest time a query may ask for: a minute.
const MAX_MILLIS: u64 = 60_000;

#[wstd::http_server]
async fn main(request: Request<Body>) -> wstd::http::Result<Response<Body>> {
    let query = request.uri().query().unwrap_or_default();
    Ok(match Params::parse(query) {
        Ok(params) => run(params).await,
        Err(problem) => respond(StatusCode::BAD_REQUEST, problem),
    })
}

struct Params {
    scenario: String,
    url: String,
    timeout: Duration,
    cancel: Duration,
    close_timeout: Duration,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let (mut scenario, mut url) = (None, None);
        let mut timeout = Duration::from_millis(50);
        let mut cancel = Duration::from_millis(100);
        let mut close_timeout = Duration::from_millis(5000);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "scenario" => scenario = Some(value.into_owned()),
                "url" => url = Some(value.into_owned()),
                "timeout_ms" => timeout = millis(&key, &value)?,
                "cancel_ms" => cancel = millis(&key, &value)?,
                "close_timeout_ms" => close_timeout = millis(&key, &value)?,
                other => return Err(format!("unknown query parameter {other:?}")),
            }
        }
        Ok(Params {
            scenario: scenario.ok_or("missing query parameter scenario")?,
            url: url.ok_or("missing query parameter url")?,
            timeout,
            cancel,
            close_timeout,
        })
    }
}

fn millis(key: &str, value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(ms) if ms <= MAX_MILLIS => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "query parameter {key} must be a number of milliseconds up to {MAX_MILLIS}, got {value:?}"
        )),
    }
}

async fn run(params: Params) -> Response<Body> {
    let request = ClientRequest::new(params.url.as_str()).close_timeout(params.close_timeout);
    let mut ws = match WebSocket::connect_with(request).await {
        Ok(ws) => ws,
        Err(err) => return respond(StatusCode::BAD_GATEWAY, format!("connect: {err}")),
    };
    let start = Instant::now();
    let mut steps = Vec::new();
    match params.scenario.as_str() {
        "late" => {
            steps.push(outcome(ws.send(Message::text("late")).await));
            steps.push(received(ws.recv_timeout(params.timeout).await));
            steps.push(received(ws.recv().await));
            steps.push(outcome(ws.close(None).await));
        }
        "split-close" => {
            let (mut sender, mut receiver) = ws.split();
            let waiting = wstd::runtime::spawn(async move { received(receiver.recv().await) });
            // Let the receiver start waiting first.
            wstd::task::sleep(wstd::time::Duration::from_millis(50)).await;
            steps.push(outcome(
                sender
                    .close(Some(CloseFrame::new(CloseCode::Normal, "bye")))
                    .await,
            ));
            steps.push(waiting.await);
        }
        "unanswered" => {
            steps.push(outcome(ws.close(None).await));
            drain(&mut ws, &mut steps).await;
        }
        "cancel-close" => {
            let first = ws
                .close(Some(CloseFrame::new(CloseCode::Normal, "first")))
                .timeout(wstd::time::Duration::from(params.cancel))
                .await;
            steps.push(match first {
                Ok(result) => outcome(result),
                Err(_) => "cancelled".to_owned(),
            });
            let again = ws.close(Some(CloseFrame::new(CloseCode::Away, "again")));
            steps.push(outcome(again.await));
        }
        "send-close" => {
            let frame = CloseFrame::new(4000, "via send");
            steps.push(outcome(ws.send(Message::Close(Some(frame))).await));
            drain(&mut ws, &mut steps).await;
        }
        "sink-close" => {
            let frame = CloseFrame::new(4001, "via sink");
            steps.push(outcome(
                SinkExt::send(&mut ws, Message::Close(Some(frame))).await,
            ));
            drain(&mut ws, &mut steps).await;
        }
        "close-none" => {
            steps.push(outcome(ws.close(None).await));
            drain(&mut ws, &mut steps).await;
        }
        other => {
            return respond(
                StatusCode::BAD_REQUEST,
                format!("unknown scenario {other:?}"),
            );
        }
    }
    let body = json!({
        "steps": steps,
        "elapsed_ms": start.elapsed().as_millis() as u64,
    });
    respond(StatusCode::OK, body.to_string())
}

/// Reads the stream to its end, a step per item.
async fn drain(ws: &mut WebSocket, steps: &mut Vec<String>) {
    while let Some(item) = ws.next().await {
        steps.push(received(item));
    }
    steps.push("end".to_owned());
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

fn respond(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(body))
        .expect("a response from a valid status")
}
