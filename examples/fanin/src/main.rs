//! `fanin`: one HTTP request opens several WebSockets at once, greets each,
//! and merges what they send into one stream until `count` messages arrived,
//! every connection ended, or `deadline_ms` passed. A connection that stays
//! silent holds up nothing: the others are read as their messages come.
//!
//! Try it against two local echo servers (each echoes its greeting, so two
//! messages arrive in all):
//! ```text
//! scripts/build-components.sh
//! .venv/bin/python scripts/echo_server.py --port 9001 &
//! .venv/bin/python scripts/echo_server.py --port 9002 &
//! wasmtime serve -Scli -Sinherit-network --addr 127.0.0.1:8080 target/composed/fanin.wasm &
//! curl 'http://127.0.0.1:8080/?url=ws://127.0.0.1:9001/a&url=ws://127.0.0.1:9002/b&count=2'
//! ```
//! answers (`elapsed_ms` varies)
//! ```text
//! {"connections":[{"close_result":"ok","error":null,"received":1,"url":"ws://127.0.0.1:9001/a"},
//! {"close_result":"ok","error":null,"received":1,"url":"ws://127.0.0.1:9002/b"}],
//! "count_reached":true,"deadline_hit":false,"elapsed_ms":23,
//! "events":[{"conn":0,"data":"hello 0","type":"text"},{"conn":1,"data":"hello 1","type":"text"}]}
//! ```
//! (on one line). With `count=4` the two messages never make the count and
//! the answer comes at the deadline, 5 s, with `"deadline_hit":true`.
//!
//! Query parameters: `url` (repeatable, at least one), `copies` (how many
//! connections to open to each url, default 1, at most 1000), `count` (data
//! messages to collect; default: no limit), `deadline_ms` (default 5000),
//! `msg` (the greeting each connection sends, default `hello`; connection i
//! sends `"<msg> <i>"`).
//!
//! The answer is `200 application/json`: `{"connections": [{"url", "error",
//! "received", "close_result"}], "events": [{"conn", "type", ...}],
//! "count_reached", "deadline_hit", "elapsed_ms"}`, where an event is a data
//! message (`"type": "text" | "binary"`, `"data"`), the peer's close
//! (`"type": "close"`, `"code"`, `"reason"`) or an error (`"type": "error"`,
//! `"error"`). A bad query is `400` with a text body.

use std::time::Duration;

use futures_concurrency::future::Join;
use futures_concurrency::stream::Merge;
use futures_lite::StreamExt;
use serde_json::{Value, json};
use wasm_websocket::{
    ClientRequest, CloseCode, CloseFrame, Error, Message, WebSocket, WebSocketSender,
};
use wstd::future::FutureExt as _;
use wstd::http::{Body, Request, Response, StatusCode};
use wstd::time::Instant;

/// How long each connection waits for the peer's answer to our close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

#[wstd::http_server]
async fn main(request: Request<Body>) -> wstd::http::Result<Response<Body>> {
    let query = request.uri().query().unwrap_or_default();
    match Params::parse(query) {
        Ok(params) => Ok(run(params).await),
        Err(problem) => Ok(respond(StatusCode::BAD_REQUEST, "text/plain", problem)),
    }
}

/// The most connections `copies` opens to one url.
const MAX_COPIES: usize = 1000;

/// What the query asks for.
struct Params {
    urls: Vec<String>,
    count: Option<usize>,
    deadline: Duration,
    greeting: String,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut params = Params {
            urls: Vec::new(),
            count: None,
            deadline: Duration::from_millis(5000),
            greeting: "hello".to_owned(),
        };
        let mut copies = 1;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "url" => params.urls.push(value.into_owned()),
                "copies" => copies = number(&key, &value)?,
                "count" => params.count = Some(number(&key, &value)?),
                "deadline_ms" => params.deadline = millis(&key, &value)?,
                "msg" => params.greeting = value.into_owned(),
                _ => return Err(format!("unknown query parameter {key:?}")),
            }
        }
        if params.urls.is_empty() {
            return Err("missing query parameter url".to_owned());
        }
        if !(1..=MAX_COPIES).contains(&copies) {
            return Err(format!(
                "query parameter copies must be 1 to {MAX_COPIES}, got {copies}"
            ));
        }
        params.urls = params
            .urls
            .iter()
            .flat_map(|url| std::iter::repeat_n(url.clone(), copies))
            .collect();
        Ok(params)
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("query parameter {key} must be a number, got {value:?}"))
}

/// The longest time a query may ask for: a day.
const MAX_MILLIS: u64 = 24 * 60 * 60 * 1000;

