//! The hub: how every wait of this crate's WASI 0.2 shapes is seen by the
//! wstd reactor, so that a thousand waiting connections cost a message what
//! ten do.
//!
//! wstd 0.6 follows each task it runs with a non-blocking `poll` of every
//! registration in the component while other tasks are runnable. A wait
//! registered the plain way (a `WaitFor` per pollable) therefore costs every
//! message of every other connection one more pollable in one more `poll`:
//! with 1000 connections exchanging messages, each message paid a `poll` over
//! about 1000 pollables (bench/README.md, "1000 connections"). The hub keeps
//! the waits ([`Interest`]s) in one of two modes:
//!
//! - **parked**, the start: each wait is registered with the reactor, polled
//!   with a waker of the hub's. A quiet component blocks in the reactor's
//!   `poll` over all of them, and a lone wake-up costs what it costs any wstd
//!   future. The hub's task runs once after a turn of the reactor woke some,
//!   to drop their registrations (the reactor wakes a registration for as
//!   long as its pollable is ready, until it is dropped).
//! - **checking**: no wait is registered. The hub's task stays runnable and,
//!   once per pass of the reactor over its runnable tasks, checks every wait
//!   with one non-blocking `poll` and wakes those whose pollables are ready.
//!
//! The hub starts checking when one turn of the reactor woke [`CHECK_AT`]
//! waits or more, or that many were registered before its task next ran (a
//! burst of connects: each task after them would otherwise pay a `poll` over
//! every registration), and parks again when a check finds nothing ready
//! ([`Mode`]). Measured with the bench's workloads (1000 connections x 20
//! round trips, direct client): 0.08 of native tokio-tungstenite the plain
//! way, 0.72-0.97 through the hub; 5000 connections x 1 round trip missed the
//! 30 s connect bound the plain way and runs at 1.3-1.5 of native
//! (bench/README.md). On Golem a check is two host calls its oplog records
//! (the host turn's `poll` and the check's), as each of wstd's own polls is.
//!
//! A wait fires once: its waker is woken the first time one of its pollables
//! is found ready (or its deadline passed), and the wait is quiet after that.
//! A wake-up counts as readiness, without asking the pollables again: under
//! wasmtime 48 and 49 a `poll` that found 128 pollables ready spends the
//! host task's readiness budget, and `pollable.ready` then answers false for
//! every one until the guest next waits (see `reactor::yield_to_host`); the
//! waiting connection looks at its stream itself.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};
use wstd::runtime::{AsyncPollable, WaitFor};

use super::reactor::yield_to_host;

/// How many waits one turn of the reactor must wake for the hub to start
/// checking. Checking costs a `poll` over every wait per pass and, when it
/// ends, one registration per wait; parked, each woken task after the first
/// costs a `poll` over every registration.
const CHECK_AT: usize = 4;

/// A wait on some pollables, registered with the hub until dropped.
pub(super) struct Interest {
    key: usize,
    id: u64,
}

/// A wait, as the hub keeps it.
struct Entry {
    /// Tells this wait from an earlier one under the same key.
    id: u64,
    /// The pollables, owned by the reactor, each with a view of its handle
    /// for the hub's own `poll` (never dropped: the reactor drops the
    /// pollable when the last `AsyncPollable` goes).
    pollables: Vec<(AsyncPollable, ManuallyDrop<Pollable>)>,
    /// The registrations with the reactor, while parked and not fired (or
    /// fired, until the hub's task next runs).
    waits: Vec<WaitFor>,
    /// Whom the wait wakes.
    waker: Waker,
    fired: bool,
}

struct Hub {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    next_id: u64,
    mode: Mode,
    /// The waits the reactor woke since the hub's task last ran.
    fired: Vec<(usize, u64)>,
    /// The hub's task is spawned and will run.
    scheduled: bool,
    /// Always ready, so that a check never blocks (wasmtime answers a
    /// zero-length clock pollable at once from its second `poll` on); made
    /// by the first check.
    ready: Option<Pollable>,
}

