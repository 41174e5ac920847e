//! The driver: the WebSocket, its two halves, and their `Stream`/`Sink`
//! impls, over the state machine (`crate::machine`) and the host connection
//! (`crate::host`).

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;

use crate::host::{self, AnyConnection};
use crate::machine::Core;
use crate::{ClientRequest, CloseCode, CloseFrame, ConnectionState, Error, Message, Result};

/// A WebSocket connection: a client's, or one a server accepted.
///
/// Made by [`WebSocket::connect`] or [`WebSocket::connect_with`] (through
/// the host's `golem:websocket`), [`WebSocket::connect_direct`] (feature
/// `sockets`), or [`Incoming::accept`] / [`Incoming::accept_with`] on a
/// connection a `server::Listener` took (feature `server`). Send with
/// [`send`](WebSocket::send) or as a [`Sink`], receive with
/// [`recv`](WebSocket::recv) or as a [`Stream`], end it with
/// [`close`](WebSocket::close), or [`split`](WebSocket::split) it to send and
/// receive from two tasks.
///
/// All async methods run on the app's async runtime: under `p2` the wstd
/// reactor (inside `#[wstd::main]`, `#[wstd::http_server]` or
/// `wstd::runtime::block_on`), under `p3` wit-bindgen's runtime. A
/// `WebSocket` belongs to the runtime it was made in; use and drop it there.
///
/// Dropping a `WebSocket` that is still open sends a normal close (1000) without
/// waiting for the answer.
///
/// ```no_run
/// use futures_lite::StreamExt;
/// use wasm_websocket::{Message, WebSocket};
///
/// # async fn run() -> wasm_websocket::Result<()> {
/// let mut ws = WebSocket::connect("ws://127.0.0.1:9001/feed").await?;
/// ws.send(Message::text("subscribe")).await?;
/// while let Some(message) = ws.next().await {
///     match message? {
///         Message::Text(text) => println!("{text}"),
///         Message::Close(frame) => println!("closed: {frame:?}"),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[cfg_attr(
    not(feature = "sockets"),
    doc = "\n[`WebSocket::connect_direct`]: crate#features"
)]
#[cfg_attr(
    feature = "server",
    doc = "\n[`Incoming::accept`]: crate::server::Incoming::accept\n\
           [`Incoming::accept_with`]: crate::server::Incoming::accept_with"
)]
#[cfg_attr(
    not(feature = "server"),
    doc = "\n[`Incoming::accept`]: crate#features\n[`Incoming::accept_with`]: crate#features"
)]
pub struct WebSocket {
    sender: WebSocketSender,
    receiver: WebSocketReceiver,
}

/// The sending half of a [`WebSocket`], from [`WebSocket::split`].
pub struct WebSocketSender {
    shared: Rc<Shared>,
}

/// The receiving half of a [`WebSocket`], from [`WebSocket::split`].
pub struct WebSocketReceiver {
    shared: Rc<Shared>,
    terminated: bool,
}

/// What both halves share: the state machine over the host connection, and
/// what the connection was opened with.
struct Shared {
    core: RefCell<Core<AnyConnection>>,
    url: String,
    protocol: Option<String>,
    /// The handshake response's headers, where the connection knows them.
    handshake_headers: Option<Vec<(String, String)>>,
}

impl Shared {
    /// Runs `f` on the state machine, then wakes whoever its transitions
    /// named, after the borrow is released. `f` gets the clock to read, which
    /// the state machine does only when a close deadline is involved: a
    /// clock read is a host call, and most sends and receives need none.
    fn with<R>(&self, f: impl FnOnce(&mut Core<AnyConnection>, fn() -> Instant) -> R) -> R {
        let (result, wake) = {
            let mut core = self.core.borrow_mut();
            let result = f(&mut core, Instant::now);
            (result, core.take_wake())
        };
        if let Some(waker) = wake {
            waker.wake();
        }
        result
    }

    fn state(&self) -> ConnectionState {
        self.core.borrow().state()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Both halves are gone, so nobody waits: nothing to wake.
        self.core.get_mut().abandon();
    }
}

