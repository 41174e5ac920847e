//! A feed server that goes away and comes back on the same port, for the
//! reconnecting client's tests.
//!
//! Each connection is a subscription feed: the server selects the
//! subprotocol `feed.v1` when the client offers it, answers a text message
//! `subscribe:<topic>` with `subscribed:<topic> conn<N>`, and from then on
//! sends `conn<N> tick<I>` every [`TICK`]. The test controls it from outside:
//! stop listening (connects are refused), end every connection abruptly
//! (TCP ends without a close frame) or with a close frame, send a text to
//! every connection, answer handshakes with `503` for a while, listen again
//! on the same port.
//!
//! Everything is logged with the time it happened: handshakes (with the
//! offered subprotocols), the messages and close frames clients send, and
//! the ticks sent on each connection.

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The subprotocol the server selects when offered.
pub const PROTOCOL: &str = "feed.v1";

/// How often a subscribed connection gets a tick.
pub const TICK: Duration = Duration::from_millis(50);

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// A restartable feed server on a loopback port; stopped when dropped.
pub struct RestartableServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// A handshake the server answered (or refused, when `accepted` is false).
#[derive(Debug, Clone)]
pub struct Handshake {
    pub at: Instant,
    /// The connection's number, from 1, counting accepted handshakes only.
    pub conn: usize,
    pub accepted: bool,
    /// The `Sec-WebSocket-Protocol` header the client sent.
    pub offered: Option<String>,
}

/// Something a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Text(String),
    /// A close frame: its code (`None` without one) and reason.
    Close(Option<u16>, String),
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    changed: Condvar,
    control: Mutex<Control>,
}

#[derive(Default)]
struct Seen {
    handshakes: Vec<Handshake>,
    /// What each connection's client sent: (connection, time, what).
    received: Vec<(usize, Instant, Received)>,
    /// Ticks sent, per connection (index = connection - 1).
    ticks: Vec<usize>,
}

#[derive(Default)]
struct Control {
    listener: Option<AbortHandle>,
    connections: Vec<Connection>,
    reject: bool,
}

struct Connection {
    commands: mpsc::UnboundedSender<Command>,
    task: AbortHandle,
}

enum Command {
    Send(String),
    Close(u16, String),
}

impl RestartableServer {
    /// Starts listening on a free port of `127.0.0.1`.
    pub fn start() -> RestartableServer {
        let shared = Arc::new(Shared::default());
        let listener = RUNTIME
            .block_on(listen("127.0.0.1:0".parse().unwrap()))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let server = RestartableServer { addr, shared };
        server.accept_on(listener);
        server
    }

    /// `ws://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Stops listening: connects are refused until [`resume`](Self::resume).
    /// Open connections stay.
    pub fn stop_listening(&self) {
        if let Some(listener) = self.shared.control.lock().unwrap().listener.take() {
            listener.abort();
        }
        // The abort takes effect on the runtime; wait until the port is free.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(self.addr).is_ok() {
            assert!(Instant::now() < deadline, "the listener did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Listens again on the same port.
    pub fn resume(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match RUNTIME.block_on(listen(self.addr)) {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => panic!("listen on {} again: {err}", self.addr),
            }
        };
        self.accept_on(listener);
    }

    /// Ends every open connection abruptly: TCP ends, no close frame.
    pub fn drop_all(&self) {
        for connection in self.shared.control.lock().unwrap().connections.drain(..) {
            connection.task.abort();
        }
    }

    /// Closes every open connection with a close frame.
    pub fn close_all(&self, code: u16, reason: &str) {
        for connection in self.shared.control.lock().unwrap().connections.drain(..) {
            let _ = connection
                .commands
                .send(Command::Close(code, reason.to_owned()));
        }
    }

    /// Sends `text` on every open connection.
    pub fn broadcast(&self, text: &str) {
        for connection in &self.shared.control.lock().unwrap().connections {
            let _ = connection.commands.send(Command::Send(text.to_owned()));
        }
    }

    /// While `reject` holds, handshakes are answered `503 Service Unavailable`.
    pub fn reject_handshakes(&self, reject: bool) {
        self.shared.control.lock().unwrap().reject = reject;
    }

    /// The handshakes so far, refused ones included.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.shared.seen.lock().unwrap().handshakes.clone()
    }

    /// What the clients sent so far: (connection, time, what).
    pub fn received(&self) -> Vec<(usize, Instant, Received)> {
        self.shared.seen.lock().unwrap().received.clone()
    }