/// The hub's decisions: when it checks and when it parks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Mode {
    checking: bool,
    /// The waits registered with the reactor since the hub's task last ran.
    registered: usize,
}

impl Mode {
    /// Whether a new wait is registered with the reactor (parked), rather
    /// than left to the next check.
    fn registers(&self) -> bool {
        !self.checking
    }

    /// A new wait was registered (it was not ready at once); `true` when
    /// the hub starts checking now: [`CHECK_AT`] were registered since its
    /// task last ran (a burst of connects, say).
    fn registered(&mut self) -> bool {
        self.registered += 1;
        self.checking = self.registered >= CHECK_AT;
        self.checking
    }

    /// The hub's task runs, after the reactor woke `woke` waits: `Some(true)`
    /// when it starts checking now (from its next run on, when the tasks
    /// woken have waited again), `Some(false)` when it checks in this run,
    /// `None` when it stays parked (and the task ends).
    fn run(&mut self, woke: usize) -> Option<bool> {
        self.registered = 0;
        if self.checking {
            return Some(false);
        }
        if woke >= CHECK_AT {
            self.checking = true;
            return Some(true);
        }
        None
    }

    /// A check found `found` waits ready: whether checking goes on (else
    /// the hub parks).
    fn checked(&mut self, found: usize) -> bool {
        self.checking = found > 0;
        self.checking
    }
}

thread_local! {
    static HUB: RefCell<Hub> = const {
        RefCell::new(Hub {
            entries: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            mode: Mode {
                checking: false,
                registered: 0,
            },
            fired: Vec::new(),
            scheduled: false,
            ready: None,
        })
    };
}

impl Interest {
    /// Waits on `pollables`, and until `deadline` if there is one, waking
    /// `waker` once when one is ready. `true` with it when one was ready at
    /// once (and nothing is registered: the wait has fired).
    pub(super) fn new(
        mut pollables: Vec<Pollable>,
        deadline: Option<Instant>,
        waker: &Waker,
    ) -> (Interest, bool) {
        if let Some(at) = deadline {
            let left = at.saturating_duration_since(Instant::now());
            let nanos = u64::try_from(left.as_nanos()).unwrap_or(u64::MAX);
            pollables.push(monotonic_clock::subscribe_duration(nanos));
        }
        let pollables = pollables
            .into_iter()
            .map(|pollable| {
                // SAFETY: a second handle to the same resource, never dropped
                // (ManuallyDrop), used only while the entry holds the
                // `AsyncPollable` that keeps the resource alive.
                #[allow(unsafe_code)]
                let view = unsafe { Pollable::from_handle(pollable.handle()) };
                (AsyncPollable::new(pollable), ManuallyDrop::new(view))
            })
            .collect();
        HUB.with_borrow_mut(|hub| {
            let id = hub.next_id;
            hub.next_id += 1;
            let mut entry = Entry {
                id,
                pollables,
                waits: Vec::new(),
                waker: waker.clone(),
                fired: false,
            };
            let key = hub.free.pop().unwrap_or(hub.entries.len());
            // Checking, the hub's task looks at it in its next pass.
            let ready = hub.mode.registers() && entry.register(key);
            if key == hub.entries.len() {
                hub.entries.push(Some(entry));
            } else {
                hub.entries[key] = Some(entry);
            }
            if hub.mode.registers() && !ready && hub.mode.registered() {
                hub.start_checking();
            }
            (Interest { key, id }, ready)
        })
    }

    /// Whether the wait has fired.
    #[cfg(any(feature = "sockets", feature = "server"))]
    fn fired(&self) -> bool {
        HUB.with_borrow(|hub| hub.entry(self.key, self.id).is_none_or(|entry| entry.fired))
    }

