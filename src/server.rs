//! The server side (feature `server`): a [`Listener`] on a `wasi:sockets`
//! TCP address hands out [`Incoming`] handshake requests; the app looks at
//! their path, headers and offered subprotocols, and accepts one (a
//! [`WebSocket`], the same type a client has) or refuses it with an HTTP
//! status.
//!
//! Every wait is on the wstd reactor: the handshakes run in tasks of their
//! own, so a client that is slow to send its request holds up nobody, and one
//! component serves many connections at once (spawn a task per connection).
//!
//! ```no_run
//! use futures_lite::StreamExt;
//! use wasm_websocket::server::Listener;
//! use wasm_websocket::Message;
//!
//! #[wstd::main]
//! async fn main() -> wasm_websocket::Result<()> {
//!     let listener = Listener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let incoming = listener.accept().await?;
//!         if incoming.path() != "/echo" {
//!             incoming.refuse(404, "no such endpoint").await?;
//!             continue;
//!         }
//!         let mut ws = incoming.accept().await?;
//!         wstd::runtime::spawn(async move {
//!             while let Some(Ok(message)) = ws.next().await {
//!                 if let Message::Text(_) | Message::Binary(_) = message {
//!                     if ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             }
//!         })
//!         .detach();
//!     }
//! }
//! ```
//!
//! Run such a component with `wasmtime run -Sinherit-network app.wasm`
//! (`-Sinherit-network` lets it listen).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::host::{Ready, yield_to_host};
use wasm_websocket_engine::accept::{self, HeadError, HeadReader, Request};
use wasm_websocket_engine::io::TcpIo;
use wasm_websocket_engine::keepalive::Keepalive;
use wasm_websocket_engine::listen::TcpListener;
use wasm_websocket_engine::session::{Session, ws_config};
use wasm_websocket_engine::transport::Transport;
use wasm_websocket_protocol::limits;

use crate::{DEFAULT_CLOSE_TIMEOUT, Error, Result, WebSocket};

mod wait;

use wait::Deadlines;

/// How a [`Listener`] takes connections, with safe defaults.
///
/// Built like every configuration of the crate (see
/// [Configuration style](crate::ClientRequest#configuration-style)): a
/// builder method named after each setting, and a getter `get_` + its name.
///
/// ```
/// use std::time::Duration;
/// use wasm_websocket::server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .max_message_size(1 << 20)
///     .handshake_timeout(Duration::from_secs(5))
///     .max_connections(100);
/// assert_eq!(config.get_max_message_size(), 1 << 20);
/// assert_eq!(config.get_max_frame_size(), 16 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    max_message_size: usize,
    max_frame_size: usize,
    handshake_timeout: Duration,
    max_connections: usize,
    backlog: u32,
    close_timeout: Duration,
    pongs: bool,
    keepalive: Option<(Duration, Duration)>,
}

impl Default for ServerConfig {
    /// 64 MiB messages, 16 MiB frames (tungstenite's defaults, as the
    /// client's), 10 s for a handshake, 1024 connections, a backlog of 128,
    /// [`DEFAULT_CLOSE_TIMEOUT`] for a close, pongs dropped, and no
    /// keepalive.
    fn default() -> Self {
        ServerConfig {
            max_message_size: limits::DEFAULT_MAX_MESSAGE_SIZE,
            max_frame_size: limits::DEFAULT_MAX_FRAME_SIZE,
            handshake_timeout: limits::DEFAULT_HANDSHAKE_TIMEOUT,
            max_connections: 1024,
            backlog: 128,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            pongs: false,
            keepalive: None,
        }
    }
}