    /// What the client of connection `conn` sent, in order.
    pub fn received_on(&self, conn: usize) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|(c, _, _)| *c == conn)
            .map(|(_, _, what)| what)
            .collect()
    }

    /// Waits until connection `conn` got its subscription and `ticks` ticks;
    /// panics after `timeout`.
    pub fn wait_for_ticks(&self, conn: usize, ticks: usize, timeout: Duration) {
        self.wait(
            timeout,
            &format!("{ticks} ticks on connection {conn}"),
            |seen| seen.ticks.get(conn - 1).is_some_and(|&n| n >= ticks),
        )
    }

    /// Waits until `n` handshakes were seen (refused ones included); panics
    /// after `timeout`.
    pub fn wait_for_handshakes(&self, n: usize, timeout: Duration) {
        self.wait(timeout, &format!("{n} handshakes"), |seen| {
            seen.handshakes.len() >= n
        })
    }

    fn wait(&self, timeout: Duration, what: &str, check: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + timeout;
        let mut seen = self.shared.seen.lock().unwrap();
        while !check(&seen) {
            let now = Instant::now();
            assert!(
                now < deadline,
                "the feed server saw no {what} within {timeout:?}"
            );
            seen = self
                .shared
                .changed
                .wait_timeout(seen, deadline - now)
                .unwrap()
                .0;
        }
    }

    fn accept_on(&self, listener: TcpListener) {
        let task = RUNTIME.spawn(accept_loop(listener, self.shared.clone()));
        self.shared.control.lock().unwrap().listener = Some(task.abort_handle());
    }
}

impl Drop for RestartableServer {
    fn drop(&mut self) {
        let mut control = self.shared.control.lock().unwrap();
        if let Some(listener) = control.listener.take() {
            listener.abort();
        }
        for connection in control.connections.drain(..) {
            connection.task.abort();
        }
    }
}

impl Shared {
    fn record(&self, change: impl FnOnce(&mut Seen)) {
        change(&mut self.seen.lock().unwrap());
        self.changed.notify_all();
    }
}

/// A listener with `SO_REUSEADDR`, so that the port can be taken again while
/// old connections linger in `TIME_WAIT`.
async fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(64)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(serve(stream, shared.clone(), receiver));
        shared.control.lock().unwrap().connections.push(Connection {
            commands,
            task: task.abort_handle(),
        });
    }
}

/// Serves one connection: the handshake, then the feed.
async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let reject = shared.control.lock().unwrap().reject;
    let mut conn = 0;
    // The error type is tungstenite's, large or not.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| {
        let offered = request
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut seen = shared.seen.lock().unwrap();
        let accepted = !reject;
        if accepted {
            seen.ticks.push(0);
            conn = seen.ticks.len();
        }
        let selects = offered
            .as_deref()
            .is_some_and(|offer| offer.split(',').any(|p| p.trim() == PROTOCOL));
        seen.handshakes.push(Handshake {
            at: Instant::now(),
            conn,
            accepted,
            offered,
        });
        drop(seen);
        shared.changed.notify_all();
        if !accepted {
            let mut refusal = ErrorResponse::new(Some("restarting".to_owned()));
            *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return Err(refusal);
        }
        if selects {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
        }
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let mut ticker = tokio::time::interval(TICK);
    let mut subscribed = false;
    let mut ticks = 0;
    let mut controlled = true;
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let received = match incoming {
                    Some(Ok(Message::Text(text))) => Received::Text(text.to_string()),
                    Some(Ok(Message::Close(frame))) => Received::Close(
                        frame.as_ref().map(|f| u16::from(f.code)),
                        frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    ),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
                };
                shared.record(|seen| seen.received.push((conn, Instant::now(), received.clone())));
                match received {
                    Received::Text(text) => {
                        if let Some(topic) = text.strip_prefix("subscribe:") {
                            subscribed = true;
                            let answer = format!("subscribed:{topic} conn{conn}");
                            if ws.send(Message::text(answer)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Received::Close(..) => {
                        // tungstenite answered it; read on until the end.
                        while ws.next().await.is_some() {}
                        return;
                    }
                }
            }
            _ = ticker.tick(), if subscribed => {
                let tick = Message::text(format!("conn{conn} tick{ticks}"));
                if ws.send(tick).await.is_err() {
                    return;
                }
                ticks += 1;
                shared.record(|seen| seen.ticks[conn - 1] = ticks);
            }
            command = commands.recv(), if controlled => match command {
                Some(Command::Send(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                Some(Command::Close(code, reason)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = ws.close(Some(frame)).await;
                    while ws.next().await.is_some() {}
                    return;
                }
                None => controlled = false,
            }
        }
    }
}
