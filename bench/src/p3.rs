//! The WASI 0.3 rows: `examples-p3/bench-client` (the crate's `p3` feature,
//! the app shape of golem-rust 3.x) composed with the polyfill's P3 build
//! (`target/composed/p3-bench-client.wasm`, from `scripts/build-p3.sh`) runs
//! sequential 16 B and 64 KiB, pipelined 16 B, the 16 B round trip's p50 and
//! p99, and the first echo from the compilation cache, beside the same native
//! client, alternating and repeated like the composed rows. Its rows read
//! "(p3)"; their ratio is p3 / native. The goal of issue 23: p50 and p99 at
//! 16 B within 2x of native.

use std::path::Path;

use wasm_websocket_bench::Workload;

use crate::cases::{Case, Options, Start};
use crate::process::Client;
use crate::table::{Figure, Goal};

/// The cases of `cases` the P3 client runs: those named in the file comment.
fn selected(case: &Case) -> bool {
    case.start == Start::Cached
        && match case.workload {
            Workload::Sequential { size, .. } => size == 16 || size == 64 << 10,
            Workload::Pipelined { size, .. } => size == 16,
            Workload::Latency { .. } | Workload::FirstEcho => true,
            Workload::Concurrent { .. } => false,
        }
}

/// The goal of a P3 row: the round trip's p50 and p99 within 2x of native.
fn goal(case: &Case, label: &str) -> Option<Goal> {
    matches!(case.workload, Workload::Latency { .. })
        .then_some(Goal::RatioAtMost(2.0))
        .filter(|_| label == "p50" || label == "p99")
}

/// Runs the P3 client's rows; the figures, and the failures met.
pub(crate) fn figures(
    root: &Path,
    cases: &[Case],
    native: &Client,
    url: &str,
    options: Options,
    cache_config: &Path,
) -> Result<(Vec<Figure>, Vec<String>), String> {
    let wasm = root.join("target/composed/p3-bench-client.wasm");
    let p3 = crate::harness::primed_component(&wasm, &Workload::FirstEcho, url, cache_config)?;

    let cases: Vec<&Case> = cases.iter().filter(|case| selected(case)).collect();
    Ok(crate::harness::beside_native(
        &p3, native, &cases, url, options, "p3", goal,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{cases, titles_of};

    #[test]
    fn the_p3_rows_are_the_ones_issue_23_asks_for() {
        let all = cases(Options::parse(&[]).unwrap());
        assert_eq!(
            titles_of(selected),
            [
                "sequential 16 B",
                "sequential 64 KiB",
                "pipelined (64 in flight) 16 B",
                "round trip 16 B",
                "first echo (compilation cache, -C cache=y)",
            ]
        );
        let latency = all.iter().find(|c| c.title == "round trip 16 B").unwrap();
        assert_eq!(goal(latency, "p50"), Some(Goal::RatioAtMost(2.0)));
        assert_eq!(goal(latency, "p99"), Some(Goal::RatioAtMost(2.0)));
        let sequential = all.iter().find(|c| c.title == "sequential 16 B").unwrap();
        assert_eq!(goal(sequential, "msg/s"), None);
    }
}
