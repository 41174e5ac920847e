//! The composed components under test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The composed component `target/composed/<name>.wasm` (an example app
/// plugged with the polyfill), built once per test run by
/// `scripts/build-components.sh`.
pub fn composed(name: &str) -> PathBuf {
    built();
    let path = crate::repo_path(&format!("target/composed/{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The app `target/direct/<name>.wasm` that runs the protocol engine itself
/// over wasi:sockets (the direct client, feature `sockets`, or the `server`
/// example) and runs without the polyfill. Built once per test run, with the
/// composed ones, by `scripts/build-components.sh`.
pub fn direct(name: &str) -> PathBuf {
    built();
    let path = crate::repo_path(&format!("target/direct/{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Runs `scripts/build-components.sh` once per test run.
fn built() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(problem) = BUILT.get_or_init(build) {
        panic!("{problem}");
    }
}

/// The composed WASI 0.3 component `target/composed/<name>.wasm` (a P3
/// example app plugged with the polyfill's P3 build), built once per test
/// run by `scripts/build-p3.sh`.
pub fn composed_p3(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(problem) = BUILT.get_or_init(|| run_script("scripts/build-p3.sh", &[])) {
        panic!("{problem}");
    }
    let path = crate::repo_path(&format!("target/composed/{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn build() -> Result<(), String> {
    run_script("scripts/build-components.sh", &[])
}

/// Runs a build script of the repository with `args`; its output on failure.
pub(crate) fn run_script(relative: &str, args: &[&str]) -> Result<(), String> {
    let script = crate::repo_path(relative);
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .current_dir(crate::repo_root())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", script.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} failed ({}):\n{}{}",
            script.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
