//! `wasmcloud-draft`: a `wasi:http` handler written the way the wasmCloud
//! draft interface (`wasmcloud:websocket@0.1.1-draft`, vendored in
//! `wit/deps/wasmcloud-websocket/`) is meant to be used: plain wit-bindgen
//! bindings of the draft, not this project's crate. It connects with a
//! `client-config`, sends, polls the non-blocking `receive` until the
//! replies are in, closes, and answers with JSON of everything it saw.
//!
//! No host implements the draft; the polyfill component exports it. Compose
//! and serve:
//! ```text
//! scripts/build-components.sh wasmcloud-draft
//! .venv/bin/python scripts/echo_server.py --port 9001 &
//! wasmtime serve -Scli -Sinherit-network --addr 127.0.0.1:8080 target/composed/wasmcloud-draft.wasm &
//! curl 'http://127.0.0.1:8080/?url=ws://127.0.0.1:9001/&msg=hi&count=2'
//! ```
//!
//! Query parameters: `url` (required), `msg` (default `hello`), `count`
//! (messages to send, default 1), `binary=1`, `size=N` (instead of `msg`:
//! N bytes, byte i is `i % 251`, or for text `a`..`z` repeating), `ping=P`
//! (send `ping(P)` first: its pong arrives as a message), `expect` (messages
//! to collect, default `count`, plus one for a ping), `wait_ms` (how long to
//! poll for them, default 5000), and the `client-config` fields:
//! `protocol=p` and `header=Name:Value` (repeatable), `timeout_ms`,
//! `max_message_size`, `keepalive=1`, `keepalive_interval_ms`. At the end
//! `close_code`/`close_reason` (default 1000, none) are sent with `close`,
//! or with `close=0` the connection is dropped; then the peer's `close`
//! message is awaited (within `wait_ms`) and `receive` called once more.
//!
//! The answer is `200 application/json`: `{"url", "subprotocol", "states",
//! "first_receive", "sent", "received": [{"type", "len", "data",
//! "echo_exact"}], "error", "close_result", "peer_close": {"code",
//! "reason"}, "after_close"}`: `states` is `get-state` after connect, after
//! the close call and at the end; `first_receive` what `receive` returned
//! right after connect; errors are the variant's name (`connection-closed`,
//! `timeout`...) with its text, if any, after a colon. A failed connect is
//! `502` with `{"error"}`, a bad query `400`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wstd::http::{Body, Request, Response, StatusCode};

wit_bindgen::generate!({
    inline: "
        package example:wasmcloud-draft;
        world app {
            import wasmcloud:websocket/client@0.1.1-draft;
        }
    ",
    path: "../../wit/deps/wasmcloud-websocket",
    world: "example:wasmcloud-draft/app",
    generate_all,
});

use wasmcloud::websocket::client::{ClientConfig, Connection, connect};
use wasmcloud::websocket::types::{ConnectionState, Message, WebsocketError, WebsocketHeaders};

/// Messages longer than this are reported without their data.
const MAX_DATA_IN_REPORT: usize = 4096;

/// The pause between two `receive` calls that found nothing: the draft has
/// no pollable, so a guest waits on a timer of its own.
const POLL_PAUSE: Duration = Duration::from_millis(5);

#[wstd::http_server]
async fn main(request: Request<Body>) -> wstd::http::Result<Response<Body>> {
    let query = request.uri().query().unwrap_or_default();
    Ok(match Params::parse(query) {
        Ok(params) => run(params).await,
        Err(problem) => respond(StatusCode::BAD_REQUEST, "text/plain", problem),
    })
}

