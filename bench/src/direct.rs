//! The direct client's rows: the `bench-client` app built with the feature
//! `sockets` (`target/direct/bench-client.wasm`: the protocol engine in the
//! app over wasi:sockets, no polyfill, no component boundary) runs each
//! workload the composed component runs from the compilation cache, beside
//! the same native client, alternating and repeated like the composed rows.
//! Its rows read "(direct)"; their ratio is direct / native.

use std::path::Path;

use crate::cases::{Case, Options, Start};
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
    crate::harness::built(&wasm, "bash scripts/build-components.sh")?;
    let direct = Client::component(&wasm, &crate::harness::cache_args(cache_config));
    // Primes the compilation cache, like the composed component's.
    direct.run(&wasm_websocket_bench::Workload::FirstEcho, url)?;

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
