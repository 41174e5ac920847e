//! A WebSocket server of our own whose fault modes are paths.
//!
//! The opening handshake is written by hand, so that a mode can answer with
//! anything (a 403, a redirect, nothing at all); a mode that speaks WebSocket
//! then hands the socket to tokio-tungstenite, or writes raw frames first.
//!
//! | path | behaviour |
//! | --- | --- |
//! | `/echo` | echoes text and binary messages, any size |
//! | `/headers` | answers each message with a JSON object of the request headers |
//! | `/subprotocol?supported=a,b` | selects the first of `supported` the client offered and answers each message with it (`""` for none); `force=x` selects `x` whatever was offered. Every other mode ignores an offer: its 101 selects no subprotocol |
//! | `/reject` | answers `403 Forbidden` |
//! | `/redirect` | answers `302 Found` to `/echo` on this server |
//! | `/stall` | reads the request and never answers |
//! | `/close-after?n=N&code=C&reason=R` | echoes N messages, then closes with C and R (without `code`: a close frame with no code) |
//! | `/burst?n=N` | sends `burst 0` .. `burst N-1` at once, then closes with 1000 `burst done` |
//! | `/drop?n=N` | echoes N messages, then ends the TCP connection without a close frame |
//! | `/silent` | reads and never sends a data message; answers a close |
//! | `/ping` | answers each message by pinging, waiting for the pong and replying `pong:<payload>` |
//! | `/ignore-close` | echoes messages; never answers a close, keeps the TCP connection open until the client ends it |
//! | `/blackhole` | completes the handshake and never reads again |
//! | `/stop-reading?n=N` | echoes N messages, then never reads again and keeps the TCP connection open |
//! | `/ping-flood?n=N&size=S` | sends N pings of S bytes each (default 0, at most 125) at once and then the text `flood done`; never reads |
//! | `/close-open?code=C&reason=R` | sends a close frame with C and R (without `code`: no code), reads and drops what follows and never closes TCP; the client's close answer is logged, and so is the end of TCP when the client ends it |
//! | `/reset?n=N` | echoes N messages, then resets the TCP connection (RST, no close frame) |
//! | `/invalid?frame=F` | sends one invalid frame: `utf8` (bad UTF-8 in text), `rsv` (reserved bit), `opcode` (reserved opcode), `masked` (a masked server frame), `close-code` (close code 1005 on the wire) |
//!
//! Everything the server sees is logged for the tests to assert on: TCP
//! connections, handshakes (path and headers), the close frames clients send
//! and TCP ends after an ignored close.

use std::collections::HashMap;
use std::future::pending;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// The runtime all fault servers of a test process run on.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// A running fault server on loopback; stopped (with all its connections)
/// when dropped.
pub struct FaultServer {
    addr: SocketAddr,
    log: Arc<Log>,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

/// A handshake request the server received.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The request target: path and query.
    pub target: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Handshake {
    /// The value of header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A close frame a client sent: `code` is `None` for a frame without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientClose {
    pub code: Option<u16>,
    pub reason: String,
}

#[derive(Default)]
struct Log {
    seen: Mutex<Seen>,
    changed: Condvar,
}

#[derive(Default)]
struct Seen {
    connections: usize,
    handshakes: Vec<Handshake>,
    closes: Vec<ClientClose>,
    tcp_ends: usize,
}

impl Log {
    fn record(&self, change: impl FnOnce(&mut Seen)) {
        change(&mut self.seen.lock().unwrap());
        self.changed.notify_all();
    }
}

impl FaultServer {
    /// Starts a server on a free port of `127.0.0.1`.
    pub fn start() -> FaultServer {
        FaultServer::start_on("127.0.0.1:0")
    }

    /// Starts a server on `addr`, e.g. `[::1]:0`.
    pub fn start_on(addr: &str) -> FaultServer {
        let log = Arc::new(Log::default());
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let listener = RUNTIME
            .block_on(TcpListener::bind(addr))
            .unwrap_or_else(|err| panic!("bind {addr}: {err}"));
        let addr = listener.local_addr().expect("a bound address");
        let accept = RUNTIME.spawn(accept_loop(listener, log.clone(), tasks.clone()));
        tasks.lock().unwrap().push(accept.abort_handle());
        FaultServer { addr, log, tasks }
    }

    /// `ws://<addr><target>`, e.g. `ws://127.0.0.1:PORT/echo`.
    pub fn url(&self, target: &str) -> String {
        format!("ws://{}{target}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.log.seen.lock().unwrap().connections
    }

    /// Handshake requests received so far.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.log.seen.lock().unwrap().handshakes.clone()
    }

