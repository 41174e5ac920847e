//! `golem:websocket/client@1.5.0` in its WASI 0.2 shape, waited on through
//! the wstd reactor.
//!
//! Receiving never blocks: the host's `receive-with-timeout(0)` takes a
//! message that is already there, and `subscribe()` gives a pollable that is
//! ready when one may be. The wstd reactor wakes a registered wait for as long
//! as its pollable is ready, until the wait is dropped, so a wait owned by a
//! receive that stopped being polled would make it spin. No future of this
//! crate owns one: a small task per connection, the watcher, owns the
//! registration, drops it the moment it fires, and wakes the halves.
//!
//! The host's receive calls follow from what the app asks and what the host
//! answered, never from how often a future is polled: one when a receive
//! starts, then one after each time the watch fires. A durable host (Golem)
//! records those calls and replays their results in order.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use wasip2::io::poll::Pollable;
use wstd::runtime::{AsyncPollable, WaitFor};
use wstd::time::{Timer, Wait};

use super::gate::{Armed, Gate, Step};
use super::golem_bindings::golem::websocket::client::{self as host, WebsocketConnection};
use crate::machine::{Connection, Failure};
use crate::{CloseFrame, Error, Message, Result};

/// A connection to the host, with its watch.
pub(crate) struct HostConnection {
    // Declared first: the watch's pollable is a child of `conn` and must be
    // dropped before it.
    watch: Rc<RefCell<WatchSlot>>,
    conn: WebsocketConnection,
}

/// What the watcher task of one connection waits for, and whom it wakes.
#[derive(Default)]
struct WatchSlot {
    watch: Option<Watch>,
    /// When to ask the host.
    gate: Gate,
    /// Woken when the watch fires.
    waker: Option<Waker>,
    /// Whether a watcher task runs, and its waker while it waits.
    watcher_running: bool,
    watcher: Option<Waker>,
}

impl HostConnection {
    /// Opens a connection: one blocking host call.
    pub(crate) fn connect(url: &str, headers: Option<&[(String, String)]>) -> Result<Self> {
        let conn =
            WebsocketConnection::connect(url, headers).map_err(|err| Error::from(failure(err)))?;
        Ok(HostConnection {
            watch: Rc::default(),
            conn,
        })
    }

    /// Arms the watch (unless it is armed so already) and makes sure a
    /// watcher task waits on it.
    fn arm(&mut self, armed: Armed, waker: &Waker) {
        let mut slot = self.watch.borrow_mut();
        slot.waker = Some(waker.clone());
        if !slot.gate.needs_arming(armed) {
            return;
        }
        let (pollable, deadline) = match armed {
            Armed::Receive(deadline) => (Some(self.conn.subscribe()), deadline),
            Armed::Deadline(deadline) => (None, Some(deadline)),
        };
        slot.watch = Some(Watch::new(pollable, deadline));
        slot.gate.armed(armed);
        if let Some(watcher) = slot.watcher.take() {
            // A watcher waiting on the old watch polls the new one.
            drop(slot);
            watcher.wake();
        } else if !slot.watcher_running {
            slot.watcher_running = true;
            drop(slot);
            wstd::runtime::spawn(watcher(Rc::downgrade(&self.watch))).detach();
        }
    }
}

impl Connection for HostConnection {
    fn send(&mut self, message: Message) -> Result<(), Failure> {
        send_message(&self.conn, message)
    }

    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure> {
        send_close(&self.conn, frame)
    }

    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        let step = {
            let mut slot = self.watch.borrow_mut();
            let step = slot.gate.receive(deadline);
            match step {
                Step::Ask => slot.watch = None,
                Step::Wait => slot.waker = Some(cx.waker().clone()),
                Step::Rearm(_) => {}
            }
            step
        };
        match step {
            Step::Ask => {}
            Step::Wait => return Poll::Pending,
            Step::Rearm(armed) => {
                self.arm(armed, cx.waker());
                return Poll::Pending;
            }
        }
        match self.conn.receive_with_timeout(0) {
            Ok(Some(host::Message::Text(text))) => Poll::Ready(Ok(Message::Text(text))),
            Ok(Some(host::Message::Binary(data))) => Poll::Ready(Ok(Message::Binary(data))),
            Ok(None) => {
                self.arm(Armed::Receive(deadline), cx.waker());
                Poll::Pending
            }
            Err(err) => Poll::Ready(Err(failure(err))),
        }
    }

    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        self.arm(Armed::Deadline(deadline), cx.waker());
        Poll::Pending
    }
}

