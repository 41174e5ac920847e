//! Does anything that happens to one connection stall another in the same
//! component? A `wasi:http` handler that opens two WebSockets, A and B,
//! keeps B busy with back-to-back 16-byte round trips, does something to A,
//! and reports B's longest gap between two round trips.
//!
//! Query: `a` and `b` (the URLs; B's server must echo), `action` (what
//! happens to A, after `after_ms`, default 200):
//! - `drop`: the app drops A while it is open (its peer may have stopped
//!   reading);
//! - `recv`: A waits in `recv` until its peer closes it, then is dropped;
//! - `close`: the app closes A and waits for the close to end;
//! - `hold`: A waits in `recv` for the whole run (its peer may flood it).
//!
//! B goes on for `ms` in all (default 1500). The answer is JSON:
//! `{"round_trips", "max_gap_ms", "a"}`, `a` being what A's action returned
//! (`"ok"` or the error's text). A bad query is `400` with a text body, a
//! failed connect `502`.

use std::time::{Duration, Instant};

use serde_json::json;
use wasm_websocket::{Message, WebSocket};
use wstd::http::{Body, Request, Response, StatusCode};

/// The longest time a query may ask for: a minute.
const MAX_MILLIS: u64 = 60_000;

#[wstd::http_server]
async fn main(request: Request<Body>) -> wstd::http::Result<Response<Body>> {
    let query = request.uri().query().unwrap_or_default();
    match Params::parse(query) {
        Ok(params) => Ok(run(params).await),
        Err(problem) => Ok(respond(StatusCode::BAD_REQUEST, problem)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Drop,
    Recv,
    Close,
    Hold,
}

struct Params {
    a: String,
    b: String,
    action: Action,
    after: Duration,
    total: Duration,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        let (mut a, mut b, mut action) = (None, None, None);
        let mut after = Duration::from_millis(200);
        let mut total = Duration::from_millis(1500);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "a" => a = Some(value.into_owned()),
                "b" => b = Some(value.into_owned()),
                "action" => {
                    action = Some(match &*value {
                        "drop" => Action::Drop,
                        "recv" => Action::Recv,
                        "close" => Action::Close,
                        "hold" => Action::Hold,
                        other => return Err(format!("unknown action {other:?}")),
                    })
                }
                "after_ms" => after = millis(&key, &value)?,
                "ms" => total = millis(&key, &value)?,
                other => return Err(format!("unknown query parameter {other:?}")),
            }
        }
        Ok(Params {
            a: a.ok_or("missing query parameter a")?,
            b: b.ok_or("missing query parameter b")?,
            action: action.ok_or("missing query parameter action")?,
            after,
            total,
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
    let (mut a, mut b) = match (open(&params.a).await, open(&params.b).await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(err), _) | (_, Err(err)) => {
            return respond(StatusCode::BAD_GATEWAY, format!("connect: {err}"));
        }
    };
    let start = Instant::now();
    let end = start + params.total;

    // B: back-to-back round trips until the end, timing the gaps.
    let round_trips = wstd::runtime::spawn(async move {
        let payload = Message::binary([7u8; 16]);
        let (mut count, mut max_gap, mut last) = (0u64, Duration::ZERO, Instant::now());
        while Instant::now() < end {
            let echoed = match b.send(payload.clone()).await {
                Ok(()) => b.recv().await,
                Err(err) => Err(err),
            };
            if let Err(err) = echoed {
                return Err(format!("B: {err}"));
            }
            let now = Instant::now();
            max_gap = max_gap.max(now - last);
            last = now;
            count += 1;
        }
        let _ = b.close(None).await;
        Ok((count, max_gap))
    });

    // A: what the query asks, after a while.
    wstd::task::sleep(params.after.into()).await;
    let a_result = match params.action {
        Action::Drop => {
            drop(a);
            Ok(())
        }
        Action::Recv => loop {
            match a.recv().await {
                Ok(Message::Close(_)) | Err(_) => break Ok(()),
                Ok(_) => {}
            }
        },
        Action::Close => a.close(None).await,
        Action::Hold => {
            let left = end.saturating_duration_since(Instant::now());
            match a.recv_timeout(left).await {
                Ok(_) | Err(wasm_websocket::Error::Timeout) => Ok(()),
                Err(err) => Err(err),
            }
        }
    };
    match round_trips.await {
        Ok((count, max_gap)) => respond(
            StatusCode::OK,
            json!({
                "round_trips": count,
                "max_gap_ms": max_gap.as_secs_f64() * 1000.0,
                "a": a_result.map_or_else(|err| err.to_string(), |()| "ok".to_owned()),
            })
            .to_string(),
        ),
        Err(problem) => respond(StatusCode::INTERNAL_SERVER_ERROR, problem),
    }
}

fn respond(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(body))
        .expect("a response from a valid status")
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
