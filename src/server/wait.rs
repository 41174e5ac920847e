//! [`Deadlines`]: one timer for the deadlines of every handshake request
//! being read, instead of one each (1000 handshakes at once, backlog 1024:
//! the slowest took 2.7 s instead of 6.4, when every registration was
//! polled after every task run; see the hub, `crate::host::Ready`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};
use std::time::Instant;

use wasm_websocket_engine::io::TcpIo;
use wstd::time::{Timer, Wait};

fn timer_until(at: Instant) -> Wait {
    let left = at.saturating_duration_since(Instant::now());
    Timer::after(left.into()).wait()
}

/// The deadlines of the handshake requests being read, kept by one task
/// with one timer. At its deadline a handshake's socket is shut down, which
/// makes the input it waits on ready: its task reads the end and gives up.
/// Cloned into every handshake task; the keeper ends when none is left.
#[derive(Clone, Default)]
pub(super) struct Deadlines {
    inner: Rc<RefCell<Keeper>>,
}

#[derive(Default)]
struct Keeper {
    /// The sockets of the handshakes, by deadline (and a number that keeps
    /// equal deadlines apart).
    waiting: BTreeMap<(Instant, u64), Weak<TcpIo>>,
    /// The number the next entry gets.
    next: u64,
    /// Whether the keeper task runs, the deadline its timer is set for, and
    /// its waker.
    running: bool,
    armed: Option<Instant>,
    waker: Option<Waker>,
}

/// A handshake's entry in [`Deadlines`]; dropping it ends the watch.
pub(super) struct Watched {
    keeper: Weak<RefCell<Keeper>>,
    key: (Instant, u64),
}

impl Drop for Watched {
    fn drop(&mut self) {
        let Some(keeper) = self.keeper.upgrade() else {
            return;
        };
        let mut keeper = keeper.borrow_mut();
        keeper.waiting.remove(&self.key);
        if keeper.waiting.is_empty() {
            // The keeper ends now, instead of at its timer (a pending timer
            // keeps `block_on` from returning).
            if let Some(waker) = keeper.waker.take() {
                waker.wake();
            }
        }
    }
}

impl Deadlines {
    /// Shuts `io` down at `deadline`, unless the returned entry was dropped
    /// before.
    pub(super) fn watch(&self, io: &Rc<TcpIo>, deadline: Instant) -> Watched {
        let mut keeper = self.inner.borrow_mut();
        let key = (deadline, keeper.next);
        keeper.next += 1;
        keeper.waiting.insert(key, Rc::downgrade(io));
        if !keeper.running {
            keeper.running = true;
            wstd::runtime::spawn(keep(Rc::downgrade(&self.inner))).detach();
        } else if keeper.armed.is_some_and(|armed| deadline < armed) {
            // Earlier than the timer set: the keeper sets a new one.
            if let Some(waker) = keeper.waker.take() {
                waker.wake();
            }
        }
        Watched {
            keeper: Rc::downgrade(&self.inner),
            key,
        }
    }
}

/// The keeper task: shuts down the sockets whose deadline passed, then
/// waits for the next deadline on a timer of its own; ends when no
/// handshake is left. Every wake-up looks at the clock (a timer's
/// `pollable.ready` is no more to be trusted than a stream's, see
/// `crate::host::Ready`).
async fn keep(keeper: Weak<RefCell<Keeper>>) {
    // Held for its registration with the reactor; replaced when re-armed.
    let mut timer: Option<Wait> = None;
    poll_fn(move |cx| {
        loop {
            let Some(keeper) = keeper.upgrade() else {
                return Poll::Ready(());
            };
            let mut keeper = keeper.borrow_mut();
            let now = Instant::now();
            while let Some(entry) = keeper.waiting.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                if let Some(io) = entry.remove().upgrade() {
                    io.shutdown();
                }
            }
            let Some(&(next, _)) = keeper.waiting.keys().next() else {
                keeper.running = false;
                keeper.armed = None;
                keeper.waker = None;
                return Poll::Ready(());
            };
            let mut fresh = timer_until(next);
            if Pin::new(&mut fresh).poll(cx).is_ready() {
                // Due by now: look again.
                continue;
            }
            timer.replace(fresh);
            keeper.armed = Some(next);
            keeper.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
    })
    .await
}