impl WebSocket {
    /// Connects to a `ws://` or `wss://` URL through the host's
    /// `golem:websocket` (Golem, or the polyfill composed into the app).
    ///
    /// `request` is a URL (`&str` or `String`) or a [`ClientRequest`], as for
    /// [`WebSocket::connect_direct`]; with a `ClientRequest` this is the same
    /// call as [`connect_with`](WebSocket::connect_with). So `connect` fits
    /// where a connect function is asked for, as
    /// [`ReconnectingWebSocket::with_connect`](crate::ReconnectingWebSocket::with_connect)
    /// does.
    ///
    /// The URL is checked first (see [`ClientRequest`]); then the host opens the
    /// connection. The host's connect call blocks the whole component until
    /// the handshake ends or fails (the polyfill bounds it at 30 s by default).
    /// [`WebSocket::connect_direct`] (feature `sockets`) opens one in the app
    /// itself instead.
    ///
    /// ```no_run
    /// use wasm_websocket::{ReconnectConfig, ReconnectingWebSocket, WebSocket};
    ///
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let ws = WebSocket::connect("wss://127.0.0.1:9443/").await?;
    /// let url = String::from("ws://127.0.0.1:9001/feed");
    /// let ws = WebSocket::connect(&url).await?;
    /// let feed = ReconnectingWebSocket::with_connect(url, ReconnectConfig::default(), WebSocket::connect);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(
        not(feature = "sockets"),
        doc = "\n[`WebSocket::connect_direct`]: crate#features"
    )]
    pub async fn connect(request: impl Into<ClientRequest>) -> Result<WebSocket> {
        WebSocket::connect_with(request.into()).await
    }

    /// Connects with a [`ClientRequest`] (extra headers, subprotocols, the
    /// close timeout) through the host's `golem:websocket`, like
    /// [`connect`](WebSocket::connect). Whatever features are enabled, this
    /// is the host's connection: [`WebSocket::connect_direct`] is the other.
    ///
    /// A request with a [`keepalive`](ClientRequest::keepalive) is
    /// [`Error::Unsupported`]: `golem:websocket` has no ping.
    ///
    /// ```no_run
    /// use wasm_websocket::{ClientRequest, WebSocket};
    ///
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")
    ///     .header("Authorization", "Bearer 3f9a")
    ///     .subprotocol("chat.v1");
    /// let ws = WebSocket::connect_with(request).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(
        not(feature = "sockets"),
        doc = "\n[`WebSocket::connect_direct`]: crate#features"
    )]
    pub async fn connect_with(request: ClientRequest) -> Result<WebSocket> {
        let (url, headers) = request.validate()?;
        if request.get_keepalive().is_some() {
            return Err(Error::Unsupported(
                "keepalive: golem:websocket has no ping, so the host cannot keep the \
                 connection alive (ClientRequest::keepalive needs WebSocket::connect_direct, \
                 feature `sockets`)"
                    .to_owned(),
            ));
        }
        let headers = (!headers.is_empty()).then_some(headers);
        let conn = host::HostConnection::connect(
            url.as_str(),
            headers.as_deref(),
            #[cfg(feature = "p3")]
            request.get_reconstruction_policy(),
        )?;
        Ok(WebSocket::new(
            Box::new(conn),
            request.get_url().to_owned(),
            request.agreed_protocol(),
            None,
            request.get_close_timeout(),
        ))
    }

    /// Connects directly (feature `sockets`): the protocol engine
    /// (tungstenite, rustls for `wss://`) runs in the app over
    /// `wasi:sockets`, without `golem:websocket`, the polyfill or a
    /// composition. A component whose connections all come from here
    /// imports no `golem:websocket`; one that also calls
    /// [`connect`](WebSocket::connect) imports both and picks per connection.
    ///
    /// `request` is a URL or a [`ClientRequest`]. The name lookup, TCP, TLS
    /// and the handshake wait on the reactor, so other tasks keep running;
    /// they are bounded by the polyfill's connect timeout and limits, from
    /// the same `WASM_WEBSOCKET_*` environment variables. Such a connection
    /// reports the agreed subprotocol and the response headers, sends pings,
    /// keeps itself alive ([`ClientRequest::keepalive`]) and shows pongs
    /// where asked ([`ClientRequest::pongs`]).
    ///
    /// On Golem 1.5, `wasi:sockets` works but is not recorded: after a
    /// restart the socket is gone and the replay runs its calls again live,
    /// so a Golem agent uses [`connect`](WebSocket::connect).
    ///
    /// A runtime choice (an option on [`ClientRequest`]) would not do: the
    /// one connect would then call both hosts, and every component would
    /// import `golem:websocket` whether it uses it or not, which a host
    /// without it (plain `wasmtime run`) refuses to instantiate.
    ///
    /// ```no_run
    /// use wasm_websocket::{ClientRequest, WebSocket};
    ///
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let ws = WebSocket::connect_direct("wss://127.0.0.1:9443/").await?;
    /// let request = ClientRequest::new("ws://127.0.0.1:9001/chat").subprotocol("chat.v1");
    /// let chat = WebSocket::connect_direct(request).await?;
    /// println!("agreed: {:?}", chat.protocol());
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "sockets")]
    pub async fn connect_direct(request: impl Into<ClientRequest>) -> Result<WebSocket> {
        let request = request.into();
        let (url, headers) = request.validate()?;
        let mut opened = host::engine::connect(&url, &headers, request.get_pongs()).await?;
        opened
            .session
            .keepalive(request.get_keepalive().map(|(interval, timeout)| {
                wasm_websocket_engine::keepalive::Keepalive { interval, timeout }
            }));
        Ok(WebSocket::from_engine(
            opened.session,
            request.get_url().to_owned(),
            opened.protocol,
            opened.headers,
            request.get_close_timeout(),
        ))
    }

    /// A `WebSocket` over a session whose opening handshake the engine
    /// completed, with what the handshake agreed (`protocol`, the
    /// subprotocol; `headers`, the other side's headers). Direct client
    /// connects ([`WebSocket::connect_direct`]) and accepted server
    /// connections both come here.
    #[cfg(any(feature = "sockets", feature = "server"))]
    pub(crate) fn from_engine(
        session: wasm_websocket_engine::session::Session,
        url: String,
        protocol: Option<String>,
        headers: Vec<(String, String)>,
        close_timeout: Duration,
    ) -> WebSocket {
        let conn = host::engine::EngineConnection::new(session);
        WebSocket::new(Box::new(conn), url, protocol, Some(headers), close_timeout)
    }

    fn new(
        conn: AnyConnection,
        url: String,
        protocol: Option<String>,
        handshake_headers: Option<Vec<(String, String)>>,
        close_timeout: Duration,
    ) -> WebSocket {
        let shared = Rc::new(Shared {
            core: RefCell::new(Core::new(conn, close_timeout)),
            url,
            protocol,
            handshake_headers,
        });
        WebSocket {
            sender: WebSocketSender {
                shared: shared.clone(),
            },
            receiver: WebSocketReceiver {
                shared,
                terminated: false,
            },
        }
    }

    /// Sends a message. See [`WebSocketSender::send`].
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.sender.send(message).await
    }

    /// Waits until every message sent so far is handed to the host. See
    /// [`WebSocketSender::flush`].
    pub async fn flush(&mut self) -> Result<()> {
        self.sender.flush().await
    }

    /// Receives the next message. See [`WebSocketReceiver::recv`].
    pub async fn recv(&mut self) -> Result<Message> {
        self.receiver.recv().await
    }

    /// Receives the next message, waiting at most `timeout`. See
    /// [`WebSocketReceiver::recv_timeout`].
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Message> {
        self.receiver.recv_timeout(timeout).await
    }

    /// Sends a message if the connection takes it now, without waiting. See
    /// [`WebSocketSender::try_send`].
    pub fn try_send(&mut self, message: Message) -> Result<()> {
        self.sender.try_send(message)
    }

    /// Sends a ping. See [`WebSocketSender::ping`].
    pub async fn ping(&mut self, payload: impl Into<Vec<u8>>) -> Result<()> {
        self.sender.ping(payload).await
    }

    /// Closes the connection. See [`WebSocketSender::close`].
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.sender.close(frame).await
    }

    /// Splits the WebSocket into a sender and a receiver that two tasks of
    /// the same component can use at once; [`WebSocketSender::reunite`]
    /// puts them back together.
    ///
    /// Both halves have the getters ([`state`](WebSocket::state),
    /// [`url`](WebSocket::url), [`protocol`](WebSocket::protocol),
    /// [`handshake_headers`](WebSocket::handshake_headers)); what sends
    /// (`send`, `try_send`, `ping`, `close`, the `Sink`) is on the sender,
    /// what receives (`recv`, `recv_timeout`, the `Stream`) on the receiver.
    ///
    /// ```no_run
    /// use wasm_websocket::{Message, WebSocket};
    ///
    /// # #[cfg(feature = "p2")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let ws = WebSocket::connect("ws://127.0.0.1:9001/").await?;
    /// let (mut sender, mut receiver) = ws.split();
    /// let reader = wstd::runtime::spawn(async move {
    ///     while let Ok(message) = receiver.recv().await {
    ///         println!("{message:?}");
    ///     }
    /// });
    /// sender.send(Message::text("hello")).await?;
    /// sender.close(None).await?;
    /// reader.await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(self) -> (WebSocketSender, WebSocketReceiver) {
        (self.sender, self.receiver)
    }
}

