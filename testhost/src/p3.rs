//! `golem:websocket/client@1.5.0` in its WASI 0.3 shape (the project's
//! `wit/p3`, as golem-rust 3.0.2 ships it: `receive` and
//! `receive-with-timeout` are `async func`s, there is no `subscribe`,
//! `connect` takes a reconstruction policy, and the error has
//! `session-lost`), on wasmtime's component-model-async host functions
//! (`Accessor`), the way Golem's executor provides it since its WASI P3
//! migration (golem main, commit 4f79f77bf1, after 1.5.9; 1.5.9 itself has
//! only the P2 shape):
//!
//! - tokio-tungstenite as in the P2 shape (`crate::websocket`: the same
//!   request, pool, limits, message reading and close frame); the stream is
//!   split into a writer and a reader, each behind a lock, so a `send` goes
//!   out while a `receive` waits, and a waiting `receive` parks outside the
//!   store so the guest's other tasks go on;
//! - no pending slot (there is no readiness to read ahead for): a `receive`
//!   reads the next message; one the guest cancels mid-wait loses nothing
//!   (tungstenite keeps a partial frame for the next read);
//! - the same close semantics, terminal states and oplog entries (names,
//!   arguments, results) as the P2 shape; `connect` records its policy too;
//! - after a replay a connection is reopened at its first live use, unless
//!   it was opened with `report-connection-loss`: then that use answers
//!   `session-lost`, and so does every later one.
//!
//! The oplog writes each call when it returns, so a replay holds only while
//! the guest has one host call in flight at a time (see the README).

use std::sync::Arc;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{Mutex, OwnedSemaphorePermit};
use tokio_tungstenite::tungstenite;
use wasmtime::component::{Accessor, Component, HasSelf, Linker, Resource, types::ComponentItem};
use wasmtime::{Engine, Store};

use crate::bindings::golem::websocket::client as p2_types;
use crate::ctx::{ConnectInfo, Ctx, Pool};
use crate::websocket::{self as p2, RecordedError, RecordedMessage, WsStream};
use bindings::golem::websocket::client::{
    CloseInfo, Error, Host, HostWebsocketConnection, HostWebsocketConnectionWithStore, Message,
    ReconstructionPolicy,
};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/p3",
        world: "wasm-websocket:worlds-p3/sdk",
        imports: {
            "golem:websocket/client.[static]websocket-connection.connect": async | trappable,
            "golem:websocket/client.[method]websocket-connection.send": async | trappable,
            "golem:websocket/client.[method]websocket-connection.receive": async | store | trappable,
            "golem:websocket/client.[method]websocket-connection.receive-with-timeout": async | store | trappable,
            "golem:websocket/client.[method]websocket-connection.close": async | trappable,
            default: trappable,
        },
        with: {
            "golem:websocket/client.websocket-connection": super::Connection,
        },
    });
}

/// The interface both shapes import under one name.
const INTERFACE: &str = "golem:websocket/client@1.5.0";

const CONNECT: &str = "golem:websocket/client::connect";
const SEND: &str = "golem:websocket/client::send";
const RECEIVE: &str = "golem:websocket/client::receive";
const RECEIVE_WITH_TIMEOUT: &str = "golem:websocket/client::receive-with-timeout";
const CLOSE: &str = "golem:websocket/client::close";

/// Whether `component` imports the P3 shape of the interface (the P2 shape
/// has `subscribe`; the P3 shape has not).
pub(crate) fn imports_p3_shape(engine: &Engine, component: &Component) -> bool {
    component
        .component_type()
        .imports(engine)
        .any(|(name, item)| match item.ty {
            ComponentItem::ComponentInstance(instance) if name == INTERFACE => !instance
                .exports(engine)
                .any(|(export, _)| export == "[method]websocket-connection.subscribe"),
            _ => false,
        })
}

/// Puts the P3 shape into `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<Ctx>) -> wasmtime::Result<()> {
    bindings::golem::websocket::client::add_to_linker::<Ctx, HasSelf<Ctx>>(linker, |ctx| ctx)
}

/// Runs a WASI 0.3 command (`wasi:cli/run@0.3.0`) in `store`, on
/// wasmtime's event loop for concurrent calls, as `wasmtime run` does;
/// `None` when the instance exports no such command.
pub(crate) async fn run_command(
    store: &mut Store<Ctx>,
    instance: &wasmtime::component::Instance,
) -> Option<wasmtime::Result<Result<(), ()>>> {
    let command = wasmtime_wasi::p3::bindings::Command::new(&mut *store, instance).ok()?;
    Some(
        store
            .run_concurrent(async |store| command.wasi_cli_run().call_run(store).await)
            .await
            .and_then(|result| result),
    )
}

