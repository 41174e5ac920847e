//! The connection's state machine, free of any host.
//!
//! What a send, a receive, a close, a deadline and a drop do in each state;
//! the queue of messages a close takes off the connection; who is waiting.
//! It talks to the host only through [`Connection`], the one seam every host
//! shape implements (`crate::host`), and it never waits: the driver
//! (`crate::socket`) holds it in a `RefCell`, polls it from the halves'
//! futures, and wakes the waiting tasks once the borrow is released.
//!
//! The unit tests below drive it with a scripted connection on the host
//! target: both close orders, a close dropped and resumed, the close
//! deadline, both halves waiting at once, spurious and missing wake-ups, and
//! each host error in each state.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::{CloseFrame, ConnectionState, Error, Message, Result};

/// How many bytes of data messages a close may take off the connection for
/// the receiver before it stops taking more, so that the peer feels TCP
/// backpressure instead of the component buffering without bound. One
/// message past the bound is kept whole.
///
/// 8 MiB covers what is typically in flight when our close frame goes out
/// (socket buffers on both sides), so a peer that stops sending when it
/// reads our close lets the close complete even when the app reads nothing.
/// A peer that keeps sending past it is read no further: the close then ends
/// at its timeout unless the app reads the stream.
pub(crate) const CLOSE_DRAIN_LIMIT: usize = 8 << 20;

/// How a host call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The peer's close frame ended the connection (`None`: it carried no
    /// status code).
    Closed(Option<CloseFrame>),
    /// The connection ended without a close frame.
    Ended,
    /// Anything else; the connection is over too when it came from a receive.
    Error(Error),
}

impl From<Failure> for Error {
    /// The peer's close frame reads `ConnectionClosed`, an end without one
    /// `ConnectionReset`, whichever call reports them.
    fn from(failure: Failure) -> Error {
        match failure {
            Failure::Closed(frame) => Error::ConnectionClosed(frame),
            Failure::Ended => Error::ConnectionReset,
            Failure::Error(err) => err,
        }
    }
}

/// One host connection: the seam between the state machine and a host shape.
///
/// `send` and `close` are whatever the host makes them (under
/// `golem:websocket` both are host calls that return once the frame is
/// handed over). `poll_receive` and `poll_deadline` never wait: they register
/// `cx`'s waker and return `Pending`.
pub(crate) trait Connection {
    /// Sends a data message, a ping or a pong.
    fn send(&mut self, message: Message) -> Result<(), Failure>;

    /// Sends a close frame (`None`: one without a status code).
    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure>;

    /// The next message or the end of the connection; `Pending` when none is
    /// there yet, with `cx` woken when one may be, or once `deadline` passes.
    ///
    /// A host makes its receive calls only when asked here, and the number
    /// it makes follows from their results, never from how often it is
    /// polled (a durable host replays those calls in order).
    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>>;

    /// Wakes `cx` once `deadline` passes, without taking any message.
    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()>;

    /// Ready once another send may go (the frames sent so far are handed
    /// over, or few enough wait for it: the engine's send ahead): a host
    /// whose `send` returns only once its frame is handed over
    /// (`golem:websocket`) is always ready.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        Poll::Ready(Ok(()))
    }

    /// Ready once every frame sent so far is handed over; always, for a
    /// host whose `send` returns only then.
    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        Poll::Ready(Ok(()))
    }

    /// Whether another send may go now, never waiting: what
    /// [`poll_ready`](Connection::poll_ready) would say, `Ok(false)` where it
    /// would wait. A host whose `send` returns only once its frame is
    /// handed over (`golem:websocket`) is always ready.
    fn try_ready(&mut self) -> Result<bool, Failure> {
        Ok(true)
    }
}

/// The tasks waiting on a connection: the receiver and a closer.
///
/// As a [`Waker`] it wakes them both: whatever the host's readiness or a
/// transition means, each waiting task looks again, so a wake-up is never
/// lost to the wrong half.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    slots: Mutex<[Option<Waker>; 2]>,
}

