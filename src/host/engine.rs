//! A connection run by the protocol engine (`wasm-websocket-engine`) inside
//! the app itself, over `wasi:sockets`: a thin driver over the engine's
//! [`Session`] (and, for the direct client, its step-by-step
//! [`Connecting`]), every wait a pollable on the wstd reactor. Nothing here
//! blocks the component.
//!
//! Receiving follows the pattern of `golem.rs`: the wstd reactor wakes a
//! registered wait for as long as its pollable is ready, until the wait is
//! dropped, so no future of this crate owns one. The receiver's [`Watcher`]
//! registrations wake a relay of its own, which wakes whoever asked once and
//! has the registration dropped (`watch.rs`): it waits for the input stream
//! and a deadline.
//!
//! Sending queues ahead: a send queues its frame in the session and returns
//! while the queue holds less than [`session::SEND_AHEAD`], so that frames
//! sent one after another leave in one write. One task per connection, the
//! pusher ([`push`]), hands the queue to the socket: the only wait on the
//! output stream. It starts with the first call that leaves bytes queued (a
//! send, a close, a receive that queued an answer, a send or flush waiting
//! for room), parks while nothing is queued, and wakes a send (or flush)
//! waiting for room. A receive that finds nothing more to read flushes the
//! queue too, so an echo's answers to what one read brought leave together.
//!
//! A connection dropped while frames still wait (the answer to the peer's
//! close, our own close, the app's last frames) leaves the session to the
//! pusher, which pushes them out within the engine's linger bounds before it
//! drops the session, which closes TCP.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use wasm_websocket_engine::close_watch::{self, PeerClose};
use wasm_websocket_engine::errors::ReadFailure;
use wasm_websocket_engine::session::{self, Event, Frame, Received, SendError, Session};

use super::hub::Ready;
use super::watch::{Watch, WatchState, Watcher};

use crate::machine::{Connection, Failure};
use crate::{CloseFrame, Error, Message};

/// How long a receive that stopped at the end of its slice (with more to
/// read) pauses before it goes on, so that a flood on one connection leaves
/// time to every other task (see `SLICE_PAUSE` in the polyfill).
const SLICE_PAUSE: Duration = Duration::from_millis(1);

/// A WebSocket connection run by the engine in the app.
pub(crate) struct EngineConnection {
    // Declared first, and cleared in `Drop`: the watch's pollables are
    // children of the streams the session owns.
    reading: Watcher<Option<Key>>,
    link: Rc<Link>,
}

/// The session, shared by the connection and its pusher ([`push`]).
///
/// Nothing borrows the session across a wait, and no waker is woken while
/// it is borrowed.
struct Link {
    session: RefCell<Session>,
    /// The pusher runs (parked, waiting, or about to run).
    pushing: Cell<bool>,
    /// The pusher is parked: nothing was queued at its last look.
    parked: Cell<bool>,
    /// Wakes the pusher while it waits; taken by whoever wakes it.
    pusher: Cell<Option<Waker>>,
    /// Wakes the send or flush that waits for room.
    sender: Cell<Option<Waker>>,
    /// Once the connection was dropped: until when what is queued may still
    /// go out.
    left: Cell<Option<Instant>>,
}

impl Link {
    /// Has the queue pushed: starts the pusher, or wakes it where it is
    /// parked. A pusher that waits for the output stream pushes the new
    /// frames with the rest once the stream takes more (waking it earlier
    /// would only spin).
    fn kick(self: &Rc<Link>) {
        if !self.pushing.replace(true) {
            wstd::runtime::spawn(push(Rc::clone(self))).detach();
        } else if self.parked.get() {
            self.wake_pusher();
        }
    }

    /// Has the pusher look again, wherever it waits.
    fn wake_pusher(&self) {
        if let Some(pusher) = self.pusher.take() {
            pusher.wake();
        }
    }

    /// Lets the pusher wake `cx` once it made progress.
    fn wait_for_room(self: &Rc<Link>, cx: &mut Context<'_>) {
        self.sender.set(Some(cx.waker().clone()));
        self.kick();
    }
}