    /// Makes the wait wake `waker` instead.
    #[cfg(any(feature = "sockets", feature = "server"))]
    fn set_waker(&self, waker: &Waker) {
        let old = HUB.with_borrow_mut(|hub| {
            let entry = hub.entry_mut(self.key, self.id)?;
            if entry.waker.will_wake(waker) {
                return None;
            }
            Some(std::mem::replace(&mut entry.waker, waker.clone()))
        });
        // Dropped outside the borrow, whatever it holds.
        drop(old);
    }
}

impl Drop for Interest {
    /// Ends the wait: its registrations and pollables go.
    fn drop(&mut self) {
        let entry = HUB.with_borrow_mut(|hub| {
            hub.entry(self.key, self.id)?;
            let entry = hub.entries[self.key].take();
            if self.key + 1 == hub.entries.len() {
                // The last one: the list shrinks to its last live wait, so
                // that a check after a burst does not walk the burst's
                // length for ever.
                while hub.entries.last().is_some_and(Option::is_none) {
                    hub.entries.pop();
                }
                let len = hub.entries.len();
                hub.free.retain(|&key| key < len);
            } else {
                hub.free.push(self.key);
            }
            entry
        });
        // Dropped outside the borrow: the reactor is told.
        drop(entry);
    }
}

impl Entry {
    /// Registers the wait with the reactor; `true` (and nothing registered)
    /// when a pollable is ready already.
    fn register(&mut self, key: usize) -> bool {
        let waker = Waker::from(Arc::new(Woken { key, id: self.id }));
        let mut cx = Context::from_waker(&waker);
        for (pollable, _) in &self.pollables {
            let mut wait = pollable.wait_for();
            if Pin::new(&mut wait).poll(&mut cx).is_ready() {
                self.waits.clear();
                self.fired = true;
                return true;
            }
            self.waits.push(wait);
        }
        false
    }
}

impl Hub {
    fn entry(&self, key: usize, id: u64) -> Option<&Entry> {
        self.entries
            .get(key)?
            .as_ref()
            .filter(|entry| entry.id == id)
    }

    fn entry_mut(&mut self, key: usize, id: u64) -> Option<&mut Entry> {
        self.entries
            .get_mut(key)?
            .as_mut()
            .filter(|entry| entry.id == id)
    }

    /// Drops every registration and has the hub's task check from its next
    /// run on.
    fn start_checking(&mut self) {
        for entry in self.entries.iter_mut().flatten() {
            entry.waits.clear();
        }
        if !self.scheduled {
            self.scheduled = true;
            wstd::runtime::spawn(hub_task()).detach();
        }
    }

    /// The hub's task, one run: drops the registrations the reactor woke,
    /// starts checking if they were many, and checks when checking. Returns
    /// the wakers to wake once the hub is released.
    fn run(&mut self, cx: &mut Context<'_>) -> (Poll<()>, Vec<Waker>) {
        let fired = std::mem::take(&mut self.fired);
        let woke = fired.len();
        for (key, id) in fired {
            if let Some(entry) = self.entry_mut(key, id) {
                entry.waits.clear();
            }
        }
        match self.mode.run(woke) {
            None => {
                self.scheduled = false;
                return (Poll::Ready(()), Vec::new());
            }
            Some(true) => {
                // The waits that fired are the ones ready; the first check
                // is worth making once their tasks have waited again.
                self.start_checking();
                cx.waker().wake_by_ref();
                return (Poll::Pending, Vec::new());
            }
            Some(false) => {}
        }
        let woken = self.check();
        if self.mode.checked(woken.len()) {
            // Checking goes on in the next pass.
            cx.waker().wake_by_ref();
            return (Poll::Pending, woken);
        }
        // Nothing ready: park.
        self.scheduled = false;
        let mut woken = Vec::new();
        for (key, slot) in self.entries.iter_mut().enumerate() {
            if let Some(entry) = slot
                && !entry.fired
                && entry.register(key)
            {
                woken.push(entry.waker.clone());
            }
        }
        (Poll::Ready(()), woken)
    }