impl ServerConfig {
    /// The largest message a client may send, in bytes (default 64 MiB). A
    /// larger one fails the connection with close code 1009.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The largest frame a client may send, in bytes (default 16 MiB).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// How long a client has from its TCP connect to the end of the opening
    /// handshake (default 10 s); a client slower than that is disconnected.
    /// Timeouts beyond a year count as a year.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = limits::clamp_timeout(timeout);
        self
    }

    /// How many connections (in their handshake or open) the listener keeps
    /// at once (default 1024). A connection past it is answered with HTTP 503
    /// once its request arrived (within a second) and closed, not queued.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// How many connections the system queues before the app takes them
    /// (default 128; the host may cap it).
    pub fn backlog(mut self, connections: u32) -> Self {
        self.backlog = connections;
        self
    }

    /// How long a close waits for the client's answer (default
    /// [`DEFAULT_CLOSE_TIMEOUT`]). Timeouts beyond a year count as a year.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = limits::clamp_timeout(timeout);
        self
    }

    /// Receive the clients' pongs (answers to
    /// [`WebSocket::ping`](crate::WebSocket::ping)) as
    /// [`Message::Pong`](crate::Message::Pong) on accepted connections
    /// (default: no, they are read and dropped).
    pub fn pongs(mut self, receive: bool) -> Self {
        self.pongs = receive;
        self
    }

    /// Keeps accepted connections alive and notices dead clients (default:
    /// off): after `interval` in which nothing arrived from a client a ping
    /// goes out, and when nothing arrives within `timeout` of that ping the
    /// connection is closed (close code 1011) and its receive fails with
    /// [`Error::KeepaliveTimeout`]. As
    /// [`ClientRequest::keepalive`](crate::ClientRequest::keepalive): the
    /// clock is looked at while a receive waits, the answers are not handed
    /// up, and durations count as at least 1 ms and at most a year.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keepalive = Some((
            crate::request::clamp_keepalive(interval),
            crate::request::clamp_keepalive(timeout),
        ));
        self
    }

    /// The largest message a client may send, in bytes.
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The largest frame a client may send, in bytes.
    pub fn get_max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// The handshake timeout.
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// How many connections the listener keeps at once.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }

    /// How many connections the system queues before the app takes them.
    pub fn get_backlog(&self) -> u32 {
        self.backlog
    }

    /// How long a close waits for the client's answer.
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Whether the clients' pongs are received.
    pub fn get_pongs(&self) -> bool {
        self.pongs
    }

    /// The keepalive `(interval, timeout)`, if set.
    pub fn get_keepalive(&self) -> Option<(Duration, Duration)> {
        self.keepalive
    }
}

/// A TCP listener that takes WebSocket handshakes.
///
/// Made by [`Listener::bind`]; [`accept`](Listener::accept) gives the next
/// client whose handshake request arrived. Use and drop it inside the wstd
/// runtime it was made in. Dropping it stops listening; connections already
/// handed out live on.
pub struct Listener {
    shared: Rc<Shared>,
}

/// What the listener and its handshake tasks share.
struct Shared {
    config: ServerConfig,
    /// Handshake requests read, waiting for `accept`.
    ready: RefCell<VecDeque<Incoming>>,
    /// The task waiting in `accept`.
    waiter: RefCell<Option<Waker>>,
    /// Every connection taken, while it lives (its handshake, or its
    /// WebSocket): the count of [`ServerConfig::max_connections`].
    live: RefCell<Vec<Weak<TcpIo>>>,
    /// The deadlines of the handshake requests being read.
    deadlines: Deadlines,
    // Last: the pollables of `accept` are its children.
    listener: TcpListener,
}

impl Listener {
    /// Listens on `address`, an IP address and port (`"127.0.0.1:9001"`,
    /// `"[::1]:0"`; port 0 picks a free one, see
    /// [`local_addr`](Listener::local_addr)), with the default
    /// [`ServerConfig`].
    pub async fn bind(address: &str) -> Result<Listener> {
        Listener::bind_with(address, ServerConfig::default()).await
    }

    /// Listens on `address` with `config`.
    pub async fn bind_with(address: &str, config: ServerConfig) -> Result<Listener> {
        let address: SocketAddr = address.parse().map_err(|_| {
            Error::Connect(format!(
                "cannot listen on {address:?}: not an IP address and port (e.g. 127.0.0.1:9001)"
            ))
        })?;
        let listener = TcpListener::bind(address, config.backlog).map_err(Error::Connect)?;
        Ok(Listener {
            shared: Rc::new(Shared {
                config,
                ready: RefCell::default(),
                waiter: RefCell::default(),
                live: RefCell::default(),
                deadlines: Deadlines::default(),
                listener,
            }),
        })
    }

