//! `feed`: a `wasi:http` handler that keeps a subscription alive with
//! [`ReconnectingWebSocket`] until the feed says `bye`, a count of messages
//! arrived, or a deadline passed, and answers with its log of events.
//!
//! Build it, compose it with the polyfill and serve it, next to a feed server
//! that you restart meanwhile (`scripts/feed-demo.sh` does all of it and
//! restarts the server twice):
//! ```text
//! scripts/build-components.sh
//! .venv/bin/python scripts/feed_server.py --port 9001 &
//! wasmtime serve -Scli -Sinherit-network --addr 127.0.0.1:8080 target/composed/feed.wasm &
//! curl 'http://127.0.0.1:8080/?url=ws://127.0.0.1:9001/&subscribe=subscribe:btc&delays=250,500,1000&count=12'
//! ```
//!
//! Built with the feature `sockets` (`target/direct/feed.wasm`), it
//! reconnects with `ReconnectingWebSocket::with_connect` and
//! `WebSocket::connect_direct`: it imports no `golem:websocket` and is served
//! as is, without the polyfill.
//!
//! Query parameters: `url` (required), `protocol=p` (repeatable: offered
//! subprotocols), `subscribe=text` (repeatable: sent after every connect,
//! `ReconnectConfig::on_connect`), `delays=ms,ms,..` (default `1000`),
//! `max_attempts=N`, `jitter=f`, `count=N` (close after N messages; default:
//! no limit), `close_on=text` (close when a text message equals it),
//! `close_after_disconnects=N` (close right after the N-th `disconnected`
//! event, while waiting to reconnect), `deadline_ms` (close then; default
//! 30000), `linger_ms` (after the close, wait this long and ask for one more
//! event, to show that none comes; default 0).
//!
//! On every event the app also reads `state()` and `protocol()`, and on every
//! `disconnected` and `connect_failed` event it tries one `send` and logs the
//! error, to show that nothing is sent while disconnected.
//!
//! The answer is `200 application/json`: `{"events": [...], "end": {"by",
//! "error", "error_kind", "close_result"}, "after_close", "elapsed_ms"}`.
//! Each event has `t_ms` (since the request came in), `event` (`connected`,
//! `message`, `disconnected`, `connect_failed`), `state` and `protocol` (read
//! right after the event), and by kind `attempt`, `agreed_protocol`, `data`,
//! `close` (`{"code", "reason"}`), `error`, `error_kind`, `retry_in_ms`,
//! `send` (the probe's error kind). `end.by` is `close_on`, `count`,
//! `disconnects`, `deadline` (the app closed), or `error` (the client gave
//! up: `error` and `error_kind` say why). `after_close` is what one more
//! `recv` gave after `linger_ms` (`AlreadyClosed`), with the state then. A bad
//! query is `400` with a text body.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasm_websocket::{
    ClientRequest, CloseCode, CloseFrame, Error, Event, Message, ReconnectConfig,
    ReconnectingWebSocket,
};
use wstd::future::FutureExt as _;
use wstd::http::{Body, Request, Response, StatusCode};

#[wstd::http_server]
async fn main(request: Request<Body>) -> wstd::http::Result<Response<Body>> {
    let query = request.uri().query().unwrap_or_default();
    match Params::parse(query) {
        Ok(params) => Ok(run(params).await),
        Err(problem) => Ok(respond(StatusCode::BAD_REQUEST, "text/plain", problem)),
    }
}

/// What the query asks for.
struct Params {
    request: ClientRequest,
    config: ReconnectConfig,
    count: Option<usize>,
    close_on: Option<String>,
    close_after_disconnects: Option<usize>,
    deadline: Duration,
    linger: Duration,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut url = None;
        let mut protocols = Vec::new();
        let mut config = ReconnectConfig::default();
        let mut count = None;
        let mut close_on = None;
        let mut close_after_disconnects = None;
        let mut deadline_ms = 30_000;
        let mut linger_ms = 0;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "url" => url = Some(value.into_owned()),
                "protocol" => protocols.push(value.into_owned()),
                "subscribe" => config = config.on_connect(Message::text(value.into_owned())),
                "delays" => {
                    let delays = value
                        .split(',')
                        .map(|ms| number(&key, ms).map(Duration::from_millis))
                        .collect::<Result<Vec<_>, _>>()?;
                    config = config.delays(delays);
                }
                "max_attempts" => config = config.max_attempts(number(&key, &value)?),
                "jitter" => config = config.jitter(number(&key, &value)?),
                "count" => count = Some(number(&key, &value)?),
                "close_on" => close_on = Some(value.into_owned()),
                "close_after_disconnects" => close_after_disconnects = Some(number(&key, &value)?),
                "deadline_ms" => deadline_ms = number(&key, &value)?,
                "linger_ms" => linger_ms = number(&key, &value)?,
                _ => return Err(format!("unknown query parameter {key:?}")),
            }
        }
        let mut request = ClientRequest::new(url.ok_or("missing query parameter url")?);
        for protocol in protocols {
            request = request.subprotocol(protocol);
        }
        Ok(Params {
            request,
            config,
            count,
            close_on,
            close_after_disconnects,
            deadline: Duration::from_millis(deadline_ms),
            linger: Duration::from_millis(linger_ms),
        })
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("query parameter {key} must be a number, got {value:?}"))
}

