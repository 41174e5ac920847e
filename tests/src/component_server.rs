//! The `server` example (a `wasi:cli` command on the crate's `server`
//! feature) under `wasmtime run -Sinherit-network`, and the Python
//! `websockets` clients that talk to it (`tests/peers/websockets_client.py`).

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::process::Process;

/// How long the server may take to start listening (the first test builds
/// the components).
const START: Duration = Duration::from_secs(120);

/// A running `server` component; stopped when dropped.
pub struct ComponentServer {
    addr: SocketAddr,
    process: Process,
}

impl ComponentServer {
    /// Starts the server on `127.0.0.1:0` with extra command-line `args`
    /// (`--protocol`, `--max-message-size`...), and waits until it listens.
    pub fn start(args: &[&str]) -> ComponentServer {
        let mut command = Command::new(crate::tool("wasmtime"));
        command
            .args(["run", "-Sinherit-network"])
            .arg(crate::components::direct("server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args);
        ComponentServer::spawn(command)
    }

    /// Starts `command`, a host running the server with `--listen
    /// 127.0.0.1:0` (`jco run`: [`crate::hosts`]), and waits until it listens.
    pub(crate) fn spawn(command: Command) -> ComponentServer {
        let mut process = Process::spawn("component server", command);
        let addr = process.wait_for_line(START, |line| {
            line.strip_prefix("listening on ")?.parse().ok()
        });
        ComponentServer { addr, process }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for an event line of the server (`closed PEER CODE REASON`...)
    /// that starts with `prefix` and returns the rest.
    pub fn wait_for_event(&mut self, prefix: &str, timeout: Duration) -> String {
        self.process
            .wait_for_line(timeout, |line| line.strip_prefix(prefix).map(str::to_owned))
    }

    /// Runs one scenario of the Python client against the server and returns
    /// the JSON it printed.
    pub fn python_client(&self, scenario: &str, args: &[&str]) -> serde_json::Value {
        let output = Command::new(crate::repo_path(".venv/bin/python"))
            .arg(crate::repo_path("tests/peers/websockets_client.py"))
            .arg(scenario)
            .arg(self.addr.to_string())
            .args(args)
            .output()
            .expect("run the Python client");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the Python client ({scenario} {args:?}) failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("the Python client printed no JSON ({e}):\n{stdout}"))
    }
}
