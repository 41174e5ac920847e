//! One WebSocket connection: the `websocket-connection` resource, a thin
//! driver over the engine's [`Session`] whose waits block inside its calls.
//!
//! Every blocking function here is a loop of "step the engine, and when it
//! has nothing yet, wait on what it names until a deadline". The protocol
//! (framing, pings, close answers, limits) is the engine's; this file maps
//! its outcomes to the WIT `error` variant and keeps what only this
//! interface has: the message `subscribe` reads ahead, and the goodbyes
//! still on their way when a connection is dropped ([`Lingering`]).

use std::cell::RefCell;
use std::time::Duration;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::Pollable;

use crate::bindings::exports::golem::websocket::client::{CloseInfo, Error, Message};
use wasm_websocket_engine::close_watch::PeerClose;
use wasm_websocket_engine::connect::{Connecting, Opened};
use wasm_websocket_engine::errors::ReadFailure;
use wasm_websocket_engine::protocol::close;
use wasm_websocket_engine::session::{self, Event, Frame, Received, SendError, Session};
use wasm_websocket_engine::settings::{self, Settings};
use wasm_websocket_engine::target::{self, WsUrl};
use wasm_websocket_engine::wait::{Deadline, ready_pollable, wait_for, yield_to_host};

/// How often the pollable of `subscribe` wakes the guest while our close
/// frame waits for room in a full socket, so that the next receive can push
/// it out (a stream's pollable cannot tell "readable or writable").
const CLOSE_RETRY: u64 = 20_000_000;

/// How long the pollable of `subscribe` waits after a receive stopped at the
/// end of its slice with more to read. Not zero: a pollable that is ready at
/// once lets the guest run without ever blocking in `poll`, and wasmtime 48
/// then stops reporting other streams ready (tokio's cooperative budget of the
/// host task runs out and only a wait refills it), so that a flood on one
/// connection would starve every other one.
const SLICE_PAUSE: u64 = 1_000_000;

/// The `websocket-connection` resource.
pub(crate) struct Connection {
    inner: RefCell<Inner>,
}

struct Inner {
    /// `None` only once dropped.
    session: Option<Session>,
    settings: Settings,
    /// A message or error read ahead by `subscribe`, returned by the next receive.
    stash: Option<Result<Message, Error>>,
    /// The last receive stopped at the end of its slice with more to read:
    /// `subscribe` is ready after a pause.
    more: bool,
    /// The last receive read everything that had arrived and found no
    /// whole message: `subscribe` waits on the input stream without
    /// reading again (its pollable is ready at once if bytes arrived since).
    drained: bool,
}

fn failure(text: String) -> Error {
    Error::ConnectionFailure(text)
}

impl Connection {
    /// `connect(url, headers)`: TCP (+ TLS) + opening handshake, bounded by
    /// `WASM_WEBSOCKET_CONNECT_TIMEOUT_MS`.
    pub(crate) fn open(url: &str, headers: &[(String, String)]) -> Result<Connection, Error> {
        Lingering::sweep();
        let settings = Settings::from_env().map_err(failure)?;
        let url = target::parse(url).map_err(failure)?;
        let opened = open_session(&url, headers, settings.clone(), false).map_err(failure)?;
        Ok(Connection {
            inner: RefCell::new(Inner {
                session: Some(opened.session),
                settings,
                stash: None,
                more: false,
                drained: false,
            }),
        })
    }

    /// `send`: the whole frame is handed to the socket, or an error.
    pub(crate) fn send(&self, message: Message) -> Result<(), Error> {
        Lingering::sweep();
        let mut inner = self.inner.borrow_mut();
        let frame = match message {
            Message::Text(text) => Frame::Text(text),
            Message::Binary(data) => Frame::Binary(data),
        };
        let session = inner.session()?;
        session.send(frame).map_err(send_error)?;
        inner.flush_or_fail()
    }

    /// `receive`: blocks until a whole message arrives.
    pub(crate) fn receive(&self) -> Result<Message, Error> {
        Lingering::sweep();
        let mut inner = self.inner.borrow_mut();
        loop {
            if let Some(message) = inner.next_message(Deadline::Never)? {
                return Ok(message);
            }
        }
    }

    /// `receive-with-timeout`: 0 never blocks; n waits at most n ms.
    pub(crate) fn receive_with_timeout(&self, timeout_ms: u64) -> Result<Option<Message>, Error> {
        Lingering::sweep();
        self.inner
            .borrow_mut()
            .next_message(Deadline::after_ms(timeout_ms))
    }

