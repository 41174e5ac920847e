//! The test host's rows: the same `bench-client` app, not composed
//! (`target/wasm32-wasip2/release/bench-client.wasm`), under
//! `wasm-websocket-testhost run` (`testhost/`, built like Golem 1.5.9's
//! executor), which serves its `golem:websocket` import natively on
//! tokio-tungstenite: no polyfill and no component-to-component copy, the
//! figures a Golem user would see. Beside the same native client,
//! alternating and repeated like the composed rows, for the workloads a
//! Golem agent meets: sequential 16 B and 64 KiB, pipelined 16 B, the round
//! trip's p50 and p99, and 1000 connections. Their rows read "(test host)";
//! their ratio is test host / native.
//!
//! The host runs with `--pool 1000`: Golem's executor holds 100 connections
//! by default, and the 1000-connection client, which opens all of them
//! before it sends, would wait forever for the 101st. No oplog is written
//! (`--oplog` not given): Golem's own oplog is not a file on this machine,
//! so its cost is left out.

use std::path::Path;

use wasm_websocket_bench::Workload;

use crate::cases::{Case, Options, Start};
use crate::process::Client;
use crate::table::Figure;

/// The test host's connection pool in these runs (see the module's docs).
const POOL: u64 = 1000;

/// Whether the test host runs `case`.
fn runs(case: &Case) -> bool {
    case.start == Start::Cached
        && match case.workload {
            Workload::Sequential { size, .. } => size == 16 || size == 64 << 10,
            Workload::Pipelined { size, .. } => size == 16,
            Workload::Latency { .. } => true,
            Workload::Concurrent { connections, .. } => connections == POOL,
            Workload::FirstEcho => false,
        }
}

/// Runs the test host's rows; the figures, and the failures met.
pub(crate) fn figures(
    root: &Path,
    cases: &[Case],
    native: &Client,
    url: &str,
    options: Options,
) -> Result<(Vec<Figure>, Vec<String>), String> {
    let host = root.join("target/release/wasm-websocket-testhost");
    let wasm = root.join("target/wasm32-wasip2/release/bench-client.wasm");
    crate::harness::built(&host, "cargo build --release -p wasm-websocket-testhost")?;
    crate::harness::built(&wasm, "bash scripts/build-components.sh")?;
    let prefix = ["run", "--pool", &POOL.to_string()]
        .map(String::from)
        .into_iter()
        .chain([wasm.display().to_string()])
        .collect();
    let testhost = Client::new(host, prefix);
    // Fills wasmtime's compilation cache, which the test host uses like the
    // wasmtime CLI (its default cache configuration).
    testhost.run(&Workload::FirstEcho, url)?;

    let cases: Vec<&Case> = cases.iter().filter(|case| runs(case)).collect();
    Ok(crate::harness::beside_native(
        &testhost,
        native,
        &cases,
        url,
        options,
        "test host",
        |_, _| None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_host_runs_the_workloads_a_golem_agent_meets() {
        for (args, quick) in [(vec![], false), (vec!["--quick".to_string()], true)] {
            let options = Options::parse(&args).unwrap();
            let titles: Vec<String> = crate::cases::cases(options)
                .iter()
                .filter(|case| runs(case))
                .map(|case| case.title.clone())
                .collect();
            let thousand = if quick {
                "1000 connections x 2 round trips 16 B"
            } else {
                "1000 connections x 20 round trips 16 B"
            };
            assert_eq!(
                titles,
                [
                    "sequential 16 B",
                    "sequential 64 KiB",
                    "pipelined (64 in flight) 16 B",
                    "round trip 16 B",
                    thousand,
                ]
            );
        }
    }
}