/// Which half waits: an index into [`Waiters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Reader = 0,
    Closer = 1,
}

impl Waiters {
    fn set(&self, half: Half, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut slots[half as usize] {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    fn clear(&self, half: Half) {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)[half as usize] = None;
    }

    /// Wakes the halves in `mask` (bits `1 << Half`).
    fn wake_some(&self, mask: u8) {
        // Taken out first, so a waker that runs its task inline finds the
        // lock free.
        let woken: Vec<Waker> = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            (0..slots.len())
                .filter(|i| mask & (1 << i) != 0)
                .filter_map(|i| slots[i].take())
                .collect()
        };
        for waker in woken {
            waker.wake();
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_some(ALL);
    }
}

/// Both halves, as a mask for [`Waiters::wake_some`].
const ALL: u8 = 0b11;

/// Wake-ups a transition asked for, to run once the core is released.
#[must_use = "wake the tasks after releasing the core"]
pub(crate) struct Wakeup {
    waiters: Arc<Waiters>,
    mask: u8,
}

impl Wakeup {
    /// Wakes the tasks.
    pub(crate) fn wake(self) {
        self.waiters.wake_some(self.mask);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Our close frame is sent; the peer's is awaited until `deadline`.
    Closing {
        deadline: Instant,
    },
    /// The connection is released.
    Ended(Ending),
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The peer began the close handshake; the host answered it.
    PeerClosed,
    /// Our close was answered, or the connection failed.
    Done,
    /// The peer did not answer our close within the close timeout.
    TimedOut,
}

/// A connection's state, its host connection, and the messages a close took
/// off it for the receiver.
#[derive(Debug)]
pub(crate) struct Core<C> {
    conn: Option<C>,
    state: State,
    /// Messages (and the final item) taken off the connection by a close or
    /// a transition, not yet read by the receiver.
    pending: VecDeque<Result<Message>>,
    /// The data bytes in `pending`, bounded by [`CLOSE_DRAIN_LIMIT`].
    pending_bytes: usize,
    waiters: Arc<Waiters>,
    /// The halves a transition asks to wake once the caller releases the
    /// core ([`Core::take_wake`]), as a mask of `1 << Half`.
    wake: u8,
    close_timeout: Duration,
}

impl<C: Connection> Core<C> {
    /// An open connection.
    pub(crate) fn new(conn: C, close_timeout: Duration) -> Self {
        Core {
            conn: Some(conn),
            state: State::Open,
            pending: VecDeque::new(),
            pending_bytes: 0,
            waiters: Arc::default(),
            wake: 0,
            close_timeout,
        }
    }

    /// The state as the public API reports it.
    pub(crate) fn state(&self) -> ConnectionState {
        match self.state {
            State::Open => ConnectionState::Open,
            State::Closing { .. } => ConnectionState::Closing,
            State::Ended(_) => ConnectionState::Closed,
        }
    }

    /// The wake-ups transitions asked for. Run them after releasing the
    /// core: a waker may run its task inline.
    pub(crate) fn take_wake(&mut self) -> Option<Wakeup> {
        let mask = std::mem::take(&mut self.wake);
        (mask != 0).then(|| Wakeup {
            waiters: self.waiters.clone(),
            mask,
        })
    }

    /// Sends a message; `Message::Close` starts the close handshake.
    ///
    /// `now` reads the clock; it is called only for a close (each clock read
    /// is a host call).
    pub(crate) fn send(&mut self, message: Message, now: impl Fn() -> Instant) -> Result<()> {
        if let Message::Close(frame) = message {
            return self.start_close(frame, now());
        }
        match (&self.state, &mut self.conn) {
            (State::Open, Some(conn)) => conn.send(message).map_err(Error::from),
            _ => Err(Error::AlreadyClosed),
        }
    }