    /// `close`: queues a close frame (once) and pushes out what the socket
    /// takes now, never waiting: a frame the socket does not take at once is
    /// pushed out by later calls (receive, subscribe, drop). The peer's answer
    /// arrives through receive as `closed(some(..))`.
    pub(crate) fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), Error> {
        Lingering::sweep();
        let mut inner = self.inner.borrow_mut();
        let session = inner.session()?;
        if let Some(info) = session.ended() {
            return Err(Error::Closed(info.clone().map(close_info)));
        }
        let frame = close_frame(code, reason).map_err(Error::Other)?;
        let frame = frame
            .as_ref()
            .map(|(code, reason)| (*code, reason.as_str()));
        session.close(frame).map_err(send_error)
    }

    /// `subscribe`: ready when data arrived. Ready at once when a message (or the
    /// end of the connection) is already buffered, so no wake-up is missed.
    pub(crate) fn subscribe(&self) -> Pollable {
        Lingering::sweep();
        let mut inner = self.inner.borrow_mut();
        let over = inner.session.as_ref().is_none_or(|s| s.ended().is_some());
        if inner.stash.is_some() || over {
            return ready_pollable();
        }
        // A receive that just found nothing need not be repeated: one read
        // fewer per wait.
        let next = if inner.drained {
            Ok(None)
        } else {
            inner.next_message(Deadline::Now)
        };
        match next {
            // More to read: come back after a pause (see SLICE_PAUSE).
            Ok(None) if inner.more => monotonic_clock::subscribe_duration(SLICE_PAUSE),
            Ok(None) => match &mut inner.session {
                Some(session) => {
                    // Replies (pongs) still queued would otherwise wait for
                    // the guest's next call: push what the socket takes now.
                    let _ = session.flush();
                    if session.close_sent() && session.queued() {
                        // Our close waits for room: come back soon to push it.
                        monotonic_clock::subscribe_duration(CLOSE_RETRY)
                    } else {
                        session.io().subscribe_input()
                    }
                }
                None => ready_pollable(),
            },
            Ok(Some(message)) => {
                inner.stash = Some(Ok(message));
                ready_pollable()
            }
            Err(e) => {
                inner.stash = Some(Err(e));
                ready_pollable()
            }
        }
    }
}

/// Opens a session (lookup, TCP, TLS, handshake), blocking between the
/// steps, within the settings' connect bound.
pub(crate) fn open_session(
    url: &WsUrl,
    headers: &[(String, String)],
    settings: Settings,
    pongs: bool,
) -> Result<Opened, String> {
    let mut connecting = Connecting::start(url, headers, settings, pongs)?;
    loop {
        if let Some(opened) = connecting.step()? {
            return Ok(opened);
        }
        // A wait that times out is seen by the next step.
        let pollables = connecting.subscribe();
        let refs: Vec<&Pollable> = pollables.iter().collect();
        wait_any(&refs, connecting.wait_deadline());
    }
}

/// The close frame for `close(code, reason)` (`None`: one without a code),
/// as the protocol rules allow it: codes an endpoint may not send and
/// reasons over 123 bytes are refused.
pub(crate) fn close_frame(
    code: Option<u16>,
    reason: Option<String>,
) -> Result<Option<(u16, String)>, String> {
    let reason = reason.unwrap_or_default();
    close::outgoing(code, &reason)
        .map(|code| code.map(|code| (code, reason)))
        .map_err(|e| format!("invalid close frame: {e}"))
}

fn close_info((code, reason): (u16, String)) -> CloseInfo {
    CloseInfo { code, reason }
}

fn send_error(err: SendError) -> Error {
    match err {
        SendError::Closed(info) => Error::Closed(info.map(close_info)),
        SendError::Broken(text) => Error::SendFailure(text),
        SendError::Invalid(text) => Error::Other(text),
    }
}

/// Blocks until one of `pollables` is ready or the deadline passes.
fn wait_any(pollables: &[&Pollable], deadline: Deadline) {
    match pollables {
        [] => {
            let _ = wait_for(&ready_pollable(), deadline);
        }
        [one] => {
            let _ = wait_for(one, deadline);
        }
        many => {
            let timer = match deadline {
                Deadline::Now => return,
                Deadline::At(t) => Some(monotonic_clock::subscribe_instant(t)),
                Deadline::Never => None,
            };
            let mut all = many.to_vec();
            all.extend(timer.as_ref());
            wasip2::io::poll::poll(&all);
        }
    }
}

impl Inner {
    fn session(&mut self) -> Result<&mut Session, Error> {
        self.session.as_mut().ok_or(Error::Closed(None))
    }

    /// The next whole message, `None` when none arrived before the deadline.
    ///
    /// Reads in slices: with `Deadline::Now` it returns `None` at the end of
    /// one slice (and sets `more`, so that `subscribe` is ready after a
    /// pause), so that a peer flooding pings or a huge message holds the
    /// component for a bounded time; with a deadline it checks the deadline
    /// after each slice.
    fn next_message(&mut self, mut deadline: Deadline) -> Result<Option<Message>, Error> {
        self.more = false;
        self.drained = false;
        if let Some(stashed) = self.stash.take() {
            return stashed.map(Some);
        }
        let session = self.session()?;
        loop {
            match session.read() {
                Ok(Event::Message(Received::Text(text))) => return Ok(Some(Message::Text(text))),
                Ok(Event::Message(Received::Binary(data))) => {
                    return Ok(Some(Message::Binary(data)));
                }
                // The session hands pongs up only when asked to: never here.
                Ok(Event::Message(Received::Pong(_))) => {}
                Ok(Event::Closed(close)) => return Err(peer_closed(close)),
                Ok(Event::More) => {
                    if deadline.passed() {
                        // More is there: the caller comes back for it.
                        self.more = true;
                        return Ok(None);
                    }
                }
                Ok(Event::Idle) => {
                    if deadline == Deadline::Now {
                        self.drained = true;
                        return Ok(None);
                    }
                    let io = session.io();
                    let ready = io.wait(deadline);
                    if !ready {
                        // One last look, then report the timeout.
                        deadline = Deadline::Now;
                    }
                }
                Err(failure) => return Err(read_failed(failure, session)),
            }
        }
    }

