//! A user's code against the packaged crate: connect, send, read until the
//! close. Built, not run: it proves the packaged sources (and their WIT)
//! make a component library outside this repository, for either host shape.

use futures_lite::StreamExt;
use wasm_websocket::{CloseCode, CloseFrame, Message, WebSocket};

/// Sends `text` to `url` and returns the echoes until the peer closes.
pub async fn echo(url: &str, text: &str) -> wasm_websocket::Result<Vec<String>> {
    let mut ws = WebSocket::connect(url).await?;
    ws.send(Message::text(text)).await?;
    let mut seen = Vec::new();
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(text) => {
                seen.push(text);
                ws.close(Some(CloseFrame::new(CloseCode::Normal, "done")))
                    .await?;
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(seen)
}
