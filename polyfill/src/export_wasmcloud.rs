//! The wasmCloud draft interface, `wasmcloud:websocket/client@0.1.1-draft`
//! (and its `types`), served over the same engine session as
//! `golem:websocket`: a thin driver whose only waits are the connect (within
//! `timeout-ms`) and a send or close handing its frame to the socket (within
//! `WASM_WEBSOCKET_SEND_TIMEOUT_MS`). `receive` never waits. The choices the
//! draft leaves open are written down in wit/README.md ("The wasmCloud
//! draft") and decided here by [`draft_state`] and [`draft_close`].

use std::cell::RefCell;
use std::time::Duration;

use crate::bindings::exports::wasmcloud::websocket::client::{ClientConfig, GuestConnection};
use crate::bindings::exports::wasmcloud::websocket::types::{
    CloseInfo, ConnectionState, Message, WebsocketError,
};
use crate::connection::{Lingering, close_frame, flush_within, open_session};
use wasm_websocket_engine::close_watch::PeerClose;
use wasm_websocket_engine::errors::ReadFailure;
use wasm_websocket_engine::keepalive::Keepalive;
use wasm_websocket_engine::protocol::headers;
use wasm_websocket_engine::session::{Event, Frame, Received, SendError, Session};
use wasm_websocket_engine::settings::Settings;
use wasm_websocket_engine::target;
use wasm_websocket_engine::wait::Deadline;

/// The keepalive interval when `enable-keepalive` is set without
/// `keepalive-interval-ms`.
pub(crate) const DEFAULT_KEEPALIVE_INTERVAL_MS: u32 = 30_000;

/// The `connection` resource of the draft.
pub(crate) struct DraftConnection {
    url: String,
    subprotocol: Option<String>,
    send_timeout: Duration,
    inner: RefCell<Inner>,
}

struct Inner {
    /// `None` only once dropped.
    session: Option<Session>,
    /// A receive reported the end (the peer's close, or an error): the
    /// session is over and every later receive is `connection-closed`.
    reported: bool,
}

/// What a connection's state reads, from what the session says.
pub(crate) fn draft_state(ended: bool, close_sent: bool) -> ConnectionState {
    match (ended, close_sent) {
        (true, _) => ConnectionState::Closed,
        (false, true) => ConnectionState::Closing,
        (false, false) => ConnectionState::Open,
    }
}

/// The peer's close frame as a `close` message: its code (1005 when it
/// carried none) and its reason, `none` when empty.
pub(crate) fn draft_close(code: u16, reason: String) -> Message {
    Message::Close(CloseInfo {
        code,
        reason: (!reason.is_empty()).then_some(reason),
    })
}

/// The engine settings and keepalive a `client-config` asks for, on top of
/// the environment's (`WASM_WEBSOCKET_*`).
pub(crate) fn apply_config(
    config: &ClientConfig,
    mut settings: Settings,
) -> Result<(Settings, Option<Keepalive>), String> {
    if let Some(ms) = config.timeout_ms {
        if ms == 0 {
            return Err("timeout-ms must be greater than 0".to_owned());
        }
        settings.connect_timeout = Duration::from_millis(ms.into());
    }
    if let Some(bytes) = config.max_message_size {
        if bytes == 0 {
            return Err("max-message-size must be greater than 0".to_owned());
        }
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        settings.max_message_size = bytes;
        settings.max_frame_size = settings.max_frame_size.min(bytes);
    }
    let keepalive = match (config.enable_keepalive, config.keepalive_interval_ms) {
        (Some(true), Some(0)) => {
            return Err("keepalive-interval-ms must be greater than 0".to_owned());
        }
        (Some(true), interval) => {
            let interval =
                Duration::from_millis(interval.unwrap_or(DEFAULT_KEEPALIVE_INTERVAL_MS).into());
            // The draft has no field for the answer's timeout: one interval.
            Some(Keepalive {
                interval,
                timeout: interval,
            })
        }
        _ => None,
    };
    Ok((settings, keepalive))
}