impl WebSocketSender {
    /// Sends a message.
    ///
    /// Sending `Message::Close(frame)` starts the close handshake like
    /// [`close`](Self::close) but does not wait for the peer's answer; the
    /// receiver still sees it. After a close, sending is
    /// [`Error::AlreadyClosed`].
    ///
    /// - On a `golem:websocket` connection (the default build) the host
    ///   writes the whole frame before this returns.
    /// - On a direct connection (`WebSocket::connect_direct`) or one a
    ///   `server::Listener` accepted, the frame is queued and this returns
    ///   while the connection's send queue holds less than 256 KiB; the
    ///   connection hands the queue to the socket by itself, in order, so
    ///   messages sent one after another leave in one write. A send waits on
    ///   the reactor while the queue is full: a peer that stops reading holds
    ///   it as long (bound it with a timeout if that matters). A write that
    ///   fails after `send` returned is reported by the next send,
    ///   [`flush`](Self::flush) or close. [`flush`](Self::flush) waits until
    ///   everything sent is handed over; [`close`](Self::close) and dropping
    ///   the connection send what is queued before the close frame (a drop
    ///   for at most 5 s and 256 KiB, and not once the peer ended the
    ///   connection).
    pub async fn send(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.shared.with(|core, _| core.poll_ready(cx))).await?;
        self.send_now(message)?;
        poll_fn(|cx| self.shared.with(|core, _| core.poll_ready(cx))).await
    }

    /// Waits until every message sent so far is handed to the host (the
    /// `Sink`'s `poll_flush`): at once on a `golem:websocket` connection,
    /// whose `send` returns only then; on a direct or accepted connection
    /// that is open, once its send queue is empty (once a close was sent,
    /// `flush` returns at once: the queue goes out ahead of the close frame).
    /// Like `send`, it waits as long as a peer that stops reading.
    ///
    /// ```no_run
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// use wasm_websocket::{Message, WebSocket};
    ///
    /// let mut ws = WebSocket::connect_direct("ws://127.0.0.1:9001/log").await?;
    /// for line in ["one", "two", "three"] {
    ///     ws.send(Message::text(line)).await?; // queued
    /// }
    /// ws.flush().await?; // all three handed to the socket
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.shared.with(|core, _| core.poll_flush(cx))).await
    }

    /// Sends a ping with `payload` (at most 125 bytes): the same as
    /// `send(Message::Ping(payload))` ([`Message::Ping`]). The peer's pong
    /// is received as [`Message::Pong`] where the app asked for pongs
    /// ([`ClientRequest::pongs`](crate::ClientRequest::pongs),
    /// `ServerConfig::pongs`), and dropped otherwise. Pings the peer sends are
    /// answered with pongs by the connection itself, always.
    ///
    /// Only a direct connection ([`WebSocket::connect_direct`], feature
    /// `sockets`) and one a `server::Listener` accepted send pings: on a
    /// `golem:websocket` connection this is [`Error::Unsupported`] (the host
    /// answers the peer's pings itself, and sends none).
    ///
    /// ```no_run
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let mut ws = wasm_websocket::WebSocket::connect_direct("ws://127.0.0.1:9001/").await?;
    /// ws.ping(*b"are you there").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(
        not(feature = "sockets"),
        doc = "\n[`WebSocket::connect_direct`]: crate#features"
    )]
    pub async fn ping(&mut self, payload: impl Into<Vec<u8>>) -> Result<()> {
        self.send(Message::Ping(payload.into())).await
    }

    /// Sends a message if the connection takes it now, never waiting: the
    /// frame is queued whole, or refused whole with
    /// [`Error::WriteBufferFull`] (which gives the message back), never sent in
    /// part. For an app that must not wait on a slow peer: it keeps the
    /// message and tries again on a later turn (or waits for room with
    /// [`send`](Self::send), or the `Sink`'s `poll_ready`).
    ///
    /// - On a direct connection (`WebSocket::connect_direct`) or one a
    ///   `server::Listener` accepted, the frame is taken while the
    ///   connection's send queue holds less than 256 KiB (as
    ///   [`send`](Self::send) would take it without waiting): it is queued
    ///   whole and goes out with the queue. While the queue is full, the
    ///   next `try_send` is `WriteBufferFull`: at most 256 KiB and one frame
    ///   wait (under `wss://`, plus rustls' 64 KiB of records), so memory
    ///   stays bounded.
    /// - On a `golem:websocket` connection (the default build) the host's
    ///   `send` is one blocking call that returns once the frame is handed
    ///   over, and the interface has no way to refuse a frame without
    ///   waiting. So `try_send` makes that call: it never returns
    ///   `WriteBufferFull`, and it blocks the component as long as
    ///   [`send`](Self::send) would.
    ///
    /// Other errors are those of `send`; `Message::Close` starts the close
    /// handshake (a close frame is always taken).
    ///
    /// ```no_run
    /// # #[cfg(feature = "sockets")]
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// use wasm_websocket::{Error, Message, WebSocket};
    ///
    /// let mut ws = WebSocket::connect_direct("ws://127.0.0.1:9001/feed").await?;
    /// let mut backlog: Option<Message> = None;
    /// let next = backlog.take().unwrap_or_else(|| Message::text("tick"));
    /// match ws.try_send(next) {
    ///     Ok(()) => {}
    ///     // Not sent: keep it for a later turn.
    ///     Err(Error::WriteBufferFull(message)) => backlog = Some(message),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_send(&mut self, message: Message) -> Result<()> {
        self.shared.with(|core, now| core.try_send(message, now))
    }

    /// Closes the connection: sends a close frame (`None` sends one without a
    /// code), then waits for the peer's close frame up to the close timeout
    /// ([`ClientRequest::close_timeout`], 5 s by default).
    ///
    /// Returns `Ok(())` once the peer answered or the connection ended,
    /// [`Error::Timeout`] if the peer did not answer in time, and
    /// [`Error::InvalidCloseFrame`] for a code a client may not send or a reason
    /// over 123 bytes (nothing is sent then). Data messages that arrive while
    /// waiting, and the peer's close, are kept for [`WebSocketReceiver::recv`]
    /// and the stream, up to 8 MiB: past that the close reads no further (the
    /// peer feels TCP backpressure) until the receiver takes some, and ends
    /// at the timeout if nobody does. When the peer does not answer, the
    /// stream ends with `Err(Error::Timeout)`.
    ///
    /// If a close frame was already sent (by `send(Message::Close(..))`, or by
    /// a `close` that was dropped before it finished, which is safe), `close`
    /// sends nothing and waits for the answer again. Closing after the close finished is
    /// [`Error::AlreadyClosed`]; closing after the peer closed first is `Ok(())`.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.shared.with(|core, now| {
            if core.is_closing() {
                Ok(())
            } else {
                core.start_close(frame, now())
            }
        })?;
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    fn send_now(&mut self, message: Message) -> Result<()> {
        self.shared.with(|core, now| core.send(message, now))
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared.with(|core, now| core.poll_closed(now, cx))
    }
}

