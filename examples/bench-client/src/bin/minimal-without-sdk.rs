//! The baseline of `minimal-with-sdk`: the same `#[wstd::main]` program shape
//! (an argument read, one wait on the wstd reactor, a line printed, an error
//! type returned) without wasm-websocket.

use std::time::Duration;

#[wstd::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::args().nth(1).unwrap_or_default();
    wstd::task::sleep(Duration::from_millis(1).into()).await;
    println!("{url}");
    Ok(())
}
