//! An Autobahn testsuite client: runs every case a fuzzing server offers
//! (`kosoku -m fuzzingserver`, or Autobahn's own `wstest -m fuzzingserver`)
//! through the `wasm-websocket` API, echoing each message back until the
//! server closes, then asks the server to write its reports.
//!
//! ```text
//! autobahn-client <base ws url> <agent>
//! wasmtime run -Sinherit-network -Sallow-ip-name-lookup \
//!     target/composed/autobahn-client.wasm ws://127.0.0.1:9001 wasm-websocket
//! ```
//!
//! The protocol: `/getCaseCount` sends the number of cases as one text message;
//! `/runCase?case=N&agent=A` runs case N (1-based); `/updateReports?agent=A`
//! writes the reports. A case that ends in an error (many cases send invalid
//! frames on purpose) is reported on stderr and the run goes on; the server
//! judges each case from what it saw on the wire.

use std::process::ExitCode;

use wasm_websocket::{Error, Message, WebSocket};

#[wstd::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, agent] = args.as_slice() else {
        eprintln!("usage: autobahn-client <base ws url> <agent>");
        return ExitCode::from(2);
    };
    match run(base.trim_end_matches('/'), agent).await {
        Ok(count) => {
            eprintln!("autobahn-client: ran {count} cases");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("autobahn-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every case, then updates the reports. Returns the number of cases.
async fn run(base: &str, agent: &str) -> Result<u32, Error> {
    let agent = query_escape(agent);
    let count = case_count(base).await?;
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = echo_until_closed(&url).await {
            eprintln!("case {case}: {e}");
        }
    }
    let mut ws = open(&format!("{base}/updateReports?agent={agent}")).await?;
    wait_for_close(&mut ws).await;
    Ok(count)
}

/// Asks the server how many cases it has.
async fn case_count(base: &str) -> Result<u32, Error> {
    let mut ws = open(&format!("{base}/getCaseCount")).await?;
    let text = ws.recv().await?.into_text()?;
    wait_for_close(&mut ws).await;
    text.trim()
        .parse()
        .map_err(|_| Error::Other(format!("/getCaseCount sent {text:?}, not a number")))
}

/// Runs one case: every text and binary message goes back as it came, until
/// the server closes (`Ok`) or the connection fails (`Err`).
async fn echo_until_closed(url: &str) -> Result<(), Error> {
    let mut ws = open(url).await?;
    loop {
        match ws.recv().await {
            Ok(Message::Close(_))
            | Err(Error::ConnectionClosed(_) | Error::ConnectionReset | Error::AlreadyClosed) => {
                return Ok(());
            }
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => ws.send(message).await?,
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads until the server's close (or the end of the connection).
async fn wait_for_close(ws: &mut WebSocket) {
    while let Ok(message) = ws.recv().await {
        if message.is_close() {
            return;
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Opens a connection through the host's `golem:websocket` (the polyfill
/// composed into the app), or, built with the feature `sockets`, directly
/// over `wasi:sockets` (`WebSocket::connect_direct`): that build imports
/// no `golem:websocket` and runs without the polyfill.
#[cfg(not(feature = "sockets"))]
async fn open(url: &str) -> Result<WebSocket, Error> {
    WebSocket::connect(url).await
}

/// `open` of the direct build (feature `sockets`): see the one above.
#[cfg(feature = "sockets")]
async fn open(url: &str) -> Result<WebSocket, Error> {
    WebSocket::connect_direct(url).await
}