impl WebSocketReceiver {
    /// Receives the next message.
    ///
    /// Waits on the app's runtime (under `p2` the wstd reactor, under `p3`
    /// wit-bindgen's), so other tasks in the component run meanwhile. A peer's close arrives once as `Message::Close`; after it,
    /// and after any error (an end without a close frame is `Err(Error::ConnectionReset)`), the
    /// connection is over and `recv` returns [`Error::AlreadyClosed`].
    pub async fn recv(&mut self) -> Result<Message> {
        poll_fn(|cx| self.receiver_poll(cx))
            .await
            .unwrap_or(Err(Error::AlreadyClosed))
    }

    /// Receives the next message, waiting at most `timeout`.
    ///
    /// On expiry the result is [`Error::Timeout`] and the connection stays open;
    /// no message is lost. Timeouts beyond a year count as a year.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Message> {
        host::timeout(timeout, self.recv())
            .await
            .unwrap_or(Err(Error::Timeout))
    }

    fn receiver_poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let item = self.shared.with(|core, now| core.poll_recv(now, cx));
        if let Poll::Ready(None) = item {
            self.terminated = true;
        }
        item
    }
}

/// Writes the getters once for [`WebSocket`] and its two halves: each type
/// says where its [`Shared`] is, and gets the same documented methods.
macro_rules! getters {
    ($($ty:ident => |$this:ident| $shared:expr;)*) => {$(
        impl $ty {
            fn shared(&self) -> &Shared {
                let $this = self;
                $shared
            }

            /// The connection's state: [`ConnectionState::Open`] until a
            /// close frame is sent, [`ConnectionState::Closing`] while the
            /// peer's answer is awaited, [`ConnectionState::Closed`] once the
            /// connection is released (the close handshake completed, the
            /// peer closed, the close timed out, or the connection failed).
            /// A connection is never `Connecting`: it exists once the
            /// handshake succeeded.
            ///
            /// [`WebSocket`], [`WebSocketSender`] and [`WebSocketReceiver`]
            /// have the same getters, which read the same connection.
            ///
            /// ```no_run
            /// use wasm_websocket::{ConnectionState, WebSocket};
            ///
            /// # async fn run() -> wasm_websocket::Result<()> {
            /// let mut ws = WebSocket::connect("ws://127.0.0.1:9001/").await?;
            /// assert_eq!(ws.state(), ConnectionState::Open);
            /// ws.close(None).await?;
            /// assert_eq!(ws.state(), ConnectionState::Closed);
            /// # Ok(())
            /// # }
            /// ```
            pub fn state(&self) -> ConnectionState {
                self.shared().state()
            }

            /// The URL the connection was opened with, as given to
            /// [`ClientRequest::new`] (on a connection a `server::Listener`
            /// accepted, `ws://` + the request's `Host` and target).
            pub fn url(&self) -> &str {
                &self.shared().url
            }

            /// The subprotocol the server agreed to, where the crate can
            /// know it.
            ///
            /// On a direct connection (`WebSocket::connect_direct`) or one a
            /// `server::Listener` accepted, the one the handshake agreed. The `golem:websocket` interface
            /// does not report the server's choice, but both of its hosts
            /// (Golem and the polyfill) fail a connect whose response does
            /// not pick one of the offered subprotocols. So:
            /// - one subprotocol offered: `Some` of it, the one the server
            ///   agreed to;
            /// - none offered: `None`, and none was agreed;
            /// - several offered: `None`, although the server agreed to one
            ///   of them ([`ClientRequest::subprotocol`]), because the host
            ///   cannot tell which (offer one to know it).
            pub fn protocol(&self) -> Option<&str> {
                self.shared().protocol.as_deref()
            }

            /// The headers the peer sent in the opening handshake, names in
            /// lower case, in the order received: the server's response on
            /// a direct client connection (`WebSocket::connect_direct`), the client's
            /// request on a connection a `server::Listener` accepted
            /// (feature `server`).
            ///
            /// `None` where the host does not report them: a
            /// `golem:websocket` connection (its interface has no response
            /// headers). An `Option`, like [`protocol`](Self::protocol):
            /// not knowing is no failure.
            ///
            /// ```no_run
            /// # async fn run() -> wasm_websocket::Result<()> {
            /// let ws = wasm_websocket::WebSocket::connect("ws://127.0.0.1:9001/").await?;
            /// if let Some(headers) = ws.handshake_headers() {
            ///     for (name, value) in headers {
            ///         println!("{name}: {value}");
            ///     }
            /// }
            /// # Ok(())
            /// # }
            /// ```
            pub fn handshake_headers(&self) -> Option<&[(String, String)]> {
                self.shared().handshake_headers.as_deref()
            }
        }
    )*};
}