impl EngineConnection {
    /// A connection over an open session; its frames queue ahead
    /// ([`session::SEND_AHEAD`]).
    pub(crate) fn new(session: Session) -> EngineConnection {
        EngineConnection {
            reading: Watcher::default(),
            link: Rc::new(Link {
                session: RefCell::new(session.send_ahead(session::SEND_AHEAD)),
                pushing: Cell::new(false),
                parked: Cell::new(false),
                pusher: Cell::new(None),
                sender: Cell::new(None),
                left: Cell::new(None),
            }),
        }
    }

    /// Runs `f` on the session, then has the pusher push what it left
    /// queued.
    fn queue<T>(&mut self, f: impl FnOnce(&mut Session) -> T) -> T {
        let mut session = self.link.session.borrow_mut();
        let result = f(&mut session);
        let queued = session.queued();
        drop(session);
        if queued {
            self.link.kick();
        }
        result
    }
}

/// A send's failure as the state machine sees it.
fn send_failure(err: SendError) -> Failure {
    match err {
        SendError::Closed(Some((code, reason))) => peer_closed(PeerClose::Closed { code, reason }),
        SendError::Closed(None) => Failure::Ended,
        SendError::Broken(text) | SendError::Invalid(text) => Failure::Error(Error::Send(text)),
    }
}

/// `Ok` unless an earlier write failed, which every later send, flush or
/// wait for room reports.
fn sendable(session: &Session) -> Result<(), Failure> {
    match session.broken() {
        Some(why) => Err(Failure::Error(Error::Send(why.to_owned()))),
        None => Ok(()),
    }
}

/// The peer's close frame: its code and reason as seen on the wire, or a
/// violation when that code may not be sent.
fn peer_closed(close: PeerClose) -> Failure {
    match close {
        PeerClose::InvalidCode(code) => Failure::Error(Error::Protocol(format!(
            "the peer's close frame has close code {code}, which may not be sent on \
             the wire (answered with 1002)"
        ))),
        PeerClose::Closed { code, .. } if code == close_watch::NO_STATUS => Failure::Closed(None),
        PeerClose::Closed { code, reason } => Failure::Closed(Some(CloseFrame::new(code, reason))),
    }
}

/// A failed read: the session is over.
fn read_failed(failure: ReadFailure) -> Failure {
    match failure {
        ReadFailure::Violation { text, .. } => Failure::Error(Error::Protocol(text)),
        ReadFailure::Abrupt | ReadFailure::AlreadyClosed => Failure::Ended,
        ReadFailure::Other(text) => Failure::Error(Error::Receive(text)),
        ReadFailure::KeepaliveTimeout(timeout) => Failure::Error(Error::KeepaliveTimeout(timeout)),
    }
}

