//! The state of one store (one `run`, or one served request): the WASI and
//! WASI HTTP contexts, the resource table, the oplog, the executor-wide
//! WebSocket pool, and the URL and headers of each open connection (for the
//! lazy reconnect after a replay).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostMonotonicClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::oplog::Oplog;

/// How many WebSocket connections an executor holds at once unless told
/// otherwise (Golem's default).
pub const DEFAULT_POOL: usize = 100;

/// The executor-wide WebSocket connection pool: a connect past its size
/// waits until a connection is dropped, as in Golem's
/// `WebSocketConnectionPool`.
#[derive(Clone)]
pub struct Pool(Arc<Semaphore>);

impl Pool {
    /// A pool of `size` connections.
    pub fn new(size: usize) -> Pool {
        Pool(Arc::new(Semaphore::new(size)))
    }

    /// Waits for room; the permit is held as long as the connection lives.
    pub(crate) async fn acquire(&self) -> wasmtime::Result<OwnedSemaphorePermit> {
        self.0
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| wasmtime::format_err!("the WebSocket connection pool was closed"))
    }
}

/// The URL and headers a connection was opened with.
#[derive(Debug, Clone)]
pub(crate) struct ConnectInfo {
    pub(crate) url: String,
    pub(crate) headers: Option<Vec<(String, String)>>,
}

/// The monotonic clock the guest sees: the process's own, moved forward so
/// that it never reads earlier than a time the replay handed back (a new
/// process's clock starts again from zero).
#[derive(Clone)]
pub(crate) struct GuestClock {
    base: Instant,
    offset: Arc<AtomicU64>,
}

impl GuestClock {
    fn new() -> GuestClock {
        GuestClock {
            base: Instant::now(),
            offset: Arc::default(),
        }
    }

    fn real(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A replayed reading: the clock reads no earlier from now on.
    pub(crate) fn not_before(&self, nanos: u64) {
        let needed = nanos.saturating_sub(self.real());
        self.offset.fetch_max(needed, Ordering::Relaxed);
    }
}

impl HostMonotonicClock for GuestClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.real()
            .saturating_add(self.offset.load(Ordering::Relaxed))
    }
}

/// The data of a store.
pub struct Ctx {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) oplog: Oplog,
    pub(crate) pool: Pool,
    pub(crate) clock: GuestClock,
    /// Connections opened and not yet terminal, by resource handle.
    pub(crate) websockets: HashMap<u32, ConnectInfo>,
}

impl Ctx {
    /// A store's data. `configure` adds arguments, environment and stdio to
    /// the WASI context; network access stays denied (no `inherit_network`,
    /// no name lookup), so the guest reaches the network only through
    /// `golem:websocket` (and `wasi:http`).
    pub fn new(oplog: Oplog, pool: Pool, configure: impl FnOnce(&mut WasiCtxBuilder)) -> Ctx {
        let clock = GuestClock::new();
        let mut builder = WasiCtx::builder();
        builder
            .monotonic_clock(clock.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false);
        configure(&mut builder);
        Ctx {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            oplog,
            pool,
            clock,
            websockets: HashMap::new(),
        }
    }

    /// The oplog, to check after the guest finished.
    pub fn oplog(&self) -> &Oplog {
        &self.oplog
    }
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}
