//! One WebSocket session over the non-blocking wasi streams: the only place
//! that drives tungstenite once a connection is open, for every driver (the
//! polyfill, whose waits block inside its calls, and the SDK's direct client
//! and server, whose waits go through the wstd reactor).
//!
//! Nothing here waits. A frame is queued whole or refused at once; a read
//! takes one [`Slice`] of work and says what is next ([`Event`]); a flush
//! hands the socket what it takes now. What to wait on between calls is the
//! driver's business: the input stream after [`Event::Idle`], a short pause
//! after [`Event::More`], the output stream while [`Session::queued`].
//!
//! Ending a session never waits either: [`Session::leave`] queues the
//! goodbye and says whether frames still wait for room, which a driver may
//! push out for a bounded time ([`LINGER_BYTES`], [`LINGER_TIME`]) before it
//! drops the session; dropping it sends the TLS close_notify, reads and drops
//! what already arrived, and closes TCP.
//!
//! A session may keep its peer alive ([`Session::keepalive`]): its reads ping
//! a silent peer and end the session when the peer stays silent, and
//! [`Session::keepalive_due`] tells the driver until when its wait for the
//! input stream may last.

use std::io::{ErrorKind, Write as _};
use std::rc::Rc;
use std::time::Duration;

use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error as WsError, Message as WsMessage, WebSocket};

use crate::budget::Slice;
use crate::close_watch::{self, PeerClose};
use crate::errors::{self, ReadFailure};
use crate::io::TcpIo;
use crate::keepalive::{self, Beat, Heartbeat, Keepalive};
use crate::protocol::close;
use crate::settings;
use crate::transport::Transport;
use crate::wait::Instant;

/// tungstenite's read buffer (its default is 128 KiB).
pub const READ_BUFFER_SIZE: usize = 64 * 1024;

/// tungstenite's write buffer limit outside a send: room for the control
/// frames it queues itself (a pong or a close frame is at most 131 bytes).
/// Past it, tungstenite keeps only the latest pong, so a peer that floods
/// pings and never reads costs at most this much (and the write queue of
/// [`TcpIo`], which then holds what the app sent). A send raises it by its
/// own frame.
pub const CONTROL_ROOM: usize = 256;

/// A ping or pong frame the app sends, with its header: at most 2 + 4
/// (mask) + 125 bytes.
const CONTROL_FRAME_ROOM: usize = 256;

/// The room a control frame of the session's own (a close, a keepalive
/// ping) gets in tungstenite's write buffer: any. They are few (one close,
/// one ping per keepalive interval), and an app frame that tungstenite still
/// holds (the write queue refused it) must not make them fail: that would
/// mark a healthy session broken and lose the close.
const OWN_CONTROL_ROOM: usize = usize::MAX;

/// Close code 1011 (internal error): the goodbye of a session whose peer did
/// not answer a keepalive ping in time (as Python `websockets` sends).
pub const KEEPALIVE_LOST: u16 = 1011;

/// Close code 1001 (going away): the goodbye of a session dropped while open
/// with no close sent. (Golem's host sends no close frame then; a bare TCP
/// end reads as 1006 to the peer.)
pub const GOING_AWAY: u16 = 1001;

/// At most this much that has already arrived is read and dropped when a
/// session ends, so that closing the socket does not reset it.
pub const DISCARD_ON_DROP: usize = 256 * 1024;

/// A driver pushes out what a session left queued at its end (a close
/// answer, the goodbye, the tail of a frame) only while it is at most this
/// many bytes; a larger tail is dropped with the connection.
pub const LINGER_BYTES: usize = 256 * 1024;

/// ... and for at most this long after the end, whatever the peer does.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// How many bytes of the app's frames an async driver lets wait for a flush
/// ([`Session::send_ahead`]): frames sent one after another then leave in
/// one write. The same as [`LINGER_BYTES`], so that a connection dropped
/// with its queue full still gets it out.
pub const SEND_AHEAD: usize = LINGER_BYTES;

/// The tungstenite configuration of every session: bounded buffers, and the
/// message and frame size limits.
pub fn ws_config(max_message_size: usize, max_frame_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        // Every frame goes straight to `TcpIo`, whose queue is the buffer.
        .write_buffer_size(0)
        .max_write_buffer_size(CONTROL_ROOM)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_frame_size))
}

