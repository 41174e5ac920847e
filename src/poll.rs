//! Waiting for a connection on the wstd reactor without ever spinning it.
//!
//! The wstd reactor wakes a registered wait for as long as its pollable is
//! ready, until the wait is dropped. A wait owned by a receive that was
//! dropped half-way (a `select` whose other branch won) would make the
//! reactor spin. So no future of this crate owns a wait: one small task per
//! connection, the watcher, owns the registrations, drops them the moment one
//! fires, and wakes the tasks that asked (see [`crate::socket`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use wasip2::io::poll::Pollable;
use wstd::runtime::{AsyncPollable, WaitFor};
use wstd::time::{Instant, Timer, Wait};

/// What a watcher waits for: the connection's pollable, and while a close is
/// under way, its deadline.
pub(crate) struct Watch {
    ready: WaitFor,
    deadline: Option<Wait>,
    /// Whether the registrations were made, by a first poll that found
    /// neither ready.
    armed: bool,
}

impl Watch {
    /// Registers `pollable`, and a timer for `deadline`, with the reactor.
    pub(crate) fn new(pollable: Pollable, deadline: Option<Instant>) -> Watch {
        Watch {
            ready: AsyncPollable::new(pollable).wait_for(),
            deadline: deadline.map(|at| Timer::at(at).wait()),
            armed: false,
        }
    }

    /// Ready once the pollable or the deadline is, or once the watcher is
    /// woken after the registrations were made.
    ///
    /// A wake-up counts as readiness, without asking the pollable again.
    /// With 300 connections in one component under wasmtime 48, watchers that
    /// asked were woken hundreds of times and found `pollable.ready` false
    /// each time, while the echo they waited for had arrived; they never
    /// fired (likely tokio's cooperative budget inside the host). Letting the
    /// halves try a receive instead costs one empty receive per spurious
    /// wake-up.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.armed {
            return Poll::Ready(());
        }
        if Pin::new(&mut self.ready).poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if let Some(deadline) = &mut self.deadline
            && Pin::new(deadline).poll(cx).is_ready()
        {
            return Poll::Ready(());
        }
        self.armed = true;
        Poll::Pending
    }
}