getters! {
    WebSocket => |ws| &ws.sender.shared;
    WebSocketSender => |sender| &sender.shared;
    WebSocketReceiver => |receiver| &receiver.shared;
}

impl WebSocketSender {
    /// Puts the halves of one [`WebSocket::split`] back together, like the
    /// `reunite` of futures' split halves. Halves of two different
    /// WebSockets are given back in a [`ReuniteError`].
    ///
    /// ```no_run
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let ws = wasm_websocket::WebSocket::connect("ws://127.0.0.1:9001/").await?;
    /// let (sender, receiver) = ws.split();
    /// let ws = sender.reunite(receiver).expect("halves of one WebSocket");
    /// # Ok(())
    /// # }
    /// ```
    pub fn reunite(self, receiver: WebSocketReceiver) -> Result<WebSocket, ReuniteError> {
        if Rc::ptr_eq(&self.shared, &receiver.shared) {
            Ok(WebSocket {
                sender: self,
                receiver,
            })
        } else {
            Err(ReuniteError(self, receiver))
        }
    }
}

impl WebSocketReceiver {
    /// Puts the halves of one [`WebSocket::split`] back together; see
    /// [`WebSocketSender::reunite`].
    ///
    /// ```no_run
    /// use wasm_websocket::{Message, WebSocket};
    ///
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let ws = WebSocket::connect("ws://127.0.0.1:9001/").await?;
    /// let (sender, mut receiver) = ws.split();
    /// let first = receiver.recv().await?;
    /// // One value again, e.g. to store it or close it whole.
    /// let mut ws = receiver.reunite(sender).expect("halves of one WebSocket");
    /// ws.send(Message::text("got the first message")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reunite(self, sender: WebSocketSender) -> Result<WebSocket, ReuniteError> {
        sender.reunite(self)
    }
}

