//! The test host's command line:
//!
//! ```text
//! wasm-websocket-testhost run [OPTIONS] COMPONENT [ARGS...]
//! wasm-websocket-testhost serve [--addr ADDR] [--env K=V] [--pool N] COMPONENT
//! ```
//!
//! `run` options: `--oplog FILE` (replayed if it exists, then appended to),
//! `--strict` (a replayed call must match its entry's arguments too, not only
//! its name), `--crash-at N` or `--crash-at NAME#K` (the process ends,
//! status 75, when the call that would be entry N, or the Kth call named
//! NAME, starts live), `--env K=V`, `--pool N` (WebSocket connections at
//! once, default 100).

#[cfg(not(target_family = "wasm"))]
fn main() {
    match cli::main() {
        Ok(status) => std::process::exit(status),
        Err(err) => {
            eprintln!("wasm-websocket-testhost: {err:?}");
            std::process::exit(2);
        }
    }
}

#[cfg(target_family = "wasm")]
fn main() {}

#[cfg(not(target_family = "wasm"))]
mod cli {
    use std::path::PathBuf;

    use wasm_websocket_testhost::command::{self, Run};
    use wasm_websocket_testhost::ctx::DEFAULT_POOL;
    use wasm_websocket_testhost::oplog::OplogOptions;
    use wasm_websocket_testhost::serve::{self, Serve};
    use wasmtime::error::Context as _;

    /// Parses the command line and runs; the process's exit status.
    pub(crate) fn main() -> wasmtime::Result<i32> {
        let mut args = std::env::args().skip(1);
        let mode = args.next().unwrap_or_default();
        let mut oplog = None;
        let mut options = OplogOptions::default();
        let mut env = Vec::new();
        let mut pool = DEFAULT_POOL;
        let mut addr = "127.0.0.1:8080".parse()?;
        let mut rest = Vec::new();
        while let Some(arg) = args.next() {
            let mut value =
                |name: &str| args.next().with_context(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--oplog" if rest.is_empty() => oplog = Some(PathBuf::from(value("--oplog")?)),
                "--strict" if rest.is_empty() => options.strict = true,
                "--crash-at" if rest.is_empty() => {
                    let at = value("--crash-at")?;
                    options.crash_at = Some(at.parse().map_err(wasmtime::Error::msg)?)
                }
                "--pool" if rest.is_empty() => pool = value("--pool")?.parse()?,
                "--addr" if rest.is_empty() => addr = value("--addr")?.parse()?,
                "--env" if rest.is_empty() => {
                    let pair = value("--env")?;
                    let (name, value) = pair.split_once('=').context("--env takes NAME=VALUE")?;
                    env.push((name.to_owned(), value.to_owned()));
                }
                _ => rest.push(arg),
            }
        }
        let mut rest = rest.into_iter();
        let component = PathBuf::from(rest.next().context("no component given")?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        match mode.as_str() {
            "run" => runtime.block_on(command::run(Run {
                component,
                args: rest.collect(),
                env,
                oplog,
                oplog_options: options,
                pool,
            })),
            "serve" => runtime
                .block_on(serve::serve(Serve {
                    component,
                    addr,
                    env,
                    pool,
                }))
                .map(|()| 0),
            _ => wasmtime::bail!(
                "usage: wasm-websocket-testhost run|serve [OPTIONS] COMPONENT [ARGS...]"
            ),
        }
    }
}
