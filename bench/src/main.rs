//! `wasm-websocket-bench`: measures a wasm-websocket component (composed with
//! the polyfill, under `wasmtime run`) against a native tokio-tungstenite client,
//! both talking to the same native echo server on loopback.
//!
//! The direct client (the same app built with the feature `sockets`, not
//! composed) runs the same workloads beside the same native client
//! (`direct.rs`), and so do the WASI 0.3 client (`p3.rs`) and the test host,
//! which serves the app's golem:websocket import natively, as Golem does
//! (`testhost.rs`).
//!
//! - `wasm-websocket-bench [--quick] [--repetitions N]`: the whole benchmark
//!   (after `bash scripts/build-components.sh`); `--quick` runs each workload once
//!   with small counts, as a smoke test.
//! - `wasm-websocket-bench client <workload> <ws url> [params]`: the native
//!   client alone (what the benchmark runs as its baseline).
//! - `wasm-websocket-bench server`: the echo server alone; prints its URL.
//!
//! The harness is native only; on wasm targets this program does nothing.

#[cfg(not(target_family = "wasm"))]
mod cases;
#[cfg(not(target_family = "wasm"))]
mod client;
#[cfg(not(target_family = "wasm"))]
mod component_server;
#[cfg(not(target_family = "wasm"))]
mod direct;
#[cfg(not(target_family = "wasm"))]
mod harness;
#[cfg(not(target_family = "wasm"))]
mod p3;
#[cfg(not(target_family = "wasm"))]
mod process;
#[cfg(not(target_family = "wasm"))]
mod server;
#[cfg(not(target_family = "wasm"))]
mod table;
#[cfg(not(target_family = "wasm"))]
mod testhost;

#[cfg(not(target_family = "wasm"))]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("client") => client::main(&args[1..]),
        Some("server") => match server::EchoServer::start() {
            Ok(server) => {
                println!("{}", server.url);
                server.run_forever();
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot start the echo server: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        _ => harness::main(&args),
    }
}

#[cfg(target_family = "wasm")]
fn main() {}
