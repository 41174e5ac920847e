//! A connection run by the protocol engine (`wasm-websocket-engine`) inside
//! the app itself, over `wasi:sockets`: tungstenite over the non-blocking
//! TCP streams (and rustls for `wss://`), every wait a pollable on the wstd
//! reactor. Nothing here blocks the component.
//!
//! Waits follow the pattern of `golem.rs`: the wstd reactor wakes a
//! registered wait for as long as its pollable is ready, until the wait is
//! dropped, so no future of this crate owns one. Each direction has a
//! [`Watcher`] whose registrations wake a relay of its own, which wakes
//! whoever asked once and has the registration dropped (`watch.rs`): one for
//! receiving (the input stream, the output stream while queued frames wait
//! for room, and a deadline) and one for sending (the output stream).

use std::io::ErrorKind;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use wasm_websocket_engine::budget::Slice;
use wasm_websocket_engine::close_watch::{self, PeerClose};
use wasm_websocket_engine::errors::{self, ReadFailure};
use wasm_websocket_engine::io::{TcpIo, Transport};
use wasm_websocket_engine::tungstenite::protocol::CloseFrame as WsCloseFrame;
use wasm_websocket_engine::tungstenite::{self, Error as WsError, Message as WsMessage};

#[cfg(feature = "sockets")]
use super::watch::wait;
use super::watch::{Watch, WatchState, Watcher};

use crate::machine::{Connection, Failure};
use crate::{CloseFrame, Error, Message};

/// tungstenite's read buffer (its default is 128 KiB), as in the polyfill.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

/// tungstenite's write buffer limit outside a send: room for the control
/// frames it queues itself (a pong or a close frame is at most 131 bytes).
/// Past it, tungstenite keeps only the latest pong, so a peer that floods
/// pings and never reads costs at most this much (and the write queue in
/// `TcpIo`, which holds one frame). A send raises it by its own frame.
pub(crate) const CONTROL_ROOM: usize = 256;

/// A close or ping frame with its header: at most 2 + 4 (mask) + 125 bytes.
const CONTROL_FRAME_ROOM: usize = 256;

/// The longest ping payload (RFC 6455: a control frame carries at most 125).
const MAX_PING: usize = 125;

/// How long a receive that stopped at the end of its slice ([`Slice`], with
/// more to read) pauses before it goes on, so that a flood on one connection
/// leaves time to every other task (see `SLICE_PAUSE` in the polyfill).
const SLICE_PAUSE: Duration = Duration::from_millis(1);

/// At most this much that has already arrived is read and dropped when a
/// connection is dropped, so that closing the socket does not reset it.
const DISCARD_ON_DROP: usize = 256 * 1024;

/// The tungstenite configuration of an engine connection: bounded buffers,
/// and the message and frame size limits.
pub(crate) fn ws_config(
    max_message_size: usize,
    max_frame_size: usize,
) -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        // Every frame goes straight to `TcpIo`, whose queue is the buffer.
        .write_buffer_size(0)
        .max_write_buffer_size(CONTROL_ROOM)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_frame_size))
}

/// A WebSocket connection run by the engine in the app.
pub(crate) struct EngineConnection {
    // Declared first, and cleared in `Drop`: the watches' pollables are
    // children of the streams `io` owns.
    reading: Watcher<Option<Key>>,
    writing: Watcher<Option<Key>>,
    ws: tungstenite::WebSocket<Transport>,
    io: Rc<TcpIo>,
    /// A send failed on the transport; no further frame can be sent.
    send_broken: Option<String>,
    /// The last wait of a blocked send was on the output stream: should the
    /// socket still take nothing, the host's task yields once before the
    /// send looks again (`poll_ready`).
    write_waited: bool,
    /// The app asked for the peer's pongs as messages.
    pongs: bool,
}

impl EngineConnection {
    /// A connection over a WebSocket the engine opened (its handshake done),
    /// and the TCP connection under it.
    /// `pongs`: hand the peer's pongs up as [`Message::Pong`].
    pub(crate) fn new(
        ws: tungstenite::WebSocket<Transport>,
        io: Rc<TcpIo>,
        pongs: bool,
    ) -> EngineConnection {
        EngineConnection {
            reading: Watcher::default(),
            writing: Watcher::default(),
            ws,
            io,
            send_broken: None,
            write_waited: false,
            pongs,
        }
    }

