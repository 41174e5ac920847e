//! `wasmtime serve` running a composed component on a free loopback port (or
//! the test host serving the same app uncomposed: [`Serve::on`]), and
//! `wasmtime run` running a composed WASI 0.3 command ([`run_p3`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::http::{self, HttpResponse};
use crate::process::Process;
use crate::testhost::Host;

/// How long a request to the app may take before the test gives up, unless
/// [`Serve::request_timeout`] says otherwise: far above any bound a test
/// checks, so that only a hang trips it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How `wasmtime serve` is started: which component, which polyfill
/// settings (environment variables), which preopened directories.
#[must_use]
pub struct Serve {
    host: Host,
    component: PathBuf,
    env: Vec<(String, String)>,
    dirs: Vec<(PathBuf, String)>,
    name_lookup: bool,
    request_timeout: Duration,
}

impl Serve {
    /// Serves the composed example `app` (see [`crate::components::composed`])
    /// with the command line of the README: `-Scli -Sinherit-network`.
    pub fn app(app: &str) -> Serve {
        Serve {
            host: Host::Polyfill,
            component: crate::components::composed(app),
            env: Vec::new(),
            dirs: Vec::new(),
            name_lookup: false,
            request_timeout: REQUEST_TIMEOUT,
        }
    }

    /// Serves the direct client `app` (see [`crate::components::direct`]):
    /// the example built with the feature `sockets`, not composed.
    pub fn direct(app: &str) -> Serve {
        Serve {
            component: crate::components::direct(app),
            ..Serve::app(app)
        }
    }

    /// Serves the example `app` on `host`: composed, as [`Serve::app`], or
    /// uncomposed under `wasm-websocket-testhost serve` (Golem's pool of 100
    /// connections, shared by all requests).
    pub fn on(host: Host, app: &str) -> Serve {
        match host {
            Host::Polyfill => Serve::app(app),
            Host::Testhost => Serve {
                host,
                component: crate::testhost::uncomposed(app),
                ..Serve::app(app)
            },
        }
    }

    /// Passes an environment variable to the guest (`--env NAME=VALUE`).
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Serve {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Preopens `host` as `guest` (`--dir HOST::GUEST`).
    pub fn dir(mut self, host: &Path, guest: &str) -> Serve {
        self.dirs.push((host.to_owned(), guest.to_owned()));
        self
    }

    /// Lets the guest resolve host names (`-Sallow-ip-name-lookup`). Tests
    /// only ever resolve `localhost`, which `/etc/hosts` answers.
    pub fn allow_name_lookup(mut self) -> Serve {
        self.name_lookup = true;
        self
    }

    /// Gives up on a request to the app after `timeout` (instead of
    /// [`REQUEST_TIMEOUT`]), so that a test whose app hangs fails quickly.
    pub fn request_timeout(mut self, timeout: Duration) -> Serve {
        self.request_timeout = timeout;
        self
    }

    /// Starts `wasmtime serve` (or the test host) on `127.0.0.1:0` and
    /// waits until it listens.
    pub fn start(self) -> ServedApp {
        if self.host == Host::Testhost {
            return self.start_testhost();
        }
        let mut command = Command::new(crate::tool("wasmtime"));
        command.args([
            "serve",
            "-Scli",
            "-Sinherit-network",
            "--addr",
            "127.0.0.1:0",
        ]);
        if self.name_lookup {
            command.arg("-Sallow-ip-name-lookup");
        }
        for (name, value) in &self.env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        for (host, guest) in &self.dirs {
            command
                .arg("--dir")
                .arg(format!("{}::{guest}", host.display()));
        }
        command.arg(&self.component);
        self.serving(Process::spawn("wasmtime serve", command))
    }

    /// `wasm-websocket-testhost serve`: the network is the host's, through
    /// `golem:websocket` only, so there is nothing to allow.
    fn start_testhost(self) -> ServedApp {
        assert!(
            self.dirs.is_empty(),
            "the test host preopens no directories"
        );
        let mut command = Command::new(crate::testhost::binary());
        command.args(["serve", "--addr", "127.0.0.1:0"]);
        for (name, value) in &self.env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        command.arg(&self.component);
        self.serving(Process::spawn("wasm-websocket-testhost serve", command))
    }

    /// The app `process` serves, once it says where (both hosts print
    /// `wasmtime serve`'s line).
    fn serving(self, mut process: Process) -> ServedApp {
        // Compiling the component can take a while on a busy machine; the
        // compilation cache makes every later start quick.
        let addr = process.wait_for_line(Duration::from_secs(300), |line| {
            line.strip_prefix("Serving HTTP on http://")?
                .trim_end_matches('/')
                .parse::<SocketAddr>()
                .ok()
        });
        ServedApp {
            addr,
            request_timeout: self.request_timeout,
            _process: process,
        }
    }
}

/// A component served by `wasmtime serve`; stopped when dropped.
pub struct ServedApp {
    addr: SocketAddr,
    request_timeout: Duration,
    /// Owned only to stop `wasmtime serve` when the app is dropped.
    _process: Process,
}

impl ServedApp {
    /// An app another host (`wash dev`, `jco serve`: [`crate::hosts`]) serves
    /// at `addr`; `process` is that host, stopped when the app is dropped.
    pub(crate) fn served_by(addr: SocketAddr, process: Process) -> ServedApp {
        ServedApp {
            addr,
            request_timeout: REQUEST_TIMEOUT,
            _process: process,
        }
    }

    /// `GET /?<query>`, the query built from `params` (URL-encoded).
    pub fn get(&self, params: &[(&str, &str)]) -> HttpResponse {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        http::get(self.addr, &format!("/?{query}"), self.request_timeout)
            .unwrap_or_else(|err| panic!("GET /?{query} from {}: {err}", self.addr))
    }
}

/// Runs the composed WASI 0.3 command `app` (see
/// [`crate::components::composed_p3`]) with `wasmtime run -Sinherit-network`
/// and `args`, and returns the JSON object it prints. Panics, with its output,
/// when it prints none within `timeout` (then it is killed) or exits first.
pub fn run_p3(app: &str, args: &[&str], timeout: Duration) -> serde_json::Value {
    let mut command = Command::new("wasmtime");
    command
        .args(["run", "-Sinherit-network"])
        .arg(crate::components::composed_p3(app))
        .args(args);
    let mut process = Process::spawn(&format!("wasmtime run {app} {args:?}"), command);
    process.wait_for_line(timeout, |line| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .filter(serde_json::Value::is_object)
    })
}
