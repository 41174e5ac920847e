//! `golem:websocket/client@1.5.0` as Golem 1.5.9's executor provides it
//! (`golem-worker-executor/src/durable_host/websocket/client.rs`), written
//! anew on tokio-tungstenite:
//!
//! - `connect` builds the request from the URL and passes the guest's
//!   headers through (each replaces a header of the same name), takes a
//!   permit of the executor's pool (waiting when it is full) and opens the
//!   connection with tokio-tungstenite's default limits;
//! - a `subscribe` pollable is ready once a message is there: readiness
//!   reads the next message (or the close, or the error) into a slot of one,
//!   and the next receive returns it first;
//! - pings and pongs never reach the guest; tungstenite answers a ping while
//!   a read or a write is under way, and sends no pings of its own;
//! - `close` sends a close frame (1000 without a code) and makes the
//!   connection terminal: every later call answers `closed`; so does a
//!   `closed` or `connection-failure` answer of any call;
//! - every `connect`, `send`, `receive`, `receive-with-timeout` and `close`
//!   is written to the oplog with its arguments and result. On a replay a
//!   connection is a placeholder; at its first live use after the replay it
//!   is opened again to the same URL and headers (a failure is the guest's
//!   `connection-failure`, and terminal).

use futures_util::{SinkExt as _, Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::DynPollable;

use crate::bindings::golem::websocket::client::{
    CloseInfo, Error, Host, HostWebsocketConnection, Message,
};
use crate::ctx::{ConnectInfo, Ctx, Pool};

pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CONNECT: &str = "golem:websocket/client::connect";
const SEND: &str = "golem:websocket/client::send";
const RECEIVE: &str = "golem:websocket/client::receive";
const RECEIVE_WITH_TIMEOUT: &str = "golem:websocket/client::receive-with-timeout";
const CLOSE: &str = "golem:websocket/client::close";

/// A guest's `websocket-connection`.
pub enum Connection {
    /// Open, on the network.
    Live(Box<Live>),
    /// Opened in the replayed part of the oplog: reopened at its first live
    /// use.
    Replay,
    /// Closed or failed: every call answers this error.
    Terminal(Error),
}

/// An open connection.
pub struct Live {
    stream: WsStream,
    /// What readiness read ahead, returned by the next receive.
    pending: Option<Result<Message, Error>>,
    /// The pool's permit, held as long as the connection lives.
    _permit: OwnedSemaphorePermit,
}

impl Live {
    /// The stream and the pool's permit (for the P3 shape, which splits the
    /// stream into its two halves and keeps no pending slot).
    pub(crate) fn into_parts(self) -> (WsStream, OwnedSemaphorePermit) {
        (self.stream, self._permit)
    }
}

#[async_trait::async_trait]
impl wasmtime_wasi::p2::Pollable for Connection {
    async fn ready(&mut self) {
        if let Connection::Live(live) = self
            && live.pending.is_none()
        {
            live.pending = Some(next_message(&mut live.stream).await);
        }
    }
}

impl Host for Ctx {}

impl HostWebsocketConnection for Ctx {
    async fn connect(
        &mut self,
        url: String,
        headers: Option<Vec<(String, String)>>,
    ) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let args = json!({ "url": url, "headers": headers });
        let info = ConnectInfo { url, headers };
        if let Some(result) = self.oplog.replay::<Recorded<()>>(CONNECT, &args)? {
            return Ok(match result {
                Ok(()) => Ok(self.open_entry(Connection::Replay, info)?),
                Err(err) => Err(err.into()),
            });
        }
        let result = match open(&self.pool, &info).await? {
            Ok(live) => Ok(self.open_entry(Connection::Live(Box::new(live)), info)?),
            Err(err) => Err(err),
        };
        self.oplog
            .record(CONNECT, args, &recorded(result.as_ref().map(|_| ())))?;
        Ok(result)
    }

    async fn send(
        &mut self,
        conn: Resource<Connection>,
        message: Message,
    ) -> wasmtime::Result<Result<(), Error>> {
        // Without an oplog the message is not copied into one.
        let args = match self.oplog.records() {
            true => json!({ "message": RecordedMessage::from(&message) }),
            false => serde_json::Value::Null,
        };
        self.durable(SEND, args, &conn, async |live| {
            live.stream
                .send(to_tungstenite(message))
                .await
                .map_err(|err| Error::SendFailure(err.to_string()))
        })
        .await
    }

    async fn receive(
        &mut self,
        conn: Resource<Connection>,
    ) -> wasmtime::Result<Result<Message, Error>> {
        self.durable(RECEIVE, json!({}), &conn, async |live| {
            match live.pending.take() {
                Some(pending) => pending,
                None => next_message(&mut live.stream).await,
            }
        })
        .await
    }

    async fn receive_with_timeout(
        &mut self,
        conn: Resource<Connection>,
        timeout_ms: u64,
    ) -> wasmtime::Result<Result<Option<Message>, Error>> {
        let args = json!({ "timeout_ms": timeout_ms });
        self.durable(RECEIVE_WITH_TIMEOUT, args, &conn, async |live| {
            if let Some(pending) = live.pending.take() {
                return pending.map(Some);
            }
            let limit = std::time::Duration::from_millis(timeout_ms);
            match tokio::time::timeout(limit, next_message(&mut live.stream)).await {
                Ok(result) => result.map(Some),
                Err(_elapsed) => Ok(None),
            }
        })
        .await
    }

    async fn close(
        &mut self,
        conn: Resource<Connection>,
        code: Option<u16>,
        reason: Option<String>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let args = json!({ "code": code, "reason": reason });
        let frame = tungstenite::protocol::CloseFrame {
            code: code.unwrap_or(1000).into(),
            reason: reason.clone().unwrap_or_default().into(),
        };
        let result = self
            .durable(CLOSE, args, &conn, async |live| {
                live.stream
                    .send(tungstenite::Message::Close(Some(frame)))
                    .await
                    .map_err(|err| Error::SendFailure(err.to_string()))
            })
            .await?;
        if result.is_ok() {
            // Closed by the guest: terminal, with what it sent.
            self.terminal(
                &conn,
                Error::Closed(Some(CloseInfo {
                    code: code.unwrap_or(1000),
                    reason: reason.unwrap_or_else(|| "Connection closed".to_owned()),
                })),
            )?;
        }
        Ok(result)
    }

    async fn subscribe(
        &mut self,
        conn: Resource<Connection>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(&mut self.table, conn)
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        self.websockets.remove(&conn.rep());
        self.table.delete(conn)?;
        Ok(())
    }
}

