//! The echo server every client talks to: tokio-tungstenite on a multi-threaded
//! runtime, echoing each text and binary message back on the same connection.

use std::net::SocketAddr;

use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// A running echo server; it stops when dropped.
pub(crate) struct EchoServer {
    /// `ws://127.0.0.1:<port>/`
    pub(crate) url: String,
    runtime: Runtime,
}

impl EchoServer {
    /// Starts the server on 127.0.0.1 on a free port, with one worker thread per
    /// CPU core.
    pub(crate) fn start() -> std::io::Result<EchoServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("echo-server")
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        runtime.spawn(accept_loop(listener));
        Ok(EchoServer {
            url: format!("ws://{addr}/"),
            runtime,
        })
    }

    /// Serves until the process is killed (`wasm-websocket-bench server`).
    pub(crate) fn run_forever(&self) {
        self.runtime.block_on(future::pending::<()>());
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(echo(stream, peer));
            }
            Err(e) => eprintln!("echo server: accept failed: {e}"),
        }
    }
}

/// Echoes data messages until the client closes. `forward` feeds replies and
/// flushes only when no further message is ready, so pipelined messages leave in
/// batches.
async fn echo(stream: TcpStream, peer: SocketAddr) {
    // Replies must not wait for Nagle: the server is not what is measured.
    let _ = stream.set_nodelay(true);
    let ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("echo server: handshake with {peer} failed: {e}");
            return;
        }
    };
    let (sink, stream) = ws.split();
    // Errors here are the client leaving; the clients report their own failures.
    let _ = stream
        .try_filter(|message| future::ready(message.is_binary() || message.is_text()))
        .forward(sink)
        .await;
}
