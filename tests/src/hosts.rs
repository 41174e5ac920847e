//! Hosts other than wasmtime: `wash dev` (wasmCloud) and `jco serve` (Node)
//! serving a `wasi:http` component, and `jco run` running the `server`
//! example (a `wasi:cli` command). The tools are the pinned ones
//! `scripts/setup.sh` installs: `wash` in `.tools/bin/`, jco in
//! `tests/jco/node_modules/`.
//!
//! On wash the guest's `127.0.0.1` is its own virtual loopback: it reaches
//! the machine's loopback as [`WASH_LOOPBACK`], on the ports its project
//! allows. Under jco the guest shares the machine's network.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::component_server::ComponentServer;
use crate::process::Process;
use crate::wasmtime::ServedApp;

/// The name under which a wash workload reaches the machine's loopback.
pub const WASH_LOOPBACK: &str = "host.wasmcloud.internal";

/// How long a host may take to get ready: both compile (wash) or transpile
/// (jco) the component first, which takes 10-20 s on a busy machine.
const START: Duration = Duration::from_secs(300);

/// Something a host runs, and the folder the host works in: removed once
/// the host was stopped (when this is dropped).
pub struct Hosted<T> {
    running: T,
    _folder: TempDir,
}

impl<T> Deref for Hosted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.running
    }
}

impl<T> DerefMut for Hosted<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.running
    }
}

/// Serves `component` under `wash dev` on a free loopback port, from a
/// project folder made for it: `.wash/config.yaml` with `build.command:
/// "true"` (the component is prebuilt), `build.component_path`,
/// `dev.address`, and a workload allowed to look up [`WASH_LOOPBACK`] and
/// to reach the machine's loopback on `loopback_ports`. Returns once wash
/// says it listens for HTTP requests (before that, it answers 404).
pub fn wash_dev(component: &Path, loopback_ports: &[u16]) -> Hosted<ServedApp> {
    let folder = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(folder.path().join(".wash")).expect("create .wash/");
    let ports = loopback_ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        "build:\n  command: \"true\"\n  component_path: {component}\n\
         dev:\n  address: 127.0.0.1:0\n\
         workload:\n  allowedIpNameLookups: [\"{WASH_LOOPBACK}\"]\n  \
         allowedHostLoopbackPorts: [{ports}]\n",
        component = component.display(),
    );
    std::fs::write(folder.path().join(".wash/config.yaml"), config).expect("write the config");
    let mut command = Command::new(crate::tool("wash"));
    command
        .args(["dev", "--non-interactive"])
        .current_dir(folder.path());
    let mut process = Process::spawn("wash dev", command);
    // Port 0: the first line names the port the HTTP server took; the
    // later "listening for HTTP requests" says it is ready (and names :0).
    let addr = process.wait_for_line(START, |line| {
        line.split_once("HTTP server listening addr=")?
            .1
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    process.wait_for_line(START, |line| {
        line.contains("listening for HTTP requests").then_some(())
    });
    Hosted {
        running: ServedApp::served_by(addr, process),
        _folder: folder,
    }
}

/// Serves `component` under `jco serve` (transpiled into a folder of its
/// own) on a free loopback port; returns once it listens.
pub fn jco_serve(component: &Path) -> Hosted<ServedApp> {
    let folder = tempfile::tempdir().expect("a temporary directory");
    let port = crate::unused_port();
    let mut command = jco(folder.path());
    command
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--jco-dir")
        .arg(folder.path().join("transpiled"))
        .arg(component);
    let mut process = Process::spawn("jco serve", command);
    let addr = process.wait_for_line(START, |line| {
        line.strip_prefix("Server listening @ ")?
            .trim_end_matches("...")
            .parse()
            .ok()
    });
    Hosted {
        running: ServedApp::served_by(addr, process),
        _folder: folder,
    }
}

/// Runs the `server` example (`target/direct/server.wasm`) under `jco run`
/// with `--listen 127.0.0.1:0` and `args`; returns once it listens.
pub fn jco_run_server(args: &[&str]) -> Hosted<ComponentServer> {
    let folder = tempfile::tempdir().expect("a temporary directory");
    let mut command = jco(folder.path());
    command
        .arg("run")
        .arg("--jco-dir")
        .arg(folder.path().join("transpiled"))
        .arg(crate::components::direct("server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args);
    Hosted {
        running: ComponentServer::spawn(command),
        _folder: folder,
    }
}

/// `jco` of `tests/jco/`, run in `folder`, with the preload that ends the
/// component's Node process when jco is stopped (jco starts it as a child
/// of its own and does not pass a kill on).
fn jco(folder: &Path) -> Command {
    let installed = crate::repo_path("tests/jco/node_modules/.bin/jco");
    assert!(
        installed.exists(),
        "{} is missing: run scripts/setup.sh",
        installed.display()
    );
    let preload: PathBuf = crate::repo_path("tests/jco/exit-with-parent.cjs");
    let mut command = Command::new(installed);
    command
        .current_dir(folder)
        .env("JCO_RUN_ARGS", format!("--require {}", preload.display()));
    command
}