/// What the query asks for.
struct Params {
    config: ClientConfig,
    message: Message,
    count: usize,
    ping: Option<Vec<u8>>,
    expect: usize,
    wait: Duration,
    close: bool,
    close_code: Option<u16>,
    close_reason: Option<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut config = ClientConfig {
            url: String::new(),
            subprotocols: None,
            headers: None,
            timeout_ms: None,
            max_message_size: None,
            enable_keepalive: None,
            keepalive_interval_ms: None,
        };
        let (mut msg, mut binary, mut size, mut count) = ("hello".to_owned(), false, None, 1);
        let (mut ping, mut expect, mut wait_ms) = (None, None, 5000);
        let (mut close, mut close_code, mut close_reason) = (true, None, None);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match &*key {
                "url" => config.url = value,
                "msg" => msg = value,
                "binary" => binary = value == "1",
                "size" => size = Some(number(&key, &value)?),
                "count" => count = number(&key, &value)?,
                "ping" => ping = Some(value.into_bytes()),
                "expect" => expect = Some(number(&key, &value)?),
                "wait_ms" => wait_ms = number(&key, &value)?,
                "protocol" => config.subprotocols.get_or_insert_with(Vec::new).push(value),
                "header" => {
                    let (name, value) = value
                        .split_once(':')
                        .ok_or_else(|| format!("header must be Name:Value, got {value:?}"))?;
                    config
                        .headers
                        .get_or_insert_with(Vec::new)
                        .push(WebsocketHeaders {
                            name: name.to_owned(),
                            value: value.trim_start().to_owned(),
                        });
                }
                "timeout_ms" => config.timeout_ms = Some(number(&key, &value)?),
                "max_message_size" => config.max_message_size = Some(number(&key, &value)?),
                "keepalive" => config.enable_keepalive = Some(value == "1"),
                "keepalive_interval_ms" => {
                    config.keepalive_interval_ms = Some(number(&key, &value)?)
                }
                "close" => close = value == "1",
                "close_code" => close_code = Some(number(&key, &value)?),
                "close_reason" => close_reason = Some(value),
                _ => return Err(format!("unknown query parameter {key:?}")),
            }
        }
        if config.url.is_empty() {
            return Err("missing query parameter url".to_owned());
        }
        let message = match (size, binary) {
            (Some(n), true) => Message::Binary((0..n).map(|i| (i % 251) as u8).collect()),
            (Some(n), false) => {
                Message::Text((0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect())
            }
            (None, true) => Message::Binary(msg.into_bytes()),
            (None, false) => Message::Text(msg),
        };
        Ok(Params {
            config,
            message,
            count,
            expect: expect.unwrap_or(count + usize::from(ping.is_some())),
            ping,
            wait: Duration::from_millis(wait_ms),
            close,
            close_code: close_code.or(close.then_some(1000)),
            close_reason,
        })
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("query parameter {key} must be a number, got {value:?}"))
}

/// Connects, sends, collects, closes, and reports.
async fn run(params: Params) -> Response<Body> {
    let conn = match connect(&params.config) {
        Ok(conn) => conn,
        Err(err) => {
            let body = json!({ "error": describe_error(&err) });
            return respond(
                StatusCode::BAD_GATEWAY,
                "application/json",
                body.to_string(),
            );
        }
    };
    let mut states = vec![state_name(conn.get_state())];
    let mut received = Vec::new();
    let mut peer_close = Value::Null;
    let mut error = None;
    // One look right away: usually nothing is there yet. What is there
    // counts like any later message.
    let first_receive = match conn.receive() {
        Ok(None) => json!("none"),
        Ok(Some(message)) => {
            let name = kind(&message);
            match &message {
                Message::Close(info) => peer_close = close_json(info),
                _ => received.push(report(&message, &params.message)),
            }
            json!(name)
        }
        Err(err) => {
            let text = describe_error(&err);
            error = Some(err);
            json!(text)
        }
    };

    let mut sent = 0;
    if let Some(payload) = &params.ping
        && error.is_none()
        && peer_close.is_null()
        && let Err(err) = conn.send(&Message::Ping(payload.clone()))
    {
        error = Some(err);
    }
    while error.is_none() && peer_close.is_null() && sent < params.count {
        match conn.send(&params.message) {
            Ok(()) => sent += 1,
            Err(err) => error = Some(err),
        }
    }

    let until = Instant::now() + params.wait;
    while error.is_none() && peer_close.is_null() && received.len() < params.expect {
        match next(&conn, until).await {
            Some(Ok(Message::Close(info))) => peer_close = close_json(&info),
            Some(Ok(message)) => received.push(report(&message, &params.message)),
            Some(Err(err)) => error = Some(err),
            None => break,
        }
    }

    let mut close_result = Value::Null;
    let mut after_close = Value::Null;
    if params.close {
        close_result = json!(
            match conn.close(params.close_code, params.close_reason.as_deref()) {
                Ok(()) => "ok".to_owned(),
                Err(err) => describe_error(&err),
            }
        );
        states.push(state_name(conn.get_state()));
        // The peer's answer arrives as a `close` message.
        let until = Instant::now() + params.wait;
        while peer_close.is_null() {
            match next(&conn, until).await {
                Some(Ok(Message::Close(info))) => peer_close = close_json(&info),
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    error.get_or_insert(err);
                    break;
                }
                None => break,
            }
        }
    }
    if !peer_close.is_null() || error.is_some() {
        after_close = json!(match conn.receive() {
            Ok(None) => "none".to_owned(),
            Ok(Some(message)) => kind(&message).to_owned(),
            Err(err) => describe_error(&err),
        });
    }
    states.push(state_name(conn.get_state()));

    let body = json!({
        "url": conn.get_url(),
        "subprotocol": conn.get_subprotocol(),
        "states": states,
        "first_receive": first_receive,
        "sent": sent,
        "received": received,
        "error": error.as_ref().map(describe_error),
        "close_result": close_result,
        "peer_close": peer_close,
        "after_close": after_close,
    });
    // Dropping the connection ends it (close 1001 if none was sent).
    drop(conn);
    respond(StatusCode::OK, "application/json", body.to_string())
}