    /// Queues one frame with `queue` (a tungstenite write or close), with
    /// tungstenite's write limit raised by `room` for it; a frame the socket
    /// does not take at once stays queued (`WouldBlock`), never waited for.
    fn queue(
        &mut self,
        room: usize,
        queue: impl FnOnce(&mut tungstenite::WebSocket<Transport>) -> Result<(), WsError>,
    ) -> Result<(), Failure> {
        if let Some(why) = &self.send_broken {
            return Err(Failure::Error(Error::SendFailed(why.clone())));
        }
        self.ws
            .set_config(|c| c.max_write_buffer_size = CONTROL_ROOM.saturating_add(room));
        let queued = queue(&mut self.ws);
        self.ws
            .set_config(|c| c.max_write_buffer_size = CONTROL_ROOM);
        match queued {
            Ok(()) => Ok(()),
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(self.send_error(e)),
        }
    }

    /// Queues a message (`room`: see [`Self::queue`]) and hands the socket
    /// what it takes now, never waiting.
    fn write(&mut self, message: WsMessage, room: usize) -> Result<(), Failure> {
        self.queue(room, |ws| ws.write(message))?;
        match self.flush() {
            Ok(_) => Ok(()),
            Err(e) => Err(self.send_error(e)),
        }
    }

    /// Hands queued frames to the socket as far as it takes them now:
    /// `Ok(true)` once all are handed over.
    fn flush(&mut self) -> Result<bool, WsError> {
        match self.ws.flush() {
            Ok(()) => Ok(true),
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn send_error(&mut self, err: WsError) -> Failure {
        match err {
            WsError::AlreadyClosed | WsError::ConnectionClosed => Failure::Ended,
            WsError::Protocol(tungstenite::error::ProtocolError::SendAfterClosing) => {
                Failure::Ended
            }
            e => {
                let text = match e {
                    WsError::Io(io) => format!("sending failed: {io}"),
                    other => format!("sending failed: {other}"),
                };
                self.send_broken = Some(text.clone());
                Failure::Error(Error::SendFailed(text))
            }
        }
    }

    /// The peer's close frame arrived: its code and reason as seen on the
    /// wire, or a violation when that code may not be sent.
    fn peer_closed(&mut self, frame: Option<WsCloseFrame>) -> Failure {
        let wire = self.ws.get_mut().close_watch.take_close();
        // Our answer (queued by tungstenite) goes out as far as the socket
        // takes it now; a peer that does not read does not get it.
        let _ = self.flush();
        match close_watch::peer_close(wire.as_deref(), frame.as_ref()) {
            PeerClose::InvalidCode(code) => Failure::Error(Error::Protocol(format!(
                "the peer's close frame has close code {code}, which may not be sent on \
                 the wire (answered with 1002)"
            ))),
            PeerClose::Closed { code, .. } if code == close_watch::NO_STATUS => {
                Failure::Closed(None)
            }
            PeerClose::Closed { code, reason } => {
                Failure::Closed(Some(CloseFrame::new(code, reason)))
            }
        }
    }

    /// A read failed: fail the connection with the right close code, or
    /// report that the transport ended.
    fn read_failed(&mut self, err: WsError) -> Failure {
        match errors::classify_read(&err) {
            ReadFailure::Violation { code, text } => {
                let reason = match code {
                    errors::TOO_BIG => "message too big",
                    errors::INVALID_PAYLOAD => "invalid UTF-8",
                    _ => "protocol error",
                };
                let frame = WsCloseFrame {
                    code: code.into(),
                    reason: reason.into(),
                };
                self.ws
                    .set_config(|c| c.max_write_buffer_size = CONTROL_ROOM + CONTROL_FRAME_ROOM);
                let _ = self.ws.close(Some(frame));
                let _ = self.flush();
                Failure::Error(Error::Protocol(text))
            }
            ReadFailure::Abrupt | ReadFailure::AlreadyClosed => Failure::Ended,
            ReadFailure::Other(text) => Failure::Error(Error::ReceiveFailed(text)),
        }
    }
}

/// A ping or pong carries at most [`MAX_PING`] bytes (RFC 6455 5.5): a
/// larger one is refused before anything is sent.
fn check_control_payload(kind: &str, payload: &[u8]) -> Result<(), Failure> {
    if payload.len() > MAX_PING {
        return Err(Failure::Error(Error::SendFailed(format!(
            "a {kind} carries at most {MAX_PING} bytes, not {}",
            payload.len()
        ))));
    }
    Ok(())
}

impl Connection for EngineConnection {
    fn send(&mut self, message: Message) -> Result<(), Failure> {
        if let Message::Pong(payload) = &message {
            check_control_payload("pong", payload)?;
        }
        let message = match message {
            Message::Text(text) => WsMessage::Text(text.into()),
            Message::Binary(data) => WsMessage::Binary(data.into()),
            Message::Pong(data) => WsMessage::Pong(data.into()),
            Message::Close(_) => unreachable!("the state machine sends close frames with close"),
        };
        let room = message.len().saturating_add(CONTROL_FRAME_ROOM);
        self.write(message, room)
    }

    fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Failure> {
        let frame = frame.map(|frame| WsCloseFrame {
            code: u16::from(frame.code).into(),
            reason: frame.reason.as_str().into(),
        });
        self.queue(CONTROL_FRAME_ROOM, |ws| ws.close(frame))?;
        // What the socket does not take now, the receive pushes out.
        let _ = self.flush();
        Ok(())
    }

    fn poll_receive(
        &mut self,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Message, Failure>> {
        // Frames queued earlier (our close, pongs) go out first.
        let mut queued = matches!(self.flush(), Ok(false));
        self.io.start_slice(Slice::default());
        loop {
            match self.ws.read() {
                Ok(WsMessage::Text(text)) => {
                    return Poll::Ready(Ok(Message::Text(text.as_str().to_owned())));
                }
                Ok(WsMessage::Binary(data)) => {
                    return Poll::Ready(Ok(Message::Binary(data.into())));
                }
                Ok(WsMessage::Close(frame)) => return Poll::Ready(Err(self.peer_closed(frame))),
                Ok(WsMessage::Pong(data)) if self.pongs => {
                    return Poll::Ready(Ok(Message::Pong(data.into())));
                }
                // A ping (its pong is queued and goes out below), or a pong
                // nobody asked for.
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => {
                    if !self.io.take_frame() {
                        break;
                    }
                }
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Poll::Ready(Err(self.read_failed(e))),
            }
        }
        if let Ok(false) = self.flush() {
            queued = true;
        }
        let spent = self.io.slice_spent();
        self.io.take_wants();
        let mut pollables = Vec::with_capacity(2);
        let mut until = deadline;
        if spent {
            // More is there: come back after a pause.
            until = Some(Instant::now() + SLICE_PAUSE);
        } else {
            pollables.push(self.io.subscribe_input());
        }
        if queued {
            pollables.push(self.io.subscribe_output());
        }
        let key = Key {
            read: !spent,
            write: queued,
            until,
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
        if let Some(why) = &self.send_broken {
            return Poll::Ready(Err(Failure::Error(Error::SendFailed(why.clone()))));
        }
        match self.flush() {
            Ok(true) => {
                self.write_waited = false;
                Poll::Ready(Ok(()))
            }
            Ok(false) => {
                self.io.take_wants();
                if self.write_waited {
                    // The stream's watch fired and it still took nothing:
                    // under wasmtime 48 `check-write` answers from the
                    // host task's spent coop budget, which a yield restores
                    // (bytecodealliance/wasmtime#14174; see
                    // `reactor::yield_to_host`). Never a wait.
                    super::reactor::yield_to_host();
                    match self.flush() {
                        Ok(true) => {
                            self.write_waited = false;
                            return Poll::Ready(Ok(()));
                        }
                        Ok(false) => {}
                        Err(e) => return Poll::Ready(Err(self.send_error(e))),
                    }
                }
                self.write_waited = true;
                let key = Key {
                    read: false,
                    write: true,
                    until: None,
                };
                let io = &self.io;
                arm(
                    &self.writing,
                    key,
                    || Watch::new(vec![io.subscribe_output()], None),
                    cx.waker(),
                );
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(self.send_error(e))),
        }
    }

    fn ping(&mut self, payload: Vec<u8>) -> Result<(), Failure> {
        check_control_payload("ping", &payload)?;
        self.write(WsMessage::Ping(payload.into()), CONTROL_FRAME_ROOM)
    }
}

impl Drop for EngineConnection {
    /// Ends the connection, never waiting: pushes out what the socket takes
    /// now (the state machine queued a close frame first), a TLS
    /// close_notify too, reads and drops what has already arrived, then
    /// closes TCP (which never waits either: `TcpConnection::close`).
    fn drop(&mut self) {
        self.reading.clear();
        self.writing.clear();
        if self.send_broken.is_none() && !self.io.at_eof() {
            let _ = self.flush();
            self.ws.get_mut().shutdown();
            self.io.discard_arrived(DISCARD_ON_DROP);
        }
    }
}

/// What a watch was armed for; a poll that asks for the same finds it
/// armed and quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    read: bool,
    write: bool,
    until: Option<Instant>,
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

/// A connection the engine opened, and what its handshake agreed.
#[cfg(feature = "sockets")]
pub(crate) struct Opened {
    pub(crate) ws: tungstenite::WebSocket<Transport>,
    pub(crate) io: Rc<TcpIo>,
    /// The subprotocol the response names.
    pub(crate) protocol: Option<String>,
    /// The response's headers, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
}

/// Opens a connection (name lookup, TCP, TLS for `wss://`, the opening
/// handshake) step by step, waiting on the reactor between steps, all
/// bounded by the connect timeout. The limits and trust anchors are the
/// polyfill's, from the same environment variables
/// (`wasm_websocket_engine::settings`).
#[cfg(feature = "sockets")]
pub(crate) async fn connect(url: &str, headers: &[(String, String)]) -> crate::Result<Opened> {
    use wasm_websocket_engine::io::Deadline;
    use wasm_websocket_engine::settings::{self, Settings};
    use wasm_websocket_engine::{net, target, tls};

    let failed = Error::ConnectionFailed;
    let settings = Settings::from_env().map_err(failed)?;
    let target = target::parse(url).map_err(failed)?;
    let request = target::request(&target, headers).map_err(failed)?;
    let tls_config = if target.secure {
        let extra = settings.extra_roots.clone().map_err(failed)?;
        Some(tls::client_config(&extra).map_err(failed)?)
    } else {
        None
    };
    let timeout_ms = settings.connect_timeout.as_millis();
    let until = Instant::now() + settings.connect_timeout;
    let deadline = Deadline::after(settings.connect_timeout);
    // A failure at the deadline names the bound that cut it short.
    let bounded = |text: String| {
        if deadline.passed() {
            Error::ConnectionFailed(format!(
                "{text} (after {timeout_ms} ms, {})",
                settings::CONNECT_TIMEOUT_MS
            ))
        } else {
            Error::ConnectionFailed(text)
        }
    };

    let mut connect =
        net::Connect::start(&target.host, target.ip(), target.port, deadline).map_err(bounded)?;
    let tcp = loop {
        if let Some(tcp) = connect.step().map_err(bounded)? {
            break tcp;
        }
        let attempt_until = Instant::now()
            .checked_add(remaining(connect.wait_deadline()))
            .map_or(until, |at| at.min(until));
        // A wait that times out is seen by the next step.
        wait(vec![connect.subscribe()], attempt_until).await;
    };
    let io = Rc::new(TcpIo::new(tcp));

    let transport = match tls_config {
        Some(config) => {
            let mut tls = tls::TlsStream::new(config, &target.host, io.clone()).map_err(failed)?;
            while !tls.handshake_step(&target.host).map_err(bounded)? {
                if !wait_io(&io, until).await {
                    return Err(bounded(format!(
                        "TLS with {} failed: handshake timed out",
                        target.host
                    )));
                }
            }
            Transport::tls(tls)
        }
        None => Transport::plain(io.clone()),
    };

    let config = ws_config(settings.max_message_size, settings.max_frame_size);
    let mut attempt = tungstenite::client::client_with_config(request, transport, Some(config));
    let (ws, response) = loop {
        match attempt {
            Ok(done) => break done,
            Err(tungstenite::HandshakeError::Interrupted(mid)) => {
                if !wait_io(&io, until).await {
                    return Err(Error::ConnectionFailed(format!(
                        "cannot connect to {url}: no WebSocket handshake answer within \
                         {timeout_ms} ms ({})",
                        settings::CONNECT_TIMEOUT_MS
                    )));
                }
                attempt = mid.handshake();
            }
            Err(tungstenite::HandshakeError::Failure(e)) => {
                return Err(Error::ConnectionFailed(format!(
                    "cannot connect to {url}: {}",
                    errors::handshake_text(&e)
                )));
            }
        }
    };
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let protocol = headers
        .iter()
        .find(|(name, _)| name == "sec-websocket-protocol")
        .map(|(_, value)| value.trim().to_owned());
    Ok(Opened {
        ws,
        io,
        protocol,
        headers,
    })
}

/// The time left until an engine deadline.
#[cfg(feature = "sockets")]
fn remaining(deadline: wasm_websocket_engine::io::Deadline) -> Duration {
    match deadline {
        wasm_websocket_engine::io::Deadline::At(at) => {
            let now = wasip2::clocks::monotonic_clock::now();
            Duration::from_nanos(at.saturating_sub(now))
        }
        wasm_websocket_engine::io::Deadline::Now => Duration::ZERO,
        wasm_websocket_engine::io::Deadline::Never => Duration::MAX,
    }
}

/// Waits until the stream(s) that last returned `WouldBlock` are ready, or
/// `until`; `false` once `until` passed.
#[cfg(feature = "sockets")]
async fn wait_io(io: &TcpIo, until: Instant) -> bool {
    let (read, write) = io.take_wants();
    let mut pollables = Vec::with_capacity(2);
    if read {
        pollables.push(io.subscribe_input());
    }
    if write {
        pollables.push(io.subscribe_output());
    }
    wait(pollables, until).await;
    Instant::now() < until
}
