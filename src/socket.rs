//! The WebSocket itself, its two halves, and their `Stream`/`Sink` impls.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use wstd::future::FutureExt as _;
use wstd::time::Instant;

use crate::bindings::golem::websocket::client::{self as host, WebsocketConnection};
use crate::poll::Watch;
use crate::request::MAX_TIMEOUT;
use crate::{ClientRequest, CloseCode, CloseFrame, Error, Message, Result};

/// A WebSocket client connection.
///
/// Made by [`WebSocket::connect`] or [`WebSocket::connect_with`]. Send with
/// [`send`](WebSocket::send) or as a [`Sink`], receive with
/// [`recv`](WebSocket::recv) or as a [`Stream`], end it with
/// [`close`](WebSocket::close), or [`split`](WebSocket::split) it to send and
/// receive from two tasks.
///
/// All async methods run on the wstd reactor: inside `#[wstd::main]`,
/// `#[wstd::http_server]` or `wstd::runtime::block_on`. A `WebSocket` belongs to
/// the runtime it was made in; use and drop it there.
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
pub struct WebSocket {
    sender: WebSocketSender,
    receiver: WebSocketReceiver,
}

/// The sending half of a [`WebSocket`], from [`WebSocket::split`].
pub struct WebSocketSender {
    shared: Rc<RefCell<Shared>>,
}

/// The receiving half of a [`WebSocket`], from [`WebSocket::split`].
pub struct WebSocketReceiver {
    shared: Rc<RefCell<Shared>>,
    terminated: bool,
}

/// What both halves share: the host connection and the state of the close.
struct Shared {
    // The watch holds a pollable that is a child of `conn`; as a field it is
    // declared first so that it is dropped before it.
    /// What the watcher task waits for, while a half waits for the connection.
    watch: Option<Watch>,
    conn: Option<WebsocketConnection>,
    state: State,
    /// Messages and the final error taken off the connection by a close but not
    /// yet read by the receiver.
    pending: VecDeque<Result<Message>>,
    /// The receiver's task, woken when a close fills `pending`, starts or ends.
    reader: Option<Waker>,
    /// The task waiting in a close, woken when the receiver ends the connection.
    closer: Option<Waker>,
    /// The watcher task, if one runs, and its waker while it waits.
    watcher_running: bool,
    watcher: Option<Waker>,
    close_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Our close frame is sent; the peer's is awaited until `deadline`.
    Closing {
        deadline: Instant,
    },
    /// The connection is released.
    Ended(Ending),
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The peer began the close handshake, and it completed.
    PeerClosed,
    /// Our close was answered, or the connection failed.
    Done,
    /// The peer did not answer our close within the close timeout.
    TimedOut,
}

