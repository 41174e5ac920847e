//! `stall`: two WebSockets in one component. Connection B does back-to-back
//! round trips (a 16-byte message, then its echo) while something happens to
//! connection A; the answer says how long B's longest gap between two round
//! trips was. A component is single-threaded, so any wait inside a host call
//! or a `Drop` for A shows up as a gap of B.
//!
//! ```text
//! scripts/build-components.sh
//! .venv/bin/python scripts/echo_server.py --port 9001 &
//! wasmtime serve -Scli -Sinherit-network --addr 127.0.0.1:8080 target/composed/stall.wasm &
//! curl 'http://127.0.0.1:8080/?a=ws://127.0.0.1:9001/&b=ws://127.0.0.1:9001/&action=drop'
//! ```
//!
//! Query parameters: `a` and `b` (URLs; B's peer must echo), `action` (what
//! happens to A, `after_ms` after both connected, default 200): `drop` (the
//! app drops A, the default), `close` (the app calls `close(1000)` on A and
//! waits for the peer's answer, at most the close timeout) or `recv` (the app
//! receives on A until a message, the peer's close or an error arrives);
//! `run_ms` (how long B keeps going, default 1500). A bad query is `400`.
//!
//! The answer is `200 application/json`: `{"round_trips", "max_gap_ms",
//! "max_gap_at_ms", "a": {"action", "result", "took_ms"}, "b_error"}`, times
//! in (fractional) milliseconds since both connections were open. A failed
//! connect is `502` with `{"error"}`.

use std::cell::Cell;
use std::time::{Duration, Instant};

use futures_concurrency::future::Join;
use serde_json::json;
use wasm_websocket::{CloseCode, CloseFrame, Message, WebSocket};
use wstd::http::{Body, Request, Response, StatusCode};

#[wstd::http_server]
async fn main(request: Request<Body>) -> wstd::http::Result<Response<Body>> {
    let query = request.uri().query().unwrap_or_default();
    match Params::parse(query) {
        Ok(params) => Ok(run(params).await),
        Err(problem) => Ok(respond(StatusCode::BAD_REQUEST, problem)),
    }
}

#[derive(Clone, Copy)]
enum Action {
    Drop,
    Close,
    Recv,
}

struct Params {
    a: String,
    b: String,
    action: Action,
    after: Duration,
    run: Duration,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let mut a = None;
        let mut b = None;
        let mut action = Action::Drop;
        let mut after_ms = 200;
        let mut run_ms = 1500;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "a" => a = Some(value.into_owned()),
                "b" => b = Some(value.into_owned()),
                "action" => {
                    action = match &*value {
                        "drop" => Action::Drop,
                        "close" => Action::Close,
                        "recv" => Action::Recv,
                        _ => {
                            return Err(format!(
                                "action must be drop, close or recv, got {value:?}"
                            ));
                        }
                    }
                }
                "after_ms" => after_ms = millis(&key, &value)?,
                "run_ms" => run_ms = millis(&key, &value)?,
                _ => return Err(format!("unknown query parameter {key:?}")),
            }
        }
        Ok(Params {
            a: a.ok_or("missing query parameter a")?,
            b: b.ok_or("missing query parameter b")?,
            action,
            after: Duration::from_millis(after_ms),
            run: Duration::from_millis(run_ms),
        })
    }
}

/// A number of milliseconds, at most a day (so that no deadline overflows).
fn millis(key: &str, value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(ms) if ms <= 86_400_000 => Ok(ms),
        _ => Err(format!(
            "query parameter {key} must be a number of milliseconds up to 86400000, got {value:?}"
        )),
    }
}

async fn run(params: Params) -> Response<Body> {
    let (a, b) = (WebSocket::connect(&params.a), WebSocket::connect(&params.b))
        .join()
        .await;
    let (a, mut b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(err), _) | (_, Err(err)) => {
            let body = json!({ "error": err.to_string() }).to_string();
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("a valid response");
        }
    };
    let start = Instant::now();
    let since_start = move || start.elapsed().as_secs_f64() * 1000.0;
    let a_done = Cell::new(false);

    let happen_to_a = async {
        wstd::task::sleep(params.after.into()).await;
        let began = since_start();
        let result = act(a, params.action).await;
        a_done.set(true);
        (result, since_start() - began)
    };

    let round_trips = async {
        let payload = "0123456789abcdef";
        let mut count = 0u64;
        let mut last = since_start();
        let (mut max_gap, mut max_gap_at) = (0.0f64, 0.0f64);
        let mut error = None;
        while start.elapsed() < params.run || !a_done.get() {
            let round_trip = async {
                b.send(Message::text(payload)).await?;
                b.recv().await
            };
            match round_trip.await {
                Ok(Message::Text(_)) => {}
                Ok(other) => {
                    error = Some(format!("unexpected reply {other:?}"));
                    break;
                }
                Err(err) => {
                    error = Some(err.to_string());
                    break;
                }
            }
            let now = since_start();
            if now - last > max_gap {
                max_gap = now - last;
                max_gap_at = now;
            }
            last = now;
            count += 1;
        }
        (count, max_gap, max_gap_at, error)
    };

    let ((a_result, a_took), (count, max_gap, max_gap_at, b_error)) =
        (happen_to_a, round_trips).join().await;
    let _ = b.close(Some(CloseFrame::new(CloseCode::Normal, ""))).await;
    let action = match params.action {
        Action::Drop => "drop",
        Action::Close => "close",
        Action::Recv => "recv",
    };
    let body = json!({
        "round_trips": count,
        "max_gap_ms": max_gap,
        "max_gap_at_ms": max_gap_at,
        "a": { "action": action, "result": a_result, "took_ms": a_took },
        "b_error": b_error,
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}

/// Does `action` to A; what came of it, as text.
async fn act(mut a: WebSocket, action: Action) -> String {
    match action {
        Action::Drop => {
            drop(a);
            "dropped".to_owned()
        }
        Action::Close => match a.close(Some(CloseFrame::new(CloseCode::Normal, ""))).await {
            Ok(()) => "ok".to_owned(),
            Err(err) => format!("{err:?}"),
        },
        Action::Recv => match a.recv().await {
            Ok(Message::Text(text)) => format!("text {text:?}"),
            Ok(Message::Close(frame)) => format!("close {frame:?}"),
            Ok(other) => format!("{other:?}"),
            Err(err) => format!("{err:?}"),
        },
    }
}

fn respond(status: StatusCode, text: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(Body::from(text))
        .expect("a valid response")
}
