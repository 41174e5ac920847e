//! Deadlines on the monotonic clock, and blocking waits on a pollable until
//! one: what every wait of the engine is bounded by. The lowest layer of the
//! engine: it uses nothing else of it.

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};

/// A point on the monotonic clock (nanoseconds).
pub type Instant = monotonic_clock::Instant;

/// When a wait gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Do not wait at all.
    Now,
    /// Wait until this instant.
    At(Instant),
    /// Wait as long as it takes.
    Never,
}

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Deadline {
        if ms == 0 {
            return Deadline::Now;
        }
        Deadline::At(monotonic_clock::now().saturating_add(ms.saturating_mul(1_000_000)))
    }

    /// `d` from now.
    pub fn after(d: std::time::Duration) -> Deadline {
        Deadline::after_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether the deadline has passed.
    pub fn passed(self) -> bool {
        match self {
            Deadline::Now => true,
            Deadline::At(t) => monotonic_clock::now() >= t,
            Deadline::Never => false,
        }
    }
}

/// A pollable that is ready at once.
pub fn ready_pollable() -> Pollable {
    monotonic_clock::subscribe_duration(0)
}

/// Blocks until `pollable` is ready or the deadline passes; `true` when ready.
pub fn wait_for(pollable: &Pollable, deadline: Deadline) -> bool {
    match deadline {
        Deadline::Now => pollable.ready(),
        Deadline::Never => {
            pollable.block();
            true
        }
        Deadline::At(t) => {
            let timer = monotonic_clock::subscribe_instant(t);
            let ready = poll::poll(&[pollable, &timer]);
            ready.contains(&0)
        }
    }
}

/// Lets wasmtime's task for this component return to its tokio scheduler
/// once, without waiting: a `poll` on a new zero-length clock pollable, which
/// wasmtime answers by yielding its task once before reporting it ready
/// (`Deadline::Past` in wasmtime-wasi 48 and 49).
///
/// Why: wasmtime's sockets report readiness through tokio, which grants a
/// task 128 ready answers per turn (its coop budget) and then answers "not
/// ready" for every socket until the task yields. The task yields only when
/// the guest blocks in `poll` and nothing is ready, or on the first poll of
/// a new zero-length pollable. The wstd reactor does not block while any task
/// is runnable, and its non-blocking `poll` reuses one zero-length pollable,
/// so once many sockets are ready the budget stays spent: under wasmtime 48
/// `check-write` then reports no room for every socket at once
/// (bytecodealliance/wasmtime#14174, fixed in 49 by #14265; `pollable.ready`
/// answers from the same budget in 49 too, see the SDK's `watch.rs`).
pub fn yield_to_host() {
    let now = wasip2::clocks::monotonic_clock::subscribe_duration(0);
    wasip2::io::poll::poll(&[&now]);
}