    /// The close frames clients sent so far.
    pub fn closes(&self) -> Vec<ClientClose> {
        self.log.seen.lock().unwrap().closes.clone()
    }

    /// Waits for the first close frame a client sends; panics after `timeout`.
    pub fn wait_for_close(&self, timeout: Duration) -> ClientClose {
        self.wait(timeout, "a client's close frame", |seen| {
            seen.closes.first().cloned()
        })
    }

    /// Waits until a client ends its TCP connection after `/ignore-close`
    /// ignored its close; panics after `timeout`.
    pub fn wait_for_tcp_end(&self, timeout: Duration) {
        self.wait(timeout, "the end of the TCP connection", |seen| {
            (seen.tcp_ends > 0).then_some(())
        })
    }

    fn wait<T>(&self, timeout: Duration, what: &str, check: impl Fn(&Seen) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        let mut seen = self.log.seen.lock().unwrap();
        loop {
            if let Some(found) = check(&seen) {
                return found;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "the fault server saw no {what} within {timeout:?}"
            );
            seen = self
                .log
                .changed
                .wait_timeout(seen, deadline - now)
                .unwrap()
                .0;
        }
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, log: Arc<Log>, tasks: Arc<Mutex<Vec<AbortHandle>>>) {
    let addr = listener.local_addr().expect("a bound address");
    while let Ok((stream, _)) = listener.accept().await {
        log.record(|seen| seen.connections += 1);
        let connection = tokio::spawn(serve(stream, addr, log.clone()));
        tasks.lock().unwrap().push(connection.abort_handle());
    }
}

/// A parsed handshake request.
struct Request {
    path: String,
    query: HashMap<String, String>,
    handshake: Handshake,
}

impl Request {
    fn param<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.query.get(name)?.parse().ok()
    }
}

/// What the server does with a connection, from the request's path.
enum Mode {
    Echo,
    Headers,
    Subprotocol,
    Reject,
    Redirect,
    Stall,
    CloseAfter { n: usize, close: Option<CloseFrame> },
    Burst { n: usize },
    Drop { n: usize },
    Silent,
    Ping,
    IgnoreClose,
    Blackhole,
    Invalid { frame: Vec<u8> },
    StopReading { n: usize },
    PingFlood { n: usize, size: u8 },
    CloseOpen { close: Option<CloseFrame> },
    Reset { n: usize },
    NotFound,
}

impl Mode {
    fn of(request: &Request) -> Mode {
        let n = request.param("n").unwrap_or(0);
        match request.path.as_str() {
            "/echo" => Mode::Echo,
            "/headers" => Mode::Headers,
            "/subprotocol" => Mode::Subprotocol,
            "/reject" => Mode::Reject,
            "/redirect" => Mode::Redirect,
            "/stall" => Mode::Stall,
            "/close-after" => Mode::CloseAfter {
                n,
                close: request.param("code").map(|code| {
                    close_frame(code, request.query.get("reason").map_or("", String::as_str))
                }),
            },
            "/burst" => Mode::Burst { n },
            "/drop" => Mode::Drop { n },
            "/silent" => Mode::Silent,
            "/ping" => Mode::Ping,
            "/ignore-close" => Mode::IgnoreClose,
            "/blackhole" => Mode::Blackhole,
            "/invalid" => Mode::Invalid {
                frame: invalid_frame(request.query.get("frame").map_or("", String::as_str)),
            },
            "/stop-reading" => Mode::StopReading { n },
            "/ping-flood" => Mode::PingFlood {
                n,
                size: request.param("size").unwrap_or(0).min(125),
            },
            "/close-open" => Mode::CloseOpen {
                close: request.param("code").map(|code| {
                    close_frame(code, request.query.get("reason").map_or("", String::as_str))
                }),
            },
            "/reset" => Mode::Reset { n },
            _ => Mode::NotFound,
        }
    }
}

type Ws = WebSocketStream<TcpStream>;

/// Serves one TCP connection; errors just end it.
async fn serve(mut stream: TcpStream, addr: SocketAddr, log: Arc<Log>) -> std::io::Result<()> {
    let (request, rest) = read_request(&mut stream).await?;
    log.record(|seen| seen.handshakes.push(request.handshake.clone()));
    let mode = Mode::of(&request);
    match mode {
        Mode::Reject => return respond(&mut stream, "403 Forbidden", "", "go away").await,
        Mode::Redirect => {
            let location = format!("Location: ws://{addr}/echo\r\n");
            return respond(&mut stream, "302 Found", &location, "").await;
        }
        Mode::NotFound => return respond(&mut stream, "404 Not Found", "", "no such mode").await,
        Mode::Stall => pending().await,
        _ => accept(&mut stream, &request).await?,
    }
    match &mode {
        Mode::Blackhole => pending().await,
        Mode::Invalid { frame } => stream.write_all(frame).await?,
        Mode::PingFlood { n, size } => {
            // Written while the client's pongs pile up unread.
            let mut ping = vec![0x89, *size];
            ping.resize(2 + usize::from(*size), b'p');
            let mut flood = ping.repeat(*n);
            flood.extend_from_slice(&[0x81, 10]);
            flood.extend_from_slice(b"flood done");
            stream.write_all(&flood).await?;
            pending().await
        }
        Mode::CloseOpen { close } => {
            stream.write_all(&raw_close(close.as_ref())).await?;
            // The client's answer (a masked close frame) is logged as the
            // close it sent; everything is read until the client ends TCP.
            let mut seen = Vec::new();
            let mut logged = false;
            let mut chunk = [0; 4096];
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) if !logged => {
                        seen.extend_from_slice(&chunk[..n]);
                        if let Some(close) = parse_client_close(&seen) {
                            logged = true;
                            log.record(|s| s.closes.push(close));
                        }
                    }
                    Ok(_) => {}
                }
            }
            log.record(|seen| seen.tcp_ends += 1);
            return Ok(());
        }
        _ => {}
    }
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let mut ws =
        WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
    match mode {
        Mode::Echo => echo(&mut ws, &log, usize::MAX).await,
        Mode::Headers => {
            let headers: serde_json::Map<_, _> = request
                .handshake
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone().into()))
                .collect();
            let answer = serde_json::Value::Object(headers).to_string();
            while next_data(&mut ws, &log).await.is_some() {
                if ws.send(Message::text(answer.clone())).await.is_err() {
                    break;
                }
            }
        }
        Mode::Subprotocol => {
            let answer = selected_subprotocol(&request).unwrap_or_default();
            while next_data(&mut ws, &log).await.is_some() {
                if ws.send(Message::text(answer.clone())).await.is_err() {
                    break;
                }
            }
        }
        Mode::CloseAfter { n, close } => {
            echo(&mut ws, &log, n).await;
            let _ = ws.send(Message::Close(close)).await;
            while next_data(&mut ws, &log).await.is_some() {}
        }
        Mode::Burst { n } => {
            for i in 0..n {
                let _ = ws.send(Message::text(format!("burst {i}"))).await;
            }
            let _ = ws.close(Some(close_frame(1000, "burst done"))).await;
            while next_data(&mut ws, &log).await.is_some() {}
        }
        // Dropping the stream then ends TCP without a close frame.
        Mode::Drop { n } => echo(&mut ws, &log, n).await,
        Mode::Silent | Mode::Invalid { .. } => while next_data(&mut ws, &log).await.is_some() {},
        Mode::Ping => {
            while next_data(&mut ws, &log).await.is_some() {
                let Some(payload) = ping(&mut ws).await else {
                    break;
                };
                if ws
                    .send(Message::text(format!("pong:{payload}")))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
        Mode::IgnoreClose => ignore_close(&mut ws, &log).await,
        Mode::StopReading { n } => {
            echo(&mut ws, &log, n).await;
            pending().await
        }
        Mode::Reset { n } => {
            echo(&mut ws, &log, n).await;
            // Linger 0: closing the socket sends RST instead of FIN.
            let _ = ws.get_ref().set_zero_linger();
        }
        Mode::Reject
        | Mode::Redirect
        | Mode::Stall
        | Mode::Blackhole
        | Mode::PingFlood { .. }
        | Mode::CloseOpen { .. }
        | Mode::NotFound => {}
    }
    Ok(())
}