/// Polls the non-blocking `receive` until a message or an error arrives,
/// pausing between empty answers; `None` once `until` passes.
async fn next(conn: &Connection, until: Instant) -> Option<Result<Message, WebsocketError>> {
    loop {
        match conn.receive() {
            Ok(Some(message)) => return Some(Ok(message)),
            Ok(None) if Instant::now() < until => {
                wstd::task::sleep(POLL_PAUSE.into()).await;
            }
            Ok(None) => return None,
            Err(err) => return Some(Err(err)),
        }
    }
}

fn kind(message: &Message) -> &'static str {
    match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
    }
}

/// One message as JSON: its type, length, data (text, lowercase hex for
/// binary, the payload of a ping or pong as text; left out when long) and
/// whether it equals what was sent.
fn report(message: &Message, sent: &Message) -> Value {
    let (len, data) = match message {
        Message::Text(text) => (text.len(), text.clone()),
        Message::Binary(bytes) => (
            bytes.len(),
            bytes.iter().map(|b| format!("{b:02x}")).collect(),
        ),
        Message::Ping(bytes) | Message::Pong(bytes) => {
            (bytes.len(), String::from_utf8_lossy(bytes).into_owned())
        }
        Message::Close(_) => (0, String::new()),
    };
    let echo_exact = match (message, sent) {
        (Message::Text(a), Message::Text(b)) => a == b,
        (Message::Binary(a), Message::Binary(b)) => a == b,
        _ => false,
    };
    let mut value = json!({ "type": kind(message), "len": len, "echo_exact": echo_exact });
    if len <= MAX_DATA_IN_REPORT {
        value["data"] = json!(data);
    }
    value
}

fn close_json(info: &wasmcloud::websocket::types::CloseInfo) -> Value {
    json!({ "code": info.code, "reason": info.reason })
}

fn state_name(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connecting => "connecting",
        ConnectionState::Open => "open",
        ConnectionState::Closing => "closing",
        ConnectionState::Closed => "closed",
    }
}

/// The error's variant as the WIT names it, and its text after a colon.
fn describe_error(err: &WebsocketError) -> String {
    let (name, text) = match err {
        WebsocketError::ConnectionFailed(t) => ("connection-failed", Some(t)),
        WebsocketError::InvalidUrl(t) => ("invalid-url", Some(t)),
        WebsocketError::ProtocolError(t) => ("protocol-error", Some(t)),
        WebsocketError::ConnectionClosed => ("connection-closed", None),
        WebsocketError::AuthenticationFailed(t) => ("authentication-failed", Some(t)),
        WebsocketError::Timeout => ("timeout", None),
        WebsocketError::InvalidMessage(t) => ("invalid-message", Some(t)),
        WebsocketError::IoError(t) => ("io-error", Some(t)),
    };
    match text {
        Some(text) => format!("{name}: {text}"),
        None => name.to_owned(),
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("a response from a valid status and header")
}
