//! `golem-agent`: a Golem agent that talks to a WebSocket server through
//! `wasm-websocket`, written with golem-rust's agent macros.
//!
//! One source, one Cargo package per golem-rust generation:
//! - `p2/`: golem-rust 2.1 (Golem 1.5, WASI 0.2, wstd 0.6.5), a package of
//!   its own with its own `Cargo.lock`, depending on `wasm-websocket` by path
//!   as a Golem user's crate would; `just build-agents` builds it into
//!   `target/agents/golem-agent-p2.wasm`.
//! - `p3/`: golem-rust 3.0.2 (WASI 0.3, wit-bindgen's async runtime) and the
//!   crate's `p3` feature, with its own `Cargo.lock`;
//!   `just build-agents p3` builds it into `target/agents/golem-agent-p3.wasm`.
//!
//! The code uses only `wasm-websocket`, `futures-lite` and golem-rust, never a
//! runtime directly, so it builds unchanged wherever the crate's API is the
//! same. Each method opens its own connection and closes it before it
//! returns: golem-rust runs every call of an agent in its own async runtime,
//! and a `WebSocket` must be used and dropped in the runtime it was made in.
//!
//! The methods, for a server that echoes what it gets:
//! - `exchange(messages, timeout-ms)`: connects with the agent's bearer token
//!   in a header, sends each message and waits at most `timeout-ms` for each
//!   reply (`recv_timeout`), then closes with 1000 "done". A reply that does
//!   not come in time ends the exchange early; the connection stays usable.
//! - `listen(count)`: reads up to `count` messages from the `Stream` until the
//!   server closes, and says how it closed.
//! - `split_exchange(messages)`: splits the connection, sends from one half
//!   while the other half receives, both in this one call, then closes with
//!   1001 "going away".

use std::time::Duration;

use futures_lite::StreamExt;
use futures_lite::future;
use golem_rust::{agent_definition, agent_implementation};
use wasm_websocket::{ClientRequest, CloseCode, CloseFrame, Error, Message, WebSocket};

/// An agent per WebSocket endpoint: `url` is the server, `token` goes out as
/// `Authorization: Bearer <token>` with every connect.
#[agent_definition]
trait WebsocketAgent {
    fn new(url: String, token: String) -> Self;

    /// Sends each message and collects one reply per message, waiting at most
    /// `timeout_ms` for each.
    async fn exchange(&self, messages: Vec<String>, timeout_ms: u64)
    -> Result<Vec<String>, String>;

    /// Collects up to `count` messages from the stream, and the server's close.
    async fn listen(&self, count: u32) -> Result<Vec<String>, String>;

    /// Sends and receives at once on the two halves of one connection.
    async fn split_exchange(&self, messages: Vec<String>) -> Result<Vec<String>, String>;
}

struct WebsocketAgentImpl {
    url: String,
    token: String,
}

impl WebsocketAgentImpl {
    /// Opens a connection with the agent's token in a header.
    async fn connect(&self) -> Result<WebSocket, String> {
        let request = ClientRequest::new(self.url.as_str())
            .header("Authorization", format!("Bearer {}", self.token));
        WebSocket::connect_with(request).await.map_err(describe)
    }
}

#[agent_implementation]
impl WebsocketAgent for WebsocketAgentImpl {
    fn new(url: String, token: String) -> Self {
        WebsocketAgentImpl { url, token }
    }

    async fn exchange(
        &self,
        messages: Vec<String>,
        timeout_ms: u64,
    ) -> Result<Vec<String>, String> {
        let mut ws = self.connect().await?;
        let mut replies = Vec::new();
        for message in messages {
            ws.send(Message::text(message)).await.map_err(describe)?;
            match ws.recv_timeout(Duration::from_millis(timeout_ms)).await {
                Ok(reply) => replies.push(show(reply)),
                // The connection stays open after a timeout; stop waiting.
                Err(Error::Timeout) => {
                    replies.push(format!("no reply within {timeout_ms} ms"));
                    break;
                }
                Err(error) => return Err(describe(error)),
            }
        }
        ws.close(Some(CloseFrame::new(CloseCode::Normal, "done")))
            .await
            .map_err(describe)?;
        Ok(replies)
    }

    async fn listen(&self, count: u32) -> Result<Vec<String>, String> {
        let mut ws = self.connect().await?;
        let mut seen = Vec::new();
        while seen.len() < count as usize {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    // The server closed first; the stream ends after this.
                    seen.push(show(Message::Close(frame)));
                    return Ok(seen);
                }
                Some(Ok(message)) => seen.push(show(message)),
                Some(Err(error)) => return Err(describe(error)),
                None => return Ok(seen),
            }
        }
        ws.close(Some(CloseFrame::new(CloseCode::Normal, "enough")))
            .await
            .map_err(describe)?;
        Ok(seen)
    }

    async fn split_exchange(&self, messages: Vec<String>) -> Result<Vec<String>, String> {
        let (mut sender, mut receiver) = self.connect().await?.split();
        let expected = messages.len();
        let send_all = async move {
            for message in messages {
                sender.send(Message::text(message)).await?;
            }
            Ok::<_, Error>(sender)
        };
        let receive_all = async move {
            let mut replies = Vec::new();
            while replies.len() < expected {
                match receiver.next().await {
                    Some(message) => replies.push(show(message?)),
                    None => break,
                }
            }
            Ok::<_, Error>(replies)
        };
        // Both halves make progress in this one call, without a task spawn.
        let (sent, received) = future::zip(send_all, receive_all).await;
        let mut sender = sent.map_err(describe)?;
        let replies = received.map_err(describe)?;
        sender
            .close(Some(CloseFrame::new(CloseCode::Away, "going away")))
            .await
            .map_err(describe)?;
        Ok(replies)
    }
}

/// A message as the agent reports it.
fn show(message: Message) -> String {
    match message {
        Message::Text(text) => text,
        Message::Binary(data) => format!("{} bytes", data.len()),
        Message::Close(Some(frame)) => format!("closed: {frame}"),
        Message::Close(None) => "closed".to_string(),
        _ => "?".to_string(),
    }
}

/// An error as the agent reports it: the variant's text, which keeps the host's.
fn describe(error: Error) -> String {
    error.to_string()
}