    /// Flushes within the send bound; past it the connection is broken off.
    fn flush_or_fail(&mut self) -> Result<(), Error> {
        let bound = self.settings.send_timeout;
        flush_within(self.session()?, bound).map_err(send_error)
    }
}

/// Hands the queued frames to the socket, blocking for room at most `bound`;
/// past it the connection is broken off (`SendError::Broken`).
pub(crate) fn flush_within(session: &mut Session, bound: Duration) -> Result<(), SendError> {
    // The clock starts (and is read) only when the socket does not take
    // everything at once.
    let mut deadline = None;
    loop {
        if session.flush()? {
            return Ok(());
        }
        let until = *deadline.get_or_insert_with(|| Deadline::after(bound));
        if !session.io().wait(until) {
            let text = format!(
                "the peer did not take the frame within {} ms ({}); the connection \
                 was shut down",
                bound.as_millis(),
                settings::SEND_TIMEOUT_MS
            );
            session.break_off(text.clone());
            return Err(SendError::Broken(text));
        }
    }
}

/// The peer's close frame: reported with the code and reason the peer sent
/// (seen on the wire), or as a violation when that code may not be sent.
fn peer_closed(close: PeerClose) -> Error {
    match close {
        PeerClose::InvalidCode(code) => Error::ProtocolError(format!(
            "the peer's close frame has close code {code}, which may not be sent \
             on the wire (answered with 1002)"
        )),
        PeerClose::Closed { code, reason } => Error::Closed(Some(CloseInfo { code, reason })),
    }
}

/// A read failed: the session is over.
fn read_failed(failure: ReadFailure, session: &Session) -> Error {
    match failure {
        ReadFailure::Violation { text, .. } => Error::ProtocolError(text),
        ReadFailure::Abrupt => Error::Closed(None),
        ReadFailure::AlreadyClosed => {
            Error::Closed(session.ended().cloned().flatten().map(close_info))
        }
        ReadFailure::Other(text) => Error::ReceiveFailure(text),
        // golem:websocket connections run no keepalive.
        ReadFailure::KeepaliveTimeout(timeout) => Error::ReceiveFailure(format!(
            "the peer answered no keepalive ping within {} ms",
            timeout.as_millis()
        )),
    }
}

impl Drop for Connection {
    /// Ends the connection, never waiting: the goodbye (close 1001 unless a
    /// close was sent) and what else is queued go out as far as the socket
    /// takes them now, and once more after one turn of the host
    /// ([`yield_to_host`]: under wasmtime 48 every stream reports no room
    /// once many wrote at once); what it still does not take lingers
    /// ([`Lingering`]).
    fn drop(&mut self) {
        if let Some(mut session) = self.inner.get_mut().session.take()
            && session.leave()
        {
            yield_to_host();
            if matches!(session.flush(), Ok(false)) {
                Lingering::keep(session);
            }
        }
    }
}

/// Sessions dropped by the guest while frames (a close answer, a goodbye)
/// still waited for room in the socket. This component blocks only inside
/// the guest's calls, so every call of the guest pushes them on (`sweep`,
/// never waiting); each is let go once all went out, or
/// [`session::LINGER_TIME`] after its drop, and at most [`MAX_LINGERING`]
/// are kept (the oldest goes first).
pub(crate) struct Lingering;

/// The most dropped sessions kept lingering at once.
const MAX_LINGERING: usize = 1024;

thread_local! {
    static LINGERING: RefCell<Vec<(Session, Deadline)>> = const { RefCell::new(Vec::new()) };
}

impl Lingering {
    pub(crate) fn keep(session: Session) {
        let until = Deadline::after(session::LINGER_TIME);
        let evicted = LINGERING.with(|lingering| {
            let mut lingering = lingering.borrow_mut();
            lingering.push((session, until));
            let over = lingering.len().saturating_sub(MAX_LINGERING);
            lingering.drain(..over).collect::<Vec<_>>()
        });
        drop(evicted);
    }

    /// Pushes every lingering session on as far as its socket takes it now,
    /// and lets go of those that are done or out of time.
    pub(crate) fn sweep() {
        let done = LINGERING.with(|lingering| {
            let mut lingering = lingering.borrow_mut();
            if lingering.is_empty() {
                return Vec::new();
            }
            yield_to_host();
            let mut done = Vec::new();
            for (mut session, until) in lingering.drain(..).collect::<Vec<_>>() {
                if matches!(session.flush(), Ok(false)) && !until.passed() {
                    lingering.push((session, until));
                } else {
                    done.push(session);
                }
            }
            done
        });
        // Dropped outside the borrow: a drop closes TCP.
        drop(done);
    }
}
