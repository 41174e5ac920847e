//! One WebSocket connection: the `websocket-connection` resource.
//!
//! tungstenite runs the protocol over a non-blocking [`Transport`]; every
//! blocking function here is a loop of "try, and on `WouldBlock` wait on the
//! stream's pollable until a deadline".

use std::cell::RefCell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error as WsError, HandshakeError, Message as WsMessage, WebSocket};
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::Pollable;

use crate::bindings::exports::golem::websocket::client::{CloseInfo, Error, Message};
use wasm_websocket_engine::budget::Slice;
use wasm_websocket_engine::close_watch::{self, PeerClose};
use wasm_websocket_engine::errors::{self, ReadFailure};
use wasm_websocket_engine::io::{Deadline, TcpIo, Transport, ready_pollable};
use wasm_websocket_engine::settings::{self, Settings};
use wasm_websocket_engine::{net, target};

/// Close code 1000, for a `close` with a reason and no code.
const NORMAL: u16 = 1000;

/// Close code 1001 (going away), sent when a connection is dropped without
/// `close`: the app went away from it. (Golem's host sends no close frame
/// then; a bare TCP end reads as 1006 to the peer.) Distinct from the
/// normal close the SDK sends from its own `Drop`.
const DROPPED: u16 = 1001;

/// tungstenite's read buffer (its default is 128 KiB).
const READ_BUFFER_SIZE: usize = 64 * 1024;

/// tungstenite's write buffer limit outside `send`: room for the control
/// frames it queues itself (a pong or a close frame is at most 131 bytes).
/// Past it, tungstenite keeps only the latest pong, so a peer that floods pings
/// and never reads costs at most this much (and the write queue in `TcpIo`).
/// `send` and `close` raise the limit by the size of their own frame.
const CONTROL_ROOM: usize = 256;

/// A close frame with its header: at most 2 + 4 (mask) + 125 bytes.
const CLOSE_FRAME_ROOM: usize = 256;

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

/// At most this much that has already arrived is read and dropped when a
/// connection is dropped, so that closing the socket does not reset it.
const DISCARD_ON_DROP: usize = 256 * 1024;

/// The `websocket-connection` resource.
pub(crate) struct Connection {
    inner: RefCell<Inner>,
}

struct Inner {
    /// `None` only while dropping.
    ws: Option<WebSocket<Transport>>,
    /// The TCP connection (shared with the transport).
    tcp: Option<Rc<TcpIo>>,
    settings: Settings,
    /// A message or error read ahead by `subscribe`, returned by the next receive.
    stash: Option<Result<Message, Error>>,
    /// Once set, the connection is over and every call returns `closed(this)`.
    ended: Option<Option<CloseInfo>>,
    /// We sent a close frame.
    close_sent: bool,
    /// A send failed on the transport; no further frame can be sent.
    send_broken: Option<String>,
    /// Frames (our close, pongs, close answers) wait for room in the socket:
    /// later calls push them out, never waiting.
    unflushed: bool,
    /// The last receive stopped at the end of its slice with more to read:
    /// `subscribe` is ready at once.
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
        let settings = Settings::from_env().map_err(failure)?;
        let target = target::parse(url).map_err(failure)?;
        let request = target::request(&target, headers).map_err(failure)?;
        #[cfg(feature = "tls")]
        let tls_config = if target.secure {
            let extra = settings.extra_roots.clone().map_err(failure)?;
            Some(wasm_websocket_engine::tls::client_config(&extra).map_err(failure)?)
        } else {
            None
        };
        #[cfg(not(feature = "tls"))]
        if target.secure {
            return Err(failure(format!(
                "cannot connect to {url}: wss:// needs TLS, and this polyfill is the \
                 ws://-only build (built without the `tls` feature)"
            )));
        }

        let timeout_ms = settings.connect_timeout.as_millis();
        let deadline = Deadline::after(settings.connect_timeout);
        // A failure at the deadline names the bound that cut it short.
        let bounded = |text: String| {
            if deadline.passed() {
                failure(format!(
                    "{text} (after {timeout_ms} ms, {})",
                    settings::CONNECT_TIMEOUT_MS
                ))
            } else {
                failure(text)
            }
        };
        let tcp =
            net::connect(&target.host, target.ip(), target.port, deadline).map_err(bounded)?;
        let io = Rc::new(TcpIo::new(tcp));