    /// One non-blocking `poll` over every wait that has not fired; fires
    /// those found ready.
    fn check(&mut self) -> Vec<Waker> {
        let now = self
            .ready
            .get_or_insert_with(|| monotonic_clock::subscribe_duration(0));
        let mut views: Vec<&Pollable> = Vec::new();
        let mut owners = Vec::new();
        for (key, slot) in self.entries.iter().enumerate() {
            if let Some(entry) = slot
                && !entry.fired
            {
                for (_, view) in &entry.pollables {
                    views.push(view);
                    owners.push(key);
                }
            }
        }
        if views.is_empty() {
            return Vec::new();
        }
        // The host's readiness budget, spent by the last check's ready
        // answers, is restored by a turn of its own.
        yield_to_host();
        views.push(now);
        let ready = poll::poll(&views);
        let mut woken = Vec::new();
        for index in ready {
            let Some(&key) = owners.get(index as usize) else {
                continue;
            };
            if let Some(Some(entry)) = self.entries.get_mut(key)
                && !entry.fired
            {
                entry.fired = true;
                woken.push(entry.waker.clone());
            }
        }
        woken
    }
}

/// The waker of a parked wait's registrations: the first wake-up fires the
/// wait and has the hub's task drop them.
struct Woken {
    key: usize,
    id: u64,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The reactor wakes registrations from its own loop, between task
        // runs, when the hub is not borrowed.
        let waker = HUB.with_borrow_mut(|hub| {
            let entry = hub.entry_mut(self.key, self.id)?;
            if entry.fired {
                return None;
            }
            entry.fired = true;
            let waker = entry.waker.clone();
            hub.fired.push((self.key, self.id));
            if !hub.scheduled {
                hub.scheduled = true;
                wstd::runtime::spawn(hub_task()).detach();
            }
            Some(waker)
        });
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The hub's task: see [`Hub::run`].
async fn hub_task() {
    poll_fn(|cx| {
        let (poll, woken) = HUB.with_borrow_mut(|hub| hub.run(cx));
        for waker in woken {
            waker.wake();
        }
        poll
    })
    .await
}

/// A wait until one of some pollables is ready or a deadline passes: ready
/// at once when one is, or once the hub found one ready (or was woken for
/// one: the caller then looks at its stream and the clock again, and waits
/// anew if need be). Not to be polled again once ready. A wake-up gives the host's task a turn first
/// ([`yield_to_host`]), so that the look that follows sees the socket as it
/// is. Nothing stays registered once it is ready or dropped.
#[cfg(any(feature = "sockets", feature = "server"))]
pub(crate) struct Ready {
    pollables: Vec<Pollable>,
    deadline: Option<Instant>,
    interest: Option<Interest>,
}

#[cfg(any(feature = "sockets", feature = "server"))]
impl Ready {
    /// Waits on `pollables`, and until `deadline` at most.
    pub(crate) fn new(pollables: Vec<Pollable>, deadline: Option<Instant>) -> Ready {
        Ready {
            pollables,
            deadline,
            interest: None,
        }
    }
}

#[cfg(any(feature = "sockets", feature = "server"))]
impl Future for Ready {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &this.interest {
            None => {
                let pollables = std::mem::take(&mut this.pollables);
                let (interest, ready) = Interest::new(pollables, this.deadline, cx.waker());
                if ready {
                    return Poll::Ready(());
                }
                this.interest = Some(interest);
                Poll::Pending
            }
            Some(interest) if interest.fired() => {
                this.interest = None;
                yield_to_host();
                Poll::Ready(())
            }
            Some(interest) => {
                interest.set_waker(cx.waker());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CHECK_AT, Mode};

