//! A client that reconnects after an unexpected end, on a schedule of
//! delays, built on the crate's public API ([`WebSocket::connect_with`] or
//! another connect, the `Stream` and `Sink`), so it runs on every host shape
//! the crate supports.

mod driver;
mod schedule;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::{FusedStream, Stream};

use self::driver::Driver;
use self::schedule::{Schedule, random_seed};
use crate::{ClientRequest, CloseFrame, ConnectionState, Error, Message, Result, WebSocket};

/// How a [`ReconnectingWebSocket`] reconnects: the delays, a bound on
/// attempts, jitter, and the messages to send on every connect.
///
/// Built like every configuration of the crate (see
/// [Configuration style](crate::ClientRequest#configuration-style)): a
/// builder method named after each setting, and a getter `get_` + its name
/// that gives the value as it will be used.
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
/// assert_eq!(config.get_delays().len(), 3);
/// assert_eq!(config.get_max_attempts(), Some(20));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectConfig {
    delays: Vec<Duration>,
    max_attempts: Option<u32>,
    jitter: f64,
    on_connect: Vec<Message>,
}

impl Default for ReconnectConfig {
    /// One second between attempts, never giving up, no jitter, nothing
    /// sent on connect.
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
    /// The delays before each reconnect attempt: the first after a
    /// disconnect (or after the first connect failed), the second after that
    /// attempt failed, and so on; after the last, the last repeats. A
    /// successful connect starts again at the first. None given means the
    /// default, one second.
    pub fn delays(mut self, delays: impl IntoIterator<Item = Duration>) -> Self {
        self.delays = delays.into_iter().collect();
        if self.delays.is_empty() {
            self.delays.push(schedule::DEFAULT_DELAY);
        }
        self
    }

    /// Gives up after this many connect attempts in a row failed (the first
    /// connect counts; a successful connect starts the count again; `0`
    /// counts as `1`). Not set (the default): never give up.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }

    /// Moves each delay by up to this fraction of itself, up or down, at
    /// random (`0.2`: 1 s becomes 0.8 s to 1.2 s), so that many clients do
    /// not reconnect in step. Clamped to `0.0..=1.0` (NaN counts as `0.0`);
    /// default `0.0`.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = schedule::clamp_jitter(fraction);
        self
    }

    /// Adds a message to send, in order, right after every successful
    /// connect, before [`Event::Connected`] is reported: typically the
    /// subscriptions.
    pub fn on_connect(mut self, message: Message) -> Self {
        self.on_connect.push(message);
        self
    }

    /// The delays before each attempt ([`delays`](Self::delays)).
    pub fn get_delays(&self) -> &[Duration] {
        &self.delays
    }

    /// The bound on failed attempts in a row; `None`: never give up.
    pub fn get_max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The jitter fraction, clamped ([`jitter`](Self::jitter)).
    pub fn get_jitter(&self) -> f64 {
        self.jitter
    }

    /// The messages sent after every connect, in order.
    pub fn get_on_connect(&self) -> &[Message] {
        &self.on_connect
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
    /// (with its code), or why it ended otherwise:
    /// [`Error::ConnectionReset`] for an end without a close frame,
    /// `Error::ConnectionClosed(None)` for a close frame without a code, or
    /// the error the connection failed with, e.g. [`Error::SessionLost`].
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
        /// Why it failed, e.g. [`Error::Connect`].
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
///   [`Error::Connect`]), then [`Error::AlreadyClosed`]; the stream
///   yields that error and ends. A request that is wrong in itself
///   ([`Error::InvalidUrl`], [`Error::InvalidHeader`]) is not retried.
/// - [`send`](Self::send) while not connected is [`Error::NotConnected`]
///   (after the end, [`Error::AlreadyClosed`]): nothing is queued. [`state`](Self::state) tells when it is not connected
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
    driver: Driver<WebSocket>,
}