    /// The address listened on (with the port the system picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.listener.local_addr()
    }

    /// The next client whose handshake request arrived and is a WebSocket
    /// handshake.
    ///
    /// Clients are read in tasks of their own, within the handshake
    /// timeout; one that is not a WebSocket handshake is answered with an
    /// HTTP error (400, 405, 426 or 431) and closed, one that is too slow
    /// is closed, and neither is seen here. An error is the listener's own
    /// (the socket failed).
    pub async fn accept(&self) -> Result<Incoming> {
        let shared = &self.shared;
        let mut wait: Option<Ready> = None;
        poll_fn(|cx| {
            loop {
                if let Some(incoming) = shared.ready.borrow_mut().pop_front() {
                    return Poll::Ready(Ok(incoming));
                }
                match shared.listener.try_accept() {
                    Err(e) => return Poll::Ready(Err(Error::Connect(e))),
                    Ok(Some((tcp, peer))) => {
                        self.take(TcpIo::new(tcp), peer);
                        continue;
                    }
                    Ok(None) => {}
                }
                *shared.waiter.borrow_mut() = Some(cx.waker().clone());
                let pending =
                    wait.get_or_insert_with(|| Ready::new(vec![shared.listener.subscribe()], None));
                match Pin::new(pending).poll(cx) {
                    Poll::Ready(()) => wait = None,
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }

    /// Starts the handshake of a new connection in a task, or turns it
    /// away when the listener is full.
    fn take(&self, io: TcpIo, peer: SocketAddr) {
        let io = Rc::new(io);
        let shared = &self.shared;
        let full = {
            let mut live = shared.live.borrow_mut();
            live.retain(|conn| conn.strong_count() > 0);
            let full = live.len() >= shared.config.max_connections;
            if !full {
                live.push(Rc::downgrade(&io));
            }
            full
        };
        if full {
            // Its request is read first (briefly), so that closing the
            // socket does not reset it before the client reads the 503.
            let config = shared
                .config
                .clone()
                .handshake_timeout(TURN_AWAY_WAIT.min(shared.config.handshake_timeout));
            let deadlines = shared.deadlines.clone();
            wstd::runtime::spawn(async move {
                if let Some(incoming) = read_request(io, peer, config, &deadlines).await {
                    let _ = incoming.refuse(503, "too many connections").await;
                }
            })
            .detach();
            return;
        }
        let config = shared.config.clone();
        let deadlines = shared.deadlines.clone();
        let shared = Rc::downgrade(shared);
        wstd::runtime::spawn(async move {
            let Some(incoming) = read_request(io, peer, config, &deadlines).await else {
                return;
            };
            let Some(shared) = shared.upgrade() else {
                return;
            };
            shared.ready.borrow_mut().push_back(incoming);
            if let Some(waker) = shared.waiter.borrow_mut().take() {
                waker.wake();
            }
        })
        .detach();
    }
}

/// How long a client past [`ServerConfig::max_connections`] may take to send
/// its request before it is answered 503 (or closed).
const TURN_AWAY_WAIT: Duration = Duration::from_secs(1);

/// Reads a client's handshake request within `config`'s handshake timeout
/// (kept by `deadlines`, which shut the socket down at the deadline);
/// answers one that is not a WebSocket handshake. `None` when the client is
/// gone, too slow, or answered so.
async fn read_request(
    io: Rc<TcpIo>,
    peer: SocketAddr,
    config: ServerConfig,
    deadlines: &Deadlines,
) -> Option<Incoming> {
    let deadline = Instant::now() + config.handshake_timeout;
    let watched = deadlines.watch(&io, deadline);
    let mut transport = Transport::plain(io.clone());
    let mut reader = HeadReader::default();
    loop {
        match reader.read_from(&mut transport) {
            Ok(Some((request, tail))) => {
                return Some(Incoming::new(
                    io, transport, request, tail, peer, deadline, config,
                ));
            }
            Ok(None) => {
                if Instant::now() >= deadline {
                    return None;
                }
                Ready::new(vec![io.subscribe_input()], None).await;
            }
            Err(HeadError::Refused(refusal)) => {
                drop(watched);
                if let Ok(answer) = accept::refusal_response(refusal.status, &refusal.text) {
                    let _ = answer_within(&io, &mut transport, &answer, deadline).await;
                }
                io.discard_arrived(accept::MAX_HEAD_SIZE);
                return None;
            }
            Err(HeadError::Io(_)) => return None,
        }
    }
}

/// Writes `answer` and waits until the socket took it, before `deadline`.
async fn answer_within(
    io: &TcpIo,
    transport: &mut Transport,
    answer: &[u8],
    deadline: Instant,
) -> Result<()> {
    let failed = |e: std::io::Error| Error::Connect(format!("cannot answer: {e}"));
    transport.write_all(answer).map_err(failed)?;
    let mut turned = false;
    loop {
        match transport.flush() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(Error::Timeout);
                }
                if turned {
                    Ready::new(vec![io.subscribe_output()], Some(deadline)).await;
                } else {
                    // A stream without room for a short answer is, under
                    // wasmtime 48, mostly a spent budget (see `Ready`): one
                    // host turn, then look again, before waiting on a
                    // pollable that a busy `poll` may not look at for long.
                    yield_to_host();
                    turned = true;
                }
            }
            Err(e) => return Err(failed(e)),
        }
    }
}

