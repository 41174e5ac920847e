//! `echo`: a `wasi:http` handler that opens a WebSocket, sends messages,
//! collects the replies, closes, and answers with JSON of everything it saw.
//!
//! Build it, compose it with the polyfill and serve it:
//! ```text
//! scripts/build-components.sh
//! .venv/bin/python scripts/echo_server.py --port 9001 &
//! wasmtime serve -Scli -Sinherit-network --addr 127.0.0.1:8080 target/composed/echo.wasm &
//! curl 'http://127.0.0.1:8080/?url=ws://127.0.0.1:9001/&msg=hi&count=2'
//! curl 'http://127.0.0.1:8080/?url=ws://127.0.0.1:9001/&msg=hi&count=2&via=sink'
//! ```
//!
//! Query parameters: `url` (required), `msg` (default `hello`), `count`
//! (messages to send, default 1), `binary=1` (send the bytes of `msg` as a
//! binary message), `size=N` (instead of `msg`: N bytes, byte i is `i % 251`,
//! or for text the letters `a`..`z` repeating), `expect` (replies to collect,
//! default `count`), `timeout_ms` (per reply, default 5000), `header=Name:Value`
//! and `protocol=p` (both repeatable), `close_code` and `close_reason`
//! (default 1000 and ""), `close=0` (drop the socket instead of closing),
//! `via=api|sink|try` and `send_after_close=1` (below), `reunite=1` (below),
//! `ping=payload` (send a
//! ping with these bytes first; `ping` in the answer is `"ok"` or the error's
//! variant name, e.g. `"Unsupported"` on a `golem:websocket` connection),
//! `pongs=1` (receive the peer's pongs: `ClientRequest::pongs`; a pong is
//! reported among the replies as `{"type": "pong", ...}`), `keepalive=I,T`
//! (`ClientRequest::keepalive` with an interval of I ms and a timeout of T
//! ms; a `golem:websocket` connection refuses it at connect), `pause_ms=N`
//! (after sending, wait N ms on a timer before receiving: what the sends
//! queued must go out meanwhile).
//!
//! Built with the feature `sockets` (`target/direct/echo.wasm`), it connects
//! with `WebSocket::connect_direct`: it runs the protocol engine itself over
//! wasi:sockets, imports no `golem:websocket`, and is served as is, without
//! the polyfill.
//!
//! `via=api` (the default) uses the inherent methods: `send`, `recv_timeout`,
//! `close(Some(frame))`, then `recv` to drain what arrived while closing.
//! `via=sink` uses the `futures` traits of the same, unsplit `WebSocket`
//! instead: the messages go through its `Sink` (`SinkExt::feed` for each, then
//! `SinkExt::flush`), the replies come from its `Stream` (`StreamExt::next`
//! under the per-reply timeout), the close is `SinkExt::close` (`Sink::poll_close`
//! sends close 1000 with no reason and waits for the peer's close), and what
//! arrived meanwhile is drained from the `Stream` until it ends. `close_code`
//! and `close_reason` do not apply to `via=sink` (the query is refused).
//! `via=try` is `via=api` with every message sent by `try_send`: a message
//! it gives back (`Error::WriteBufferFull`) is counted in `would_block`, the app
//! waits for room (`SinkExt::flush`) and tries the same message again; with
//! `until_full=1` it stops sending there instead (`sent` counts what was
//! taken) and goes on to receive and close.
//!
//! `reunite=1`: right after the connect, opens a second WebSocket to the
//! same URL, splits both, checks that `reunite` refuses the crossed halves
//! (and gives them back) and puts each pair together again; the rest runs on
//! the reunited socket. `reunite` in the answer is `"ok"` or what went wrong.
//!
//! `send_after_close=1`: once the socket was closed (or, with `close=0`, once
//! the replies were collected, before the drop), send the message once more,
//! the same way (`via`), and report the outcome in `after_close`: `"ok"`, or
//! the error's variant name, e.g. `"AlreadyClosed"` after a close.
//!
//! The answer is `200 application/json`:
//! `{"sent", "received": [{"type", "len", "data", "echo_exact"}], "close",
//! "close_result", "error", "error_kind", "after_close", "ping", "protocol",
//! "handshake_headers", "would_block", "reunite"}` (`after_close` is `null`
//! without `send_after_close=1`, `reunite` without `reunite=1`,
//! `ping` without `ping`; `protocol` is `WebSocket::protocol`,
//! `handshake_headers` the `[name, value]` pairs of
//! `WebSocket::handshake_headers`, or `null` where it is unsupported). A bad
//! query is `400` with a text body, a failed connect `502` with `{"error",
//! "error_kind"}`.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use wasm_websocket::{ClientRequest, CloseFrame, Error, Message, ReuniteError, WebSocket};
use wstd::future::FutureExt as _;
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
    via: Via,
    send_after_close: bool,
    /// A ping to send first.
    ping: Option<Vec<u8>>,
    /// Split and reunite first (with a second socket's halves crossed).
    reunite: bool,
    /// How long to wait between sending and receiving.
    pause: Duration,
    /// With `Via::Try`: stop sending at the first message given back.
    until_full: bool,
}

