//! The watcher: how a connection waits on the wstd reactor, for the golem
//! host (`golem.rs`) and the engine (`engine.rs`) alike.
//!
//! The wstd reactor wakes a registered wait for as long as its pollable is
//! ready, until the wait is dropped, so a wait owned by a future that stopped
//! being polled (a receive given up by a `select`) would make the component
//! spin. No future of this crate owns one: a small task, the watcher, owns the
//! registration, drops it the moment it fires, and wakes whoever asked.

use std::cell::{RefCell, RefMut};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use wasip2::io::poll::Pollable;
use wstd::runtime::{AsyncPollable, WaitFor};
use wstd::time::{Timer, Wait};

/// What a connection remembers of why its watch was armed; told when the
/// watch fires.
pub(super) trait WatchState: Default + 'static {
    /// The watch fired and was dropped.
    fn fired(&mut self);
}

/// One watch and the task that waits on it.
pub(super) struct Watcher<S> {
    slot: Rc<RefCell<Slot<S>>>,
}

impl<S: WatchState> Default for Watcher<S> {
    fn default() -> Self {
        Watcher {
            slot: Rc::default(),
        }
    }
}

/// The watch, and whom it wakes.
#[derive(Default)]
pub(super) struct Slot<S> {
    /// What the watcher waits for; `None` once it fired or was given up.
    pub(super) watch: Option<Watch>,
    /// Why it was armed (the connection's).
    pub(super) state: S,
    /// Woken when the watch fires.
    pub(super) waker: Option<Waker>,
    /// Whether a watcher task runs, and its waker while it waits.
    running: bool,
    watcher: Option<Waker>,
}

impl<S: WatchState> Watcher<S> {
    /// The slot, to look at or change without arming (the golem host's
    /// receive, which `sockets` leaves out).
    #[cfg_attr(feature = "sockets", allow(dead_code))]
    pub(super) fn slot(&self) -> RefMut<'_, Slot<S>> {
        self.slot.borrow_mut()
    }

    /// Makes sure the watch wakes `waker` when it fires. `arm` sees the
    /// state and returns a new watch when the armed one does not do (and
    /// `None` when it does); a watcher task then waits on the new one.
    pub(super) fn arm(&self, waker: &Waker, arm: impl FnOnce(&mut S) -> Option<Watch>) {
        let mut slot = self.slot.borrow_mut();
        slot.waker = Some(waker.clone());
        let Some(watch) = arm(&mut slot.state) else {
            return;
        };
        slot.watch = Some(watch);
        if let Some(watcher) = slot.watcher.take() {
            // A watcher waiting on the old watch polls the new one.
            drop(slot);
            watcher.wake();
        } else if !slot.running {
            slot.running = true;
            drop(slot);
            wstd::runtime::spawn(watcher(Rc::downgrade(&self.slot))).detach();
        }
    }

    /// Drops the watch (its pollables first of all) and lets the task end.
    pub(super) fn clear(&self) {
        let watcher = {
            let mut slot = self.slot.borrow_mut();
            slot.watch = None;
            slot.state = S::default();
            slot.waker = None;
            slot.watcher.take()
        };
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }
}

/// The watcher task: waits for what the slot holds, drops it the moment it
/// fires, and wakes whoever asked. It ends then, or when the watch is
/// dropped or the connection is gone.
async fn watcher<S: WatchState>(slot: Weak<RefCell<Slot<S>>>) {
    poll_fn(|cx| {
        let Some(slot) = slot.upgrade() else {
            return Poll::Ready(());
        };
        let mut guard = slot.borrow_mut();
        let Some(watch) = &mut guard.watch else {
            guard.running = false;
            guard.watcher = None;
            return Poll::Ready(());
        };
        if watch.poll(cx).is_pending() {
            guard.watcher = Some(cx.waker().clone());
            return Poll::Pending;
        }
        guard.watch = None;
        guard.state.fired();
        guard.running = false;
        guard.watcher = None;
        let waker = guard.waker.take();
        drop(guard);
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(())
    })
    .await
}

/// What a watcher waits for: some pollables, a deadline, or both.
pub(super) struct Watch {
    ready: Vec<WaitFor>,
    deadline: Option<Wait>,
    /// Whether the registrations were made, by a first poll that found
    /// nothing ready.
    registered: bool,
}

impl Watch {
    pub(super) fn new(pollables: Vec<Pollable>, deadline: Option<Instant>) -> Watch {
        Watch {
            ready: pollables
                .into_iter()
                .map(|p| AsyncPollable::new(p).wait_for())
                .collect(),
            deadline: deadline.map(|at| {
                let left = at.saturating_duration_since(Instant::now());
                Timer::after(left.into()).wait()
            }),
            registered: false,
        }
    }

    /// Ready once a pollable or the deadline is, or once the watcher is
    /// woken after the registrations were made.
    ///
    /// A wake-up counts as readiness, without asking the pollables again.
    /// With 300 connections in one component under wasmtime 48, watchers that
    /// asked were woken hundreds of times and found `pollable.ready` false
    /// each time, while the echo they waited for had arrived; they never
    /// fired. Letting the connection look again instead costs one empty
    /// receive per spurious wake-up.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered {
            return Poll::Ready(());
        }
        let mut ready = false;
        for wait in &mut self.ready {
            ready |= Pin::new(wait).poll(cx).is_ready();
        }
        if let Some(deadline) = &mut self.deadline {
            ready |= Pin::new(deadline).poll(cx).is_ready();
        }
        if ready {
            return Poll::Ready(());
        }
        self.registered = true;
        Poll::Pending
    }
}