    /// Ready once the host takes another send ([`Connection::poll_ready`]);
    /// at once when the connection is not open (the send then says why).
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match (&self.state, &mut self.conn) {
            (State::Open, Some(conn)) => conn.poll_ready(cx).map_err(Error::from),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Ready once every frame sent so far is handed over
    /// ([`Connection::poll_flush`]); at once when the connection is not
    /// open.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match (&self.state, &mut self.conn) {
            (State::Open, Some(conn)) => conn.poll_flush(cx).map_err(Error::from),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Sends a message if the host takes it now whole
    /// ([`Connection::try_ready`]), else gives it back in
    /// [`Error::WriteBufferFull`]; never waits. `Message::Close` starts the close
    /// handshake, as with [`Core::send`] (a close frame is always queued).
    pub(crate) fn try_send(&mut self, message: Message, now: impl Fn() -> Instant) -> Result<()> {
        if !message.is_close()
            && let (State::Open, Some(conn)) = (&self.state, &mut self.conn)
            && !conn.try_ready().map_err(Error::from)?
        {
            return Err(Error::WriteBufferFull(message));
        }
        self.send(message, now)
    }

    /// Whether a close frame was sent and its answer is awaited.
    pub(crate) fn is_closing(&self) -> bool {
        matches!(self.state, State::Closing { .. })
    }

    /// Sends our close frame: on success the close deadline starts.
    ///
    /// Closing after the peer closed first is `Ok`; after our own close
    /// ended, or with a frame a client may not send, an error (nothing sent).
    pub(crate) fn start_close(&mut self, frame: Option<CloseFrame>, now: Instant) -> Result<()> {
        if let Some(frame) = &frame {
            frame.check_sendable()?;
        }
        if self.state == State::Ended(Ending::PeerClosed) {
            return Ok(());
        }
        let (State::Open, Some(conn)) = (&self.state, &mut self.conn) else {
            return Err(Error::AlreadyClosed);
        };
        match conn.close(frame.as_ref()) {
            Ok(()) => {
                self.state = State::Closing {
                    deadline: now + self.close_timeout,
                };
                // Waits under way must now also watch the deadline.
                self.wake |= ALL;
                Ok(())
            }
            // The connection was over already: the close is done, and the
            // receiver learns how it ended.
            Err(failure @ (Failure::Closed(_) | Failure::Ended)) => {
                let item = self.end(failure);
                self.deliver(item);
                Ok(())
            }
            // The frame was not sent; the connection stays as it was.
            Err(Failure::Error(err)) => Err(err),
        }
    }

    /// The receiver's poll: the next message, `Some(Err)` once for how the
    /// connection ended if not by a close frame, then `None`. `now` reads
    /// the clock, only while a close deadline runs.
    pub(crate) fn poll_recv(
        &mut self,
        now: impl Fn() -> Instant,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message>>> {
        loop {
            if let Some(item) = self.pop_pending() {
                self.waiters.clear(Half::Reader);
                return Poll::Ready(Some(item));
            }
            if self.conn.is_none() {
                self.waiters.clear(Half::Reader);
                return Poll::Ready(None);
            }
            if self.check_deadline(&now) {
                continue;
            }
            self.waiters.set(Half::Reader, cx.waker());
            return match self.poll_conn() {
                Poll::Pending => Poll::Pending,
                Poll::Ready(item) => {
                    self.waiters.clear(Half::Reader);
                    Poll::Ready(Some(item))
                }
            };
        }
    }

    /// A closer's poll: takes messages off the connection for the receiver
    /// (up to [`CLOSE_DRAIN_LIMIT`]) until the peer's close arrives, the
    /// connection ends or the deadline passes.
    pub(crate) fn poll_closed(
        &mut self,
        now: impl Fn() -> Instant,
        cx: &mut Context<'_>,
    ) -> Poll<Result<()>> {
        loop {
            let deadline = match self.state {
                State::Closing { deadline } => deadline,
                State::Ended(Ending::TimedOut) => return self.closer_done(Err(Error::Timeout)),
                State::Open | State::Ended(_) => return self.closer_done(Ok(())),
            };
            if self.check_deadline(&now) {
                continue;
            }
            self.waiters.set(Half::Closer, cx.waker());
            if self.pending_bytes >= CLOSE_DRAIN_LIMIT {
                // Full: wait for the receiver to read, or for the deadline.
                let waker = Waker::from(self.waiters.clone());
                let conn = self.conn.as_mut().expect("a closing connection is held");
                if conn
                    .poll_deadline(deadline, &mut Context::from_waker(&waker))
                    .is_ready()
                {
                    continue;
                }
                return Poll::Pending;
            }
            let Poll::Ready(item) = self.poll_conn() else {
                return Poll::Pending;
            };
            let failure = match &item {
                Ok(_) | Err(Error::ConnectionReset) => None,
                Err(err) => Some(err.clone()),
            };
            self.deliver(item);
            if let Some(err) = failure {
                return self.closer_done(Err(err));
            }
        }
    }

    fn closer_done(&mut self, result: Result<()>) -> Poll<Result<()>> {
        self.waiters.clear(Half::Closer);
        Poll::Ready(result)
    }

    /// Polls the host for the next item; an end releases the connection.
    fn poll_conn(&mut self) -> Poll<Result<Message>> {
        let deadline = match self.state {
            State::Closing { deadline } => Some(deadline),
            _ => None,
        };
        let Some(conn) = &mut self.conn else {
            return Poll::Ready(Err(Error::AlreadyClosed));
        };
        let waker = Waker::from(self.waiters.clone());
        match conn.poll_receive(deadline, &mut Context::from_waker(&waker)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(message)) => Poll::Ready(Ok(message)),
            Poll::Ready(Err(failure)) => Poll::Ready(self.end(failure)),
        }
    }

    /// Ends the connection on a host failure: the peer's close becomes
    /// `Message::Close`, anything else an [`Error`].
    fn end(&mut self, failure: Failure) -> Result<Message> {
        let (item, ending) = match failure {
            Failure::Closed(frame) => {
                let ending = match self.state {
                    State::Open => Ending::PeerClosed,
                    _ => Ending::Done,
                };
                (Ok(Message::Close(frame)), ending)
            }
            Failure::Ended => (Err(Error::ConnectionReset), Ending::Done),
            Failure::Error(err) => (Err(err), Ending::Done),
        };
        self.release(ending);
        item
    }

    /// Ends a close whose deadline passed, if it did; the receiver's last
    /// item says so. True when it ended the connection. The clock is read
    /// only while a close deadline runs.
    fn check_deadline(&mut self, now: &impl Fn() -> Instant) -> bool {
        let State::Closing { deadline } = self.state else {
            return false;
        };
        if now() < deadline {
            return false;
        }
        self.deliver(Err(Error::Timeout));
        self.release(Ending::TimedOut);
        true
    }

    /// Queues an item for the receiver.
    fn deliver(&mut self, item: Result<Message>) {
        if let Ok(message) = &item {
            self.pending_bytes += message.len();
        }
        self.pending.push_back(item);
        self.wake |= 1 << Half::Reader as u8;
    }

    fn pop_pending(&mut self) -> Option<Result<Message>> {
        let item = self.pending.pop_front()?;
        if let Ok(message) = &item {
            // A closer that stopped at the bound may take more now.
            if self.pending_bytes >= CLOSE_DRAIN_LIMIT {
                self.wake |= 1 << Half::Closer as u8;
            }
            self.pending_bytes -= message.len();
        }
        Some(item)
    }

    /// Drops the host connection; everyone waiting looks again.
    fn release(&mut self, ending: Ending) {
        self.state = State::Ended(ending);
        self.conn = None;
        self.wake |= ALL;
    }

    /// What dropping the last half does: an open connection gets a normal
    /// close (best effort: the peer may be gone, and nobody is left to
    /// tell), then the host connection is released.
    pub(crate) fn abandon(&mut self) {
        if let (State::Open, Some(conn)) = (&self.state, &mut self.conn) {
            let _ = conn.close(Some(&CloseFrame::new(crate::CloseCode::Normal, "")));
        }
        self.release(Ending::Done);
    }
}

#[cfg(test)]
mod tests;
