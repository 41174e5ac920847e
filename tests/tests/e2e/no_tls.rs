//! The ws://-only polyfill (`--no-default-features`, `polyfill-no-tls.wasm`):
//! composed with `echo`, it speaks ws:// and refuses a wss:// URL with a
//! connect failure that says why, without touching the network.

use std::process::Command;

use wasm_websocket_tests::fault_server::FaultServer;
use wasm_websocket_tests::wasmtime::Serve;
use wasm_websocket_tests::{components, repo_path, unused_port};

/// Composes `echo` with the ws://-only polyfill as `echo-no-tls`.
fn compose_echo_without_tls() {
    // Builds (once) every component, the ws://-only polyfill among them.
    components::composed("echo");
    let output = Command::new("wac")
        .arg("plug")
        .arg(repo_path("target/wasm32-wasip2/release/echo.wasm"))
        .arg("--plug")
        .arg(repo_path("target/composed/polyfill-no-tls.wasm"))
        .arg("-o")
        .arg(repo_path("target/composed/echo-no-tls.wasm"))
        .output()
        .expect("run wac");
    assert!(
        output.status.success(),
        "wac plug failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_ws_only_polyfill_speaks_ws_and_refuses_wss() {
    compose_echo_without_tls();
    let app = Serve::app("echo-no-tls").start();

    let server = FaultServer::start();
    let report = app.echo(&[("url", &server.url("/echo"))]).report();
    assert!(report.received[0].echo_exact, "{report:?}");

    let url = format!("wss://127.0.0.1:{}/", unused_port());
    let failure = app.echo(&[("url", &url)]).connect_failure();
    assert_eq!(failure.error_kind, "Connect", "{failure:?}");
    assert!(failure.error.contains("ws://-only build"), "{failure:?}");
}