/// The halves given to `reunite` came from two different WebSockets: here
/// they are back, unchanged.
///
/// ```no_run
/// use wasm_websocket::{ReuniteError, WebSocket};
///
/// # async fn run() -> wasm_websocket::Result<()> {
/// let (a_sender, a_receiver) = WebSocket::connect("ws://127.0.0.1:9001/a").await?.split();
/// let (b_sender, b_receiver) = WebSocket::connect("ws://127.0.0.1:9001/b").await?.split();
/// // Mixed up: both halves come back, and each still works.
/// let ReuniteError(a_sender, b_receiver) = a_sender.reunite(b_receiver).unwrap_err();
/// let a = a_sender.reunite(a_receiver).expect("both halves of a");
/// let b = b_sender.reunite(b_receiver).expect("both halves of b");
/// # Ok(())
/// # }
/// ```
pub struct ReuniteError(pub WebSocketSender, pub WebSocketReceiver);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite the halves of two different WebSockets")
    }
}

impl std::error::Error for ReuniteError {}

/// Messages as they arrive; after the peer's close or an error, the stream ends.
impl Stream for WebSocketReceiver {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.terminated {
            return Poll::Ready(None);
        }
        this.receiver_poll(cx)
    }
}

impl FusedStream for WebSocketReceiver {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

/// The receiving half's stream; see [`WebSocketReceiver`]'s `Stream` impl.
impl Stream for WebSocket {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().receiver).poll_next(cx)
    }
}