impl WebSocket {
    /// Connects to a `ws://` or `wss://` URL.
    ///
    /// The URL is checked first (see [`ClientRequest`]); then the host opens the
    /// connection. The host's connect call blocks the whole component until
    /// the handshake ends or fails (the polyfill bounds it at 30 s by default).
    ///
    /// ```no_run
    /// # async fn run() -> wasm_websocket::Result<()> {
    /// let ws = wasm_websocket::WebSocket::connect("wss://127.0.0.1:9443/").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<WebSocket> {
        WebSocket::connect_with(ClientRequest::new(url)).await
    }

    /// Connects with a [`ClientRequest`]: extra headers, subprotocols, and the
    /// close timeout.
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
    pub async fn connect_with(request: ClientRequest) -> Result<WebSocket> {
        let (url, headers) = request.validate()?;
        let headers = (!headers.is_empty()).then_some(headers);
        let conn = WebsocketConnection::connect(&url, headers.as_deref())?;
        let shared = Rc::new(RefCell::new(Shared {
            watch: None,
            conn: Some(conn),
            state: State::Open,
            pending: VecDeque::new(),
            reader: None,
            closer: None,
            watcher_running: false,
            watcher: None,
            close_timeout: request.close_timeout_value(),
        }));
        Ok(WebSocket {
            sender: WebSocketSender {
                shared: shared.clone(),
            },
            receiver: WebSocketReceiver {
                shared,
                terminated: false,
            },
        })
    }

    /// Sends a message. See [`WebSocketSender::send`].
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.sender.send(message).await
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

    /// Closes the connection. See [`WebSocketSender::close`].
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.sender.close(frame).await
    }

    /// Splits the WebSocket into a sender and a receiver that two tasks of
    /// the same component can use at once.
    ///
    /// ```no_run
    /// use wasm_websocket::{Message, WebSocket};
    ///
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
    /// The host writes the whole frame before this returns. Sending
    /// `Message::Close(frame)` starts the close handshake like
    /// [`close`](Self::close) but does not wait for the peer's answer; the
    /// receiver still sees it. After a close, sending is
    /// [`Error::AlreadyClosed`].
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.send_now(message)
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
    /// and the stream; when the peer does not answer, the stream ends with
    /// `Err(Error::Timeout)`.
    ///
    /// If a close frame was already sent (by `send(Message::Close(..))`, or by
    /// a `close` that was dropped before it finished, which is safe), `close`
    /// sends nothing and waits for the answer again. Closing after the close finished is
    /// [`Error::AlreadyClosed`]; closing after the peer closed first is `Ok(())`.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if !matches!(self.shared.borrow().state, State::Closing { .. }) {
            self.start_close(frame)?;
        }
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    fn send_now(&mut self, message: Message) -> Result<()> {
        let message = match message {
            Message::Text(text) => host::Message::Text(text),
            Message::Binary(data) => host::Message::Binary(data),
            Message::Close(frame) => return self.start_close(frame),
        };
        let shared = self.shared.borrow();
        shared.open_connection()?.send(&message)?;
        Ok(())
    }

    fn start_close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if let Some(frame) = &frame {
            frame.check_sendable()?;
        }
        let mut shared = self.shared.borrow_mut();
        if shared.state == State::Ended(Ending::PeerClosed) {
            return Ok(());
        }
        let conn = shared.open_connection()?;
        let (code, reason) = match frame {
            Some(frame) => (Some(u16::from(frame.code)), Some(frame.reason)),
            None => (None, None),
        };
        match conn.close(code, reason.as_deref()) {
            Ok(()) => {
                let deadline = Instant::now() + shared.close_timeout.into();
                shared.state = State::Closing { deadline };
                // Waits under way must now also watch the deadline.
                shared.watch = None;
                shared.wake_watcher();
                shared.wake_reader();
                Ok(())
            }
            // The connection was over already: the close is done.
            Err(err @ host::Error::Closed(_)) => {
                let item = shared.end(err);
                shared.deliver(item);
                Ok(())
            }
            // The frame was not sent; the connection stays as it was.
            Err(err) => Err(err.into()),
        }
    }

    /// Takes messages off the connection until the peer's close arrives, the
    /// connection ends or the close deadline passes.
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut shared = self.shared.borrow_mut();
        loop {
            match shared.state {
                State::Closing { .. } => {}
                State::Ended(Ending::TimedOut) => return Poll::Ready(Err(Error::Timeout)),
                State::Open | State::Ended(_) => return Poll::Ready(Ok(())),
            }
            if shared.check_deadline() {
                continue;
            }
            let Some(item) = shared.take() else {
                shared.closer = Some(cx.waker().clone());
                shared.watch_for(&self.shared);
                return Poll::Pending;
            };
            let failure = match &item {
                Ok(_) | Err(Error::Closed(None)) => None,
                Err(err) => Some(err.clone()),
            };
            shared.deliver(item);
            if let Some(err) = failure {
                return Poll::Ready(Err(err));
            }
        }
    }
}

impl WebSocketReceiver {
    /// Receives the next message.
    ///
    /// Waits on the wstd reactor, so other tasks in the component run
    /// meanwhile. A peer's close arrives once as `Message::Close`; after it,
    /// and after any error (an abrupt end is `Err(Error::Closed(None))`), the
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
        let timeout = wstd::time::Duration::from(timeout.min(MAX_TIMEOUT));
        self.recv()
            .timeout(timeout)
            .await
            .unwrap_or(Err(Error::Timeout))
    }

    fn receiver_poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let mut shared = self.shared.borrow_mut();
        loop {
            if let Some(item) = shared.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if shared.conn.is_none() {
                self.terminated = true;
                return Poll::Ready(None);
            }
            if shared.check_deadline() {
                continue;
            }
            let Some(item) = shared.take() else {
                shared.reader = Some(cx.waker().clone());
                shared.watch_for(&self.shared);
                return Poll::Pending;
            };
            return Poll::Ready(Some(item));
        }
    }
}

/// The watcher task of a connection: waits for what [`Shared::watch`] holds,
/// drops it the moment it fires, and wakes the halves. It ends then, or when
/// the watch is dropped (the connection ended) or the connection is gone.
async fn watcher(shared: Weak<RefCell<Shared>>) {
    poll_fn(|cx| {
        let Some(shared) = shared.upgrade() else {
            return Poll::Ready(());
        };
        let mut shared = shared.borrow_mut();
        let Some(watch) = &mut shared.watch else {
            shared.watcher_running = false;
            return Poll::Ready(());
        };
        if watch.poll(cx).is_pending() {
            shared.watcher = Some(cx.waker().clone());
            return Poll::Pending;
        }
        shared.watch = None;
        shared.watcher_running = false;
        shared.wake_halves();
        Poll::Ready(())
    })
    .await
}

