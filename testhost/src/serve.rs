//! `serve`: a `wasi:http` component served on a loopback address, one
//! instance per request, as `wasmtime serve` serves it. The WebSocket pool
//! is the executor's, shared by every request; nothing is recorded (Golem
//! replays agents, not HTTP handlers).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper::server::conn::http1;
use tokio::net::TcpListener;
use wasmtime::Store;
use wasmtime::error::Context as _;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::ctx::{Ctx, Pool};
use crate::oplog::Oplog;

/// What to serve, and where.
#[derive(Debug, Clone)]
pub struct Serve {
    /// The component (a `wasi:http/proxy`).
    pub component: PathBuf,
    /// The address to listen on (port 0: any free one).
    pub addr: SocketAddr,
    /// Environment variables for the guest.
    pub env: Vec<(String, String)>,
    /// The size of the WebSocket pool.
    pub pool: usize,
}

struct Server {
    pre: ProxyPre<Ctx>,
    pool: Pool,
    env: Vec<(String, String)>,
}

/// Serves until the process ends. Prints `Serving HTTP on http://ADDR/` to
/// stderr once it listens, as `wasmtime serve` does.
pub async fn serve(serve: Serve) -> wasmtime::Result<()> {
    let (_engine, component, linker) = crate::engine::load(&serve.component)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
    let server = Arc::new(Server {
        pre,
        pool: Pool::new(serve.pool),
        env: serve.env,
    });
    let listener = TcpListener::bind(serve.addr)
        .await
        .with_context(|| format!("binding {}", serve.addr))?;
    eprintln!("Serving HTTP on http://{}/", listener.local_addr()?);
    loop {
        let (client, _) = listener.accept().await?;
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let server = server.clone();
                async move { server.handle(request).await }
            });
            if let Err(err) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(client), service)
                .await
            {
                eprintln!("testhost: serving a connection: {err}");
            }
        });
    }
}

impl Server {
    async fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
        let ctx = Ctx::new(Oplog::none(), self.pool.clone(), |wasi| {
            wasi.inherit_stdio().envs(&self.env);
        });
        let mut store = Store::new(self.pre.engine(), ctx);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        // The handler may go on after it sent the response head (streaming
        // the body), so it runs in a task of its own.
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, out)
                .await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(wasmtime::format_err!("the guest answered {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => wasmtime::bail!("the guest never set a response"),
                Ok(Err(err)) => Err(err.context("the guest trapped before it set a response")),
                Err(err) => Err(wasmtime::Error::new(err)),
            },
        }
    }
}
