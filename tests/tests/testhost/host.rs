//! The test host (`testhost/`, built in release) running the
//! `golem-scenarios` example, and its oplog.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use wasm_websocket_tests::process::die_with_parent;
use wasm_websocket_tests::{repo_path, testhost};

/// The exit status of a run the host crashed on purpose (`--crash-at`).
pub const CRASHED: i32 = 75;
/// The exit status of a replay that diverged.
pub const DIVERGED: i32 = 3;

/// How long one run may take before the test gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The test host binary and the scenarios component, built once per test
/// run (`just test` built them before; then this is a no-op).
pub fn built() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let binary = testhost::binary().clone();
        testhost::cargo(&[
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "golem-scenarios",
        ]);
        (
            binary,
            repo_path("target/wasm32-wasip2/release/golem-scenarios.wasm"),
        )
    })
}

/// One run of the host: how it ended and what it printed.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status.
    pub status: i32,
    /// The scenario's JSON line (the last one printed), if any.
    pub line: Option<Value>,
    /// Everything on stderr.
    pub stderr: String,
}

impl Outcome {
    /// The scenario's `ok` value; panics with the outcome otherwise.
    pub fn ok(&self) -> &str {
        self.line
            .as_ref()
            .and_then(|line| line["ok"].as_str())
            .unwrap_or_else(|| panic!("no ok result: {self:?}"))
    }

    /// The scenario's `error`; panics with the outcome otherwise.
    pub fn error(&self) -> &str {
        self.line
            .as_ref()
            .and_then(|line| line["error"].as_str())
            .unwrap_or_else(|| panic!("no error result: {self:?}"))
    }
}

/// A run of `golem-scenarios` with `args` on the test host, with the
/// options `host` (`--oplog FILE`, `--strict`, `--crash-at ..`).
pub fn run(host: &[&str], args: &[&str]) -> Outcome {
    run_component(&built().1, host, args)
}

/// A run of `component` with `args` on the test host, with the options
/// `host`.
pub fn run_component(component: &Path, host: &[&str], args: &[&str]) -> Outcome {
    let (binary, _) = built();
    let mut command = Command::new(binary);
    command
        .arg("run")
        .args(host)
        .arg(component)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut command);
    let mut child = command.spawn().expect("start the test host");
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the test host") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the test host ran {args:?} for more than {RUN_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    let line = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .next_back();
    Outcome {
        status: status.code().unwrap_or(-1),
        line,
        stderr,
    }
}

fn read_all(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
}

/// The entries of an oplog file, one JSON value a line.
pub fn entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read the oplog")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an oplog line"))
        .collect()
}

/// Writes `entries` as an oplog file.
pub fn write_entries(path: &Path, entries: &[Value]) {
    let text: String = entries.iter().map(|entry| format!("{entry}\n")).collect();
    std::fs::write(path, text).expect("write the oplog");
}

/// The names of the calls in an oplog, in order.
pub fn calls(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry["call"].as_str().unwrap_or_default().to_owned())
        .collect()
}