/// A guest's `websocket-connection` (P3 shape).
pub enum Connection {
    /// Open, on the network (shared with the calls under way on it).
    Live(Arc<Live>),
    /// Opened in the replayed part of the oplog; at its first live use it is
    /// reopened, or (under `report-connection-loss`) answers `session-lost`.
    Replay {
        /// It was opened with `report-connection-loss`.
        report_loss: bool,
    },
    /// Closed, failed or lost: every call answers this error.
    Terminal(Error),
}

/// An open connection: its two halves, each used by one call at a time.
pub struct Live {
    writer: Mutex<SplitSink<WsStream, tungstenite::Message>>,
    reader: Mutex<SplitStream<WsStream>>,
    /// The pool's permit, held as long as the connection lives.
    _permit: OwnedSemaphorePermit,
}

impl Live {
    fn new(live: p2::Live) -> Live {
        let (stream, permit) = live.into_parts();
        let (writer, reader) = stream.split();
        Live {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            _permit: permit,
        }
    }

    async fn send(&self, message: tungstenite::Message) -> Result<(), Error> {
        self.writer
            .lock()
            .await
            .send(message)
            .await
            .map_err(|err| Error::SendFailure(err.to_string()))
    }

    async fn receive(&self) -> Result<Message, Error> {
        let mut reader = self.reader.lock().await;
        p2::next_message(&mut *reader)
            .await
            .map(from_p2_message)
            .map_err(from_p2_error)
    }
}

/// What a connection call finds when it starts live.
enum Found {
    Live(Arc<Live>),
    Failed(Error),
    Reopen {
        report_loss: bool,
        info: ConnectInfo,
        pool: Pool,
    },
}

impl Host for Ctx {}

impl HostWebsocketConnection for Ctx {
    async fn connect(
        &mut self,
        url: String,
        headers: Option<Vec<(String, String)>>,
        policy: Option<ReconstructionPolicy>,
    ) -> wasmtime::Result<Result<Resource<Connection>, Error>> {
        let report_loss = matches!(policy, Some(ReconstructionPolicy::ReportConnectionLoss));
        let args = json!({ "url": url, "headers": headers, "report_loss": report_loss });
        let info = ConnectInfo { url, headers };
        if let Some(result) = self.oplog.replay::<p2::Recorded<()>>(CONNECT, &args)? {
            return Ok(match result {
                Ok(()) => Ok(open_entry(self, Connection::Replay { report_loss }, info)?),
                Err(err) => Err(from_recorded_error(err)),
            });
        }
        let result = match p2::open(&self.pool, &info).await? {
            Ok(live) => {
                let entry = Connection::Live(Arc::new(Live::new(live)));
                Ok(open_entry(self, entry, info)?)
            }
            Err(err) => Err(from_p2_error(err)),
        };
        let record = result.as_ref().map(|_| ()).map_err(recorded_error);
        self.oplog.record(CONNECT, args, &record)?;
        Ok(result)
    }

    async fn send(
        &mut self,
        conn: Resource<Connection>,
        message: Message,
    ) -> wasmtime::Result<Result<(), Error>> {
        // Without an oplog the message is not copied into one.
        let args = match self.oplog.records() {
            true => json!({ "message": recorded_message(&message) }),
            false => Value::Null,
        };
        durable(self, SEND, args, &conn, async move |live| {
            live.send(to_tungstenite(message)).await
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
        let result = durable(&mut *self, CLOSE, args, &conn, async move |live| {
            live.send(tungstenite::Message::Close(Some(frame))).await
        })
        .await?;
        if result.is_ok() {
            // Closed by the guest: terminal, with what it sent.
            let closed = Error::Closed(Some(CloseInfo {
                code: code.unwrap_or(1000),
                reason: reason.unwrap_or_else(|| "Connection closed".to_owned()),
            }));
            terminal(self, &conn, closed)?;
        }
        Ok(result)
    }

    fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        self.websockets.remove(&conn.rep());
        self.table.delete(conn)?;
        Ok(())
    }
}

/// `receive` and `receive-with-timeout` wait outside the store (through an
/// `Accessor`), so the guest's other tasks go on meanwhile, as in Golem.
impl<T> HostWebsocketConnectionWithStore<T> for HasSelf<Ctx> {
    async fn receive(
        accessor: &Accessor<T, Self>,
        conn: Resource<Connection>,
    ) -> wasmtime::Result<Result<Message, Error>> {
        durable(accessor, RECEIVE, json!({}), &conn, async |live| {
            live.receive().await
        })
        .await
    }

