//! `echo`: a `wasi:http` handler that opens a WebSocket, sends messages,
//! collects the replies, closes, and answers with JSON of everything it saw.
//!
//! Build it, compose it with the polyfill and serve it:
//! ```text
//! scripts/build-components.sh
//! wasmtime serve -Scli -Sinherit-network target/composed/echo.wasm
//! curl 'http://127.0.0.1:8080/?url=ws://127.0.0.1:9001/&msg=hi&count=2'
//! ```
//!
//! Query parameters: `url` (required), `msg` (default `hello`), `count`
//! (messages to send, default 1), `binary=1` (send the bytes of `msg` as a
//! binary message), `size=N` (instead of `msg`: N bytes, byte i is `i % 251`,
//! or for text the letters `a`..`z` repeating), `expect` (replies to collect,
//! default `count`), `timeout_ms` (per reply, default 5000), `header=Name:Value`
//! and `protocol=p` (both repeatable), `close_code` and `close_reason`
//! (default 1000 and ""), `close=0` (drop the socket instead of closing).
//!
//! The answer is `200 application/json`:
//! `{"sent", "received": [{"type", "len", "data", "echo_exact"}], "close",
//! "close_result", "error", "error_kind"}`. A bad query is `400` with a text
//! body, a failed connect `502` with `{"error", "error_kind"}`.

use std::time::Duration;

use serde_json::{Value, json};
use wasm_websocket::{ClientRequest, CloseFrame, Error, Message, WebSocket};
use wstd::http::{Body, Request, Response, StatusCode};

/// Replies longer than this are reported without their data.
const MAX_DATA_IN_REPORT: usize = 4096;

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
    message: Message,
    count: usize,
    expect: usize,
    timeout: Duration,
    /// The close to send at the end; `None` drops the socket instead.
    close: Option<CloseFrame>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut url = None;
        let mut msg = "hello".to_owned();
        let mut binary = false;
        let mut size = None;
        let mut count = 1;
        let mut expect = None;
        let mut timeout_ms = 5000;
        let mut headers = Vec::new();
        let mut protocols = Vec::new();
        let mut close_code = 1000;
        let mut close_reason = String::new();
        let mut close = true;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "url" => url = Some(value.into_owned()),
                "msg" => msg = value.into_owned(),
                "binary" => binary = flag(&key, &value)?,
                "size" => size = Some(number(&key, &value)?),
                "count" => count = number(&key, &value)?,
                "expect" => expect = Some(number(&key, &value)?),
                "timeout_ms" => timeout_ms = number(&key, &value)?,
                "header" => {
                    let (name, value) = value
                        .split_once(':')
                        .ok_or_else(|| format!("header must be Name:Value, got {value:?}"))?;
                    headers.push((name.to_owned(), value.trim_start().to_owned()));
                }
                "protocol" => protocols.push(value.into_owned()),
                "close_code" => close_code = number(&key, &value)?,
                "close_reason" => close_reason = value.into_owned(),
                "close" => close = flag(&key, &value)?,
                _ => return Err(format!("unknown query parameter {key:?}")),
            }
        }
        let url = url.ok_or("missing query parameter url")?;
        let mut request = ClientRequest::new(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for protocol in protocols {
            request = request.subprotocol(protocol);
        }
        let message = match (size, binary) {
            (Some(size), true) => {
                Message::binary((0..size).map(|i| (i % 251) as u8).collect::<Vec<_>>())
            }
            (Some(size), false) => Message::text(
                (0..size)
                    .map(|i| char::from(b'a' + (i % 26) as u8))
                    .collect::<String>(),
            ),
            (None, true) => Message::binary(msg.into_bytes()),
            (None, false) => Message::text(msg),
        };
        Ok(Params {
            request,
            message,
            count,
            expect: expect.unwrap_or(count),
            timeout: Duration::from_millis(timeout_ms),
            close: close.then(|| CloseFrame::new(close_code, close_reason)),
        })
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("query parameter {key} must be a number, got {value:?}"))
}

fn flag(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(format!(
            "query parameter {key} must be 0 or 1, got {value:?}"
        )),
    }
}

/// Connects, sends, collects, closes, and reports.
async fn run(params: Params) -> Response<Body> {
    let mut ws = match WebSocket::connect_with(params.request).await {
        Ok(ws) => ws,
        Err(err) => {
            let body = json!({ "error": err.to_string(), "error_kind": error_kind(&err) });
            return respond(
                StatusCode::BAD_GATEWAY,
                "application/json",
                body.to_string(),
            );
        }
    };

    let mut sent = 0;
    let mut error = None;
    for _ in 0..params.count {
        match ws.send(params.message.clone()).await {
            Ok(()) => sent += 1,
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }

    let mut received = Vec::new();
    // The peer's close frame: `Some(None)` for a close without a code.
    let mut peer_close = None;
    while error.is_none() && peer_close.is_none() && received.len() < params.expect {
        match ws.recv_timeout(params.timeout).await {
            Ok(Message::Close(frame)) => peer_close = Some(frame),
            Ok(reply) => received.push(describe(&reply, &params.message)),
            Err(err) => error = Some(err),
        }
    }

    let close_result = match params.close {
        Some(frame) => {
            let result = ws.close(Some(frame)).await;
            if result.is_ok() {
                // The connection is released now; what arrived while closing
                // is still queued, the peer's close among it.
                while let Ok(message) = ws.recv().await {
                    if let Message::Close(frame) = message {
                        peer_close = Some(frame);
                    }
                }
            }
            json!(match result {
                Ok(()) => "ok".to_owned(),
                Err(Error::Timeout) => "timeout".to_owned(),
                Err(err) => err.to_string(),
            })
        }
        None => {
            drop(ws);
            Value::Null
        }
    };

    let close = match peer_close {
        Some(Some(frame)) => json!({ "code": u16::from(frame.code), "reason": frame.reason }),
        // A close frame without a status code reads as 1005 (no status received).
        Some(None) => json!({ "code": 1005, "reason": "" }),
        None => Value::Null,
    };
    let body = json!({
        "sent": sent,
        "received": received,
        "close": close,
        "close_result": close_result,
        "error": error.as_ref().map(Error::to_string),
        "error_kind": error.as_ref().map(error_kind),
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

/// One reply as JSON: its type, length, data (text, or lowercase hex for
/// binary; left out when long) and whether it equals what was sent.
fn describe(reply: &Message, sent: &Message) -> Value {
    let kind = match reply {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        _ => "other",
    };
    let mut value = json!({ "type": kind, "len": reply.len(), "echo_exact": reply == sent });
    if reply.len() <= MAX_DATA_IN_REPORT {
        value["data"] = json!(match reply {
            Message::Text(text) => text.clone(),
            Message::Binary(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            _ => String::new(),
        });
    }
    value
}

/// The name of the error's variant, e.g. `Closed` for `Error::Closed(None)`.
fn error_kind(err: &Error) -> String {
    let debug = format!("{err:?}");
    debug.split('(').next().unwrap_or_default().to_owned()
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("a response from a valid status and header")
}
