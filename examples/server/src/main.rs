//! `server`: a `wasi:cli` command that listens on a `wasi:sockets` TCP
//! address and echoes every text and binary message back to its sender, each
//! connection in a task of its own.
//!
//! ```text
//! scripts/build-components.sh server
//! wasmtime run -Sinherit-network target/direct/server.wasm --listen 127.0.0.1:9001
//! ```
//!
//! It prints `listening on ADDRESS` once it listens (port 0 picks a free
//! port), then one line per event: `accepted PEER PATH PROTOCOL`,
//! `refused PEER STATUS`, `closed PEER CODE REASON` (the client's close
//! frame; `-` for none), `ended PEER ERROR`.
//!
//! Options: `--listen ADDRESS` (default `127.0.0.1:0`), `--protocol P`
//! (repeatable: the subprotocols it speaks, preferred first; it picks the
//! first of these the client offers), `--max-message-size BYTES`,
//! `--max-frame-size BYTES`, `--handshake-timeout-ms MS`,
//! `--close-timeout-ms MS` (`max` for either: `Duration::MAX`),
//! `--max-connections N`, `--backlog N` ([`ServerConfig`]; its defaults
//! otherwise), `--pongs` (receive the clients' pongs: `ServerConfig::pongs`),
//! `--keepalive-ms I,T` (`ServerConfig::keepalive`: ping a client silent
//! for I ms, give up on it T ms later).
//!
//! Paths: `/refuse/STATUS` is refused with that HTTP status;
//! `/close/CODE` is accepted and closed by the server at once with that
//! close code; `/ping/PAYLOAD` is accepted, pinged with PAYLOAD, and, with
//! `--pongs`, sent the text `pong:PAYLOAD` once the client's pong arrived;
//! every path echoes.

use std::io::Write as _;
use std::time::Duration;

use futures_lite::StreamExt;
use wasm_websocket::server::{Incoming, Listener, ServerConfig};
use wasm_websocket::{CloseFrame, Error, Message, WebSocket};

struct Options {
    listen: String,
    protocols: Vec<String>,
    config: ServerConfig,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        listen: "127.0.0.1:0".to_string(),
        protocols: Vec::new(),
        config: ServerConfig::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        let millis = |v: String| match v.as_str() {
            "max" => Ok(Duration::MAX),
            _ => number(v).map(Duration::from_millis),
        };
        let config = options.config.clone();
        match flag.as_str() {
            "--listen" => options.listen = value()?,
            "--protocol" => options.protocols.push(value()?),
            "--max-message-size" => {
                options.config = config.max_message_size(number(value()?)? as usize)
            }
            "--max-frame-size" => {
                options.config = config.max_frame_size(number(value()?)? as usize)
            }
            "--handshake-timeout-ms" => {
                options.config = config.handshake_timeout(millis(value()?)?)
            }
            "--close-timeout-ms" => options.config = config.close_timeout(millis(value()?)?),
            "--max-connections" => {
                options.config = config.max_connections(number(value()?)? as usize)
            }
            "--backlog" => {
                let backlog = u32::try_from(number(value()?)?)
                    .map_err(|_| format!("{flag}: at most {}", u32::MAX))?;
                options.config = config.backlog(backlog)
            }
            "--pongs" => options.config = config.pongs(true),
            "--keepalive-ms" => {
                let pair = value()?;
                let (interval, timeout) = pair
                    .split_once(',')
                    .ok_or(format!("{flag}: expected I,T, got {pair}"))?;
                options.config = config.keepalive(
                    Duration::from_millis(number(interval.to_owned())?),
                    Duration::from_millis(number(timeout.to_owned())?),
                )
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

/// One line on stdout, at once (the tests read them as they come).
fn say(line: String) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[wstd::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    let listener = Listener::bind_with(&options.listen, options.config)
        .await
        .map_err(|e| e.to_string())?;
    say(format!("listening on {}", listener.local_addr()));
    loop {
        let incoming = listener.accept().await.map_err(|e| e.to_string())?;
        let protocols = options.protocols.clone();
        wstd::runtime::spawn(async move {
            let peer = incoming.peer_addr();
            if let Err(e) = serve(incoming, &protocols).await {
                say(format!("ended {peer} {e}"));
            }
        })
        .detach();
    }
}

async fn serve(incoming: Incoming, protocols: &[String]) -> Result<(), Error> {
    let peer = incoming.peer_addr();
    let path = incoming.path().to_string();
    if let Some(status) = path.strip_prefix("/refuse/") {
        let status = status.parse().unwrap_or(400);
        say(format!("refused {peer} {status}"));
        return incoming.refuse(status, "refused on request").await;
    }
    let chosen = protocols
        .iter()
        .find(|p| incoming.protocols().contains(p))
        .cloned();
    let mut ws = match &chosen {
        Some(protocol) => incoming.accept_with(protocol).await?,
        None => incoming.accept().await?,
    };
    say(format!(
        "accepted {peer} {path} {}",
        chosen.as_deref().unwrap_or("-")
    ));
    if let Some(code) = path.strip_prefix("/close/") {
        let code: u16 = code.parse().unwrap_or(1000);
        return ws
            .close(Some(CloseFrame::new(code, "closed on request")))
            .await;
    }
    if let Some(payload) = path.strip_prefix("/ping/") {
        ws.ping(payload.as_bytes()).await?;
    }
    echo(&mut ws, peer).await
}

async fn echo(ws: &mut WebSocket, peer: std::net::SocketAddr) -> Result<(), Error> {
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Close(frame)) => {
                say(format!("closed {peer} {}", describe(frame.as_ref())));
            }
            Ok(Message::Pong(payload)) => {
                let text = format!("pong:{}", String::from_utf8_lossy(&payload));
                ws.send(Message::text(text)).await?
            }
            Ok(message) => ws.send(message).await?,
            Err(Error::ConnectionReset) => say(format!("closed {peer} {}", describe(None))),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn describe(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("{} {}", u16::from(frame.code), frame.reason),
        None => "-".to_string(),
    }
}