/// Which API the app talks through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `send`, `recv_timeout`, `close`, `recv`.
    Api,
    /// `Sink` (`feed`, `flush`, `close`) and `Stream` (`next`).
    Sink,
    /// As `Api`, but each message sent by `try_send`.
    Try,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut url = None;
        let mut msg = "hello".to_owned();
        let mut binary = false;
        let mut size = None;
        let mut count = 1;
        let mut expect = None;
        let mut timeout = Duration::from_millis(5000);
        let mut headers = Vec::new();
        let mut protocols = Vec::new();
        let mut close_code = None;
        let mut close_reason = None;
        let mut close = true;
        let mut via = Via::Api;
        let mut send_after_close = false;
        let mut ping = None;
        let mut pongs = false;
        let mut keepalive = None;
        let mut reunite = false;
        let mut pause = Duration::ZERO;
        let mut until_full = false;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "url" => url = Some(value.into_owned()),
                "msg" => msg = value.into_owned(),
                "binary" => binary = flag(&key, &value)?,
                "size" => size = Some(number(&key, &value)?),
                "count" => count = number(&key, &value)?,
                "expect" => expect = Some(number(&key, &value)?),
                "timeout_ms" => timeout = millis(&key, &value)?,
                "pause_ms" => pause = millis(&key, &value)?,
                "until_full" => until_full = flag(&key, &value)?,
                "header" => {
                    let (name, value) = value
                        .split_once(':')
                        .ok_or_else(|| format!("header must be Name:Value, got {value:?}"))?;
                    headers.push((name.to_owned(), value.trim_start().to_owned()));
                }
                "protocol" => protocols.push(value.into_owned()),
                "close_code" => close_code = Some(number(&key, &value)?),
                "close_reason" => close_reason = Some(value.into_owned()),
                "close" => close = flag(&key, &value)?,
                "via" => {
                    via = match &*value {
                        "api" => Via::Api,
                        "sink" => Via::Sink,
                        "try" => Via::Try,
                        _ => return Err(format!("via must be api, sink or try, got {value:?}")),
                    }
                }
                "send_after_close" => send_after_close = flag(&key, &value)?,
                "ping" => ping = Some(value.as_bytes().to_vec()),
                "reunite" => reunite = flag(&key, &value)?,
                "pongs" => pongs = flag(&key, &value)?,
                "keepalive" => {
                    let (interval, timeout) = value
                        .split_once(',')
                        .ok_or_else(|| format!("keepalive must be I,T in ms, got {value:?}"))?;
                    keepalive = Some((millis(&key, interval)?, millis(&key, timeout)?));
                }
                _ => return Err(format!("unknown query parameter {key:?}")),
            }
        }
        let url = url.ok_or("missing query parameter url")?;
        if via == Via::Sink && (close_code.is_some() || close_reason.is_some()) {
            return Err(
                "close_code and close_reason do not apply to via=sink: the Sink closes with 1000"
                    .to_owned(),
            );
        }
        let mut request = ClientRequest::new(url).pongs(pongs);
        if let Some((interval, timeout)) = keepalive {
            request = request.keepalive(interval, timeout);
        }
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
            timeout,
            close: close.then(|| {
                CloseFrame::new(close_code.unwrap_or(1000), close_reason.unwrap_or_default())
            }),
            via,
            send_after_close,
            ping,
            reunite,
            pause,
            until_full,
        })
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
    let mut ws = match open(params.request).await {
        Ok(ws) => ws,
        Err(err) => {
            let body = json!({ "error": err.to_string(), "error_kind": err.kind().to_string() });
            return respond(
                StatusCode::BAD_GATEWAY,
                "application/json",
                body.to_string(),
            );
        }
    };
    let via = params.via;
    let reunite = if params.reunite {
        match split_and_reunite(ws).await {
            Ok(reunited) => {
                ws = reunited;
                Some("ok".to_owned())
            }
            Err(problem) => {
                // The socket is gone with its halves: report only this.
                let body = json!({
                    "sent": 0,
                    "received": [],
                    "close": null,
                    "close_result": null,
                    "error": problem,
                    "error_kind": null,
                    "after_close": null,
                    "reunite": problem,
                });
                return respond(StatusCode::OK, "application/json", body.to_string());
            }
        }
    } else {
        None
    };
    let protocol = ws.protocol().map(str::to_owned);
    let handshake_headers = ws.handshake_headers().map(<[_]>::to_vec);
    let ping = match params.ping {
        Some(payload) => Some(match ws.ping(payload).await {
            Ok(()) => "ok".to_owned(),
            Err(err) => err.kind().to_string(),
        }),
        None => None,
    };

    let mut sent = 0;
    let mut would_block = 0;
    let mut error = None;
    for _ in 0..params.count {
        let result = match via {
            Via::Api => ws.send(params.message.clone()).await,
            Via::Try if params.until_full => match ws.try_send(params.message.clone()) {
                Err(Error::WriteBufferFull(_)) => {
                    would_block += 1;
                    break;
                }
                other => other,
            },
            Via::Try => try_send(&mut ws, params.message.clone(), &mut would_block).await,
            Via::Sink => SinkExt::feed(&mut ws, params.message.clone()).await,
        };
        match result {
            Ok(()) => sent += 1,
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }
    if via == Via::Sink
        && error.is_none()
        && let Err(err) = SinkExt::flush(&mut ws).await
    {
        error = Some(err);
    }

    if !params.pause.is_zero() {
        wstd::task::sleep(params.pause.into()).await;
    }

    let mut received = Vec::new();
    // The peer's close frame: `Some(None)` for a close without a code.
    let mut peer_close = None;
    while error.is_none() && peer_close.is_none() && received.len() < params.expect {
        let next = match via {
            Via::Api | Via::Try => ws.recv_timeout(params.timeout).await,
            Via::Sink => next_within(&mut ws, params.timeout).await,
        };
        match next {
            Ok(Message::Close(frame)) => peer_close = Some(frame),
            Ok(reply) => received.push(describe(&reply, &params.message)),
            Err(err) => error = Some(err),
        }
    }

    let close_result = match params.close {
        Some(frame) => {
            let result = match via {
                Via::Api | Via::Try => ws.close(Some(frame)).await,
                // `Sink::poll_close`: close 1000, then wait for the peer's.
                Via::Sink => SinkExt::close(&mut ws).await,
            };
            if result.is_ok() {
                // The connection is released now; what arrived while closing
                // is still queued, the peer's close among it.
                loop {
                    let item = match via {
                        // `recv` fails once the queue is empty.
                        Via::Api | Via::Try => ws.recv().await.ok().map(Ok),
                        // The stream ends after the queued items.
                        Via::Sink => StreamExt::next(&mut ws).await,
                    };
                    match item {
                        Some(Ok(Message::Close(frame))) => peer_close = Some(frame),
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            json!(match result {
                Ok(()) => "ok".to_owned(),
                Err(Error::Timeout) => "timeout".to_owned(),
                Err(err) => err.to_string(),
            })
        }
        None => Value::Null,
    };

    let after_close = if params.send_after_close {
        let result = match via {
            Via::Api => ws.send(params.message.clone()).await,
            Via::Try => ws.try_send(params.message.clone()),
            Via::Sink => SinkExt::send(&mut ws, params.message.clone()).await,
        };
        Some(match result {
            Ok(()) => "ok".to_owned(),
            Err(err) => err.kind().to_string(),
        })
    } else {
        None
    };
    // Without a close, this sends close 1000 (best effort).
    drop(ws);

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
        "error_kind": error.as_ref().map(|e| e.kind().as_str()),
        "after_close": after_close,
        "ping": ping,
        "protocol": protocol,
        "handshake_headers": handshake_headers,
        "would_block": would_block,
        "reunite": reunite,
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

/// Sends `message` with `try_send`; while it comes back (`WriteBufferFull`),
/// counts that, waits for room (`SinkExt::flush`) and tries again.
async fn try_send(
    ws: &mut WebSocket,
    mut message: Message,
    would_block: &mut u32,
) -> Result<(), Error> {
    loop {
        match ws.try_send(message) {
            Err(Error::WriteBufferFull(back)) => {
                *would_block += 1;
                message = back;
                SinkExt::flush(ws).await?;
            }
            other => return other,
        }
    }
}

/// Opens a second WebSocket to `ws`'s URL (with [`open`], so that the
/// direct build stays without `golem:websocket`), splits both, and checks
/// that `reunite` refuses crossed halves, giving them back, and takes
/// matching ones. Returns `ws` reunited, or what went wrong.
async fn split_and_reunite(ws: WebSocket) -> Result<WebSocket, String> {
    let other = open(ClientRequest::new(ws.url()))
        .await
        .map_err(|e| format!("second connect: {e}"))?;
    let (sender, receiver) = ws.split();
    let (other_sender, other_receiver) = other.split();
    let ReuniteError(sender, other_receiver) = match sender.reunite(other_receiver) {
        Ok(_) => return Err("reunited the halves of two WebSockets".to_owned()),
        Err(err) => err,
    };
    let other = other_receiver
        .reunite(other_sender)
        .map_err(|e| format!("the second socket's halves: {e}"))?;
    drop(other);
    sender
        .reunite(receiver)
        .map_err(|e| format!("the first socket's halves: {e}"))
}

/// The next item of the socket's `Stream`, waiting at most `timeout`:
/// `Error::Timeout` on expiry.
async fn next_within(ws: &mut WebSocket, timeout: Duration) -> Result<Message, Error> {
    let timeout = wstd::time::Duration::from(timeout);
    match StreamExt::next(ws).timeout(timeout).await {
        Ok(Some(item)) => item,
        // The stream ends only after a close or an error, which end the loop.
        Ok(None) => Err(Error::Other("the stream ended early".to_owned())),
        Err(_) => Err(Error::Timeout),
    }
}

/// One reply as JSON: its type, length, data (text, or lowercase hex for
/// binary; left out when long) and whether it equals what was sent.
fn describe(reply: &Message, sent: &Message) -> Value {
    let kind = match reply {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Pong(_) => "pong",
        _ => "other",
    };
    let mut value = json!({ "type": kind, "len": reply.len(), "echo_exact": reply == sent });
    if reply.len() <= MAX_DATA_IN_REPORT {
        value["data"] = json!(match reply {
            Message::Text(text) => text.clone(),
            Message::Binary(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Message::Pong(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        });
    }
    value
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