golem_calls!(host);

/// The watcher task of a connection: waits for what the slot holds, drops it
/// the moment it fires, and wakes whoever asked. It ends then, or when the
/// watch is dropped or the connection is gone.
async fn watcher(slot: Weak<RefCell<WatchSlot>>) {
    poll_fn(|cx| {
        let Some(slot) = slot.upgrade() else {
            return Poll::Ready(());
        };
        let mut guard = slot.borrow_mut();
        let Some(watch) = &mut guard.watch else {
            guard.watcher_running = false;
            guard.watcher = None;
            return Poll::Ready(());
        };
        if watch.poll(cx).is_pending() {
            guard.watcher = Some(cx.waker().clone());
            return Poll::Pending;
        }
        guard.watch = None;
        guard.gate.fired();
        guard.watcher_running = false;
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

impl Drop for HostConnection {
    fn drop(&mut self) {
        // The pollable goes before the connection; a watcher still waiting
        // ends when it finds the watch gone.
        let watcher = {
            let mut slot = self.watch.borrow_mut();
            slot.watch = None;
            slot.waker = None;
            slot.watcher.take()
        };
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }
}

/// What a watcher waits for: the connection's pollable, the deadline, or both.
struct Watch {
    ready: Option<WaitFor>,
    deadline: Option<Wait>,
    /// Whether the registrations were made, by a first poll that found
    /// neither ready.
    registered: bool,
}

impl Watch {
    fn new(pollable: Option<Pollable>, deadline: Option<Instant>) -> Watch {
        Watch {
            ready: pollable.map(|p| AsyncPollable::new(p).wait_for()),
            deadline: deadline.map(|at| {
                let left = at.saturating_duration_since(Instant::now());
                Timer::after(left.into()).wait()
            }),
            registered: false,
        }
    }

    /// Ready once the pollable or the deadline is, or once the watcher is
    /// woken after the registrations were made.
    ///
    /// A wake-up counts as readiness, without asking the pollable again.
    /// With 300 connections in one component under wasmtime 48, watchers that
    /// asked were woken hundreds of times and found `pollable.ready` false
    /// each time, while the echo they waited for had arrived; they never
    /// fired. Letting the halves try a receive instead costs one empty
    /// receive per spurious wake-up.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered {
            return Poll::Ready(());
        }
        if let Some(ready) = &mut self.ready
            && Pin::new(ready).poll(cx).is_ready()
        {
            return Poll::Ready(());
        }
        if let Some(deadline) = &mut self.deadline
            && Pin::new(deadline).poll(cx).is_ready()
        {
            return Poll::Ready(());
        }
        self.registered = true;
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    #[test]
    fn host_errors_map_one_to_one_and_keep_their_text() {
        let cases = [
            (
                host::Error::ConnectionFailure("refused".into()),
                Error::ConnectionFailed("refused".into()),
            ),
            (
                host::Error::SendFailure("pipe".into()),
                Error::SendFailed("pipe".into()),
            ),
            (
                host::Error::ReceiveFailure("reset".into()),
                Error::ReceiveFailed("reset".into()),
            ),
            (
                host::Error::ProtocolError("rsv".into()),
                Error::Protocol("rsv".into()),
            ),
            (host::Error::Closed(None), Error::Closed(None)),
            (host::Error::Other("odd".into()), Error::Other("odd".into())),
        ];
        for (from, to) in cases {
            assert_eq!(Error::from(failure(from)), to);
        }
        let closed = host::Error::Closed(Some(host::CloseInfo {
            code: 4001,
            reason: "bye".into(),
        }));
        assert_eq!(
            failure(closed),
            Failure::Closed(Some(CloseFrame::new(CloseCode::Library(4001), "bye")))
        );
    }

    #[test]
    fn a_close_without_a_code_reads_the_same_from_any_call() {
        let no_code = host::Error::Closed(Some(host::CloseInfo {
            code: 1005,
            reason: String::new(),
        }));
        assert_eq!(failure(no_code), Failure::Closed(None));
        assert_eq!(failure(host::Error::Closed(None)), Failure::Ended);
        assert_eq!(
            Error::from(Failure::Closed(None)),
            Error::from(Failure::Ended),
            "both read as a close without a status code"
        );
    }
}
