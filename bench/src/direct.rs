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
    if !wasm.exists() {
        return Err(format!(
            "{} is missing: run `bash scripts/build-components.sh` first",
            wasm.display()
        ));
    }
    let direct = Client::component(&wasm, &crate::harness::cache_args(cache_config));
    // Primes the compilation cache, like the composed component's.
    direct.run(&wasm_websocket_bench::Workload::FirstEcho, url)?;

    let cases: Vec<&Case> = cases.iter().filter(|c| c.start == Start::Cached).collect();
    let mut figures: Vec<Figure> = cases
        .iter()
        .flat_map(|case| {
            case.measures
                .iter()
                .map(|m| Figure::new(format!("{} {} (direct)", case.title, m.label), m.unit, None))
        })
        .collect();
    let mut failures = Vec::new();
    for repetition in 1..=options.repetitions {
        let mut index = 0;
        for case in &cases {
            eprintln!(
                "[{repetition}/{}] {} (direct)",
                options.repetitions, case.title
            );
            let runs = [&direct, native].map(|client| client.run(&case.workload, url));
            crate::harness::record(case, &runs, &mut figures[index..], &mut failures);
            index += case.measures.len();
        }
    }
    Ok((figures, failures))
}