impl ReconnectingWebSocket {
    /// A client for `request` that reconnects as `config` says. Nothing
    /// happens until it is first polled: [`recv`](Self::recv) or the stream
    /// then connects and reports [`Event::Connected`] or
    /// [`Event::ConnectFailed`].
    ///
    /// Every connection is the host's ([`WebSocket::connect_with`]); for
    /// another connect, [`with_connect`](Self::with_connect).
    pub fn new(request: impl Into<ClientRequest>, config: ReconnectConfig) -> Self {
        ReconnectingWebSocket::with_connect(request, config, WebSocket::connect_with)
    }

    /// Like [`new`](Self::new), with every connection opened by `connect`:
    /// [`WebSocket::connect_direct`] (feature `sockets`) to reconnect
    /// without `golem:websocket` (a component that calls neither `new` nor
    /// [`WebSocket::connect`] then does not import it), or a function of the
    /// app's own around either (to log, or to pick the host per attempt).
    ///
    /// ```no_run
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// use wasm_websocket::{Event, ReconnectConfig, ReconnectingWebSocket, WebSocket};
    ///
    /// let mut feed = ReconnectingWebSocket::with_connect(
    ///     "ws://127.0.0.1:9001/feed",
    ///     ReconnectConfig::default(),
    ///     WebSocket::connect_direct,
    /// );
    /// while let Event::Connected { .. } | Event::ConnectFailed { .. } = feed.recv().await? {}
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(
        not(feature = "sockets"),
        doc = "\n[`WebSocket::connect_direct`]: crate#features"
    )]
    pub fn with_connect<F, C>(
        request: impl Into<ClientRequest>,
        config: ReconnectConfig,
        mut connect: C,
    ) -> Self
    where
        C: FnMut(ClientRequest) -> F + 'static,
        F: Future<Output = Result<WebSocket>> + 'static,
    {
        let schedule = Schedule::new(
            &config.delays,
            config.max_attempts,
            config.jitter,
            random_seed(),
        );
        ReconnectingWebSocket {
            driver: Driver::new(
                request.into(),
                config.on_connect,
                schedule,
                Box::new(move |request| Box::pin(connect(request))),
                Box::new(|delay| Box::pin(crate::host::sleep(delay))),
            ),
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
        poll_fn(|cx| self.driver.poll_event(cx))
            .await
            .unwrap_or(Err(Error::AlreadyClosed))
    }

    /// Sends a message on the open connection.
    ///
    /// While not connected (connecting, or waiting for the next attempt) this
    /// is [`Error::NotConnected`], and after the end [`Error::AlreadyClosed`];
    /// nothing is sent or queued;
    /// an error of the connection itself is returned as it is, and the end it
    /// means is reported by the next [`recv`](Self::recv). Sending
    /// `Message::Close` closes for good, like [`close`](Self::close) without
    /// waiting for the peer's answer.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.driver.send(message).await
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
        self.driver.close(frame).await
    }

    /// Where the client is: `Connecting` before the first connect, during an
    /// attempt, while waiting for the next, and once the connection ended
    /// (a failed send can tell before the next [`recv`](Self::recv) reports
    /// it); `Open` while connected; `Closing` after the app sent
    /// `Message::Close`; `Closed` after the app's close, or once it gave up.
    pub fn state(&self) -> ConnectionState {
        self.driver.state()
    }

    /// The URL every connection is opened with, as given.
    pub fn url(&self) -> &str {
        self.driver.request().get_url()
    }

    /// The subprotocol the server agreed to on the current connection (see
    /// [`WebSocket::protocol`]); `None` while not connected.
    pub fn protocol(&self) -> Option<&str> {
        self.driver.protocol()
    }
}

/// The events as they come; the stream yields the error the client stopped
/// with, if any, and ends after it or after the app's close.
impl Stream for ReconnectingWebSocket {
    type Item = Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().driver.poll_event(cx)
    }
}

impl FusedStream for ReconnectingWebSocket {
    fn is_terminated(&self) -> bool {
        self.driver.is_terminated()
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
