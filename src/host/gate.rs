//! When a WASI 0.2 host connection asks the host for a message: the
//! decision, free of any host, so that it can be tested on the host target.
//!
//! A durable host (Golem) records every `receive-with-timeout` call and
//! replays the recorded answers in order. So the calls must follow from the
//! app's receives and from what the host answered (its answers and its
//! recorded readiness), never from how often a future happens to be polled:
//! the gate asks once when a wait starts, then once after each time the watch
//! fired, and never while a watch is armed and quiet.

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
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Duration;

    use super::*;
    use crate::machine::{Connection, Core, Failure};
    use crate::{CloseFrame, Error, Message};

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

    /// One host call as a durable host records it: the name, and what it
    /// answered.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Entry {
        Receive(Option<String>),
        Send,
        Close,
    }

    /// A WASI 0.2 host connection over the gate, as `golem.rs` wires it,
    /// with the host's answers scripted. Live, it answers from `live` and
    /// records the oplog; in replay, it answers from a recorded oplog and
    /// checks each call's name against it, as Golem does.
    struct Model {
        gate: Gate,
        live: VecDeque<Option<String>>,
        replay: Option<VecDeque<Entry>>,
        oplog: Rc<RefCell<Vec<Entry>>>,
        /// The watcher's waker while a watch is armed.
        waker: Option<Waker>,
    }

    impl Model {
        fn record(&mut self, entry: Entry) -> Entry {
            let entry = match &mut self.replay {
                Some(oplog) => {
                    let recorded = oplog.pop_front().expect("a recorded call");
                    let same = std::mem::discriminant(&recorded) == std::mem::discriminant(&entry);
                    assert!(
                        same,
                        "replay diverged: {entry:?} where {recorded:?} was recorded"
                    );
                    recorded
                }
                None => entry,
            };
            self.oplog.borrow_mut().push(entry.clone());
            entry
        }
    }

    impl Connection for Model {
        fn send(&mut self, _message: Message) -> Result<(), Failure> {
            self.record(Entry::Send);
            Ok(())
        }

        fn close(&mut self, _frame: Option<&CloseFrame>) -> Result<(), Failure> {
            self.record(Entry::Close);
            Ok(())
        }

        fn poll_receive(
            &mut self,
            deadline: Option<Instant>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<Message, Failure>> {
            match self.gate.receive(deadline) {
                Step::Wait => {}
                Step::Rearm(armed) => self.gate.armed(armed),
                Step::Ask => {
                    let answer = self.live.front().cloned().flatten();
                    let Entry::Receive(answer) = self.record(Entry::Receive(answer)) else {
                        unreachable!("checked by record")
                    };
                    if self.replay.is_none() {
                        self.live.pop_front();
                    }
                    if let Some(text) = answer {
                        return Poll::Ready(Ok(Message::text(text)));
                    }
                    self.gate.armed(Armed::Receive(deadline));
                }
            }
            self.waker = Some(cx.waker().clone());
            Poll::Pending
        }

        fn poll_deadline(&mut self, _deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
            self.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    struct Noop;

    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// What happens during a run, in order.
    #[derive(Debug, Clone, Copy)]
    enum Event {
        /// The app's receiver is polled (a receive starts or goes on).
        Poll,
        /// The connection's pollable fires (a recorded readiness).
        Fire,
        /// The app sends a message.
        Send,
    }

    /// Runs the events against the crate and returns the oplog and what the
    /// app received.
    fn run(
        events: &[Event],
        live: &[Option<&str>],
        replay: Option<Vec<Entry>>,
    ) -> (Vec<Entry>, Vec<String>) {
        let oplog = Rc::new(RefCell::new(Vec::new()));
        let model = Model {
            gate: Gate::default(),
            live: live.iter().map(|a| a.map(str::to_owned)).collect(),
            replay: replay.map(VecDeque::from),
            oplog: oplog.clone(),
            waker: None,
        };
        let mut core = Core::new(model, Duration::from_secs(5));
        let waker = Waker::from(Arc::new(Noop));
        let mut received = Vec::new();
        let now = Instant::now();
        for event in events {
            match event {
                Event::Poll => {
                    if let Poll::Ready(Some(item)) =
                        core.poll_recv(|| now, &mut Context::from_waker(&waker))
                    {
                        received.push(
                            item.and_then(Message::into_text)
                                .unwrap_or_else(|e: Error| e.to_string()),
                        );
                    }
                }
                Event::Fire => core.with_connection(|model| {
                    if model.waker.take().is_some() {
                        model.gate.fired();
                    }
                }),
                Event::Send => core.send(Message::text("out"), || now).unwrap(),
            }
            if let Some(wakeup) = core.take_wake() {
                wakeup.wake();
            }
        }
        let oplog = oplog.borrow().clone();
        (oplog, received)
    }

    #[test]
    fn a_replay_makes_the_recorded_calls_however_often_it_is_polled() {
        use Event::*;
        // Live: a receive finds nothing, waits, a spurious fire finds
        // nothing again, the next fire finds "a"; then a send, and a second
        // receive that finds "b" at once.
        let live_events = [Poll, Fire, Poll, Fire, Poll, Send, Poll];
        let answers = [None, None, Some("a"), Some("b")];
        let (oplog, received) = run(&live_events, &answers, None);
        assert_eq!(received, ["a", "b"]);
        assert_eq!(
            oplog,
            [
                Entry::Receive(None),
                Entry::Receive(None),
                Entry::Receive(Some("a".into())),
                Entry::Send,
                Entry::Receive(Some("b".into())),
            ]
        );

        // Replay: the same app calls and the same recorded fires, but a
        // waiting receive is polled far more often (other tasks and other
        // connections wake its task).
        let busy = [Poll, Poll, Poll, Fire, Poll, Poll, Fire, Poll, Send, Poll];
        let (replayed, received_again) = run(&busy, &[], Some(oplog.clone()));
        assert_eq!(replayed, oplog, "the same calls, in the same order");
        assert_eq!(received_again, ["a", "b"]);
    }
}