impl Connection for EngineConnection {
    fn send(&mut self, message: Message) -> Result<(), Failure> {
        let frame = match message {
            Message::Text(text) => Frame::Text(text),
            Message::Binary(data) => Frame::Binary(data),
            Message::Ping(data) => Frame::Ping(data),
            Message::Pong(data) => Frame::Pong(data),
            Message::Close(_) => unreachable!("the state machine sends close frames with close"),
        };
        self.queue(|session| session.send(frame))
            .map_err(send_failure)
    }

    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure> {
        let frame = frame.map(|frame| (u16::from(frame.code), frame.reason.as_str()));
        self.queue(|session| session.close(frame))
            .map_err(send_failure)
    }

    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        // A read that hands up no message flushes what waits, and a read
        // may queue answers (pongs, the answer to a close): the pusher takes
        // what the socket did not.
        let (event, keepalive, input) = self.queue(|session| {
            let event = session.read();
            let keepalive = session.keepalive_due();
            session.io().take_wants();
            let input = matches!(event, Ok(Event::Idle)).then(|| session.io().subscribe_input());
            (event, keepalive, input)
        });
        let spent = match event {
            Ok(Event::Message(Received::Text(text))) => {
                return Poll::Ready(Ok(Message::Text(text)));
            }
            Ok(Event::Message(Received::Binary(data))) => {
                return Poll::Ready(Ok(Message::Binary(data)));
            }
            Ok(Event::Message(Received::Pong(data))) => {
                return Poll::Ready(Ok(Message::Pong(data)));
            }
            Ok(Event::Closed(close)) => return Poll::Ready(Err(peer_closed(close))),
            Err(failure) => return Poll::Ready(Err(read_failed(failure))),
            Ok(Event::More) => true,
            Ok(Event::Idle) => false,
        };
        let mut until = deadline;
        if spent {
            // More is there: come back after a pause.
            until = Some(Instant::now() + SLICE_PAUSE);
        }
        let key = Key {
            read: !spent,
            until,
            keepalive,
        };
        // The keepalive's next turn ends the wait too: the next read pings.
        let until = match (until, keepalive.map(reactor_instant)) {
            (Some(u), Some(k)) => Some(u.min(k)),
            (u, k) => u.or(k),
        };
        arm(
            &self.reading,
            key,
            || Watch::new(input.into_iter().collect(), until),
            cx.waker(),
        );
        Poll::Pending
    }

    fn poll_deadline(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        let key = Key {
            read: false,
            until: Some(deadline),
            keepalive: None,
        };
        arm(
            &self.reading,
            key,
            || Watch::new(Vec::new(), Some(deadline)),
            cx.waker(),
        );
        Poll::Pending
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        let mut session = self.link.session.borrow_mut();
        if let Err(failure) = sendable(&session) {
            return Poll::Ready(Err(failure));
        }
        if session.may_send() {
            return Poll::Ready(Ok(()));
        }
        // Over the bound: hand the socket what it takes now.
        if let Err(e) = session.flush() {
            return Poll::Ready(Err(send_failure(e)));
        }
        if session.may_send() {
            return Poll::Ready(Ok(()));
        }
        drop(session);
        self.link.wait_for_room(cx);
        Poll::Pending
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        let mut session = self.link.session.borrow_mut();
        if let Err(failure) = sendable(&session) {
            return Poll::Ready(Err(failure));
        }
        match session.flush() {
            Ok(true) => Poll::Ready(Ok(())),
            Ok(false) => {
                drop(session);
                self.link.wait_for_room(cx);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(send_failure(e))),
        }
    }

    fn try_ready(&mut self) -> Result<bool, Failure> {
        let mut session = self.link.session.borrow_mut();
        sendable(&session)?;
        if session.may_send() {
            return Ok(true);
        }
        session.flush().map_err(send_failure)?;
        let ready = session.may_send();
        drop(session);
        if !ready {
            self.link.kick();
        }
        Ok(ready)
    }
}

/// An instant of the engine's monotonic clock (nanoseconds) as a
/// `std::time::Instant` (which reads the same clock on wasm32-wasip2).
fn reactor_instant(at: wasm_websocket_engine::wait::Instant) -> Instant {
    let now = wasip2::clocks::monotonic_clock::now();
    Instant::now() + Duration::from_nanos(at.saturating_sub(now))
}

impl Drop for EngineConnection {
    /// Ends the connection, never waiting: the state machine queued a close
    /// frame first; what the socket does not take now is the pusher's to
    /// push out, within [`session::LINGER_BYTES`] and
    /// [`session::LINGER_TIME`] ([`push`]).
    fn drop(&mut self) {
        self.reading.clear();
        let linger = self.link.session.borrow_mut().leave();
        let until = Instant::now()
            + if linger {
                session::LINGER_TIME
            } else {
                Duration::ZERO
            };
        self.link.left.set(Some(until));
        // A pusher that runs sees the end; without one, a session that
        // need not linger goes with this link.
        if linger || self.link.pushing.get() {
            self.link.kick();
            self.link.wake_pusher();
        }
    }
}

