//! A client that reconnects after an unexpected end, on a schedule of
//! delays, built on the crate's public API ([`WebSocket::connect_with`], its
//! `Stream` and `Sink`), so it runs on every host shape the crate supports.

mod schedule;

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;

use self::schedule::{Item, Next, Schedule, classify, random_seed, retryable};
use crate::{ClientRequest, CloseFrame, ConnectionState, Error, Message, Result, WebSocket};

/// How a [`ReconnectingWebSocket`] reconnects: the delays, a bound on
/// attempts, jitter, and the messages to send on every connect.
///
/// ```
/// use std::time::Duration;
/// use wasm_websocket::{Message, ReconnectConfig};
///
/// let config = ReconnectConfig::default()
///     .delays([Duration::from_millis(500), Duration::from_secs(2), Duration::from_secs(10)])
///     .max_attempts(20)
///     .jitter(0.2)
///     .on_connect(Message::text(r#"{"op":"subscribe","channel":"btc"}"#));
/// assert_eq!(config.delays.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReconnectConfig {
    /// The delays before each reconnect attempt: the first after a
    /// disconnect (or after the first connect failed), the second after that
    /// attempt failed, and so on; after the last, the last repeats. A
    /// successful connect starts again at the first. Empty means the
    /// default, one second.
    pub delays: Vec<Duration>,
    /// Give up after this many connect attempts in a row failed (the first
    /// connect counts; a successful connect starts the count again; `0`
    /// counts as `1`). `None` (the default): never give up.
    pub max_attempts: Option<u32>,
    /// Moves each delay by up to this fraction of itself, up or down, at
    /// random (`0.2`: 1 s becomes 0.8 s to 1.2 s), so that many clients do
    /// not reconnect in step. Clamped to `0.0..=1.0`; default `0.0`.
    pub jitter: f64,
    /// Messages sent, in order, right after every successful connect, before
    /// [`Event::Connected`] is reported: typically the subscriptions.
    pub on_connect: Vec<Message>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            delays: vec![schedule::DEFAULT_DELAY],
            max_attempts: None,
            jitter: 0.0,
            on_connect: Vec::new(),
        }
    }
}

impl ReconnectConfig {
    /// Sets the delays (see [`ReconnectConfig::delays`]).
    pub fn delays(mut self, delays: impl IntoIterator<Item = Duration>) -> Self {
        self.delays = delays.into_iter().collect();
        self
    }

    /// Gives up after `attempts` failed connect attempts in a row.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Moves each delay by up to `fraction` of itself (see
    /// [`ReconnectConfig::jitter`]).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Adds a message to send after every connect (see
    /// [`ReconnectConfig::on_connect`]).
    pub fn on_connect(mut self, message: Message) -> Self {
        self.on_connect.push(message);
        self
    }
}

