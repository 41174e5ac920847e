//! The wstd reactor's timers, for the driver and the reconnecting client,
//! whichever connection the WASI 0.2 shapes run on; and the one turn of the
//! host's scheduler that the reactor never gives ([`yield_to_host`]).

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

/// Lets wasmtime's task for this component return to its tokio scheduler
/// once, without waiting: a `poll` on a new zero-length clock pollable, which
/// wasmtime answers by yielding its task once before reporting it ready
/// (`Deadline::Past` in wasmtime-wasi 48 and 49). The same as the engine's
/// `wait::yield_to_host` (the polyfill's), here for every WASI 0.2 shape of
/// the SDK, the golem one (which has no engine) included.
///
/// Why: wasmtime reports readiness through tokio, which grants a task 128
/// ready answers per turn (its coop budget) and then answers "not ready" for
/// every pollable until the task yields. The task yields only when the guest
/// blocks in `poll` and nothing is ready, or on the first poll of a new
/// zero-length pollable. The wstd reactor does not block while any task is
/// runnable, and its non-blocking `poll` reuses one zero-length pollable, so
/// once many pollables are ready the budget stays spent: under wasmtime 48
/// `check-write` then reports no room for every socket at once
/// (bytecodealliance/wasmtime#14174, fixed in 49 by #14265), and
/// `pollable.ready` answers from the same budget in 49 too.
pub(crate) fn yield_to_host() {
    let now = wasip2::clocks::monotonic_clock::subscribe_duration(0);
    wasip2::io::poll::poll(&[&now]);
}