/// The pusher: flushes the session's queue whenever the output stream takes
/// more, wakes a send or flush waiting for room after each turn, and parks
/// while nothing waits until a send, a receive or the drop wakes it
/// ([`Link::kick`]). After the drop it pushes out what is left until the
/// linger deadline at most, then drops the session (which closes TCP); a
/// write that fails ends it too (a later send reports the failure).
async fn push(link: Rc<Link>) {
    loop {
        let left = link.left.get();
        let output = {
            let mut session = link.session.borrow_mut();
            match session.flush() {
                Ok(false) if left.is_none_or(|until| Instant::now() < until) => {
                    session.io().take_wants();
                    Some(session.io().subscribe_output())
                }
                Ok(_) if left.is_none() => None,
                _ => break,
            }
        };
        if let Some(sender) = link.sender.take() {
            sender.wake();
        }
        link.parked.set(output.is_none());
        match output {
            // Waits for room, until the deadline of a dropped connection.
            Some(output) => until_kicked(&link, Ready::new(vec![output], left)).await,
            None => until_kicked(&link, std::future::pending()).await,
        }
    }
    link.pushing.set(false);
    if let Some(sender) = link.sender.take() {
        sender.wake();
    }
}

/// Waits for `wait`, or until the pusher is woken ([`Link::wake_pusher`]).
async fn until_kicked(link: &Link, wait: impl Future<Output = ()>) {
    let mut wait = pin!(wait);
    let mut first = true;
    poll_fn(|cx| {
        // A kick takes the waker: look again.
        if !std::mem::take(&mut first) && link.pusher.take().is_none() {
            return Poll::Ready(());
        }
        link.pusher.set(Some(cx.waker().clone()));
        wait.as_mut().poll(cx)
    })
    .await;
    link.pusher.set(None);
}

/// What a watch was armed for; a poll that asks for the same finds it
/// armed and quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    read: bool,
    until: Option<Instant>,
    /// The session's keepalive turn (engine clock).
    keepalive: Option<wasm_websocket_engine::wait::Instant>,
}

impl WatchState for Option<Key> {
    fn fired(&mut self) {
        *self = None;
    }
}

/// Arms `watcher` for `key` with the watch `make` gives, unless a watch
/// armed for the same key waits already; either way it wakes `waker`.
fn arm(watcher: &Watcher<Option<Key>>, key: Key, make: impl FnOnce() -> Watch, waker: &Waker) {
    watcher.arm(waker, |armed| {
        if *armed == Some(key) {
            return None;
        }
        *armed = Some(key);
        Some(make())
    });
}

/// A session the engine opened, and what its handshake agreed.
#[cfg(feature = "sockets")]
pub(crate) use wasm_websocket_engine::connect::Opened;

/// Opens a session (name lookup, TCP, TLS for `wss://`, the opening
/// handshake) step by step, waiting on the reactor between steps, all
/// bounded by the connect timeout. The limits and trust anchors are the
/// polyfill's, from the same environment variables
/// (`wasm_websocket_engine::settings`). `pongs`: the session hands the
/// peer's pongs up.
#[cfg(feature = "sockets")]
pub(crate) async fn connect(
    url: &wasm_websocket_engine::target::WsUrl,
    headers: &[(String, String)],
    pongs: bool,
) -> crate::Result<Opened> {
    use wasm_websocket_engine::connect::Connecting;
    use wasm_websocket_engine::settings::Settings;

    let settings = Settings::from_env().map_err(Error::Connect)?;
    let mut connecting =
        Connecting::start(url, headers, settings, pongs).map_err(Error::Connect)?;
    loop {
        if let Some(opened) = connecting.step().map_err(Error::Connect)? {
            return Ok(opened);
        }
        // A wait that times out is seen by the next step.
        let left = remaining(connecting.wait_deadline()).min(crate::request::MAX_TIMEOUT);
        Ready::new(connecting.subscribe(), Some(Instant::now() + left)).await;
    }
}

/// The time left until an engine deadline.
#[cfg(feature = "sockets")]
fn remaining(deadline: wasm_websocket_engine::wait::Deadline) -> Duration {
    use wasm_websocket_engine::wait::Deadline;
    match deadline {
        Deadline::At(at) => {
            let now = wasip2::clocks::monotonic_clock::now();
            Duration::from_nanos(at.saturating_sub(now))
        }
        Deadline::Now => Duration::ZERO,
        Deadline::Never => Duration::MAX,
    }
}
