//! The WebSocket servers of Golem's own tests (golem v1.5.9,
//! `golem-worker-executor/tests/websocket.rs`), on tokio-tungstenite: each
//! counts the connections it accepted and writes down, per connection, the
//! text messages it received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// What a peer does on each connection.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Echoes text and binary messages until the client closes.
    Echo,
    /// Sends `msg-0`, then a close frame without a code.
    GreetThenClose,
    /// Sends `msg-0`, then reads until the client closes.
    GreetAndHold,
    /// Reads until the client closes and sends nothing.
    Silent,
    /// Waits this long, sends the text, then ends the connection.
    SendAfter(Duration, &'static str),
}

/// A peer on a free loopback port; stopped when dropped or [`Peer::stop`]ped.
pub struct Peer {
    runtime: Runtime,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    accepted: usize,
    /// (connection, text) in the order received.
    transcript: Vec<(usize, String)>,
}

impl Peer {
    /// Starts a peer in `mode`.
    pub fn start(mode: Mode) -> Peer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let log = Arc::new(Mutex::new(Log::default()));
        let accept_log = log.clone();
        let accept = runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let connection = {
                    let mut log = accept_log.lock().unwrap();
                    log.accepted += 1;
                    log.accepted - 1
                };
                let log = accept_log.clone();
                let mode = mode.clone();
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    let (mut write, mut read) = ws.split();
                    match mode {
                        Mode::Echo => {
                            while let Some(Ok(message)) = read.next().await {
                                if let Message::Text(text) = &message {
                                    let entry = (connection, text.as_str().to_owned());
                                    log.lock().unwrap().transcript.push(entry);
                                }
                                if message.is_close() {
                                    break;
                                }
                                if message.is_text() || message.is_binary() {
                                    let _ = write.send(message).await;
                                }
                            }
                        }
                        Mode::GreetThenClose => {
                            let _ = write.send(Message::text("msg-0")).await;
                            let _ = write.send(Message::Close(None)).await;
                        }
                        Mode::GreetAndHold | Mode::Silent => {
                            if matches!(mode, Mode::GreetAndHold) {
                                let _ = write.send(Message::text("msg-0")).await;
                            }
                            while let Some(Ok(message)) = read.next().await {
                                if message.is_close() {
                                    break;
                                }
                            }
                        }
                        Mode::SendAfter(delay, text) => {
                            tokio::time::sleep(delay).await;
                            let _ = write.send(Message::text(text)).await;
                        }
                    }
                });
            }
        });
        Peer {
            runtime,
            addr,
            accept: Some(accept),
            log,
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// How many connections it accepted.
    pub fn accepted(&self) -> usize {
        self.log.lock().unwrap().accepted
    }

    /// The text messages received, with the connection (from 0) each came on.
    pub fn transcript(&self) -> Vec<(usize, String)> {
        self.log.lock().unwrap().transcript.clone()
    }

    /// Stops listening (connections already open stay), so that a later
    /// connect is refused.
    pub fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            // Wait until the listener is dropped with its task.
            let _ = self.runtime.block_on(accept);
        }
    }
}
