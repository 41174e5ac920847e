//! The Golem agent examples under test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The agent component `target/agents/<name>.wasm` (e.g. `golem-agent-p2`),
/// built once per test run by `scripts/build-agents.sh`.
pub fn agent(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(problem) = BUILT.get_or_init(build) {
        panic!("{problem}");
    }
    let path = crate::repo_path(&format!("target/agents/{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn build() -> Result<(), String> {
    let script = crate::repo_path("scripts/build-agents.sh");
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(crate::repo_root())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", script.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