impl Ctx {
    fn open_entry(
        &mut self,
        entry: Connection,
        info: ConnectInfo,
    ) -> wasmtime::Result<Resource<Connection>> {
        let resource = self.table.push(entry)?;
        self.websockets.insert(resource.rep(), info);
        Ok(resource)
    }

    /// One durable call on a connection: replayed from the oplog, or run
    /// live on the connection (reopened first if it is a replay's
    /// placeholder) and recorded. A `closed` or `connection-failure` answer
    /// makes the connection terminal.
    async fn durable<T: WireValue>(
        &mut self,
        call: &str,
        args: serde_json::Value,
        conn: &Resource<Connection>,
        live: impl AsyncFnOnce(&mut Live) -> Result<T, Error>,
    ) -> wasmtime::Result<Result<T, Error>> {
        let result = match self.oplog.replay::<Recorded<T::Recorded>>(call, &args)? {
            Some(recorded) => {
                self.table.get(conn)?;
                recorded.map(T::from_recorded).map_err(Error::from)
            }
            None => {
                let result = match self.ensure_live(conn).await? {
                    Err(err) => Err(err),
                    Ok(()) => match self.table.get_mut(conn)? {
                        Connection::Live(open) => live(open).await,
                        Connection::Terminal(err) => Err(err.clone()),
                        Connection::Replay => {
                            wasmtime::bail!("a replay placeholder is still in use after the replay")
                        }
                    },
                };
                if self.oplog.records() {
                    let record = match &result {
                        Ok(value) => Ok(value.to_recorded()),
                        Err(err) => Err(RecordedError::from(err)),
                    };
                    self.oplog.record(call, args, &record)?;
                }
                result
            }
        };
        if let Err(err @ (Error::Closed(_) | Error::ConnectionFailure(_))) = &result {
            self.terminal(conn, err.clone())?;
        }
        Ok(result)
    }

