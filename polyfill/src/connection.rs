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
use wasip2::io::poll::Pollable;

use crate::bindings::exports::golem::websocket::client::{CloseInfo, Error, Message};
use crate::errors::{self, ReadFailure};
use crate::io::{Deadline, TcpIo, Transport, ready_pollable};
use crate::settings::{self, Settings};
use crate::{net, target};

/// The longest the polyfill waits to say goodbye: to send its answer to the
/// peer's close or the close frame that fails a connection, and, when a
/// connection is dropped, for the server to close TCP first (RFC 6455 7.1.1).
/// A peer that does not read or does not close costs at most this much.
const GOODBYE: Duration = Duration::from_secs(1);

/// Close code 1000, sent when a connection is dropped without `close`.
const NORMAL: u16 = 1000;

/// tungstenite's read buffer (its default is 128 KiB).
const READ_BUFFER_SIZE: usize = 64 * 1024;

/// Status code reported for a close frame without a code.
const NO_STATUS: u16 = 1005;

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
            Some(crate::tls::client_config(&extra).map_err(failure)?)
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
                let mut tls = crate::tls::TlsStream::new(config, &target.host, io.clone())
                    .map_err(failure)?;
                tls.handshake(&target.host, deadline).map_err(bounded)?;
                Transport::Tls(Box::new(tls))
            }
            None => Transport::Plain(io.clone()),
        };
        #[cfg(not(feature = "tls"))]
        let transport = Transport::Plain(io.clone());

        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
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
        let ws = inner.ws_mut()?;
        match ws.write(message) {
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

    /// `close`: sends a close frame (once); the peer's answer arrives through
    /// receive as `closed(some(..))`.
    pub(crate) fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), Error> {
        let mut inner = self.inner.borrow_mut();
        inner.check_open()?;
        let frame = close_frame(code, reason)?;
        if inner.close_sent {
            return Ok(());
        }
        inner.close_sent = true;
        let ws = inner.ws_mut()?;
        match ws.close(frame) {
            Ok(()) => Ok(()),
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => inner.flush_or_fail(),
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
        match inner.next_message(Deadline::Now) {
            Ok(None) => {
                // Replies (pongs) still queued would otherwise wait for the
                // guest's next call: push what the socket takes now, without
                // waiting for it.
                let _ = inner.flush_within(Deadline::Now);
                match &inner.tcp {
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
    fn next_message(&mut self, mut deadline: Deadline) -> Result<Option<Message>, Error> {
        if let Some(stashed) = self.stash.take() {
            return stashed.map(Some);
        }
        self.check_open()?;
        loop {
            let ws = self.ws_mut()?;
            match ws.read() {
                Ok(WsMessage::Text(text)) => return Ok(Some(Message::Text(text.as_str().into()))),
                Ok(WsMessage::Binary(data)) => return Ok(Some(Message::Binary(data.into()))),
                Ok(WsMessage::Close(frame)) => return Err(self.peer_closed(frame)),
                Ok(_) => {} // ping (the pong is queued and sent by the next read), pong
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    if deadline == Deadline::Now {
                        return Ok(None);
                    }
                    let ready = self.tcp.as_ref().is_some_and(|io| io.wait(deadline));
                    if !ready {
                        // One last look, then report the timeout.
                        deadline = Deadline::Now;
                    }
                }
                Err(e) => return Err(self.read_failed(e)),
            }
        }
    }

    /// The peer's close frame arrived (a close of its own, or the answer to ours).
    fn peer_closed(&mut self, frame: Option<CloseFrame>) -> Error {
        // tungstenite answers a close frame carrying a code that may not be sent
        // with 1002 and hands that frame up instead of the peer's.
        let invalid_code = !self.close_sent
            && frame.as_ref().is_some_and(|f| {
                f.code == CloseCode::Protocol && f.reason.as_str() == "Protocol violation"
            });
        // Send our answer (queued by tungstenite) now.
        let _ = self.flush_for(GOODBYE);
        if invalid_code {
            self.ended = Some(None);
            return Error::ProtocolError(
                "the peer's close frame has a close code that is not allowed on the wire"
                    .to_string(),
            );
        }
        let info = match frame {
            Some(f) => CloseInfo {
                code: f.code.into(),
                reason: f.reason.as_str().to_string(),
            },
            None => CloseInfo {
                code: NO_STATUS,
                reason: String::new(),
            },
        };
        self.ended = Some(Some(info.clone()));
        Error::Closed(Some(info))
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
                        let _ = ws.close(Some(CloseFrame {
                            code: code.into(),
                            reason: reason.into(),
                        }));
                        let _ = self.flush_for(GOODBYE);
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

    /// Ends the connection: close frame if none was sent, wait briefly for the
    /// server to close TCP, then close TCP (which never waits: see `TcpIo`).
    fn shut_down(&mut self) {
        self.stash = None;
        // After a failed send nothing more can be sent, so there is no goodbye.
        let transport_ended =
            self.send_broken.is_some() || self.tcp.as_ref().is_none_or(|io| io.at_eof());
        if self.ws.is_some() && !transport_ended {
            let deadline = Deadline::after(GOODBYE);
            if self.ended.is_none() && !self.close_sent {
                self.close_sent = true;
                if let Some(ws) = self.ws.as_mut() {
                    let _ = ws.close(Some(CloseFrame {
                        code: NORMAL.into(),
                        reason: "".into(),
                    }));
                }
            }
            let _ = self.flush_within(deadline);
            if let Some(ws) = self.ws.as_mut() {
                ws.get_mut().shutdown();
            }
            if let Some(io) = &self.tcp {
                io.drain_until_eof(deadline);
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
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
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
