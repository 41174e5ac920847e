//! The Golem agent examples under test.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// The agent component `target/agents/golem-agent-<generation>.wasm`
/// (`generation` is `p2` or `p3`), built once per test run by
/// `scripts/build-agents.sh <generation>`.
pub fn agent(generation: &str) -> PathBuf {
    type Builds = Mutex<BTreeMap<String, Arc<OnceLock<Result<(), String>>>>>;
    static BUILDS: OnceLock<Builds> = OnceLock::new();
    let once = BUILDS
        .get_or_init(Default::default)
        .lock()
        .expect("no test panicked holding the lock")
        .entry(generation.to_string())
        .or_default()
        .clone();
    // One build per generation; the two generations may build at once.
    if let Err(problem) = once.get_or_init(|| build(generation)) {
        panic!("{problem}");
    }
    let path = crate::repo_path(&format!("target/agents/golem-agent-{generation}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn build(generation: &str) -> Result<(), String> {
    crate::components::run_script("scripts/build-agents.sh", &[generation])
}