    /// Reopens a replay's placeholder to the URL and headers it was opened
    /// with; a failure makes it terminal and is the guest's error.
    async fn ensure_live(
        &mut self,
        conn: &Resource<Connection>,
    ) -> wasmtime::Result<Result<(), Error>> {
        match self.table.get(conn)? {
            Connection::Replay => {}
            Connection::Live(_) => return Ok(Ok(())),
            Connection::Terminal(err) => return Ok(Err(err.clone())),
        }
        let Some(info) = self.websockets.get(&conn.rep()).cloned() else {
            wasmtime::bail!("a replayed connection without its URL");
        };
        match open(&self.pool, &info).await? {
            Ok(live) => {
                *self.table.get_mut(conn)? = Connection::Live(Box::new(live));
                Ok(Ok(()))
            }
            Err(err) => {
                self.terminal(conn, err.clone())?;
                Ok(Err(err))
            }
        }
    }

    fn terminal(&mut self, conn: &Resource<Connection>, err: Error) -> wasmtime::Result<()> {
        self.websockets.remove(&conn.rep());
        *self.table.get_mut(conn)? = Connection::Terminal(err);
        Ok(())
    }
}

/// Opens a connection: the request first (a bad URL or header fails before
/// the pool is asked), then a permit, then the handshake.
pub(crate) async fn open(pool: &Pool, info: &ConnectInfo) -> wasmtime::Result<Result<Live, Error>> {
    let request = match request(&info.url, info.headers.as_deref()) {
        Ok(request) => request,
        Err(reason) => return Ok(Err(Error::ConnectionFailure(reason))),
    };
    let permit = pool.acquire().await?;
    Ok(match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _response)) => Ok(Live {
            stream,
            pending: None,
            _permit: permit,
        }),
        Err(err) => Err(Error::ConnectionFailure(err.to_string())),
    })
}

/// The handshake request for `url`, with the guest's headers.
fn request(
    url: &str,
    headers: Option<&[(String, String)]>,
) -> Result<tungstenite::http::Request<()>, String> {
    use tungstenite::client::IntoClientRequest as _;
    use tungstenite::http::header::{HeaderName, HeaderValue};

    let mut request = url.into_client_request().map_err(|err| err.to_string())?;
    for (name, value) in headers.unwrap_or_default() {
        let header = HeaderName::try_from(name.as_str())
            .map_err(|err| format!("invalid websocket header name {name:?}: {err}"))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|err| format!("invalid websocket header value for {name:?}: {err}"))?;
        request.headers_mut().insert(header, value);
    }
    Ok(request)
}

/// The next text or binary message, or the close (pings and pongs are
/// skipped; tungstenite queued the pong, which goes out with the next read
/// or write).
pub(crate) async fn next_message(
    stream: &mut (impl Stream<Item = Result<tungstenite::Message, tungstenite::Error>> + Unpin),
) -> Result<Message, Error> {
    loop {
        match stream.next().await {
            Some(Ok(tungstenite::Message::Text(text))) => {
                return Ok(Message::Text(text.as_str().to_owned()));
            }
            Some(Ok(tungstenite::Message::Binary(data))) => {
                return Ok(Message::Binary(data.to_vec()));
            }
            Some(Ok(tungstenite::Message::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(frame) => (frame.code.into(), frame.reason.to_string()),
                    None => (1000, "Connection closed".to_owned()),
                };
                return Err(Error::Closed(Some(CloseInfo { code, reason })));
            }
            Some(Ok(_ping_pong_or_frame)) => continue,
            Some(Err(err)) => return Err(receive_error(err)),
            None => {
                return Err(Error::Closed(Some(CloseInfo {
                    code: 1000,
                    reason: "Connection closed".to_owned(),
                })));
            }
        }
    }
}

fn receive_error(err: tungstenite::Error) -> Error {
    let closed = |reason: &str| {
        Error::Closed(Some(CloseInfo {
            code: 1000,
            reason: reason.to_owned(),
        }))
    };
    match err {
        tungstenite::Error::ConnectionClosed => closed("Connection closed normally"),
        tungstenite::Error::AlreadyClosed => closed("Connection already closed"),
        tungstenite::Error::Protocol(err) => Error::ProtocolError(err.to_string()),
        other => Error::ReceiveFailure(other.to_string()),
    }
}