        #[cfg(feature = "tls")]
        let transport = match tls_config {
            Some(config) => {
                let mut tls =
                    wasm_websocket_engine::tls::TlsStream::new(config, &target.host, io.clone())
                        .map_err(failure)?;
                tls.handshake(&target.host, deadline).map_err(bounded)?;
                Transport::tls(tls)
            }
            None => Transport::plain(io.clone()),
        };
        #[cfg(not(feature = "tls"))]
        let transport = Transport::plain(io.clone());

        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
            // Every frame goes straight to `TcpIo`, whose queue is the buffer.
            .write_buffer_size(0)
            .max_write_buffer_size(CONTROL_ROOM)
            .max_message_size(Some(settings.max_message_size))
            .max_frame_size(Some(settings.max_frame_size));
        let mut attempt = tungstenite::client::client_with_config(request, transport, Some(config));
        let ws = loop {
            match attempt {
                Ok((ws, _response)) => break ws,
                Err(HandshakeError::Interrupted(mid)) => {
                    if !io.wait(deadline) {
                        return Err(failure(format!(
                            "cannot connect to {url}: no WebSocket handshake answer within \
                             {timeout_ms} ms ({})",
                            settings::CONNECT_TIMEOUT_MS
                        )));
                    }
                    attempt = mid.handshake();
                }
                Err(HandshakeError::Failure(e)) => {
                    return Err(failure(format!(
                        "cannot connect to {url}: {}",
                        errors::handshake_text(&e)
                    )));
                }
            }
        };
        Ok(Connection {
            inner: RefCell::new(Inner {
                ws: Some(ws),
                tcp: Some(io),
                settings,
                stash: None,
                ended: None,
                close_sent: false,
                send_broken: None,
                unflushed: false,
                more: false,
                drained: false,
            }),
        })
    }

    /// `send`: the whole frame is handed to the socket, or an error.
    pub(crate) fn send(&self, message: Message) -> Result<(), Error> {
        let mut inner = self.inner.borrow_mut();
        inner.check_open()?;
        if inner.close_sent {
            return Err(Error::Closed(None));
        }
        if let Some(why) = &inner.send_broken {
            return Err(Error::SendFailure(why.clone()));
        }
        let message = match message {
            Message::Text(text) => WsMessage::Text(text.into()),
            Message::Binary(data) => WsMessage::Binary(data.into()),
        };
        let room = message.len().saturating_add(CLOSE_FRAME_ROOM);
        let ws = inner.ws_mut()?;
        let written = with_room(ws, room, |ws| ws.write(message));
        match written {
            Ok(()) => {}
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(inner.send_error(e)),
        }
        inner.flush_or_fail()
    }

    /// `receive`: blocks until a whole message arrives.
    pub(crate) fn receive(&self) -> Result<Message, Error> {
        let mut inner = self.inner.borrow_mut();
        loop {
            if let Some(message) = inner.next_message(Deadline::Never)? {
                return Ok(message);
            }
        }
    }

    /// `receive-with-timeout`: 0 never blocks; n waits at most n ms.
    pub(crate) fn receive_with_timeout(&self, timeout_ms: u64) -> Result<Option<Message>, Error> {
        self.inner
            .borrow_mut()
            .next_message(Deadline::after_ms(timeout_ms))
    }

    /// `close`: queues a close frame (once) and pushes out what the socket
    /// takes now, never waiting: a frame the socket does not take at once is
    /// pushed out by later calls (receive, subscribe, drop). The peer's answer
    /// arrives through receive as `closed(some(..))`.
    pub(crate) fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), Error> {
        let mut inner = self.inner.borrow_mut();
        inner.check_open()?;
        let frame = close_frame(code, reason)?;
        if inner.close_sent {
            return Ok(());
        }
        if let Some(why) = &inner.send_broken {
            return Err(Error::SendFailure(why.clone()));
        }
        inner.close_sent = true;
        let ws = inner.ws_mut()?;
        let queued = with_room(ws, CLOSE_FRAME_ROOM, |ws| ws.close(frame));
        match queued {
            Ok(()) => Ok(()),
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                inner.unflushed = true;
                Ok(())
            }
            Err(e) => Err(inner.send_error(e)),
        }
    }

    /// `subscribe`: ready when data arrived. Ready at once when a message (or the
    /// end of the connection) is already buffered, so no wake-up is missed.
    pub(crate) fn subscribe(&self) -> Pollable {
        let mut inner = self.inner.borrow_mut();
        if inner.stash.is_some() || inner.ended.is_some() {
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
            Ok(None) => {
                // Replies (pongs) still queued would otherwise wait for the
                // guest's next call: push what the socket takes now, without
                // waiting for it.
                inner.push_queued();
                match &inner.tcp {
                    // Our close waits for room: come back soon to push it.
                    Some(_) if inner.close_sent && inner.unflushed => {
                        monotonic_clock::subscribe_duration(CLOSE_RETRY)
                    }
                    Some(io) => io.subscribe_input(),
                    None => ready_pollable(),
                }
            }
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

/// The close frame for `close(code, reason)`; codes a client may not send and
/// reasons over 123 bytes are refused.
fn close_frame(code: Option<u16>, reason: Option<String>) -> Result<Option<CloseFrame>, Error> {
    let reason = reason.unwrap_or_default();
    if reason.len() > 123 {
        return Err(Error::Other(format!(
            "close reason is {} bytes; at most 123 fit in a close frame",
            reason.len()
        )));
    }
    let code = match code {
        Some(code) => code,
        None if reason.is_empty() => return Ok(None),
        None => NORMAL,
    };
    if !CloseCode::from(code).is_allowed() {
        return Err(Error::Other(format!("close code {code} may not be sent")));
    }
    Ok(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }))
}

