//! The smallest useful app built on wasm-websocket: connects to the URL given
//! as its argument, sends "hello", prints the reply and closes.
//!
//! The benchmark compares its release size with `minimal-without-sdk`, the same
//! program shape without the SDK; the difference is what the SDK adds to an app.

use wasm_websocket::{Message, WebSocket};

#[wstd::main]
async fn main() -> wasm_websocket::Result<()> {
    let url = std::env::args().nth(1).unwrap_or_default();
    let mut ws = WebSocket::connect(&url).await?;
    ws.send(Message::text("hello")).await?;
    println!("{}", ws.recv().await?.into_text()?);
    ws.close(None).await
}