impl FusedStream for WebSocket {
    fn is_terminated(&self) -> bool {
        self.receiver.is_terminated()
    }
}

/// On a `golem:websocket` connection sending is synchronous on the host, so
/// the sink is always ready and flushed. On a direct or accepted connection
/// it is ready while the send queue has room (as [`WebSocketSender::send`])
/// and flushed once the queue is handed to the socket
/// ([`WebSocketSender::flush`]). `poll_close` sends a normal close (unless a
/// close was already sent) and waits for the peer's, like
/// [`WebSocketSender::close`].
impl Sink<Message> for WebSocketSender {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared.with(|core, _| core.poll_ready(cx))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.get_mut().send_now(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared.with(|core, _| core.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.state() == ConnectionState::Open {
            this.shared.with(|core, now| {
                core.start_close(Some(CloseFrame::new(CloseCode::Normal, "")), now())
            })?;
        }
        this.poll_closed(cx)
    }
}

impl Sink<Message> for WebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().sender).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        Pin::new(&mut self.get_mut().sender).start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().sender).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().sender).poll_close(cx)
    }
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.sender.state())
            .field("url", &self.sender.shared.url)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebSocketSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketSender")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebSocketReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketReceiver")
            .field("state", &self.state())
            .field("terminated", &self.terminated)
            .finish_non_exhaustive()
    }
}
