//! Waiting for host pollables on the wstd reactor from `poll`-style code.
//!
//! The wstd reactor wakes a registered wait for as long as its pollable is
//! ready, until the wait is dropped. So each wait subscribes afresh and is
//! dropped as soon as it is ready, and the futures that own waits drop them
//! when they are dropped themselves (see DESIGN.md).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use wasip2::io::poll::Pollable;
use wstd::runtime::{AsyncPollable, WaitFor};
use wstd::time::{Instant, Timer, Wait};

/// One wait for readiness of a pollable made on demand.
#[derive(Debug, Default)]
pub(crate) struct Readiness(Option<WaitFor>);

impl Readiness {
    /// Polls the current wait, subscribing with `subscribe` if none is under
    /// way. Ready once the pollable was; the next call subscribes again.
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        subscribe: impl FnOnce() -> Pollable,
    ) -> Poll<()> {
        let wait = self
            .0
            .get_or_insert_with(|| AsyncPollable::new(subscribe()).wait_for());
        let ready = Pin::new(wait).poll(cx);
        if ready.is_ready() {
            self.0 = None;
        }
        ready
    }

    /// Drops the wait under way, if any, with its pollable.
    pub(crate) fn cancel(&mut self) {
        self.0 = None;
    }
}

/// A wait for a point in time on the monotonic clock.
#[derive(Default)]
pub(crate) struct Deadline(Option<(Instant, Wait)>);

impl Deadline {
    /// Ready once `at` has passed. The timer is dropped once ready.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        if Instant::now() >= at {
            self.cancel();
            return Poll::Ready(());
        }
        let wait = match &mut self.0 {
            Some((armed, wait)) if *armed == at => wait,
            slot => &mut slot.insert((at, Timer::at(at).wait())).1,
        };
        let ready = Pin::new(wait).poll(cx).map(drop);
        if ready.is_ready() {
            self.cancel();
        }
        ready
    }

    /// Drops the timer, if any.
    pub(crate) fn cancel(&mut self) {
        self.0 = None;
    }
}
