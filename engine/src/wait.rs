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

/// Hands the host one turn of its scheduler: the component waits in `poll`
/// on a zero-length timer, which wasmtime answers only after letting its
/// other work run once (a bounded wait: nothing else is waited for).
///
/// Why: wasmtime 48 runs a `wasmtime run` component inside one tokio task,
/// whose cooperative budget (128 readiness checks) is refilled only when the
/// component waits in a `poll` that finds nothing ready at first. Once it is
/// spent, every readiness check reports "not ready" whatever the sockets
/// say: `pollable.ready` (wasmtime 48 and 49), `check-write` and `accept`
/// (wasmtime 48; PR #14265 fixed those in 49). A `poll` that finds 128
/// streams ready spends all of it, so the tasks it wakes find nothing, wait
/// again, and the next `poll` does the same: with 129 handshakes arriving at
/// once the component spun at a full core and served nobody. Upstream:
/// bytecodealliance/wasmtime#14174. A caller woken by the reactor calls this
/// before it looks at its stream again, so that what it reads there is true.
pub fn yield_to_host() {
    poll::poll(&[&ready_pollable()]);
}