/// A client's WebSocket handshake request, waiting for the app's answer:
/// [`accept`](Incoming::accept), [`accept_with`](Incoming::accept_with) a
/// subprotocol, or [`refuse`](Incoming::refuse). Dropping it closes the
/// connection without an answer.
///
/// ```no_run
/// # async fn run(listener: wasm_websocket::server::Listener) -> wasm_websocket::Result<()> {
/// let incoming = listener.accept().await?;
/// if incoming.header("authorization") != Some("Bearer 3f9a") {
///     return incoming.refuse(401, "who are you?").await;
/// }
/// let ws = if incoming.protocols().iter().any(|p| p == "chat.v2") {
///     incoming.accept_with("chat.v2").await?
/// } else {
///     incoming.accept().await?
/// };
/// # Ok(())
/// # }
/// ```
pub struct Incoming {
    request: Request,
    headers: Vec<(String, String)>,
    protocols: Vec<String>,
    peer: SocketAddr,
    tail: Vec<u8>,
    deadline: Instant,
    config: ServerConfig,
    // Before `io`, which it shares.
    transport: Transport,
    io: Rc<TcpIo>,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("peer", &self.peer)
            .field("uri", self.request.uri())
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Incoming {
    fn new(
        io: Rc<TcpIo>,
        transport: Transport,
        request: Request,
        tail: Vec<u8>,
        peer: SocketAddr,
        deadline: Instant,
        config: ServerConfig,
    ) -> Incoming {
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let protocols = accept::offered_protocols(&request);
        Incoming {
            request,
            headers,
            protocols,
            peer,
            tail,
            deadline,
            config,
            transport,
            io,
        }
    }

    /// The request's path (`/chat` of `GET /chat?room=1`).
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// The request's query, without the `?` (`room=1`).
    pub fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    /// The request's headers, names in lower case, in the order sent (a
    /// value that is not UTF-8 is read lossily).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The subprotocols the client offers (`Sec-WebSocket-Protocol`), in its
    /// order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Accepts the WebSocket without a subprotocol.
    pub async fn accept(self) -> Result<WebSocket> {
        self.answer(None).await
    }

    /// Accepts the WebSocket speaking `protocol`, one of
    /// [`protocols`](Incoming::protocols) (else [`Error::InvalidHeader`],
    /// and the client is answered 400).
    pub async fn accept_with(self, protocol: &str) -> Result<WebSocket> {
        self.answer(Some(protocol)).await
    }

    async fn answer(mut self, protocol: Option<&str>) -> Result<WebSocket> {
        let answer = match accept::accept_response(&self.request, protocol) {
            Ok(answer) => answer,
            Err(text) => {
                let refused = self.refuse(400, &text).await;
                return Err(refused.err().unwrap_or(Error::InvalidHeader(text)));
            }
        };
        answer_within(&self.io, &mut self.transport, &answer, self.deadline).await?;
        self.io.take_wants();
        let config = ws_config(self.config.max_message_size, self.config.max_frame_size);
        let ws = accept::server_socket(self.transport, self.tail, config);
        let host = self
            .headers
            .iter()
            .find(|(n, _)| n == "host")
            .map_or_else(|| self.peer.to_string(), |(_, v)| v.clone());
        let url = format!("ws://{host}{}", self.request.uri());
        let mut session =
            Session::new(ws, self.io, self.config.pongs).limits_set_by(accept::SIZE_SETTINGS);
        session.keepalive(
            self.config
                .keepalive
                .map(|(interval, timeout)| Keepalive { interval, timeout }),
        );
        Ok(WebSocket::from_engine(
            session,
            url,
            protocol.map(str::to_owned),
            // The peer's side of the handshake: its request headers.
            self.headers,
            self.config.close_timeout,
        ))
    }

    /// Refuses the WebSocket with HTTP `status` (400-599) and `body` (plain
    /// text), then closes the connection.
    pub async fn refuse(mut self, status: u16, body: &str) -> Result<()> {
        let answer = accept::refusal_response(status, body).map_err(Error::Other)?;
        let sent = answer_within(&self.io, &mut self.transport, &answer, self.deadline).await;
        self.io.discard_arrived(accept::MAX_HEAD_SIZE);
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let config = ServerConfig::default();
        assert_eq!(config.get_max_message_size(), 64 << 20);
        assert_eq!(config.get_max_frame_size(), 16 << 20);
        assert_eq!(config.get_handshake_timeout(), Duration::from_secs(10));
        assert_eq!(config.get_max_connections(), 1024);
        assert_eq!(config.get_backlog(), 128);
        assert_eq!(config.get_close_timeout(), DEFAULT_CLOSE_TIMEOUT);
        assert!(!config.get_pongs());
        assert_eq!(config.get_keepalive(), None);
    }

    #[test]
    fn keepalive_is_set_and_clamped() {
        let config = ServerConfig::default().keepalive(Duration::from_secs(30), Duration::ZERO);
        assert_eq!(
            config.get_keepalive(),
            Some((Duration::from_secs(30), Duration::from_millis(1)))
        );
    }

    #[test]
    fn the_builder_sets_each_limit() {
        let config = ServerConfig::default()
            .max_message_size(10)
            .max_frame_size(5)
            .handshake_timeout(Duration::from_millis(250))
            .max_connections(3)
            .backlog(7)
            .close_timeout(Duration::from_secs(1))
            .pongs(true);
        assert!(config.get_pongs());
        assert_eq!(
            (
                config.get_max_message_size(),
                config.get_max_frame_size(),
                config.get_handshake_timeout(),
                config.get_max_connections(),
                config.get_backlog(),
                config.get_close_timeout()
            ),
            (
                10,
                5,
                Duration::from_millis(250),
                3,
                7,
                Duration::from_secs(1)
            )
        );
    }

    #[test]
    fn timeouts_at_duration_max_count_as_a_year_and_do_not_overflow() {
        let config = ServerConfig::default()
            .handshake_timeout(Duration::MAX)
            .close_timeout(Duration::MAX);
        assert_eq!(config.get_handshake_timeout(), limits::MAX_TIMEOUT);
        assert_eq!(config.get_close_timeout(), limits::MAX_TIMEOUT);
        // What the listener and a closing connection compute from them.
        let now = Instant::now();
        let _handshake_deadline = now + config.get_handshake_timeout();
        let _close_deadline = now + config.get_close_timeout();
    }
}
