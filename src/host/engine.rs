//! A connection run by the protocol engine (`wasm-websocket-engine`) inside
//! the app itself, over `wasi:sockets`: a thin driver over the engine's
//! [`Session`] (and, for the direct client, its step-by-step
//! [`Connecting`]), every wait a pollable on the wstd reactor. Nothing here
//! blocks the component.
//!
//! Waits follow the pattern of `golem.rs`: the wstd reactor wakes a
//! registered wait for as long as its pollable is ready, until the wait is
//! dropped, so no future of this crate owns one. Each direction has a
//! [`Watcher`] whose registrations wake a relay of its own, which wakes
//! whoever asked once and has the registration dropped (`watch.rs`): one for
//! receiving (the input stream, the output stream while queued frames wait
//! for room, and a deadline) and one for sending (the output stream).
//!
//! A connection dropped while frames still wait for room (the answer to the
//! peer's close, our own close) hands its session to a task that pushes them
//! out through the reactor, within the engine's linger bounds, before it
//! closes TCP ([`linger`]).

use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use wasm_websocket_engine::close_watch::{self, PeerClose};
use wasm_websocket_engine::errors::ReadFailure;
use wasm_websocket_engine::session::{self, Event, Frame, Received, SendError, Session};

use super::hub::Ready;
use super::reactor::yield_to_host;
use super::watch::{Watch, WatchState, Watcher};

use crate::machine::{Connection, Failure};
use crate::{CloseFrame, Error, Message};

/// How long a receive that stopped at the end of its slice (with more to
/// read) pauses before it goes on, so that a flood on one connection leaves
/// time to every other task (see `SLICE_PAUSE` in the polyfill).
const SLICE_PAUSE: Duration = Duration::from_millis(1);

/// A WebSocket connection run by the engine in the app.
pub(crate) struct EngineConnection {
    // Declared first, and cleared in `Drop`: the watches' pollables are
    // children of the streams the session owns.
    reading: Watcher<Option<Key>>,
    writing: Watcher<Option<Key>>,
    /// Taken only by `Drop`.
    session: Option<Session>,
    /// The last wait of a blocked send was on the output stream: should the
    /// socket still take nothing, the host's task yields once before the
    /// send looks again (`poll_ready`).
    write_waited: bool,
}

impl EngineConnection {
    /// A connection over an open session.
    pub(crate) fn new(session: Session) -> EngineConnection {
        EngineConnection {
            reading: Watcher::default(),
            writing: Watcher::default(),
            session: Some(session),
            write_waited: false,
        }
    }

    fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("taken only by drop")
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
        self.session().send(frame).map_err(send_failure)
    }

    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure> {
        let frame = frame.map(|frame| (u16::from(frame.code), frame.reason.as_str()));
        self.session().close(frame).map_err(send_failure)
    }

    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        let session = self.session.as_mut().expect("taken only by drop");
        let spent = match session.read() {
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
        let queued = session.queued();
        let keepalive = session.keepalive_due();
        let io = session.io();
        io.take_wants();
        let mut pollables = Vec::with_capacity(2);
        let mut until = deadline;
        if spent {
            // More is there: come back after a pause.
            until = Some(Instant::now() + SLICE_PAUSE);
        } else {
            pollables.push(io.subscribe_input());
        }
        if queued {
            pollables.push(io.subscribe_output());
        }
        let key = Key {
            read: !spent,
            write: queued,
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
            || Watch::new(pollables, until),
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
            write: false,
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
        let session = self.session.as_mut().expect("taken only by drop");
        if let Some(why) = session.broken() {
            return Poll::Ready(Err(Failure::Error(Error::Send(why.to_owned()))));
        }
        match session.flush() {
            Ok(true) => {
                self.write_waited = false;
                Poll::Ready(Ok(()))
            }
            Ok(false) => {
                session.io().take_wants();
                if self.write_waited {
                    // The stream's watch fired and it still took nothing:
                    // under wasmtime 48 `check-write` answers from the
                    // host task's spent coop budget, which a yield restores
                    // (bytecodealliance/wasmtime#14174; see
                    // `reactor::yield_to_host`). Never a wait.
                    yield_to_host();
                    match session.flush() {
                        Ok(true) => {
                            self.write_waited = false;
                            return Poll::Ready(Ok(()));
                        }
                        Ok(false) => {}
                        Err(e) => return Poll::Ready(Err(send_failure(e))),
                    }
                }
                self.write_waited = true;
                let key = Key {
                    read: false,
                    write: true,
                    until: None,
                    keepalive: None,
                };
                let io = session.io();
                arm(
                    &self.writing,
                    key,
                    || Watch::new(vec![io.subscribe_output()], None),
                    cx.waker(),
                );
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(send_failure(e))),
        }
    }

    fn try_ready(&mut self) -> Result<bool, Failure> {
        let session = self.session();
        if let Some(why) = session.broken() {
            return Err(Failure::Error(Error::Send(why.to_owned())));
        }
        session.flush().map_err(send_failure)
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
    /// frame first; what the socket does not take now lingers ([`linger`]).
    fn drop(&mut self) {
        self.reading.clear();
        self.writing.clear();
        if let Some(mut session) = self.session.take()
            && session.leave()
        {
            wstd::runtime::spawn(linger(session)).detach();
        }
    }
}

/// Pushes out what a dropped session left queued, waiting on the reactor
/// for at most [`session::LINGER_TIME`], then drops it (which closes TCP).
/// A stream that takes nothing gets one host turn ([`yield_to_host`])
/// before the wait: under wasmtime 48 `check-write` says 0 for every stream
/// once the host's budget is spent, while the stream's pollable is ready,
/// so a wait on the reactor alone would spin until the bound.
async fn linger(mut session: Session) {
    let until = Instant::now() + session::LINGER_TIME;
    while matches!(session.flush(), Ok(false)) && Instant::now() < until {
        yield_to_host();
        if !matches!(session.flush(), Ok(false)) {
            return;
        }
        session.io().take_wants();
        Ready::new(vec![session.io().subscribe_output()], Some(until)).await;
    }
}

/// What a watch was armed for; a poll that asks for the same finds it
/// armed and quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    read: bool,
    write: bool,
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