/// Runs `f` with tungstenite's write buffer limit raised by `room` bytes (for
/// a frame of the app's own), then lowers it back to [`CONTROL_ROOM`]. A frame
/// that the socket did not take stays queued either way.
fn with_room<T>(
    ws: &mut WebSocket<Transport>,
    room: usize,
    f: impl FnOnce(&mut WebSocket<Transport>) -> T,
) -> T {
    ws.set_config(|c| c.max_write_buffer_size = CONTROL_ROOM.saturating_add(room));
    let result = f(ws);
    ws.set_config(|c| c.max_write_buffer_size = CONTROL_ROOM);
    result
}

impl Inner {
    fn check_open(&self) -> Result<(), Error> {
        match &self.ended {
            Some(info) => Err(Error::Closed(info.clone())),
            None => Ok(()),
        }
    }

    fn ws_mut(&mut self) -> Result<&mut WebSocket<Transport>, Error> {
        self.ws.as_mut().ok_or(Error::Closed(None))
    }

    /// The next whole message, `None` when none arrived before the deadline.
    ///
    /// Reads in slices ([`Slice`]): with `Deadline::Now` it returns `None` at
    /// the end of one slice (and sets `more`, so that `subscribe` is ready at
    /// once), so that a peer flooding pings or a huge message holds the
    /// component for a bounded time; with a deadline it checks the deadline
    /// after each slice.
    fn next_message(&mut self, mut deadline: Deadline) -> Result<Option<Message>, Error> {
        self.more = false;
        self.drained = false;
        if let Some(stashed) = self.stash.take() {
            return stashed.map(Some);
        }
        self.check_open()?;
        if self.unflushed {
            self.push_queued();
        }
        self.start_slice();
        loop {
            let ws = self.ws_mut()?;
            let spent = match ws.read() {
                Ok(WsMessage::Text(text)) => return Ok(Some(Message::Text(text.as_str().into()))),
                Ok(WsMessage::Binary(data)) => return Ok(Some(Message::Binary(data.into()))),
                Ok(WsMessage::Close(frame)) => return Err(self.peer_closed(frame)),
                // A ping (its pong is queued and sent by the next read) or a pong.
                Ok(_) => self.tcp.as_ref().is_some_and(|io| !io.take_frame()),
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    if self.tcp.as_ref().is_some_and(|io| io.slice_spent()) {
                        true
                    } else {
                        if deadline == Deadline::Now {
                            self.drained = true;
                            return Ok(None);
                        }
                        let ready = self.tcp.as_ref().is_some_and(|io| io.wait(deadline));
                        if !ready {
                            // One last look, then report the timeout.
                            deadline = Deadline::Now;
                        }
                        false
                    }
                }
                Err(e) => return Err(self.read_failed(e)),
            };
            if spent {
                if deadline.passed() {
                    // More is there: the caller comes back for it.
                    self.more = true;
                    return Ok(None);
                }
                self.start_slice();
            }
        }
    }

    fn start_slice(&self) {
        if let Some(io) = &self.tcp {
            io.start_slice(Slice::default());
        }
    }

    /// The peer's close frame arrived (a close of its own, or the answer to
    /// ours), as tungstenite hands it up: reported with the code and reason
    /// the peer sent (seen on the wire), or as a violation when that code may
    /// not be sent.
    fn peer_closed(&mut self, frame: Option<CloseFrame>) -> Error {
        let wire = self
            .ws
            .as_mut()
            .and_then(|ws| ws.get_mut().close_watch.take_close());
        // Our answer (queued by tungstenite) goes out as far as the socket
        // takes it now; a peer that does not read does not get it.
        self.push_queued();
        match close_watch::peer_close(wire.as_deref(), frame.as_ref()) {
            PeerClose::InvalidCode(code) => {
                self.ended = Some(None);
                Error::ProtocolError(format!(
                    "the peer's close frame has close code {code}, which may not be sent \
                     on the wire (answered with 1002)"
                ))
            }
            PeerClose::Closed { code, reason } => {
                let info = CloseInfo { code, reason };
                self.ended = Some(Some(info.clone()));
                Error::Closed(Some(info))
            }
        }
    }

    /// A read failed: fail the connection with the right close code, or record
    /// that the transport ended.
    fn read_failed(&mut self, err: WsError) -> Error {
        match errors::classify_read(&err) {
            ReadFailure::Violation { code, text } => {
                if !self.close_sent {
                    self.close_sent = true;
                    let reason = match code {
                        errors::TOO_BIG => "message too big",
                        errors::INVALID_PAYLOAD => "invalid UTF-8",
                        _ => "protocol error",
                    };
                    if let Some(ws) = self.ws.as_mut() {
                        let frame = CloseFrame {
                            code: code.into(),
                            reason: reason.into(),
                        };
                        let _ = with_room(ws, CLOSE_FRAME_ROOM, |ws| ws.close(Some(frame)));
                        self.push_queued();
                    }
                }
                self.ended = Some(None);
                Error::ProtocolError(text)
            }
            ReadFailure::Abrupt => {
                self.ended = Some(None);
                Error::Closed(None)
            }
            ReadFailure::AlreadyClosed => {
                let info = self.ended.clone().flatten();
                self.ended = Some(info.clone());
                Error::Closed(info)
            }
            ReadFailure::Other(text) => {
                self.ended = Some(None);
                Error::ReceiveFailure(text)
            }
        }
    }

    /// Pushes out queued frames (our close, pongs, close answers) as far as
    /// the socket takes them now, never waiting; `unflushed` says whether
    /// some are left. A failure is left for the next send or close to report.
    fn push_queued(&mut self) {
        self.unflushed = matches!(self.flush_within(Deadline::Now), Err(FlushError::Timeout));
    }

    /// Flushes everything queued (frames, pongs, close answers) before the deadline.
    fn flush_within(&mut self, deadline: Deadline) -> Result<(), FlushError> {
        loop {
            let Some(ws) = self.ws.as_mut() else {
                return Ok(());
            };
            match ws.flush() {
                Ok(()) => return Ok(()),
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    let ready = self.tcp.as_ref().is_some_and(|io| io.wait(deadline));
                    if !ready {
                        return Err(FlushError::Timeout);
                    }
                }
                Err(e) => return Err(FlushError::Failed(e)),
            }
        }
    }

    /// Flushes, waiting at most `bound` for a full socket. The clock starts
    /// (and is read) only when the socket does not take everything at once.
    fn flush_for(&mut self, bound: Duration) -> Result<(), FlushError> {
        match self.flush_within(Deadline::Now) {
            Err(FlushError::Timeout) => self.flush_within(Deadline::after(bound)),
            done => done,
        }
    }

    /// Flushes within the send bound; on failure no further frame can be sent.
    fn flush_or_fail(&mut self) -> Result<(), Error> {
        match self.flush_for(self.settings.send_timeout) {
            Ok(()) => Ok(()),
            Err(FlushError::Timeout) => {
                // Part of a frame may be on the wire: the connection is unusable.
                let text = format!(
                    "the peer did not take the frame within {} ms ({}); the connection \
                     was shut down",
                    self.settings.send_timeout.as_millis(),
                    settings::SEND_TIMEOUT_MS
                );
                if let Some(io) = &self.tcp {
                    io.shutdown();
                }
                self.send_broken = Some(text.clone());
                self.ended = Some(None);
                Err(Error::SendFailure(text))
            }
            Err(FlushError::Failed(e)) => Err(self.send_error(e)),
        }
    }

    fn send_error(&mut self, err: WsError) -> Error {
        match err {
            WsError::AlreadyClosed | WsError::ConnectionClosed => {
                Error::Closed(self.ended.clone().flatten())
            }
            WsError::Protocol(tungstenite::error::ProtocolError::SendAfterClosing) => {
                Error::Closed(None)
            }
            e => {
                let text = match e {
                    WsError::Io(io) => format!("sending failed: {io}"),
                    other => format!("sending failed: {other}"),
                };
                self.send_broken = Some(text.clone());
                Error::SendFailure(text)
            }
        }
    }

    /// Ends the connection, never waiting: queues close 1001 if no close was
    /// sent, pushes out what the socket takes now (a TLS close_notify too),
    /// reads and drops what has already arrived, then closes TCP (which never
    /// waits either: see `TcpConnection::close`).
    fn shut_down(&mut self) {
        self.stash = None;
        // After a failed send nothing more can be sent, so there is no goodbye.
        let transport_ended =
            self.send_broken.is_some() || self.tcp.as_ref().is_none_or(|io| io.at_eof());
        if self.ws.is_some() && !transport_ended {
            if self.ended.is_none() && !self.close_sent {
                self.close_sent = true;
                if let Some(ws) = self.ws.as_mut() {
                    let frame = CloseFrame {
                        code: DROPPED.into(),
                        reason: "".into(),
                    };
                    let _ = with_room(ws, CLOSE_FRAME_ROOM, |ws| ws.close(Some(frame)));
                }
            }
            self.push_queued();
            if let Some(ws) = self.ws.as_mut() {
                ws.get_mut().shutdown();
            }
            if let Some(io) = &self.tcp {
                io.discard_arrived(DISCARD_ON_DROP);
            }
        }
        self.ws = None;
        self.tcp = None;
    }
}

enum FlushError {
    Timeout,
    Failed(WsError),
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.inner.get_mut().shut_down();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frames() {
        assert!(close_frame(None, None).unwrap().is_none());
        assert!(close_frame(None, Some(String::new())).unwrap().is_none());
        let f = close_frame(Some(4000), Some("bye".into()))
            .unwrap()
            .unwrap();
        assert_eq!((u16::from(f.code), f.reason.as_str()), (4000, "bye"));
        let f = close_frame(None, Some("bye".into())).unwrap().unwrap();
        assert_eq!(u16::from(f.code), 1000);
        for bad in [0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000] {
            assert!(close_frame(Some(bad), None).is_err(), "{bad}");
        }
        for good in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999,
        ] {
            assert!(close_frame(Some(good), None).is_ok(), "{good}");
        }
        let long = "x".repeat(124);
        assert!(close_frame(Some(1000), Some(long)).is_err());
        assert!(close_frame(Some(1000), Some("x".repeat(123))).is_ok());
    }
}