/// Follows the feed until a stop condition, then closes and reports.
async fn run(params: Params) -> Response<Body> {
    let started = Instant::now();
    let ms = |at: Instant| at.duration_since(started).as_millis() as u64;
    let mut feed = reconnecting(params.request, params.config);
    let mut events = Vec::new();
    let mut messages = 0;
    let mut disconnects = 0;
    let deadline = started + params.deadline;

    let stopped_by = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // `recv` is cancel-safe: the timeout loses nothing.
        let event = match feed.recv().timeout(wstd::time::Duration::from(left)).await {
            Err(_) => break "deadline",
            Ok(Err(err)) => {
                let end = json!({ "by": "error", "error": err.to_string(), "error_kind": err.kind().to_string() });
                return finish(feed, events, end, params.linger, started).await;
            }
            Ok(Ok(event)) => event,
        };
        let mut entry = json!({ "t_ms": ms(Instant::now()) });
        let mut stop = None;
        match event {
            Event::Connected { attempt, protocol } => {
                entry["event"] = json!("connected");
                entry["attempt"] = json!(attempt);
                entry["agreed_protocol"] = json!(protocol);
            }
            Event::Message(message) => {
                entry["event"] = json!("message");
                let text = match message {
                    Message::Text(text) => text,
                    Message::Binary(data) => format!("{} bytes", data.len()),
                    other => format!("{other:?}"),
                };
                messages += 1;
                if params.close_on.as_deref() == Some(text.as_str()) {
                    stop = Some("close_on");
                } else if params.count == Some(messages) {
                    stop = Some("count");
                }
                entry["data"] = json!(text);
            }
            Event::Disconnected {
                close,
                error,
                retry_in,
            } => {
                entry["event"] = json!("disconnected");
                entry["close"] = match close {
                    Some(frame) => json!({ "code": u16::from(frame.code), "reason": frame.reason }),
                    None => Value::Null,
                };
                entry["error"] = json!(error.as_ref().map(Error::to_string));
                entry["error_kind"] = json!(error.as_ref().map(|e| e.kind().as_str()));
                entry["retry_in_ms"] = json!(retry_in.as_millis() as u64);
                entry["send"] = json!(probe(&mut feed).await);
                disconnects += 1;
                if params.close_after_disconnects == Some(disconnects) {
                    stop = Some("disconnects");
                }
            }
            Event::ConnectFailed {
                attempt,
                error,
                retry_in,
            } => {
                entry["event"] = json!("connect_failed");
                entry["attempt"] = json!(attempt);
                entry["error"] = json!(error.to_string());
                entry["error_kind"] = json!(error.kind().to_string());
                entry["retry_in_ms"] = json!(retry_in.as_millis() as u64);
                entry["send"] = json!(probe(&mut feed).await);
            }
            other => entry["event"] = json!(format!("{other:?}")),
        }
        entry["state"] = json!(feed.state().to_string());
        entry["protocol"] = json!(feed.protocol());
        events.push(entry);
        if let Some(stop) = stop {
            break stop;
        }
    };

    let result = feed
        .close(Some(CloseFrame::new(CloseCode::Normal, "done")))
        .await;
    let end = json!({
        "by": stopped_by,
        "close_result": match result {
            Ok(()) => "ok".to_owned(),
            Err(err) => err.kind().to_string(),
        },
        "state": feed.state().to_string(),
    });
    finish(feed, events, end, params.linger, started).await
}

/// Waits `linger`, asks for one more event, and answers with the log.
async fn finish(
    mut feed: ReconnectingWebSocket,
    events: Vec<Value>,
    end: Value,
    linger: Duration,
    started: Instant,
) -> Response<Body> {
    wstd::task::sleep(wstd::time::Duration::from(linger)).await;
    let after = match feed.recv().await {
        Ok(event) => format!("{event:?}"),
        Err(err) => err.kind().to_string(),
    };
    let body = json!({
        "events": events,
        "end": end,
        "after_close": { "recv": after, "state": feed.state().to_string() },
        "elapsed_ms": started.elapsed().as_millis() as u64,
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

/// One send while disconnected: the error's variant name, or `ok`.
async fn probe(feed: &mut ReconnectingWebSocket) -> String {
    match feed.send(Message::text("probe")).await {
        Ok(()) => "ok".to_owned(),
        Err(err) => err.kind().to_string(),
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("a response from a valid status and header")
}

/// The reconnecting client, connecting through the host's `golem:websocket`
/// (the polyfill composed into the app), or, built with the feature
/// `sockets`, directly over `wasi:sockets` (`WebSocket::connect_direct`):
/// that build imports no `golem:websocket` and runs without the polyfill.
#[cfg(not(feature = "sockets"))]
fn reconnecting(request: ClientRequest, config: ReconnectConfig) -> ReconnectingWebSocket {
    ReconnectingWebSocket::new(request, config)
}

/// `reconnecting` of the direct build (feature `sockets`): see the one above.
#[cfg(feature = "sockets")]
fn reconnecting(request: ClientRequest, config: ReconnectConfig) -> ReconnectingWebSocket {
    ReconnectingWebSocket::with_connect(request, config, wasm_websocket::WebSocket::connect_direct)
}