/// A number of milliseconds, at most [`MAX_MILLIS`].
fn millis(key: &str, value: &str) -> Result<Duration, String> {
    match number(key, value)? {
        ms if ms <= MAX_MILLIS => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "query parameter {key} must be at most {MAX_MILLIS} (a day), got {value}"
        )),
    }
}

async fn run(params: Params) -> Response<Body> {
    let started = Instant::now();

    // Open every connection at once.
    let results = params
        .urls
        .iter()
        .map(|url| open(ClientRequest::new(url).close_timeout(CLOSE_TIMEOUT)))
        .collect::<Vec<_>>()
        .join()
        .await;
    let mut connections: Vec<Value> = params
        .urls
        .iter()
        .zip(&results)
        .map(|(url, result)| {
            let error = result.as_ref().err().map(Error::to_string);
            json!({ "url": url, "error": error, "received": 0, "close_result": null })
        })
        .collect();

    // Each socket splits into a sender, used by the greeting task, and a
    // receiver, merged here with the others into one stream of
    // (connection index, message).
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for (index, result) in results.into_iter().enumerate() {
        if let Ok(ws) = result {
            let (sender, receiver) = ws.split();
            senders.push((index, sender));
            receivers.push(receiver.map(move |item| (index, item)));
        }
    }
    let greeting = params.greeting;
    let greeter = wstd::runtime::spawn(async move {
        for (index, sender) in &mut senders {
            // A failed send shows up on the receiving side as well.
            let _ = sender
                .send(Message::text(format!("{greeting} {index}")))
                .await;
        }
        senders
    });

    let mut events = Vec::new();
    let mut received = vec![0; connections.len()];
    let mut merged = receivers.merge();
    let collect = async {
        while let Some((index, item)) = merged.next().await {
            events.push(match item {
                Ok(Message::Text(text)) => {
                    received[index] += 1;
                    json!({ "conn": index, "type": "text", "data": text })
                }
                Ok(Message::Binary(bytes)) => {
                    received[index] += 1;
                    json!({ "conn": index, "type": "binary", "len": bytes.len() })
                }
                Ok(Message::Close(frame)) => {
                    let frame = frame.unwrap_or_else(|| CloseFrame::new(CloseCode::Status, ""));
                    let code = u16::from(frame.code);
                    json!({ "conn": index, "type": "close", "code": code, "reason": frame.reason })
                }
                Ok(_) => continue,
                Err(err) => json!({ "conn": index, "type": "error", "error": err.to_string() }),
            });
            if params
                .count
                .is_some_and(|count| received.iter().sum::<usize>() >= count)
            {
                break;
            }
        }
    };
    let deadline = wstd::time::Duration::from(params.deadline);
    let deadline_hit = collect.timeout(deadline).await.is_err();
    drop(merged);
    let total: usize = received.iter().sum();

    // Close every connection at once; closing one whose peer closed first is
    // simply done.
    let mut senders = greeter.await;
    let closes = senders
        .iter_mut()
        .map(|(_, sender)| close(sender))
        .collect::<Vec<_>>()
        .join()
        .await;
    for ((index, _), result) in senders.iter().zip(closes) {
        connections[*index]["close_result"] = json!(result);
    }
    for (connection, received) in connections.iter_mut().zip(received) {
        connection["received"] = json!(received);
    }

    let body = json!({
        "connections": connections,
        "events": events,
        "count_reached": params.count.is_some_and(|count| total >= count),
        "deadline_hit": deadline_hit,
        "elapsed_ms": started.elapsed().as_millis(),
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

async fn close(sender: &mut WebSocketSender) -> String {
    match sender
        .close(Some(CloseFrame::new(CloseCode::Normal, "fanin done")))
        .await
    {
        Ok(()) => "ok".to_owned(),
        Err(Error::Timeout) => "timeout".to_owned(),
        Err(err) => err.to_string(),
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("a response from a valid status and header")
}

/// Opens a connection through the host's `golem:websocket` (the polyfill
/// composed into the app), or, built with the feature `sockets`, directly
/// over `wasi:sockets` (`WebSocket::connect_direct`): that build imports
/// no `golem:websocket` and runs without the polyfill.
#[cfg(not(feature = "sockets"))]
async fn open(request: ClientRequest) -> Result<WebSocket, Error> {
    WebSocket::connect_with(request).await
}

/// `open` of the direct build (feature `sockets`): see the one above.
#[cfg(feature = "sockets")]
async fn open(request: ClientRequest) -> Result<WebSocket, Error> {
    WebSocket::connect_direct(request).await
}