/// Reads the request head; returns it parsed, with any bytes read past it.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<(Request, Vec<u8>)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > 65536 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let request = Request {
        path: path.to_owned(),
        query: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        handshake: Handshake {
            target: target.clone(),
            headers,
        },
    };
    Ok((request, buf[head_end + 4..].to_vec()))
}

/// Answers with a plain HTTP response and ends the connection.
async fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &str,
    body: &str,
) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Answers `101 Switching Protocols`, with the subprotocol the mode selects.
async fn accept(stream: &mut TcpStream, request: &Request) -> std::io::Result<()> {
    let key = request
        .handshake
        .header("sec-websocket-key")
        .unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if let Some(protocol) = selected_subprotocol(request) {
        response.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
    }
    response.push_str("\r\n");
    stream.write_all(response.as_bytes()).await
}

/// The subprotocol `/subprotocol` selects: `force`, or the first of
/// `supported` that the client offered.
fn selected_subprotocol(request: &Request) -> Option<String> {
    if request.path != "/subprotocol" {
        return None;
    }
    if let Some(forced) = request.query.get("force") {
        return Some(forced.clone());
    }
    let offered: Vec<&str> = request
        .handshake
        .header("sec-websocket-protocol")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    request
        .query
        .get("supported")?
        .split(',')
        .find(|p| offered.contains(p))
        .map(str::to_owned)
}

