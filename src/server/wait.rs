//! How the server's handshakes wait on the wstd reactor: [`Wake`], a wait
//! that takes a wake-up for readiness, and [`Deadlines`], one timer for the
//! deadlines of every handshake request being read.
//!
//! Both answer to the same runtime facts. The wstd reactor polls every
//! pending pollable after each task it runs, so a burst of handshakes costs
//! in proportion to the pollables waiting, and one timer for all of them
//! instead of one each halves the cost (1000 handshakes at once, backlog
//! 1024: the slowest took 2.7 s instead of 6.4). And under wasmtime 48, a `poll` that finds 128 streams ready
//! spends the host's readiness budget, so that `pollable.ready`, which wstd's
//! `WaitFor` asks on every wake-up, answers false for every stream until the
//! component next waits (bytecodealliance/wasmtime#14174; see
//! [`yield_to_host`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::host::yield_to_host;
use wasip2::io::poll::Pollable;
use wasm_websocket_engine::io::TcpIo;
use wstd::runtime::{AsyncPollable, WaitFor};
use wstd::time::{Timer, Wait};

/// A wait on one pollable (and a deadline, if any): ready once the
/// pollable or the deadline is, or on any wake-up after the first poll
/// found neither. The caller then looks at its stream (and the clock) again
/// and waits anew when there is nothing yet, at the price of one empty look
/// per spurious wake-up.
///
/// A wake-up gives the host a turn first ([`yield_to_host`]), and is not
/// checked with `pollable.ready`: under wasmtime 48 the `poll` that woke 129
/// handshakes at once left each of them finding `ready` false, forever.
pub(super) struct Wake {
    wait: WaitFor,
    timer: Option<Wait>,
    /// The first poll found nothing ready and registered the waits.
    registered: bool,
}

impl Wake {
    /// Waits on `pollable`, and until `deadline` at most.
    pub(super) fn new(pollable: Pollable, deadline: Option<Instant>) -> Wake {
        Wake {
            wait: AsyncPollable::new(pollable).wait_for(),
            timer: deadline.map(timer_until),
            registered: false,
        }
    }
}

impl Future for Wake {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let wake = &mut *self;
        if wake.registered {
            yield_to_host();
            return Poll::Ready(());
        }
        let mut ready = Pin::new(&mut wake.wait).poll(cx).is_ready();
        if let Some(timer) = &mut wake.timer {
            ready |= Pin::new(timer).poll(cx).is_ready();
        }
        if ready {
            return Poll::Ready(());
        }
        wake.registered = true;
        Poll::Pending
    }
}

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
/// `pollable.ready` is no more to be trusted than a stream's, see [`Wake`]).
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