impl DraftConnection {
    /// `connect(config)`: TCP (+ TLS) + opening handshake within
    /// `timeout-ms` (else `WASM_WEBSOCKET_CONNECT_TIMEOUT_MS`).
    pub(crate) fn open(config: ClientConfig) -> Result<DraftConnection, WebsocketError> {
        Lingering::sweep();
        let url = target::parse(&config.url).map_err(WebsocketError::InvalidUrl)?;
        let settings = Settings::from_env().map_err(WebsocketError::ConnectionFailed)?;
        let (settings, keepalive) =
            apply_config(&config, settings).map_err(WebsocketError::ConnectionFailed)?;
        let extra: Vec<(String, String)> = config
            .headers
            .unwrap_or_default()
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect();
        let headers =
            headers::client_headers(&extra, config.subprotocols.as_deref().unwrap_or_default())
                .map_err(|e| WebsocketError::ConnectionFailed(e.to_string()))?;
        let deadline = Deadline::after(settings.connect_timeout);
        let send_timeout = settings.send_timeout;
        let mut opened = open_session(&url, &headers, settings, true).map_err(|text| {
            if deadline.passed() {
                WebsocketError::Timeout
            } else {
                WebsocketError::ConnectionFailed(text)
            }
        })?;
        opened.session.keepalive(keepalive);
        Ok(DraftConnection {
            url: config.url,
            subprotocol: opened.protocol,
            send_timeout,
            inner: RefCell::new(Inner {
                session: Some(opened.session),
                reported: false,
            }),
        })
    }
}

fn send_error(err: SendError) -> WebsocketError {
    match err {
        SendError::Closed(_) => WebsocketError::ConnectionClosed,
        SendError::Broken(text) => WebsocketError::IoError(text),
        SendError::Invalid(text) => WebsocketError::InvalidMessage(text),
    }
}

impl Inner {
    fn session(&mut self) -> Result<&mut Session, WebsocketError> {
        self.session
            .as_mut()
            .ok_or(WebsocketError::ConnectionClosed)
    }

    /// Queues a close frame (once) and hands it to the socket within the
    /// send bound.
    fn close(
        &mut self,
        code: Option<u16>,
        reason: Option<String>,
        bound: Duration,
    ) -> Result<(), WebsocketError> {
        let frame = close_frame(code, reason).map_err(WebsocketError::InvalidMessage)?;
        let session = self.session()?;
        if session.ended().is_some() {
            return Err(WebsocketError::ConnectionClosed);
        }
        let frame = frame
            .as_ref()
            .map(|(code, reason)| (*code, reason.as_str()));
        session.close(frame).map_err(send_error)?;
        flush_within(session, bound).map_err(send_error)
    }
}

impl GuestConnection for DraftConnection {
    /// Text and binary messages, and ping, pong and close frames, each handed
    /// whole to the socket (within the send bound) or refused.
    fn send(&self, message: Message) -> Result<(), WebsocketError> {
        Lingering::sweep();
        let mut inner = self.inner.borrow_mut();
        let frame = match message {
            Message::Text(text) => Frame::Text(text),
            Message::Binary(data) => Frame::Binary(data),
            Message::Ping(data) => Frame::Ping(data),
            Message::Pong(data) => Frame::Pong(data),
            Message::Close(info) => {
                return inner.close(Some(info.code), info.reason, self.send_timeout);
            }
        };
        let session = inner.session()?;
        session.send(frame).map_err(send_error)?;
        flush_within(session, self.send_timeout).map_err(send_error)
    }

    /// Never waits: the next whole message if it has arrived (a slice of
    /// reading at most), else `none`. The peer's close frame is handed up
    /// once as a `close` message; after it, and after any error, every
    /// receive is `connection-closed`.
    fn receive(&self) -> Result<Option<Message>, WebsocketError> {
        Lingering::sweep();
        let mut inner = self.inner.borrow_mut();
        if inner.reported {
            return Err(WebsocketError::ConnectionClosed);
        }
        let session = inner.session()?;
        let (item, over) = match session.read() {
            Ok(Event::Message(Received::Text(text))) => (Ok(Some(Message::Text(text))), false),
            Ok(Event::Message(Received::Binary(data))) => (Ok(Some(Message::Binary(data))), false),
            Ok(Event::Message(Received::Pong(data))) => (Ok(Some(Message::Pong(data))), false),
            Ok(Event::Closed(PeerClose::Closed { code, reason })) => {
                (Ok(Some(draft_close(code, reason))), true)
            }
            Ok(Event::Closed(PeerClose::InvalidCode(code))) => (
                Err(WebsocketError::ProtocolError(format!(
                    "the peer's close frame has close code {code}, which may not be sent \
                     on the wire (answered with 1002)"
                ))),
                true,
            ),
            // Nothing whole yet, or the slice ended with more to read: the
            // caller comes back.
            Ok(Event::Idle | Event::More) => (Ok(None), false),
            Err(failure) => (Err(read_failed(failure)), true),
        };
        inner.reported |= over;
        item
    }