fn to_tungstenite(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => tungstenite::Message::Text(text.into()),
        Message::Binary(data) => tungstenite::Message::Binary(data.into()),
    }
}

/// A result as the oplog holds it.
pub(crate) type Recorded<T> = Result<T, RecordedError>;

fn recorded(result: Result<(), &Error>) -> Recorded<()> {
    result.map_err(RecordedError::from)
}

/// What a call returns, and how the oplog holds it.
trait WireValue: Sized {
    type Recorded: Serialize + for<'de> Deserialize<'de>;
    fn to_recorded(&self) -> Self::Recorded;
    fn from_recorded(recorded: Self::Recorded) -> Self;
}

impl WireValue for () {
    type Recorded = ();
    fn to_recorded(&self) {}
    fn from_recorded((): ()) {}
}

impl WireValue for Message {
    type Recorded = RecordedMessage;
    fn to_recorded(&self) -> RecordedMessage {
        RecordedMessage::from(self)
    }
    fn from_recorded(recorded: RecordedMessage) -> Message {
        recorded.into()
    }
}

impl WireValue for Option<Message> {
    type Recorded = Option<RecordedMessage>;
    fn to_recorded(&self) -> Option<RecordedMessage> {
        self.as_ref().map(RecordedMessage::from)
    }
    fn from_recorded(recorded: Option<RecordedMessage>) -> Option<Message> {
        recorded.map(Message::from)
    }
}

/// A message in the oplog (binary data as hex).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RecordedMessage {
    Text(String),
    Binary(#[serde(with = "hex")] Vec<u8>),
}

/// Binary data in the oplog as lowercase hex; anything else is not a
/// message (and a replay that meets it diverges).
mod hex {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(data: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(data.len() * 2);
        for byte in data {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("hex of odd length"));
        }
        (0..text.len())
            .step_by(2)
            .map(|at| {
                text.get(at..at + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| D::Error::custom("not hex"))
            })
            .collect()
    }
}

impl From<&Message> for RecordedMessage {
    fn from(message: &Message) -> RecordedMessage {
        match message {
            Message::Text(text) => RecordedMessage::Text(text.clone()),
            Message::Binary(data) => RecordedMessage::Binary(data.clone()),
        }
    }
}

impl From<RecordedMessage> for Message {
    fn from(message: RecordedMessage) -> Message {
        match message {
            RecordedMessage::Text(text) => Message::Text(text),
            RecordedMessage::Binary(data) => Message::Binary(data),
        }
    }
}

/// An error in the oplog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RecordedError {
    ConnectionFailure(String),
    SendFailure(String),
    ReceiveFailure(String),
    ProtocolError(String),
    Closed(Option<(u16, String)>),
    Other(String),
    /// The P3 shape's `session-lost`.
    SessionLost,
}

impl From<&Error> for RecordedError {
    fn from(err: &Error) -> RecordedError {
        match err.clone() {
            Error::ConnectionFailure(m) => RecordedError::ConnectionFailure(m),
            Error::SendFailure(m) => RecordedError::SendFailure(m),
            Error::ReceiveFailure(m) => RecordedError::ReceiveFailure(m),
            Error::ProtocolError(m) => RecordedError::ProtocolError(m),
            Error::Closed(info) => RecordedError::Closed(info.map(|i| (i.code, i.reason))),
            Error::Other(m) => RecordedError::Other(m),
        }
    }
}

impl From<RecordedError> for Error {
    fn from(err: RecordedError) -> Error {
        match err {
            RecordedError::ConnectionFailure(m) => Error::ConnectionFailure(m),
            RecordedError::SendFailure(m) => Error::SendFailure(m),
            RecordedError::ReceiveFailure(m) => Error::ReceiveFailure(m),
            RecordedError::ProtocolError(m) => Error::ProtocolError(m),
            RecordedError::Closed(info) => {
                Error::Closed(info.map(|(code, reason)| CloseInfo { code, reason }))
            }
            RecordedError::Other(m) => Error::Other(m),
            // Only the P3 shape answers it; a P2 guest never called for it.
            RecordedError::SessionLost => Error::Other("session-lost".to_owned()),
        }
    }
}
