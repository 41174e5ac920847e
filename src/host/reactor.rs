//! The wstd reactor's timers, for the driver and the reconnecting client,
//! whichever connection the WASI 0.2 shapes run on; and, for the engine in
//! the app, the one turn of the host's scheduler that the reactor never
//! gives ([`yield_to_host`]).

use std::future::Future;
use std::time::Duration;

use wstd::future::FutureExt as _;

use crate::request::MAX_TIMEOUT;

/// Waits `duration` on the wstd reactor (a year at most): a monotonic-clock
/// pollable, whose firing a durable host records like any other `poll`.
pub(crate) async fn sleep(duration: Duration) {
    wstd::task::sleep(wstd::time::Duration::from(duration.min(MAX_TIMEOUT))).await;
}

/// Runs `future` for at most `limit` (a year at most); `None` on expiry.
pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    future
        .timeout(wstd::time::Duration::from(limit.min(MAX_TIMEOUT)))
        .await
        .ok()
}

#[cfg(any(feature = "sockets", feature = "server"))]
pub(crate) use wasm_websocket_engine::wait::yield_to_host;
