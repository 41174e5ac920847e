//! The watcher: how a connection waits on the wstd reactor, for the golem
//! host (`golem.rs`) and the engine (`engine.rs`) alike.
//!
//! The wstd reactor wakes a registered wait for as long as its pollable is
//! ready, until the wait is dropped, so a registration left behind by a
//! future that stopped being polled (a receive given up by a `select`) would
//! keep `poll` returning at once and make the component spin. A watch is
//! therefore registered with a waker of the watcher's own, the relay: the
//! first wake-up marks the watch fired, wakes whoever asked last and hands
//! the watch to the sweeper, a task that drops every watch fired in the
//! same turn of the reactor; later wake-ups do nothing.
//!
//! The relay and the sweeper replaced a task per watch: wstd 0.6 follows
//! every task run with a non-blocking `poll` of every registration in the
//! component while other tasks are runnable, and that task ran three times
//! per receive (spawned, registered, fired), so a thousand connections
//! paid three such polls per message; now a receive costs the connection's
//! own run, and the sweeper one run per turn for all of them.

use std::cell::RefCell;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use wasip2::io::poll::Pollable;
use wstd::runtime::{AsyncPollable, WaitFor};
use wstd::time::{Timer, Wait};

/// What a connection remembers of why its watch was armed; told when the
/// watch fires.
pub(super) trait WatchState: Default + Send + 'static {
    /// The watch fired and was dropped.
    fn fired(&mut self);
}

/// One watch, and the relay its registrations wake.
pub(super) struct Watcher<S> {
    relay: Arc<Relay<S>>,
}

impl<S: WatchState> Default for Watcher<S> {
    fn default() -> Self {
        Watcher {
            relay: Arc::default(),
        }
    }
}

/// The watch, and whom it wakes.
#[derive(Default)]
pub(super) struct Slot<S> {
    /// What the watch waits for; `None` once it fired or was given up.
    pub(super) watch: Option<Watch>,
    /// Why it was armed (the connection's).
    pub(super) state: S,
    /// Woken when the watch fires.
    pub(super) waker: Option<Waker>,
}

/// The slot, borrowed from its watcher.
pub(super) struct SlotGuard<'a, S>(MutexGuard<'a, Slot<S>>);

impl<S> Deref for SlotGuard<'_, S> {
    type Target = Slot<S>;
    fn deref(&self) -> &Slot<S> {
        &self.0
    }
}

impl<S> DerefMut for SlotGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut Slot<S> {
        &mut self.0
    }
}

impl<S: WatchState> Watcher<S> {
    /// The slot, to look at or change: a watch that fired since the last look
    /// is dropped and its state told first.
    pub(super) fn slot(&self) -> SlotGuard<'_, S> {
        // The component is single-threaded and no borrow outlives a poll:
        // the lock is always free.
        let mut slot = self.relay.slot.lock().unwrap();
        if self.relay.fired.swap(false, Ordering::Relaxed) {
            slot.watch = None;
            slot.state.fired();
        }
        SlotGuard(slot)
    }

    /// Makes sure the watch wakes `waker` when it fires. `arm` sees the
    /// state and returns a new watch when the armed one does not do (and
    /// `None` when it does); the new one is registered at once.
    pub(super) fn arm(&self, waker: &Waker, arm: impl FnOnce(&mut S) -> Option<Watch>) {
        let mut slot = self.slot();
        slot.waker = Some(waker.clone());
        let Some(watch) = arm(&mut slot.state) else {
            return;
        };
        // The old registrations go before the new ones are made.
        slot.watch = None;
        let relay = Waker::from(self.relay.clone());
        let fired = slot
            .watch
            .insert(watch)
            .poll(&mut Context::from_waker(&relay))
            .is_ready();
        if fired {
            slot.watch = None;
            slot.state.fired();
            waker.wake_by_ref();
        }
    }

    /// Drops the watch (its pollables first of all) and forgets whom to wake.
    pub(super) fn clear(&self) {
        let mut slot = self.slot();
        slot.watch = None;
        slot.state = S::default();
        slot.waker = None;
    }
}

