//! The server figures: the `server` example (the crate's `server` feature,
//! an echo server under `wasmtime run -Sinherit-network`) against the native
//! tokio-tungstenite echo server, both driven by the same native client. In
//! these rows "component" is the component server and "native" the native
//! server.
//!
//! Beside them, the runtime's ceiling for the server: `raw-echo` (a bin of
//! examples/server) echoes the same frames with no WebSocket library on its
//! data path, unmasking them and writing what each read brought at once:
//! what is left is wasmtime's. Its rows read "server (runtime ceiling)",
//! their "component" the ceiling server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use wasm_websocket_bench::Workload;

use crate::cases::Options;
use crate::process::Client;
use crate::table::Figure;

/// A component server, killed when dropped.
struct ComponentServer {
    child: Child,
    url: String,
}

impl ComponentServer {
    /// Starts `wasm` (`server.wasm`, `raw-echo.wasm`: both take `--listen`
    /// and print `listening on ADDRESS`) on a free loopback port, with the
    /// benchmark's compilation cache, and waits until it listens.
    fn start(wasm: &Path, cache_config: &Path) -> Result<ComponentServer, String> {
        let mut child = Command::new(crate::harness::wasmtime())
            .args(["run", "-Sinherit-network"])
            .args(crate::harness::cache_args(cache_config))
            .arg(wasm)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the component server: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut server = ComponentServer {
            child,
            url: String::new(),
        };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the component server's output: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the component server did not start: {line:?}"))?;
        server.url = format!("ws://{addr}/");
        Ok(server)
    }
}

impl Drop for ComponentServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Echo throughput of the component server and of the ceiling server
/// against the native server's: the same native client against each in
/// turn, `options.repetitions` times.
pub(crate) fn figures(
    root: &Path,
    native: &Client,
    native_url: &str,
    cache_config: &Path,
    options: Options,
) -> Result<Vec<Figure>, String> {
    let mut servers = Vec::new();
    for (name, label) in [
        ("server", "server"),
        ("raw-echo", "server (runtime ceiling)"),
    ] {
        let wasm = root.join(format!("target/direct/{name}.wasm"));
        if !wasm.exists() {
            return Err(format!(
                "{} is missing: run `bash scripts/build-components.sh` first",
                wasm.display()
            ));
        }
        let server = ComponentServer::start(&wasm, cache_config)?;
        eprintln!("{label} at {}", server.url);
        servers.push((server, label));
    }
    // The workloads, and whether the ceiling server runs each: not the
    // pipelined 16 B one, where its loop (a read, then its echoes written
    // before the next read) measured below the server's own batching.
    let workloads = [
        (
            "sequential 16 B",
            Workload::Sequential {
                size: 16,
                count: options.count(20_000, 50),
            },
            true,
        ),
        (
            "pipelined (64 in flight) 16 B",
            Workload::Pipelined {
                size: 16,
                count: options.count(100_000, 500),
                window: 64,
            },
            false,
        ),
        (
            "pipelined (64 in flight) 64 KiB",
            Workload::Pipelined {
                size: 64 << 10,
                count: options.count(5_000, 100),
                window: 64,
            },
            true,
        ),
    ];
    let mut figures = Vec::new();
    for (title, workload, with_ceiling) in &workloads {
        let servers = &servers[..if *with_ceiling { 2 } else { 1 }];
        // A rate and a bandwidth figure per server, in the order of `servers`.
        let mut rows: Vec<(Figure, Figure)> = servers
            .iter()
            .map(|(_, label)| {
                let title = format!("{label}: {title}");
                (
                    Figure::new(format!("{title} msg/s"), "msg/s", None),
                    Figure::new(format!("{title} MB/s"), "MB/s", None),
                )
            })
            .collect();
        for repetition in 1..=options.repetitions {
            eprintln!("[{repetition}/{}] server: {title}", options.repetitions);
            // Each server, then the native one: all in the same minute, the
            // native run the baseline of each.
            for ((server, _), (rate, bandwidth)) in servers.iter().zip(&mut rows) {
                let run = native.run(workload, &server.url)?;
                rate.component.push(run.field("msgs_per_s"));
                bandwidth.component.push(run.field("mb_per_s"));
            }
            let run = native.run(workload, native_url)?;
            for (rate, bandwidth) in &mut rows {
                rate.native.push(run.field("msgs_per_s"));
                bandwidth.native.push(run.field("mb_per_s"));
            }
        }
        for (rate, bandwidth) in rows {
            figures.push(rate);
            figures.push(bandwidth);
        }
    }
    Ok(figures)
}
