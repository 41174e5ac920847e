//! When a WASI 0.2 host connection asks the host for a message: the
//! decision, free of any host, so that it can be tested on the host target.
//!
//! The gate asks once when a wait starts, then once after each time the
//! watch fired, and never while a watch is armed and quiet: a receive polled
//! often (its task woken by other tasks and connections) makes no more host
//! calls than one that is polled once, so a durable host (Golem) records one
//! `receive-with-timeout` per wake-up, not one per poll.
//!
//! Replay does not need it: Golem records `wasi:io/poll`'s answers too, so
//! how often a future is polled during a replay follows from recorded
//! answers like everything else the guest does. Golem's own scenarios, run
//! live and replayed on the test host (`testhost/`,
//! `tests/tests/testhost/`), check the crate's calls against the oplog.

use std::time::Instant;

/// What a watch waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Armed {
    /// A message, or the deadline if there is one.
    Receive(Option<Instant>),
    /// Only the deadline.
    Deadline(Instant),
}

/// What a receive poll should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Ask the host (`receive-with-timeout(0)`); on an empty answer, arm.
    Ask,
    /// Keep waiting: the watch is armed and has not fired.
    Wait,
    /// Keep waiting, but arm the watch anew for this (another deadline).
    Rearm(Armed),
}

/// The state of one connection's watch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Gate {
    armed: Option<Armed>,
    fired: bool,
}

impl Gate {
    /// A receive poll, with the close deadline if one runs.
    pub(crate) fn receive(&mut self, deadline: Option<Instant>) -> Step {
        match self.armed {
            Some(Armed::Receive(armed)) if !self.fired => {
                if armed == deadline {
                    Step::Wait
                } else {
                    Step::Rearm(Armed::Receive(deadline))
                }
            }
            _ => {
                self.disarm();
                Step::Ask
            }
        }
    }

    /// Whether the watch must be armed anew for `armed` (not when it is
    /// armed so already and quiet).
    pub(crate) fn needs_arming(&self, armed: Armed) -> bool {
        self.armed != Some(armed) || self.fired
    }

    /// The watch was armed for `armed`.
    pub(crate) fn armed(&mut self, armed: Armed) {
        self.armed = Some(armed);
        self.fired = false;
    }

    /// The watch fired: the next receive poll asks the host.
    pub(crate) fn fired(&mut self) {
        self.fired = true;
    }

    /// Nothing is armed.
    pub(crate) fn disarm(&mut self) {
        *self = Gate::default();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn asks_when_a_wait_starts_and_after_each_fire_only() {
        let mut gate = Gate::default();
        assert_eq!(gate.receive(None), Step::Ask);
        gate.armed(Armed::Receive(None));
        assert_eq!(gate.receive(None), Step::Wait);
        assert_eq!(gate.receive(None), Step::Wait, "a poll is not a fire");
        gate.fired();
        assert_eq!(gate.receive(None), Step::Ask);
        assert_eq!(gate.receive(None), Step::Ask, "nothing armed after an ask");
    }

    #[test]
    fn a_new_deadline_rearms_without_asking() {
        let mut gate = Gate::default();
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(gate.receive(None), Step::Ask);
        gate.armed(Armed::Receive(None));
        assert_eq!(
            gate.receive(Some(deadline)),
            Step::Rearm(Armed::Receive(Some(deadline)))
        );
        assert!(gate.needs_arming(Armed::Receive(Some(deadline))));
        gate.armed(Armed::Receive(Some(deadline)));
        assert!(!gate.needs_arming(Armed::Receive(Some(deadline))));
        assert_eq!(gate.receive(Some(deadline)), Step::Wait);
        // A deadline-only watch does not stand for a receive.
        gate.armed(Armed::Deadline(deadline));
        assert_eq!(gate.receive(Some(deadline)), Step::Ask);
    }
}