/// What a [`ReconnectingWebSocket`] reports: its messages and its
/// transitions, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A connection is open, and the [`on_connect`](ReconnectConfig::on_connect)
    /// messages were sent on it. Send what else each new connection needs now.
    Connected {
        /// Which attempt of the current series this was: 1 for the first
        /// attempt after the start or after a disconnect.
        attempt: u32,
        /// The subprotocol the server agreed to; see [`WebSocket::protocol`].
        protocol: Option<String>,
    },
    /// A text or binary message.
    Message(Message),
    /// The open connection ended without the app asking for it; the client
    /// connects again after `retry_in`.
    ///
    /// Exactly one of `close` and `error` is `Some`: the peer's close frame
    /// (with its code), or why it ended otherwise (`Error::Closed(None)` for
    /// an end without a close frame or a close without a code, or the error
    /// the connection failed with, e.g. [`Error::SessionLost`]).
    Disconnected {
        /// The peer's close frame.
        close: Option<CloseFrame>,
        /// Why the connection ended, when not by a close frame with a code.
        error: Option<Error>,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// A connect attempt failed; the client tries again after `retry_in`.
    /// When the last allowed attempt fails there is no such event:
    /// [`ReconnectingWebSocket::recv`] returns that attempt's error instead.
    ConnectFailed {
        /// Which attempt of the current series failed, from 1.
        attempt: u32,
        /// Why it failed, e.g. [`Error::ConnectionFailed`].
        error: Error,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
}

/// A WebSocket client that connects again after an unexpected end, following
/// a schedule of delays ([`ReconnectConfig`]), and reports its messages and
/// transitions as one stream of [`Event`]s.
///
/// - It reconnects after every end the app did not ask for: the peer's close
///   frame, an end without one, an error. The app's own
///   [`close`](Self::close) ends it for good.
/// - It connects for the first time when first polled ([`recv`](Self::recv)
///   or the `Stream`); a failed first connect is retried like any other.
/// - After [`max_attempts`](ReconnectConfig::max_attempts) failed attempts in
///   a row it gives up: `recv` returns the last attempt's error (typically
///   [`Error::ConnectionFailed`]), then [`Error::AlreadyClosed`]; the stream
///   yields that error and ends. A request that is wrong in itself
///   ([`Error::InvalidUrl`], [`Error::InvalidHeader`]) is not retried.
/// - [`send`](Self::send) while not connected is [`Error::AlreadyClosed`]:
///   nothing is queued. [`state`](Self::state) tells when it is not connected
///   (`Connecting`, also while waiting for the next attempt).
/// - Messages the peer sent after the last one received before an end, and
///   messages that arrive while the app closes, are lost: each connection is
///   new to the server, which is why [`Event::Connected`] and
///   [`ReconnectConfig::on_connect`] exist.
///
/// `recv` and the stream are cancel-safe: dropping a `recv` (a timeout, a
/// `select` whose other branch won) loses no message, and a delay keeps
/// running for the next poll.
///
/// # Durability on Golem
/// Every attempt is an ordinary `connect` host call, and every delay a
/// monotonic-clock timer whose firing is a `poll`; Golem writes both to its
/// oplog. On replay the same attempts get the same results (no network) and
/// the timers fire at once, so the client walks the same events to the same
/// state; the jitter's seed comes from `wasi:random`, which Golem records
/// too. Golem's own reconnect is a different thing: when it restores a
/// worker whose connection was open, it reopens that connection to the same
/// URL and headers at its first live call, and this client does not see it.
/// So [`on_connect`](ReconnectConfig::on_connect) is not resent then. Under
/// the `p3` feature, give the request
/// `ReconstructionPolicy::ReportConnectionLoss`: the first live call then
/// fails with [`Error::SessionLost`], which this client reports as
/// [`Event::Disconnected`] and answers with a connect of its own that resends
/// the subscriptions. Each connect takes one of Golem's connection slots (100
/// per executor by default) and waits for one when all are taken.
///
/// ```no_run
/// use std::time::Duration;
/// use wasm_websocket::{ClientRequest, Event, Message, ReconnectConfig, ReconnectingWebSocket};
///
/// # async fn run() -> wasm_websocket::Result<()> {
/// let config = ReconnectConfig::default()
///     .delays([Duration::from_millis(250), Duration::from_secs(1), Duration::from_secs(5)])
///     .on_connect(Message::text("subscribe:btc"));
/// let mut feed = ReconnectingWebSocket::new(ClientRequest::new("ws://127.0.0.1:9001/feed"), config);
/// loop {
///     match feed.recv().await? {
///         Event::Connected { attempt, .. } => println!("connected (attempt {attempt})"),
///         Event::Message(message) => println!("{}", message.into_text()?),
///         Event::Disconnected { close, error, retry_in } => {
///             println!("lost: {close:?} {error:?}; again in {retry_in:?}")
///         }
///         Event::ConnectFailed { error, retry_in, .. } => {
///             println!("{error}; again in {retry_in:?}")
///         }
///         _ => {}
///     }
/// }
/// # }
/// ```
pub struct ReconnectingWebSocket {
    request: ClientRequest,
    on_connect: Vec<Message>,
    schedule: Schedule,
    phase: Phase,
    /// `Connected`, reported once the subscriptions are out.
    connected: Option<Event>,
    /// The end of a connection whose subscriptions failed, reported right
    /// after its `Connected`.
    pending: Option<Event>,
}

/// Where the client is.
enum Phase {
    /// Connect at the next poll.
    Connect,
    /// A connect attempt is under way.
    Connecting {
        attempt: u32,
        connect: Pin<Box<dyn Future<Output = Result<WebSocket>>>>,
    },
    /// Connected: sending the `on_connect` messages (`sent` of them so far),
    /// then reading.
    Open {
        ws: WebSocket,
        sent: usize,
        /// The app sent `Message::Close`: the end that follows is expected.
        closing: bool,
    },
    /// Waiting for the next attempt.
    Waiting(Pin<Box<dyn Future<Output = ()>>>),
    /// Closed by the app, or given up.
    Closed,
}

impl ReconnectingWebSocket {
    /// A client for `request` that reconnects as `config` says. Nothing
    /// happens until it is first polled: [`recv`](Self::recv) or the stream
    /// then connects and reports [`Event::Connected`] or
    /// [`Event::ConnectFailed`].
    pub fn new(request: impl Into<ClientRequest>, config: ReconnectConfig) -> Self {
        ReconnectingWebSocket {
            request: request.into(),
            schedule: Schedule::new(
                &config.delays,
                config.max_attempts,
                config.jitter,
                random_seed(),
            ),
            on_connect: config.on_connect,
            phase: Phase::Connect,
            connected: None,
            pending: None,
        }
    }

    /// The next event: a message or a transition.
    ///
    /// Waits on the runtime, and through the delays between attempts, so
    /// other tasks of the component run meanwhile. Returns `Err` only when
    /// the client stops for good: the last allowed attempt's error, or a
    /// request that no retry can fix; after that, and after the app's own
    /// [`close`](Self::close), [`Error::AlreadyClosed`].
    pub async fn recv(&mut self) -> Result<Event> {
        poll_fn(|cx| self.poll_event(cx))
            .await
            .unwrap_or(Err(Error::AlreadyClosed))
    }

    /// Sends a message on the open connection.
    ///
    /// While not connected (connecting, waiting for the next attempt, or
    /// closed) this is [`Error::AlreadyClosed`] and nothing is sent or queued;
    /// an error of the connection itself is returned as it is, and the end it
    /// means is reported by the next [`recv`](Self::recv). Sending
    /// `Message::Close` closes for good, like [`close`](Self::close) without
    /// waiting for the peer's answer.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        match &mut self.phase {
            Phase::Open {
                ws, sent, closing, ..
            } if !*closing && *sent == self.on_connect.len() => {
                let close = message.is_close();
                ws.send(message).await?;
                *closing = close;
                Ok(())
            }
            Phase::Open { .. } => Err(Error::AlreadyClosed),
            _ if message.is_close() => {
                self.close_now();
                Ok(())
            }
            _ => Err(Error::AlreadyClosed),
        }
    }

    /// Closes for good: no reconnect follows. An open connection is closed
    /// like [`WebSocket::close`] (the close frame, then the peer's answer up
    /// to the close timeout); while not connected, the pending attempt or
    /// delay is dropped and this returns `Ok(())`. Afterwards the stream
    /// ends, and messages that arrived during the close are not reported.
    ///
    /// A close frame a client may not send is [`Error::InvalidCloseFrame`],
    /// and nothing changes.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Open { mut ws, sent, .. } => match ws.close(frame).await {
                Err(err @ Error::InvalidCloseFrame(_)) => {
                    self.phase = Phase::Open {
                        ws,
                        sent,
                        closing: false,
                    };
                    Err(err)
                }
                result => {
                    self.close_now();
                    result
                }
            },
            Phase::Closed => Err(Error::AlreadyClosed),
            _ => {
                self.close_now();
                Ok(())
            }
        }
    }

    /// Where the client is: `Connecting` before the first connect, during an
    /// attempt, while waiting for the next, and once the connection ended
    /// (a failed send can tell before the next [`recv`](Self::recv) reports
    /// it); `Open` while connected; `Closing` after the app sent
    /// `Message::Close`; `Closed` after the app's close, or once it gave up.
    pub fn state(&self) -> ConnectionState {
        match &self.phase {
            Phase::Connect | Phase::Connecting { .. } | Phase::Waiting(_) => {
                ConnectionState::Connecting
            }
            Phase::Open { ws, closing, .. } => match ws.state() {
                ConnectionState::Closed if !*closing => ConnectionState::Connecting,
                state => state,
            },
            Phase::Closed => ConnectionState::Closed,
        }
    }

    /// The URL every connection is opened with, as given.
    pub fn url(&self) -> &str {
        self.request.url()
    }

    /// The subprotocol the server agreed to on the current connection (see
    /// [`WebSocket::protocol`]); `None` while not connected.
    pub fn protocol(&self) -> Option<&str> {
        match &self.phase {
            Phase::Open { ws, .. } => ws.protocol(),
            _ => None,
        }
    }

    fn close_now(&mut self) {
        self.phase = Phase::Closed;
        self.connected = None;
        self.pending = None;
    }

    /// Drives the client to its next event; `None` once it stopped.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event>>> {
        if let Some(event) = self.pending.take() {
            return Poll::Ready(Some(Ok(event)));
        }
        loop {
            match &mut self.phase {
                Phase::Closed => return Poll::Ready(None),
                Phase::Connect => {
                    let attempt = self.schedule.attempt();
                    let request = self.request.clone();
                    self.phase = Phase::Connecting {
                        attempt,
                        connect: Box::pin(WebSocket::connect_with(request)),
                    };
                }
                Phase::Connecting { attempt, connect } => {
                    let attempt = *attempt;
                    let Poll::Ready(result) = connect.as_mut().poll(cx) else {
                        return Poll::Pending;
                    };
                    match result {
                        Ok(ws) => {
                            self.schedule.connected();
                            self.connected = Some(Event::Connected {
                                attempt,
                                protocol: ws.protocol().map(str::to_owned),
                            });
                            self.phase = Phase::Open {
                                ws,
                                sent: 0,
                                closing: false,
                            };
                        }
                        Err(error) if !retryable(&error) => {
                            self.close_now();
                            return Poll::Ready(Some(Err(error)));
                        }
                        Err(error) => match self.schedule.connect_failed() {
                            Next::Retry(retry_in) => {
                                self.wait(retry_in);
                                return Poll::Ready(Some(Ok(Event::ConnectFailed {
                                    attempt,
                                    error,
                                    retry_in,
                                })));
                            }
                            Next::GiveUp => {
                                self.close_now();
                                return Poll::Ready(Some(Err(error)));
                            }
                        },
                    }
                }
                Phase::Waiting(delay) => {
                    if delay.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.phase = Phase::Connect;
                }
                Phase::Open { ws, sent, closing } => {
                    // The subscriptions go out before `Connected` is
                    // reported, so whatever the app sends on it follows them.
                    while let Some(message) = self.on_connect.get(*sent) {
                        let mut sink = Pin::new(&mut *ws);
                        let result = match sink.as_mut().poll_ready(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(ready) => {
                                ready.and_then(|()| sink.start_send(message.clone()))
                            }
                        };
                        if let Err(error) = result {
                            // The connection is no use: report it connected,
                            // then lost.
                            let retry_in = self.schedule.disconnected();
                            let lost = Event::Disconnected {
                                close: None,
                                error: Some(error),
                                retry_in,
                            };
                            self.wait(retry_in);
                            let event = match self.connected.take() {
                                Some(connected) => {
                                    self.pending = Some(lost);
                                    connected
                                }
                                None => lost,
                            };
                            return Poll::Ready(Some(Ok(event)));
                        }
                        *sent += 1;
                    }
                    if let Some(connected) = self.connected.take() {
                        return Poll::Ready(Some(Ok(connected)));
                    }
                    let closing = *closing;
                    let Poll::Ready(item) = Pin::new(&mut *ws).poll_next(cx) else {
                        return Poll::Pending;
                    };
                    match classify(item) {
                        Item::Message(message) => {
                            return Poll::Ready(Some(Ok(Event::Message(message))));
                        }
                        Item::Ended { .. } if closing => {
                            self.close_now();
                            return Poll::Ready(None);
                        }
                        Item::Ended { close, error } => {
                            let retry_in = self.schedule.disconnected();
                            self.wait(retry_in);
                            return Poll::Ready(Some(Ok(Event::Disconnected {
                                close,
                                error,
                                retry_in,
                            })));
                        }
                    }
                }
            }
        }
    }

    /// Drops the connection, if any, and waits `delay` before the next
    /// attempt.
    fn wait(&mut self, delay: Duration) {
        self.phase = Phase::Waiting(Box::pin(crate::host::sleep(delay)));
    }
}

/// The events as they come; the stream yields the error the client stopped
/// with, if any, and ends after it or after the app's close.
impl Stream for ReconnectingWebSocket {
    type Item = Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

impl FusedStream for ReconnectingWebSocket {
    fn is_terminated(&self) -> bool {
        matches!(self.phase, Phase::Closed) && self.pending.is_none()
    }
}

impl fmt::Debug for ReconnectingWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingWebSocket")
            .field("url", &self.url())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}