/// A frame the app sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (the peer's pings are answered by the session itself).
    Ping(Vec<u8>),
    /// An unsolicited pong (a heartbeat).
    Pong(Vec<u8>),
}

/// A whole message a read hands up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A pong (only when the session was made with `pongs`).
    Pong(Vec<u8>),
}

/// What one [`Session::read`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole message.
    Message(Received),
    /// The peer's close frame (its answer, queued, goes out with the next
    /// flush); the session is over.
    Closed(PeerClose),
    /// Everything that arrived was read and no whole message is there: wait
    /// for the input stream.
    Idle,
    /// The read stopped at the end of its slice with more to read: come back
    /// after a pause that lets the rest of the component run.
    More,
}

/// Why a frame cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// A close frame was sent, or the session is over: the peer's close
    /// (code and reason) when that ended it.
    Closed(Option<(u16, String)>),
    /// An earlier write failed on the transport, or the frame did not leave
    /// in time: nothing more can be sent.
    Broken(String),
    /// The frame itself cannot be sent (a control payload over 125 bytes).
    Invalid(String),
}

/// One open WebSocket session.
pub struct Session {
    ws: WebSocket<Transport>,
    io: Rc<TcpIo>,
    /// Hand the peer's pongs up as [`Received::Pong`].
    pongs: bool,
    /// We queued a close frame.
    close_sent: bool,
    /// A write failed on the transport; nothing more can be sent.
    broken: Option<String>,
    /// Once set, the session is over: the peer's close when that ended it.
    ended: Option<Option<(u16, String)>>,
    /// Frames wait for room in the socket (besides what the write queue
    /// holds: [`Session::queued`]).
    queued: bool,
    /// How many bytes of the app's frames may wait for a flush.
    send_ahead: usize,
    /// Where the size limits were set, for the text of a violation.
    size_settings: &'static str,
    /// The keepalive, when set.
    heartbeat: Option<Heartbeat>,
}

impl Session {
    /// A session over a WebSocket whose opening handshake is done (as a
    /// client or a server), and the TCP connection under it.
    pub fn new(ws: WebSocket<Transport>, io: Rc<TcpIo>, pongs: bool) -> Session {
        Session {
            ws,
            io,
            pongs,
            close_sent: false,
            broken: None,
            ended: None,
            queued: false,
            send_ahead: 0,
            size_settings: settings::SIZE_SETTINGS,
            heartbeat: None,
        }
    }

    /// Names where this session's size limits were set (a message too big
    /// says so): the polyfill's environment variables unless told otherwise,
    /// e.g. [`crate::accept::SIZE_SETTINGS`] for a server's connections.
    pub fn limits_set_by(mut self, size_settings: &'static str) -> Session {
        self.size_settings = size_settings;
        self
    }

    /// Lets the app's frames wait for a flush while the write queue holds at
    /// most `bytes` (0, the default: a send hands its frame to the socket at
    /// once): [`send`](Session::send) then queues without writing, and the
    /// frames leave together with the next [`flush`](Session::flush) (or
    /// [`read`](Session::read)), or with a frame that does not fit. The
    /// driver flushes them, and sends only while
    /// [`may_send`](Session::may_send).
    pub fn send_ahead(mut self, bytes: usize) -> Session {
        self.send_ahead = bytes;
        self
    }

    /// Keeps the peer alive (`None`: no more): from now on, a read that finds
    /// the peer silent for `interval` queues a ping, and one that finds it
    /// silent for `timeout` after that ping ends the session
    /// ([`ReadFailure::KeepaliveTimeout`], after a close frame
    /// [`KEEPALIVE_LOST`]). Anything that arrives counts as an answer. Only
    /// reads look at the clock: a driver waits for the input stream no
    /// longer than [`keepalive_due`](Session::keepalive_due).
    pub fn keepalive(&mut self, setting: Option<Keepalive>) {
        self.heartbeat = setting.map(|setting| Heartbeat::new(setting, now()));
    }

    /// When the next read has keepalive work to do (a ping to send, or the
    /// peer to give up on), on the monotonic clock; `None` without a
    /// keepalive, once a close was sent, or once the session is over.
    pub fn keepalive_due(&self) -> Option<Instant> {
        if self.ended.is_some() || self.close_sent {
            return None;
        }
        self.heartbeat.as_ref().map(Heartbeat::due)
    }