impl Shared {
    /// The connection, if it is open for sending.
    fn open_connection(&self) -> Result<&WebsocketConnection> {
        match (&self.state, &self.conn) {
            (State::Open, Some(conn)) => Ok(conn),
            _ => Err(Error::AlreadyClosed),
        }
    }

    /// Takes a message off the connection without blocking; `None` when no
    /// whole message is there. An error ends the connection.
    fn take(&mut self) -> Option<Result<Message>> {
        match self.conn.as_ref()?.receive_with_timeout(0) {
            Ok(None) => None,
            Ok(Some(host::Message::Text(text))) => Some(Ok(Message::Text(text))),
            Ok(Some(host::Message::Binary(data))) => Some(Ok(Message::Binary(data))),
            Err(err) => Some(self.end(err)),
        }
    }

    /// Ends the connection on a host error: the peer's close becomes
    /// `Message::Close`, anything else an [`Error`].
    fn end(&mut self, err: host::Error) -> Result<Message> {
        let (item, ending) = match err {
            host::Error::Closed(Some(info)) => {
                let frame = (info.code != u16::from(CloseCode::Status))
                    .then(|| CloseFrame::new(info.code, info.reason));
                let ending = match self.state {
                    State::Open => Ending::PeerClosed,
                    _ => Ending::Done,
                };
                (Ok(Message::Close(frame)), ending)
            }
            other => (Err(Error::from(other)), Ending::Done),
        };
        self.release(ending);
        item
    }

    /// Ends a close whose deadline passed, if it did; the receiver's last
    /// item says so. True when it ended the connection.
    fn check_deadline(&mut self) -> bool {
        let State::Closing { deadline } = self.state else {
            return false;
        };
        if Instant::now() < deadline {
            return false;
        }
        self.deliver(Err(Error::Timeout));
        self.release(Ending::TimedOut);
        true
    }

    /// Makes sure the watcher task waits for the connection (and the close
    /// deadline) to wake the halves.
    fn watch_for(&mut self, this: &Rc<RefCell<Shared>>) {
        if self.watch.is_none() {
            let Some(conn) = &self.conn else { return };
            let deadline = match self.state {
                State::Closing { deadline } => Some(deadline),
                _ => None,
            };
            self.watch = Some(Watch::new(conn.subscribe(), deadline));
        }
        if !self.watcher_running {
            self.watcher_running = true;
            wstd::runtime::spawn(watcher(Rc::downgrade(this))).detach();
        }
    }

    fn wake_watcher(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            watcher.wake();
        }
    }

    /// Queues an item for the receiver and wakes it.
    fn deliver(&mut self, item: Result<Message>) {
        self.pending.push_back(item);
        self.wake_reader();
    }

    fn wake_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
    }

    /// Drops the connection (its watch first) and wakes everyone waiting.
    fn release(&mut self, ending: Ending) {
        self.state = State::Ended(ending);
        self.watch = None;
        self.conn = None;
        self.wake_watcher();
        self.wake_halves();
    }

    /// Wakes the receiver and a task waiting in a close.
    fn wake_halves(&mut self) {
        self.wake_reader();
        if let Some(closer) = self.closer.take() {
            closer.wake();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let (State::Open, Some(conn)) = (self.state, &self.conn) {
            // Best effort: the peer may be gone, and nobody is left to tell.
            let _ = conn.close(Some(CloseCode::Normal.into()), None);
        }
        // A watcher still waiting ends when it finds the connection gone.
        self.wake_watcher();
    }
}

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

/// Sending is synchronous on the host, so the sink is always ready and
/// flushed. `poll_close` sends a normal close (unless a close was already
/// sent) and waits for the peer's, like [`WebSocketSender::close`].
impl Sink<Message> for WebSocketSender {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.get_mut().send_now(message)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.shared.borrow().state == State::Open {
            this.start_close(Some(CloseFrame::new(CloseCode::Normal, "")))?;
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
            .field("state", &self.sender.shared.borrow().state)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebSocketSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketSender")
            .field("state", &self.shared.borrow().state)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebSocketReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketReceiver")
            .field("state", &self.shared.borrow().state)
            .field("terminated", &self.terminated)
            .finish_non_exhaustive()
    }
}