    async fn receive_with_timeout(
        accessor: &Accessor<T, Self>,
        conn: Resource<Connection>,
        timeout_ms: u64,
    ) -> wasmtime::Result<Result<Option<Message>, Error>> {
        let args = json!({ "timeout_ms": timeout_ms });
        durable(
            accessor,
            RECEIVE_WITH_TIMEOUT,
            args,
            &conn,
            async move |live| {
                let limit = std::time::Duration::from_millis(timeout_ms);
                match tokio::time::timeout(limit, live.receive()).await {
                    Ok(result) => result.map(Some),
                    Err(_elapsed) => Ok(None),
                }
            },
        )
        .await
    }
}

/// The store's data as a call reaches it: directly (`&mut Ctx`, for the
/// calls the guest makes synchronously) or, for the async ones, a moment at
/// a time through an `Accessor`, never across a wait.
trait CtxAccess {
    fn with<R>(&mut self, f: impl FnOnce(&mut Ctx) -> R) -> R;
}

impl CtxAccess for &mut Ctx {
    fn with<R>(&mut self, f: impl FnOnce(&mut Ctx) -> R) -> R {
        f(self)
    }
}

impl<T> CtxAccess for &Accessor<T, HasSelf<Ctx>> {
    fn with<R>(&mut self, f: impl FnOnce(&mut Ctx) -> R) -> R {
        Accessor::with(self, |mut access| f(access.get()))
    }
}

/// One durable call on a connection: replayed from the oplog, or run live
/// (on a replay's placeholder reopened first) and recorded. The live part
/// runs outside the store, so the guest's other tasks go on while it
/// waits. A `closed`, `connection-failure` or `session-lost` answer makes
/// the connection terminal.
async fn durable<R, F>(
    mut store: impl CtxAccess,
    call: &'static str,
    args: Value,
    conn: &Resource<Connection>,
    live: impl FnOnce(Arc<Live>) -> F,
) -> wasmtime::Result<Result<R, Error>>
where
    R: Wire,
    F: Future<Output = Result<R, Error>>,
{
    let replayed = store.with(|ctx| {
        ctx.table.get(conn)?;
        ctx.oplog.replay::<p2::Recorded<R::Recorded>>(call, &args)
    })?;
    let result = match replayed {
        Some(recorded) => recorded.map(R::from_recorded).map_err(from_recorded_error),
        None => {
            let result = match ensure_live(&mut store, conn).await? {
                Ok(open) => live(open).await,
                Err(err) => Err(err),
            };
            store.with(|ctx| {
                if ctx.oplog.records() {
                    let record = match &result {
                        Ok(value) => Ok(value.to_recorded()),
                        Err(err) => Err(recorded_error(err)),
                    };
                    ctx.oplog.record(call, args, &record)?;
                }
                Ok::<_, wasmtime::Error>(())
            })?;
            result
        }
    };
    if let Err(err @ (Error::Closed(_) | Error::ConnectionFailure(_) | Error::SessionLost)) =
        &result
    {
        store.with(|ctx| terminal(ctx, conn, err.clone()))?;
    }
    Ok(result)
}

/// The open connection behind `conn`: a replay's placeholder is reopened to
/// the URL and headers it was opened with (a failure makes it terminal), or
/// under `report-connection-loss` becomes terminal with `session-lost`.
async fn ensure_live(
    store: &mut impl CtxAccess,
    conn: &Resource<Connection>,
) -> wasmtime::Result<Result<Arc<Live>, Error>> {
    let found = store.with(|ctx| {
        Ok::<_, wasmtime::Error>(match ctx.table.get(conn)? {
            Connection::Live(live) => Found::Live(live.clone()),
            Connection::Terminal(err) => Found::Failed(err.clone()),
            Connection::Replay { report_loss } => {
                let Some(info) = ctx.websockets.get(&conn.rep()).cloned() else {
                    wasmtime::bail!("a replayed connection without its URL");
                };
                Found::Reopen {
                    report_loss: *report_loss,
                    info,
                    pool: ctx.pool.clone(),
                }
            }
        })
    })?;
    let opened = match found {
        Found::Live(live) => return Ok(Ok(live)),
        Found::Failed(err) => return Ok(Err(err)),
        Found::Reopen {
            report_loss: true, ..
        } => Err(Error::SessionLost),
        Found::Reopen { info, pool, .. } => p2::open(&pool, &info)
            .await?
            .map(|live| Arc::new(Live::new(live)))
            .map_err(from_p2_error),
    };
    store.with(|ctx| {
        match &opened {
            Ok(live) => *ctx.table.get_mut(conn)? = Connection::Live(live.clone()),
            Err(err) => terminal(ctx, conn, err.clone())?,
        }
        Ok::<_, wasmtime::Error>(())
    })?;
    Ok(opened)
}

fn open_entry(
    ctx: &mut Ctx,
    entry: Connection,
    info: ConnectInfo,
) -> wasmtime::Result<Resource<Connection>> {
    let resource = ctx.table.push(entry)?;
    ctx.websockets.insert(resource.rep(), info);
    Ok(resource)
}

fn terminal(ctx: &mut Ctx, conn: &Resource<Connection>, err: Error) -> wasmtime::Result<()> {
    ctx.websockets.remove(&conn.rep());
    *ctx.table.get_mut(conn)? = Connection::Terminal(err);
    Ok(())
}

/// What a call returns, and how the oplog holds it (as in the P2 shape).
trait Wire: Sized {
    type Recorded: Serialize + DeserializeOwned;
    fn to_recorded(&self) -> Self::Recorded;
    fn from_recorded(recorded: Self::Recorded) -> Self;
}

impl Wire for () {
    type Recorded = ();
    fn to_recorded(&self) {}
    fn from_recorded((): ()) {}
}

impl Wire for Message {
    type Recorded = RecordedMessage;
    fn to_recorded(&self) -> RecordedMessage {
        recorded_message(self)
    }
    fn from_recorded(recorded: RecordedMessage) -> Message {
        from_recorded_message(recorded)
    }
}

impl Wire for Option<Message> {
    type Recorded = Option<RecordedMessage>;
    fn to_recorded(&self) -> Option<RecordedMessage> {
        self.as_ref().map(recorded_message)
    }
    fn from_recorded(recorded: Option<RecordedMessage>) -> Option<Message> {
        recorded.map(from_recorded_message)
    }
}

fn to_tungstenite(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => tungstenite::Message::Text(text.into()),
        Message::Binary(data) => tungstenite::Message::Binary(data.into()),
    }
}

