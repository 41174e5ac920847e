//! The harness of the end-to-end tests (in `tests/e2e/`).
//!
//! In the style of wstd's test-programs: the example apps are built for
//! `wasm32-wasip2`, composed with the polyfill ([`components`]), served by the
//! real `wasmtime serve` on a free loopback port ([`wasmtime`]) and driven over
//! HTTP ([`http`], [`apps`]). Their peers are a WebSocket server of our own
//! with fault modes ([`fault_server`]) and independent implementations, the
//! Python `websockets` library ([`python`]) and node's `ws` ([`node_ws`]),
//! both read alike ([`peer`]); a feed server that goes away
//! and comes back on the same port tests reconnecting ([`restartable`]);
//! TLS material is generated per run ([`certs`]). Other hosts serve and run
//! the same components: `wash dev` and `jco serve`/`jco run` ([`hosts`]);
//! the scenarios that apply on Golem run on the polyfill and on the test
//! host (`testhost/`, built like Golem's executor) alike ([`testhost`]). The
//! server example runs under `wasmtime run` ([`component_server`]), met by
//! library clients and by a client written by hand for what no library
//! sends ([`raw_client`]).
//!
//! The Golem agent examples are built for `wasm32-wasip2` ([`agents`]) and
//! their imports and exports read with `wasm-tools component wit` ([`wit`]).
//!
//! Every process a test starts is owned by a guard ([`process::Process`]) that
//! kills it when dropped, also when the test panics, and that asks the kernel
//! to kill it should the test process itself die.

#![cfg(not(target_family = "wasm"))]

pub mod agents;
pub mod apps;
pub mod certs;
pub mod component_server;
pub mod components;
pub mod fault_server;
pub mod hosts;
pub mod http;
pub mod node_ws;
pub mod peer;
pub mod process;
pub mod python;
pub mod raw_client;
pub mod restartable;
pub mod testhost;
pub mod wasmtime;
pub mod wit;

use std::path::{Path, PathBuf};

/// The repository root (the workspace holding this crate).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the repository")
}

/// A file under the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// The program `name` (`wasmtime`, `wac`) at the version the project pins:
/// the one `scripts/setup.sh` installed in `.tools/bin/`, else `name` as found
/// on `PATH`.
pub fn tool(name: &str) -> PathBuf {
    let pinned = repo_path(&format!(".tools/bin/{name}"));
    if pinned.exists() {
        pinned
    } else {
        PathBuf::from(name)
    }
}

/// A loopback port nothing listens on (bound once, then released).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("a bound address").port()
}