    /// What happens to the hub between two runs of its task.
    #[derive(Debug, Clone, Copy)]
    enum Event {
        /// A wait begins, and is ready at once or not.
        Add { ready: bool },
        /// The hub's task runs after the reactor woke this many, and, if
        /// it checks, the check finds this many ready.
        Run { woke: usize, found: usize },
    }

    /// Drives `mode` as the hub does; for a new wait, whether it is
    /// registered with the reactor.
    fn apply(mode: &mut Mode, event: Event) -> Option<bool> {
        match event {
            Event::Add { ready } => {
                let registers = mode.registers();
                if registers && !ready {
                    mode.registered();
                }
                Some(registers)
            }
            Event::Run { woke, found } => {
                if mode.run(woke) == Some(false) {
                    mode.checked(found);
                }
                None
            }
        }
    }

    #[test]
    fn parked_until_a_turn_wakes_enough() {
        let mut mode = Mode::default();
        assert!(mode.registers());
        assert!(!mode.registered());
        assert_eq!(mode.run(CHECK_AT - 1), None);
        assert!(!mode.checking);
        // The first check comes in the next run.
        assert_eq!(mode.run(CHECK_AT), Some(true));
        assert!(mode.checking && !mode.registers());
        assert_eq!(mode.run(0), Some(false));
    }

    #[test]
    fn a_burst_of_registrations_starts_checking() {
        let mut mode = Mode::default();
        for _ in 1..CHECK_AT {
            assert!(!mode.registered());
        }
        assert!(mode.registered());
        assert!(!mode.registers());
    }

    #[test]
    fn registrations_spread_over_runs_stay_parked() {
        let mut mode = Mode::default();
        for _ in 0..10 * CHECK_AT {
            assert!(mode.registers());
            assert!(!mode.registered());
            assert_eq!(mode.run(1), None);
        }
    }

    #[test]
    fn a_check_that_finds_nothing_parks() {
        let mut mode = Mode::default();
        mode.run(CHECK_AT);
        assert_eq!(mode.run(0), Some(false));
        assert!(mode.checked(1));
        assert_eq!(mode.run(0), Some(false));
        assert!(!mode.checked(0));
        assert!(mode.registers());
        assert_eq!(mode.run(0), None);
    }

    /// Every sequence of 7 events, each of a few kinds: the hub checks
    /// exactly when a model written from the rules says so, and a new wait
    /// is registered with the reactor exactly when it is not checking.
    #[test]
    fn every_short_sequence_follows_the_rules() {
        let kinds = [
            Event::Add { ready: false },
            Event::Add { ready: true },
            Event::Run { woke: 0, found: 0 },
            Event::Run { woke: 1, found: 0 },
            Event::Run {
                woke: CHECK_AT,
                found: 0,
            },
            Event::Run {
                woke: CHECK_AT,
                found: 2,
            },
            Event::Run { woke: 0, found: 1 },
        ];
        // All 7^7 sequences of 7 events; every prefix is checked on the way.
        let sequences = (0..kinds.len().pow(7)).map(|mut number| {
            (0..7)
                .map(|_| {
                    let kind = kinds[number % kinds.len()];
                    number /= kinds.len();
                    kind
                })
                .collect::<Vec<Event>>()
        });
        for sequence in sequences {
            let mut mode = Mode::default();
            // The model: checking, and the waits registered since the last run.
            let (mut checking, mut since_run) = (false, 0);
            for &event in &sequence {
                let registered = apply(&mut mode, event);
                match event {
                    Event::Add { ready } => {
                        assert_eq!(registered, Some(!checking), "{sequence:?}");
                        if !checking && !ready {
                            since_run += 1;
                            checking = since_run >= CHECK_AT;
                        }
                    }
                    Event::Run { woke, found } => {
                        since_run = 0;
                        if checking {
                            checking = found > 0;
                        } else if woke >= CHECK_AT {
                            checking = true;
                        }
                    }
                }
                assert_eq!(mode.checking, checking, "{sequence:?}");
            }
        }
    }
}
