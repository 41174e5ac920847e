//! Running one client process and measuring it from the outside: when its report
//! line appeared, its peak resident memory (`VmHWM`) and its CPU time (`wait4`).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use wasm_websocket_bench::Workload;

/// How long one client run may take before it is killed (the longest, the
/// component with 5000 connections, takes about a minute on a loaded 2-core
/// machine).
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// One of the two clients under comparison.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    program: PathBuf,
    /// Arguments before the workload's own.
    prefix: Vec<String>,
}

/// What one client run produced.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The client's JSON report (see `wasm_websocket_bench::Report`).
    pub(crate) report: Value,
    /// From spawning the process to reading its report line.
    pub(crate) until_report: Duration,
    /// Peak resident set size of the process, in bytes (sampled every 5 ms).
    pub(crate) peak_rss: u64,
    /// User plus system CPU time of the process.
    pub(crate) cpu: Duration,
}

impl Client {
    /// The native tokio-tungstenite client: this program's `client` subcommand.
    pub(crate) fn native(program: PathBuf) -> Client {
        Client {
            program,
            prefix: vec!["client".into()],
        }
    }

    /// `program` with `prefix` before the workload's arguments (the test
    /// host: `wasm-websocket-testhost run --pool N bench-client.wasm`).
    pub(crate) fn new(program: PathBuf, prefix: Vec<String>) -> Client {
        Client { program, prefix }
    }

    /// The `bench-client` component (composed with the polyfill, or
    /// precompiled by `wasmtime compile`) under `wasmtime run`, with `flags`
    /// (the compilation cache's, `--allow-precompiled`) before the component.
    pub(crate) fn component(wasm: &Path, flags: &[String]) -> Client {
        let mut prefix = vec!["run".to_string()];
        prefix.extend(flags.iter().cloned());
        prefix.extend([
            "-Sinherit-network".into(),
            "-Sallow-ip-name-lookup".into(),
            wasm.display().to_string(),
        ]);
        Client {
            program: crate::harness::wasmtime(),
            prefix,
        }
    }

    /// Runs `workload` against `url` once.
    pub(crate) fn run(&self, workload: &Workload, url: &str) -> Result<Run, String> {
        let command_line = || {
            let mut words = vec![self.program.display().to_string()];
            words.extend(self.prefix.iter().cloned());
            words.extend(workload.args(url));
            words.join(" ")
        };
        let start = Instant::now();
        // A backtrace captured for every error the runtime makes and drops
        // costs the P3 path about 5 % of its CPU (wasmtime 48): measured
        // clients run without one, whatever the shell has set.
        let mut child = Command::new(&self.program)
            .args(&self.prefix)
            .args(workload.args(url))
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", command_line()))?;
        let pid = child.id();
        let watch = Watch::start(pid, TIME_LIMIT);
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let until_report = start.elapsed();
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        // `wait4` reaps the child itself, so `child` is not waited on.
        let waited = wait4(pid);
        let watched = watch.stop();
        let (status, usage) =
            waited.map_err(|e| format!("cannot wait for `{}`: {e}", command_line()))?;
        if watched.killed {
            return Err(format!(
                "`{}` was killed after running for {} s",
                command_line(),
                TIME_LIMIT.as_secs()
            ));
        }
        let stderr = stderr.join().unwrap_or_default();
        if !status.success() || read.is_err() || line.trim().is_empty() {
            return Err(format!(
                "`{}` failed ({status}): {}",
                command_line(),
                stderr.trim()
            ));
        }
        let report: Value = serde_json::from_str(&line)
            .map_err(|e| format!("`{}` printed {line:?}: {e}", command_line()))?;
        let delivered = report.get("messages").and_then(Value::as_u64);
        if delivered != Some(workload.messages()) {
            return Err(format!(
                "`{}` delivered {} of {} messages",
                command_line(),
                delivered.map_or("?".into(), |n| n.to_string()),
                workload.messages()
            ));
        }
        Ok(Run {
            report,
            until_report,
            peak_rss: watched.peak_rss,
            cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        })
    }
}

impl Run {
    /// A number from the report; 0 when absent.
    pub(crate) fn field(&self, name: &str) -> f64 {
        self.report.get(name).and_then(Value::as_f64).unwrap_or(0.0)
    }
}

/// Watches a running process: follows its peak resident set size (`VmHWM`) and
/// kills it when it runs past its time limit.
///
/// `wait4`'s `ru_maxrss` cannot be used for the peak: Linux carries it over from
/// the forked copy of this (large) process across `exec`.
struct Watch {
    stop: Arc<AtomicBool>,
    watcher: std::thread::JoinHandle<Watched>,
}

/// What a [`Watch`] saw.
struct Watched {
    /// The largest `VmHWM`, in bytes.
    peak_rss: u64,
    /// The process was killed for running too long.
    killed: bool,
}

impl Watch {
    /// How often `/proc/<pid>/status` is read.
    const INTERVAL: Duration = Duration::from_millis(5);

    fn start(pid: u32, limit: Duration) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + limit;
        let watcher = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut watched = Watched {
                    peak_rss: 0,
                    killed: false,
                };
                while !stop.load(Ordering::Relaxed) {
                    match vm_hwm(pid) {
                        Some(bytes) => watched.peak_rss = watched.peak_rss.max(bytes),
                        None if watched.peak_rss > 0 => break,
                        None => {}
                    }
                    if !watched.killed && Instant::now() > deadline {
                        // SAFETY: plain syscall; the process is our unreaped child,
                        // so `pid` cannot have been reused.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                        watched.killed = true;
                    }
                    std::thread::sleep(Self::INTERVAL);
                }
                watched
            }
        });
        Watch { stop, watcher }
    }

    fn stop(self) -> Watched {
        self.stop.store(true, Ordering::Relaxed);
        self.watcher.join().unwrap_or(Watched {
            peak_rss: 0,
            killed: false,
        })
    }
}

/// `VmHWM` of process `pid` in bytes; `None` once it has exited.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Waits for process `pid` to end; its exit status and resource usage.
fn wait4(pid: u32) -> std::io::Result<(ExitStatus, libc::rusage)> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status = 0;
    // SAFETY: rusage is plain data, valid when zeroed; wait4 writes both
    // out-parameters, which live for the whole call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above.
        let result = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if result == pid {
            return Ok((ExitStatus::from_raw(status), usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// CPU time (user + system) used so far by this process, all threads.
pub(crate) fn own_cpu() -> Duration {
    // SAFETY: rusage is plain data, valid when zeroed; getrusage fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// Raises this process's open-file limit (which the clients inherit) to its
/// hard limit, and returns the limit now in force: the echo server holds one
/// socket per connection, and so does each client.
pub(crate) fn raise_fd_limit() -> u64 {
    // SAFETY: rlimit is plain data, valid when zeroed; getrlimit fills it in.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RLIMIT_NOFILE is always valid.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    // An unlimited hard limit still stops at the kernel's nr_open.
    let wanted = limit.rlim_max.min(1 << 20);
    if limit.rlim_cur < wanted {
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: plain syscall with a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = wanted;
        }
    }
    limit.rlim_cur
}
