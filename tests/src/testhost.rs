//! The two hosts a default-mode app meets, for the scenarios that run on
//! both ([`Host`]): the polyfill (the app composed with it, under the real
//! `wasmtime serve`) and the test host (`testhost/`, a native host built
//! like Golem 1.5.9's executor, serving the same app uncomposed: it provides
//! `golem:websocket` itself). The test host is built once per test run, in
//! release, like `just test` builds it ([`binary`]).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Where a default-mode app runs. The two differ by design where
/// `wit/README.md` says so; a scenario that meets such a difference asserts
/// each host's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// Composed with the polyfill (`target/composed/<app>.wasm`), under
    /// `wasmtime serve -Scli -Sinherit-network`.
    Polyfill,
    /// Uncomposed (`target/wasm32-wasip2/release/<app>.wasm`), under
    /// `wasm-websocket-testhost serve` with Golem's pool of 100 connections.
    Testhost,
}

/// `target/release/wasm-websocket-testhost`, built once per test run (a
/// no-op after `just test` built it; minutes from scratch).
pub fn binary() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo(&["build", "--release", "-p", "wasm-websocket-testhost"]);
        crate::repo_path("target/release/wasm-websocket-testhost")
    })
}

/// The example `name` as built for wasm32-wasip2, not composed
/// (`target/wasm32-wasip2/release/<name>.wasm`): what the test host serves.
/// `scripts/build-components.sh` builds it (once per test run) before it
/// composes it.
pub fn uncomposed(name: &str) -> PathBuf {
    // The composed one is built from it, by the same script.
    crate::components::composed(name);
    let path = crate::repo_path(&format!("target/wasm32-wasip2/release/{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Runs `cargo` with `args` in the repository, without what cargo set for
/// the test binary that runs it: those variables would reach build scripts
/// that watch them (ring's watches `CARGO_MANIFEST_DIR`) and rebuild them.
/// Panics when the build fails.
pub fn cargo(args: &[&str]) {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(crate::repo_root());
    for (name, _) in std::env::vars() {
        if [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_PRIMARY_",
            "CARGO_TARGET_TMPDIR",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(name);
        }
    }
    let status = command.status().expect("run cargo");
    assert!(status.success(), "cargo {args:?} failed");
}