    /// The TCP connection: its pollables are what a driver waits on.
    pub fn io(&self) -> &TcpIo {
        &self.io
    }

    /// Whether frames wait for a flush or for room in the socket (wait on the
    /// output stream, then [`flush`](Session::flush)).
    pub fn queued(&self) -> bool {
        self.broken.is_none() && (self.queued || self.io.queued_bytes() > 0)
    }

    /// Whether the app may queue another frame now: no writer holds bytes
    /// back, and the write queue is empty or, with a send ahead, holds less
    /// than it. A driver waits (for the output stream, flushing) while not.
    pub fn may_send(&self) -> bool {
        let waiting = self.io.queued_bytes();
        !self.io.refused() && (waiting == 0 || waiting < self.send_ahead)
    }

    /// Whether a close frame was queued.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// `None` while open; once over, the peer's close when that ended it.
    pub fn ended(&self) -> Option<&Option<(u16, String)>> {
        self.ended.as_ref()
    }

    /// Why nothing more can be sent, once a write failed.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Queues `frame` whole (or refuses it) and hands the socket what it
    /// takes now, never waiting: what it does not take goes out with later
    /// flushes ([`queued`](Session::queued)). Within a
    /// [`send_ahead`](Session::send_ahead), a frame that fits is only
    /// queued.
    pub fn send(&mut self, frame: Frame) -> Result<(), SendError> {
        self.sendable()?;
        let message = match frame {
            Frame::Text(text) => WsMessage::Text(text.into()),
            Frame::Binary(data) => WsMessage::Binary(data.into()),
            Frame::Ping(data) => WsMessage::Ping(control_payload(data)?.into()),
            Frame::Pong(data) => WsMessage::Pong(control_payload(data)?.into()),
        };
        let room = message.len().saturating_add(CONTROL_FRAME_ROOM);
        self.io.send_ahead(self.send_ahead);
        let queued = self.queue(room, |ws| ws.write(message));
        self.io.send_ahead(0);
        queued?;
        if self.send_ahead > 0 {
            return Ok(());
        }
        self.flush().map(drop)
    }

    /// Queues a close frame (`None`: one without a status code; the code and
    /// reason are the caller's to check) once, and hands the socket what it
    /// takes now, never waiting. A second close is a no-op.
    pub fn close(&mut self, frame: Option<(u16, &str)>) -> Result<(), SendError> {
        if let Some(info) = &self.ended {
            return Err(SendError::Closed(info.clone()));
        }
        if self.close_sent {
            return Ok(());
        }
        if let Some(why) = &self.broken {
            return Err(SendError::Broken(why.clone()));
        }
        self.close_sent = true;
        let frame = frame.map(|(code, reason)| CloseFrame {
            code: code.into(),
            reason: reason.into(),
        });
        self.queue(OWN_CONTROL_ROOM, |ws| ws.close(frame))?;
        // What the socket does not take now goes out with later flushes; a
        // failure is reported by the next send.
        let _ = self.flush();
        Ok(())
    }