impl<S> Drop for Watcher<S> {
    /// Drops the watch, whose registrations hold the relay.
    fn drop(&mut self) {
        if let Ok(mut slot) = self.relay.slot.lock() {
            slot.watch = None;
        }
    }
}

/// A watcher's slot and the waker its registrations hold: the first
/// wake-up after an arming marks it fired, wakes the slot's waker and hands
/// the watch to the sweeper.
#[derive(Default)]
struct Relay<S> {
    slot: Mutex<Slot<S>>,
    /// Set by the first wake-up, taken by [`Watcher::slot`].
    fired: AtomicBool,
}

impl<S: WatchState> Wake for Relay<S> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.fired.swap(true, Ordering::Relaxed) {
            return;
        }
        // The reactor wakes registrations from its own loop, between task
        // runs, when no slot is borrowed.
        if let Ok(slot) = self.relay_slot()
            && let Some(waker) = &slot.waker
        {
            waker.wake_by_ref();
        }
        let relay: Weak<dyn Sweep> = Arc::downgrade(self) as Weak<Relay<S>>;
        FIRED.with_borrow_mut(|fired| {
            if fired.is_empty() {
                wstd::runtime::spawn(sweep()).detach();
            }
            fired.push(relay);
        });
    }
}

impl<S> Relay<S> {
    fn relay_slot(&self) -> Result<MutexGuard<'_, Slot<S>>, ()> {
        self.slot.try_lock().map_err(|_| ())
    }
}

/// A watcher whose watch fired, as the sweeper sees it.
trait Sweep {
    /// Drops the watch if it is still the one that fired.
    fn sweep(&self);
}

impl<S> Sweep for Relay<S> {
    fn sweep(&self) {
        if let Ok(mut slot) = self.relay_slot()
            && self.fired.load(Ordering::Relaxed)
        {
            // Its state is told when the connection next looks (`slot`).
            slot.watch = None;
        }
    }
}

thread_local! {
    /// The watchers fired since the sweeper last ran.
    static FIRED: RefCell<Vec<Weak<dyn Sweep>>> = const { RefCell::new(Vec::new()) };
}

/// The sweeper: drops the watches fired in one turn of the reactor, so that
/// none stays registered (and ready) after it fired.
async fn sweep() {
    for relay in FIRED.take() {
        if let Some(relay) = relay.upgrade() {
            relay.sweep();
        }
    }
}

/// What a watch waits for: some pollables, a deadline, or both.
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

    /// Ready once a pollable or the deadline is, or once polled again after
    /// the registrations were made (a wake-up).
    ///
    /// A wake-up counts as readiness, without asking the pollables again:
    /// the reactor wakes a registration when wasmtime's `poll` found its
    /// pollable ready, and every ready socket in that `poll` spends one of
    /// the 128 ready answers tokio grants wasmtime's task per turn (its coop
    /// budget; see `reactor::yield_to_host`). With more than 128 ready at
    /// once, the budget is spent by the `poll` itself, and `pollable.ready`
    /// then answers false for every one of them until the guest blocks again
    /// (wasmtime 48 and 49): a wait that asks again (a wstd `WaitFor` does)
    /// is woken, finds nothing, registers, and is woken by the next blocking
    /// `poll` the same way, for ever (150 connections opening at once spun
    /// so). The connection looks itself instead, at the cost of one empty
    /// read or `check-write` per spurious wake-up.
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

/// Waits until one of `pollables` is ready or `until` passes, the way a
/// [`Watch`] does (a wake-up counts), then lets the host's task yield once
/// ([`super::reactor::yield_to_host`]) so that the step which follows sees
/// the socket as it is. The waits are this future's own and dropped with it:
/// a connect that is dropped leaves nothing registered.
#[cfg(any(feature = "sockets", feature = "server"))]
pub(super) async fn wait(pollables: Vec<Pollable>, until: Instant) {
    let mut watch = Watch::new(pollables, Some(until));
    std::future::poll_fn(|cx| watch.poll(cx)).await;
    drop(watch);
    super::reactor::yield_to_host();
}
