//! The direct client's rows: the `bench-client` app built with the feature
//! `sockets` (`target/direct/bench-client.wasm`: the protocol engine in the
//! app over wasi:sockets, no polyfill, no component boundary) runs each
//! workload the composed component runs from the compilation cache, beside
//! the same native client, alternating and repeated like the composed rows.
//! Its rows read "(direct)"; their ratio is direct / native.
//!
//! Beside them, the runtime's ceiling for the pipelined 64 KiB row:
//! `target/direct/raw-pipe.wasm` (examples/bench-client's `raw-pipe`) runs
//! the same workload with no WebSocket library, one `write` of a prebuilt
//! frame per message and only the echoes' bytes counted: what is left is
//! wasmtime's. Its rows read "(runtime ceiling)". (Not at 16 B: one write
//! per message is no ceiling there, where the direct client sends ahead and
//! writes many messages at once.)

use std::path::Path;

use wasm_websocket_bench::Workload;

use crate::cases::{Case, Options, Start};
use crate::harness::primed_component;
use crate::process::Client;
use crate::table::Figure;

/// Runs the direct client's rows; the figures, and the failures met.
pub(crate) fn figures(
    root: &Path,
    cases: &[Case],
    native: &Client,
    url: &str,
    options: Options,
    cache_config: &Path,
) -> Result<(Vec<Figure>, Vec<String>), String> {
    let wasm = root.join("target/direct/bench-client.wasm");
    let direct = primed_component(&wasm, &Workload::FirstEcho, url, cache_config)?;
    let cases: Vec<&Case> = cases.iter().filter(|c| c.start == Start::Cached).collect();
    Ok(crate::harness::beside_native(
        &direct,
        native,
        &cases,
        url,
        options,
        "direct",
        |_, _| None,
    ))
}

/// The cases the runtime's ceiling runs: the pipelined ones of 64 KiB and
/// more, from the compilation cache.
fn ceiling_case(case: &Case) -> bool {
    case.start == Start::Cached
        && matches!(case.workload, Workload::Pipelined { size, .. } if size >= 64 << 10)
}

/// Runs the runtime's ceiling beside the native client: the pipelined
/// 64 KiB row under `raw-pipe`; the figures, and the failures met.
pub(crate) fn ceiling_figures(
    root: &Path,
    cases: &[Case],
    native: &Client,
    url: &str,
    options: Options,
    cache_config: &Path,
) -> Result<(Vec<Figure>, Vec<String>), String> {
    let wasm = root.join("target/direct/raw-pipe.wasm");
    let prime = Workload::Pipelined {
        size: 16,
        count: 10,
        window: 1,
    };
    let raw = primed_component(&wasm, &prime, url, cache_config)?;

    let cases: Vec<&Case> = cases.iter().filter(|case| ceiling_case(case)).collect();
    Ok(crate::harness::beside_native(
        &raw,
        native,
        &cases,
        url,
        options,
        "runtime ceiling",
        |_, _| None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::titles_of;

    #[test]
    fn the_ceiling_runs_the_pipelined_64_kib_row_only() {
        assert_eq!(titles_of(ceiling_case), ["pipelined (64 in flight) 64 KiB"]);
    }
}