    /// Hands queued frames to the socket as far as it takes them now:
    /// `Ok(true)` once all are handed over.
    pub fn flush(&mut self) -> Result<bool, SendError> {
        let flushed = match self.ws.flush() {
            Ok(()) => Ok(true),
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            // A server's tungstenite says so once the close handshake is
            // over and its last frame (the answer to the peer's close) is
            // written to the transport, without flushing the transport:
            // that frame may still wait there for room.
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                match self.ws.get_mut().flush() {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
                    Err(e) => Err(self.send_error(WsError::Io(e))),
                }
            }
            Err(e) => Err(self.send_error(e)),
        };
        self.queued = !matches!(flushed, Ok(true));
        flushed
    }

    /// Gives up on frames that did not leave in time: the connection is shut
    /// down (part of a frame may be on the wire) and every later send fails
    /// with `why`.
    pub fn break_off(&mut self, why: String) {
        self.io.shutdown();
        self.broken = Some(why);
        self.ended.get_or_insert(None);
        self.queued = false;
    }

    /// Reads one slice of work: the next whole message, the peer's close,
    /// or what to wait for. The peer's pings are answered (and pongs nobody
    /// asked for dropped) on the way; frames queued earlier go out first and
    /// the answers after, as far as the socket takes them. Within a
    /// [`send_ahead`](Session::send_ahead), a read that hands up a message
    /// leaves the app's frames queued: an app that answers each message it
    /// reads (an echo) then sends its answers in one write, once the read
    /// finds nothing more.
    ///
    /// An error ends the session: a violation queues the close frame with
    /// its code first.
    pub fn read(&mut self) -> Result<Event, ReadFailure> {
        if self.ended.is_some() {
            return Err(ReadFailure::AlreadyClosed);
        }
        if self.queued() && self.send_ahead == 0 {
            let _ = self.flush();
        }
        let slice = Slice::default();
        self.io.start_slice(slice);
        let event = loop {
            match self.ws.read() {
                Ok(WsMessage::Text(text)) => {
                    break Event::Message(Received::Text(text.as_str().to_owned()));
                }
                Ok(WsMessage::Binary(data)) => {
                    break Event::Message(Received::Binary(data.into()));
                }
                Ok(WsMessage::Close(frame)) => break Event::Closed(self.peer_closed(frame)),
                Ok(WsMessage::Pong(data)) if self.pongs && data != keepalive::PING_PAYLOAD => {
                    break Event::Message(Received::Pong(data.into()));
                }
                // A ping (its pong is queued and goes out below), or a pong
                // nobody asked for.
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => {
                    if !self.io.take_frame() {
                        break Event::More;
                    }
                }
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    break if self.io.slice_spent() {
                        Event::More
                    } else {
                        Event::Idle
                    };
                }
                Err(e) => return Err(self.read_failed(e)),
            }
        };
        // Anything read (a whole frame or a part) answers the keepalive.
        self.beat(self.io.slice() != slice)?;
        if self.send_ahead == 0 || !matches!(event, Event::Message(_)) {
            let _ = self.flush();
        }
        Ok(event)
    }

    /// The keepalive's turn in a read (`heard`: the read took something
    /// from the peer): queues a ping after the interval of silence, or ends
    /// the session once the peer stayed silent past the ping's timeout.
    fn beat(&mut self, heard: bool) -> Result<(), ReadFailure> {
        if self.ended.is_some() || self.close_sent {
            return Ok(());
        }
        let Some(heartbeat) = &mut self.heartbeat else {
            return Ok(());
        };
        let now = now();
        if heard {
            heartbeat.heard(now);
            return Ok(());
        }
        match heartbeat.check(now) {
            Beat::Wait => Ok(()),
            Beat::Ping => {
                let ping = WsMessage::Ping(keepalive::PING_PAYLOAD.to_vec().into());
                // A failure is reported by the next send; the timeout runs.
                let _ = self.queue(OWN_CONTROL_ROOM, |ws| ws.write(ping));
                Ok(())
            }
            Beat::Lost => {
                let timeout = heartbeat.setting().timeout;
                self.close_sent = true;
                let frame = CloseFrame {
                    code: KEEPALIVE_LOST.into(),
                    reason: "keepalive ping timeout".into(),
                };
                let _ = self.queue(OWN_CONTROL_ROOM, |ws| ws.close(Some(frame)));
                let _ = self.flush();
                self.ended = Some(None);
                Err(ReadFailure::KeepaliveTimeout(timeout))
            }
        }
    }

    /// Starts the end of the session, never waiting: queues the goodbye
    /// ([`GOING_AWAY`]) when it is open and no close was sent, and hands the
    /// socket what it takes now. `true` when frames still wait for room and
    /// are few enough ([`LINGER_BYTES`]) to be worth pushing out, within
    /// [`LINGER_TIME`], before the session is dropped.
    pub fn leave(&mut self) -> bool {
        if self.broken.is_some() || self.io.at_eof() {
            return false;
        }
        if self.ended.is_none() && !self.close_sent {
            self.close_sent = true;
            let goodbye = CloseFrame {
                code: GOING_AWAY.into(),
                reason: "".into(),
            };
            let _ = self.queue(OWN_CONTROL_ROOM, |ws| ws.close(Some(goodbye)));
        }
        matches!(self.flush(), Ok(false)) && self.io.queued_bytes() <= LINGER_BYTES
    }

    fn sendable(&self) -> Result<(), SendError> {
        if let Some(info) = &self.ended {
            return Err(SendError::Closed(info.clone()));
        }
        if self.close_sent {
            return Err(SendError::Closed(None));
        }
        if let Some(why) = &self.broken {
            return Err(SendError::Broken(why.clone()));
        }
        Ok(())
    }

    /// Queues one frame with `queue` (a tungstenite write or close), with
    /// tungstenite's write limit raised by `room` for it; a frame the socket
    /// does not take at once stays queued (`WouldBlock`), never waited for.
    fn queue(
        &mut self,
        room: usize,
        queue: impl FnOnce(&mut WebSocket<Transport>) -> Result<(), WsError>,
    ) -> Result<(), SendError> {
        self.ws
            .set_config(|c| c.max_write_buffer_size = CONTROL_ROOM.saturating_add(room));
        let queued = queue(&mut self.ws);
        self.ws
            .set_config(|c| c.max_write_buffer_size = CONTROL_ROOM);
        match queued {
            Ok(()) => Ok(()),
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                self.queued = true;
                Ok(())
            }
            Err(e) => Err(self.send_error(e)),
        }
    }

    fn send_error(&mut self, err: WsError) -> SendError {
        match err {
            WsError::AlreadyClosed
            | WsError::ConnectionClosed
            | WsError::Protocol(tungstenite::error::ProtocolError::SendAfterClosing) => {
                SendError::Closed(self.ended.clone().flatten())
            }
            e => {
                let text = match e {
                    WsError::Io(io) => format!("sending failed: {io}"),
                    other => format!("sending failed: {other}"),
                };
                self.broken = Some(text.clone());
                SendError::Broken(text)
            }
        }
    }

    /// The peer's close frame arrived (a close of its own, or the answer to
    /// ours): its code and reason as seen on the wire, or a violation when
    /// that code may not be sent. tungstenite queued our answer.
    fn peer_closed(&mut self, frame: Option<CloseFrame>) -> PeerClose {
        let wire = self.ws.get_mut().close_watch.take_close();
        let close = close_watch::peer_close(wire.as_deref(), frame.as_ref());
        self.ended = Some(match &close {
            PeerClose::Closed { code, reason } => Some((*code, reason.clone())),
            PeerClose::InvalidCode(_) => None,
        });
        close
    }

    /// A read failed: the session is over; a violation queues the close
    /// frame with its code (unless a close was sent already).
    fn read_failed(&mut self, err: WsError) -> ReadFailure {
        let failure = errors::classify_read(&err, self.size_settings);
        if let ReadFailure::Violation { code, .. } = &failure
            && !self.close_sent
        {
            self.close_sent = true;
            let reason = match *code {
                errors::TOO_BIG => "message too big",
                errors::INVALID_PAYLOAD => "invalid UTF-8",
                _ => "protocol error",
            };
            let frame = CloseFrame {
                code: (*code).into(),
                reason: reason.into(),
            };
            let _ = self.queue(OWN_CONTROL_ROOM, |ws| ws.close(Some(frame)));
            let _ = self.flush();
        }
        let info = match &failure {
            ReadFailure::AlreadyClosed => self.ended.clone().flatten(),
            _ => None,
        };
        self.ended = Some(info);
        failure
    }
}

/// The monotonic clock.
fn now() -> Instant {
    wasip2::clocks::monotonic_clock::now()
}

/// A ping or pong payload, refused over 125 bytes
/// ([`close::check_control_payload`]).
fn control_payload(payload: Vec<u8>) -> Result<Vec<u8>, SendError> {
    close::check_control_payload(&payload).map_err(|e| SendError::Invalid(e.to_string()))?;
    Ok(payload)
}

impl Drop for Session {
    /// Ends the connection, never waiting: hands the socket what it takes
    /// now, a TLS close_notify too, reads and drops what has already
    /// arrived (at most [`DISCARD_ON_DROP`]), then closes TCP (which never
    /// waits either: `TcpConnection::close`).
    fn drop(&mut self) {
        if self.broken.is_none() && !self.io.at_eof() {
            let _ = self.flush();
            self.ws.get_mut().shutdown();
            self.io.discard_arrived(DISCARD_ON_DROP);
        }
    }
}