fn recorded_message(message: &Message) -> RecordedMessage {
    match message {
        Message::Text(text) => RecordedMessage::Text(text.clone()),
        Message::Binary(data) => RecordedMessage::Binary(data.clone()),
    }
}

fn from_recorded_message(message: RecordedMessage) -> Message {
    match message {
        RecordedMessage::Text(text) => Message::Text(text),
        RecordedMessage::Binary(data) => Message::Binary(data),
    }
}

fn from_p2_message(message: p2_types::Message) -> Message {
    match message {
        p2_types::Message::Text(text) => Message::Text(text),
        p2_types::Message::Binary(data) => Message::Binary(data),
    }
}

fn from_p2_error(err: p2_types::Error) -> Error {
    from_recorded_error(RecordedError::from(&err))
}

fn recorded_error(err: &Error) -> RecordedError {
    match err.clone() {
        Error::ConnectionFailure(m) => RecordedError::ConnectionFailure(m),
        Error::SendFailure(m) => RecordedError::SendFailure(m),
        Error::ReceiveFailure(m) => RecordedError::ReceiveFailure(m),
        Error::ProtocolError(m) => RecordedError::ProtocolError(m),
        Error::Closed(info) => RecordedError::Closed(info.map(|i| (i.code, i.reason))),
        Error::Other(m) => RecordedError::Other(m),
        Error::SessionLost => RecordedError::SessionLost,
    }
}

fn from_recorded_error(err: RecordedError) -> Error {
    match err {
        RecordedError::ConnectionFailure(m) => Error::ConnectionFailure(m),
        RecordedError::SendFailure(m) => Error::SendFailure(m),
        RecordedError::ReceiveFailure(m) => Error::ReceiveFailure(m),
        RecordedError::ProtocolError(m) => Error::ProtocolError(m),
        RecordedError::Closed(info) => {
            Error::Closed(info.map(|(code, reason)| CloseInfo { code, reason }))
        }
        RecordedError::Other(m) => Error::Other(m),
        RecordedError::SessionLost => Error::SessionLost,
    }
}
