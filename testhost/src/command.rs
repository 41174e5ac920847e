//! `run`: a `wasi:cli` command (WASI 0.2 or 0.3) run once, as `wasmtime
//! run` runs it, with its oplog recorded, or replayed and then continued
//! live.

use std::path::PathBuf;

use wasmtime::Store;
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::Command;

use crate::ctx::{Ctx, Pool};
use crate::oplog::{DIVERGENCE_EXIT, Divergence, Oplog, OplogOptions};

/// What to run, and how.
#[derive(Debug, Clone)]
pub struct Run {
    /// The component (a `wasi:cli/command`).
    pub component: PathBuf,
    /// Its arguments (after its name).
    pub args: Vec<String>,
    /// Environment variables for the guest.
    pub env: Vec<(String, String)>,
    /// The oplog file: replayed if it exists, then appended to. `None`
    /// records nothing.
    pub oplog: Option<PathBuf>,
    /// How the oplog is checked and whether the run stops on purpose.
    pub oplog_options: OplogOptions,
    /// The size of the WebSocket pool.
    pub pool: usize,
}

/// Runs the command; the exit status the process should end with (the
/// guest's, 1 on a trap, [`DIVERGENCE_EXIT`] when the replay diverged).
pub async fn run(run: Run) -> wasmtime::Result<i32> {
    let (engine, component, linker) = crate::engine::load(&run.component)?;
    let pre = linker.instantiate_pre(&component)?;
    let oplog = match &run.oplog {
        Some(path) => Oplog::open(path, run.oplog_options.clone())?,
        None => Oplog::none(),
    };
    let name = run.component.display().to_string();
    let ctx = Ctx::new(oplog, Pool::new(run.pool), |wasi| {
        wasi.inherit_stdio()
            .arg(&name)
            .args(&run.args)
            .envs(&run.env);
    });
    let mut store = Store::new(&engine, ctx);
    // A WASI 0.3 command runs on wasmtime's event loop; otherwise it must
    // be a WASI 0.2 one.
    let outcome = match pre.instantiate_async(&mut store).await {
        Ok(instance) => match crate::p3::run_command(&mut store, &instance).await {
            Some(outcome) => outcome,
            None => match Command::new(&mut store, &instance) {
                Ok(command) => command.wasi_cli_run().call_run(&mut store).await,
                Err(err) => Err(err),
            },
        },
        Err(err) => Err(err),
    };
    let status = match outcome {
        Ok(Ok(())) => 0,
        Ok(Err(())) => 1,
        Err(err) => {
            if let Some(divergence) = err.downcast_ref::<Divergence>() {
                eprintln!("testhost: {divergence}");
                return Ok(DIVERGENCE_EXIT);
            }
            match err.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => {
                    eprintln!("testhost: the guest trapped: {err:?}");
                    1
                }
            }
        }
    };
    if let Some(divergence) = store.data().oplog().unreplayed() {
        eprintln!("testhost: {divergence}");
        return Ok(DIVERGENCE_EXIT);
    }
    Ok(status)
}