/// The raw bytes of one invalid server frame.
fn invalid_frame(kind: &str) -> Vec<u8> {
    match kind {
        "utf8" => vec![0x81, 0x02, 0xc3, 0x28],
        "rsv" => vec![0xc1, 0x02, b'h', b'i'],
        "opcode" => vec![0x83, 0x00],
        "masked" => vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2],
        "close-code" => vec![0x88, 0x02, 0x03, 0xed],
        other => panic!("unknown invalid frame kind {other:?}"),
    }
}

/// The next data message, `None` once the connection ended. A close from
/// the client is logged on the way; tungstenite answers it on the next read.
async fn next_data(ws: &mut Ws, log: &Log) -> Option<Message> {
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Text(_) | Message::Binary(_) => return Some(message),
            Message::Close(frame) => log.record(|seen| seen.closes.push(client_close(frame))),
            _ => {}
        }
    }
    None
}

/// Echoes up to `limit` data messages.
async fn echo(ws: &mut Ws, log: &Log, limit: usize) {
    for _ in 0..limit {
        let Some(message) = next_data(ws, log).await else {
            return;
        };
        if ws.send(message).await.is_err() {
            return;
        }
    }
}

/// Echoes data messages until the client's close, which is logged and never
/// answered: the bytes that follow are read and dropped until the client
/// gives up and ends the TCP connection.
async fn ignore_close(ws: &mut Ws, log: &Log) {
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Close(frame) = message {
            log.record(|seen| seen.closes.push(client_close(frame)));
            let mut sink = [0; 4096];
            while matches!(ws.get_mut().read(&mut sink).await, Ok(n) if n > 0) {}
            log.record(|seen| seen.tcp_ends += 1);
            return;
        }
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}

/// Pings and waits for the matching pong; returns its payload as text.
async fn ping(ws: &mut Ws) -> Option<String> {
    let payload = Bytes::from_static(b"are you there");
    ws.send(Message::Ping(payload.clone())).await.ok()?;
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Pong(answer) = message {
            return Some(String::from_utf8_lossy(&answer).into_owned());
        }
    }
    None
}

/// An unmasked server close frame with this code and reason, or without a code.
fn raw_close(close: Option<&CloseFrame>) -> Vec<u8> {
    let mut payload = Vec::new();
    if let Some(close) = close {
        payload.extend_from_slice(&u16::from(close.code).to_be_bytes());
        payload.extend_from_slice(close.reason.as_bytes());
    }
    let mut frame = vec![0x88, payload.len() as u8];
    frame.extend_from_slice(&payload);
    frame
}

/// The first close frame among the client's frames in `bytes` (masked, as a
/// client's frames are), once it is all there.
fn parse_client_close(mut bytes: &[u8]) -> Option<ClientClose> {
    loop {
        let [first, second, rest @ ..] = bytes else {
            return None;
        };
        let (len, rest) = match second & 0x7f {
            126 => {
                let [high, low, rest @ ..] = rest else {
                    return None;
                };
                (usize::from(u16::from_be_bytes([*high, *low])), rest)
            }
            127 => {
                let (len, rest) = rest.split_at_checked(8)?;
                (
                    usize::try_from(u64::from_be_bytes(len.try_into().ok()?)).ok()?,
                    rest,
                )
            }
            len => (usize::from(len), rest),
        };
        if rest.len() < 4 + len {
            return None;
        }
        let (mask, rest) = rest.split_at(4);
        let (payload, next) = rest.split_at(len);
        if first & 0x0f != 0x8 {
            bytes = next;
            continue;
        }
        let payload: Vec<u8> = payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        return Some(match payload.as_slice() {
            [high, low, reason @ ..] => ClientClose {
                code: Some(u16::from_be_bytes([*high, *low])),
                reason: String::from_utf8_lossy(reason).into_owned(),
            },
            _ => ClientClose {
                code: None,
                reason: String::new(),
            },
        });
    }
}

fn close_frame(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    }
}

fn client_close(frame: Option<CloseFrame>) -> ClientClose {
    match frame {
        Some(frame) => ClientClose {
            code: Some(frame.code.into()),
            reason: frame.reason.to_string(),
        },
        None => ClientClose {
            code: None,
            reason: String::new(),
        },
    }
}
