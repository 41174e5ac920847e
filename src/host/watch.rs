//! The watcher: how a connection waits on the wstd reactor, for the golem
//! host (`golem.rs`) and the engine (`engine.rs`) alike.
//!
//! A connection's halves may both wait on it, and a future that stopped
//! being polled (a receive given up by a `select`) must leave nothing
//! behind that wakes. A watch is therefore registered (with the hub,
//! `hub.rs`, which drops its registrations once it fired) with a waker of
//! the watcher's own, the relay: the first wake-up marks the watch fired and
//! wakes whoever asked last; the connection drops the watch and tells its
//! state when it next looks ([`Watcher::slot`]).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};
use std::time::Instant;

use wasip2::io::poll::Pollable;

use super::hub::Interest;

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
        let fired = slot.watch.insert(watch).register(&relay);
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

/// A watcher's slot and the waker its registration holds: the first
/// wake-up after an arming marks it fired and wakes the slot's waker.
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
        // The hub wakes watches between task runs, when no slot is
        // borrowed.
        if let Ok(slot) = self.relay_slot()
            && let Some(waker) = &slot.waker
        {
            waker.wake_by_ref();
        }
    }
}

impl<S> Relay<S> {
    fn relay_slot(&self) -> Result<MutexGuard<'_, Slot<S>>, ()> {
        self.slot.try_lock().map_err(|_| ())
    }
}

/// What a watch waits for: some pollables, a deadline, or both; registered
/// with the hub when armed.
pub(super) struct Watch {
    pollables: Vec<Pollable>,
    deadline: Option<Instant>,
    /// The registration, once armed.
    interest: Option<Interest>,
}

impl Watch {
    pub(super) fn new(pollables: Vec<Pollable>, deadline: Option<Instant>) -> Watch {
        Watch {
            pollables,
            deadline,
            interest: None,
        }
    }

    /// Registers the watch, to wake `waker` when a pollable is ready or the
    /// deadline passed; `true` when one was at once (nothing is registered
    /// then).
    fn register(&mut self, waker: &Waker) -> bool {
        let pollables = std::mem::take(&mut self.pollables);
        let (interest, ready) = Interest::new(pollables, self.deadline, waker);
        self.interest = Some(interest);
        ready
    }
}
