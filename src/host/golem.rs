//! `golem:websocket/client@1.5.0` in its WASI 0.2 shape, waited on through
//! the wstd reactor.
//!
//! Receiving never blocks: the host's `receive-with-timeout(0)` takes a
//! message that is already there, and `subscribe()` gives a pollable that is
//! ready when one may be, which the connection's watcher waits on
//! (`super::watch`: its relay owns the wake-up and wakes the halves).
//!
//! The host's receive calls follow from what the app asks and what the host
//! answered, never from how often a future is polled: one when a receive
//! starts, then one after each time the watch fires. A durable host (Golem)
//! records those calls and replays their results in order.

use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::gate::{Armed, Gate, Step};
use super::golem_bindings::golem::websocket::client::{self as host, WebsocketConnection};
use super::watch::{Watch, WatchState, Watcher};
use crate::machine::{Connection, Failure};
use crate::{CloseFrame, Error, Message, Result};

/// A connection to the host, with its watch.
pub(crate) struct HostConnection {
    // Declared first: the watch's pollable is a child of `conn` and must be
    // dropped before it.
    /// Its state is the gate: when to ask the host.
    watch: Watcher<Gate>,
    conn: WebsocketConnection,
}

impl WatchState for Gate {
    fn fired(&mut self) {
        Gate::fired(self);
    }
}

impl HostConnection {
    /// Opens a connection: one blocking host call.
    pub(crate) fn connect(url: &str, headers: Option<&[(String, String)]>) -> Result<Self> {
        let conn =
            WebsocketConnection::connect(url, headers).map_err(|err| Error::from(failure(err)))?;
        Ok(HostConnection {
            watch: Watcher::default(),
            conn,
        })
    }

    /// Arms the watch (unless it is armed so already) and registers it on
    /// the reactor.
    fn arm(&mut self, armed: Armed, waker: &Waker) {
        let conn = &self.conn;
        self.watch.arm(waker, |gate| {
            if !gate.needs_arming(armed) {
                return None;
            }
            gate.armed(armed);
            Some(match armed {
                Armed::Receive(deadline) => Watch::new(vec![conn.subscribe()], deadline),
                Armed::Deadline(deadline) => Watch::new(Vec::new(), Some(deadline)),
            })
        });
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
            let mut slot = self.watch.slot();
            let step = slot.state.receive(deadline);
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

impl Drop for HostConnection {
    fn drop(&mut self) {
        // The pollable goes before the connection; a watcher still waiting
        // ends when it finds the watch gone.
        self.watch.clear();
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
                Error::Connect("refused".into()),
            ),
            (
                host::Error::SendFailure("pipe".into()),
                Error::Send("pipe".into()),
            ),
            (
                host::Error::ReceiveFailure("reset".into()),
                Error::Receive("reset".into()),
            ),
            (
                host::Error::ProtocolError("rsv".into()),
                Error::Protocol("rsv".into()),
            ),
            (host::Error::Closed(None), Error::ConnectionReset),
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
    fn a_close_without_a_code_is_a_close_and_no_frame_is_a_reset() {
        let no_code = host::Error::Closed(Some(host::CloseInfo {
            code: 1005,
            reason: String::new(),
        }));
        assert_eq!(failure(no_code), Failure::Closed(None));
        assert_eq!(failure(host::Error::Closed(None)), Failure::Ended);
        assert_eq!(
            Error::from(Failure::Closed(None)),
            Error::ConnectionClosed(None)
        );
        assert_eq!(Error::from(Failure::Ended), Error::ConnectionReset);
    }

    /// Golem's host passes tungstenite's `ResetWithoutClosingHandshake` on
    /// as a protocol error with its text: that exact text is the same end
    /// as `closed(none)`, and any other protocol error stays one.
    #[test]
    fn the_hosts_reset_without_closing_handshake_is_a_reset() {
        let reset = host::Error::ProtocolError("Connection reset without closing handshake".into());
        assert_eq!(failure(reset), Failure::Ended);
        let reset = host::Error::ProtocolError("Connection reset without closing handshake".into());
        assert_eq!(Error::from(failure(reset)), Error::ConnectionReset);
        let other =
            host::Error::ProtocolError("Connection reset without closing handshake!".into());
        assert_eq!(
            Error::from(failure(other)),
            Error::Protocol("Connection reset without closing handshake!".into())
        );
    }
}
