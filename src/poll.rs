//! Waiting for host pollables on the wstd reactor from `poll`-style code.
//!
//! Each wait subscribes afresh and is dropped as soon as it is ready, so no
//! reactor registration outlives the wait it was made for (see DESIGN.md).

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
    /// Ready once `at` has passed.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        if Instant::now() >= at {
            self.0 = None;
            return Poll::Ready(());
        }
        match &mut self.0 {
            Some((armed, wait)) if *armed == at => Pin::new(wait).poll(cx).map(drop),
            slot => {
                let mut wait = Timer::at(at).wait();
                let ready = Pin::new(&mut wait).poll(cx).map(drop);
                *slot = Some((at, wait));
                ready
            }
        }
    }
}