    /// Queues a close frame (once; a second close while closing does
    /// nothing) and returns once it is handed to the socket: it does not
    /// wait for the peer's answer, which a later receive returns as a
    /// `close` message.
    fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), WebsocketError> {
        Lingering::sweep();
        self.inner
            .borrow_mut()
            .close(code, reason, self.send_timeout)
    }

    /// `open`, `closing` once a close frame was sent, `closed` once the
    /// session is over; never `connecting` (`connect` returns an open
    /// connection).
    fn get_state(&self) -> ConnectionState {
        let inner = self.inner.borrow();
        match &inner.session {
            Some(session) => draft_state(
                inner.reported || session.ended().is_some(),
                session.close_sent(),
            ),
            None => ConnectionState::Closed,
        }
    }

    /// The URL as given to `connect`.
    fn get_url(&self) -> String {
        self.url.clone()
    }

    /// The subprotocol the server chose, if any.
    fn get_subprotocol(&self) -> Option<String> {
        self.subprotocol.clone()
    }
}

/// A failed read: the session is over.
fn read_failed(failure: ReadFailure) -> WebsocketError {
    match failure {
        ReadFailure::Violation { text, .. } => WebsocketError::ProtocolError(text),
        ReadFailure::Abrupt | ReadFailure::AlreadyClosed => WebsocketError::ConnectionClosed,
        ReadFailure::KeepaliveTimeout(_) => WebsocketError::Timeout,
        ReadFailure::Other(text) => WebsocketError::IoError(text),
    }
}

impl Drop for DraftConnection {
    /// Ends the connection, never waiting, as the golem connection does: the
    /// goodbye (close 1001 unless a close was sent) and what else is queued
    /// go out as far as the socket takes them; the rest lingers.
    fn drop(&mut self) {
        if let Some(mut session) = self.inner.get_mut().session.take()
            && session.leave()
        {
            Lingering::keep(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClientConfig {
        ClientConfig {
            url: "ws://127.0.0.1:1/".to_owned(),
            subprotocols: None,
            headers: None,
            timeout_ms: None,
            max_message_size: None,
            enable_keepalive: None,
            keepalive_interval_ms: None,
        }
    }

    #[test]
    fn states_follow_the_session() {
        assert_eq!(draft_state(false, false), ConnectionState::Open);
        assert_eq!(draft_state(false, true), ConnectionState::Closing);
        assert_eq!(draft_state(true, true), ConnectionState::Closed);
        assert_eq!(draft_state(true, false), ConnectionState::Closed);
    }

    #[test]
    fn the_peers_close_carries_its_code_and_a_reason_only_when_there_is_one() {
        let Message::Close(info) = draft_close(4001, "bye".to_owned()) else {
            unreachable!()
        };
        assert_eq!((info.code, info.reason.as_deref()), (4001, Some("bye")));
        let Message::Close(info) = draft_close(1005, String::new()) else {
            unreachable!()
        };
        assert_eq!((info.code, info.reason), (1005, None));
    }

    #[test]
    fn config_fields_set_the_engine() {
        let defaults = Settings::default();
        let (settings, keepalive) = apply_config(&config(), defaults.clone()).unwrap();
        assert_eq!(settings, defaults);
        assert_eq!(keepalive, None);

        let mut c = config();
        c.timeout_ms = Some(1500);
        c.max_message_size = Some(1024);
        let (settings, _) = apply_config(&c, defaults.clone()).unwrap();
        assert_eq!(settings.connect_timeout, Duration::from_millis(1500));
        assert_eq!(
            (settings.max_message_size, settings.max_frame_size),
            (1024, 1024)
        );

        // The interval alone does not turn keepalive on.
        c.keepalive_interval_ms = Some(250);
        assert_eq!(apply_config(&c, defaults.clone()).unwrap().1, None);
        c.enable_keepalive = Some(true);
        let every = Duration::from_millis(250);
        assert_eq!(
            apply_config(&c, defaults.clone()).unwrap().1,
            Some(Keepalive {
                interval: every,
                timeout: every
            })
        );
        c.keepalive_interval_ms = None;
        let default = Duration::from_millis(DEFAULT_KEEPALIVE_INTERVAL_MS.into());
        assert_eq!(
            apply_config(&c, defaults.clone()).unwrap().1,
            Some(Keepalive {
                interval: default,
                timeout: default
            })
        );
        c.enable_keepalive = Some(false);
        c.keepalive_interval_ms = Some(250);
        assert_eq!(apply_config(&c, defaults.clone()).unwrap().1, None);
    }

    #[test]
    fn zero_settings_are_refused() {
        let mut c = config();
        c.timeout_ms = Some(0);
        assert!(apply_config(&c, Settings::default()).is_err());
        let mut c = config();
        c.max_message_size = Some(0);
        assert!(apply_config(&c, Settings::default()).is_err());
        let mut c = config();
        c.enable_keepalive = Some(true);
        c.keepalive_interval_ms = Some(0);
        assert!(apply_config(&c, Settings::default()).is_err());
    }
}
