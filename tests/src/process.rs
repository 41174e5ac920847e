//! Child processes that cannot outlive their test.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// A running child process, killed when dropped.
///
/// Its stdout and stderr are collected line by line; [`Process::wait_for_line`]
/// waits for a line, and a test that panics prints them, which is usually the
/// best clue to what went wrong. The kernel kills the child as well when the
/// thread that started it ends (`PR_SET_PDEATHSIG`), so even a test process
/// that is killed leaves nothing behind.
pub struct Process {
    name: String,
    child: Child,
    output: Arc<Output>,
}

#[derive(Default)]
struct Output {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// Has the kernel kill the program `command` starts when the thread that
/// started it ends (`PR_SET_PDEATHSIG`), so that a test that dies takes its
/// children along.
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

impl Process {
    /// Starts `command` with piped output; `name` labels it in messages.
    pub fn spawn(name: &str, mut command: Command) -> Process {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        let output = Arc::new(Output::default());
        collect_lines(child.stdout.take().expect("piped stdout"), &output);
        collect_lines(child.stderr.take().expect("piped stderr"), &output);
        Process {
            name: name.to_owned(),
            child,
            output,
        }
    }

    /// Waits until a line of output makes `parse` return `Some`, and returns
    /// that. Panics, with the output so far, after `timeout` or when the
    /// process exits first.
    pub fn wait_for_line<T>(&mut self, timeout: Duration, parse: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        let mut lines = self.output.lines.lock().unwrap();
        loop {
            if let Some(found) = lines[seen..].iter().find_map(|line| parse(line)) {
                return found;
            }
            seen = lines.len();
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "{} printed no expected line within {timeout:?}:\n{}",
                    self.name,
                    lines.join("\n")
                );
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the readers a moment to pick up the last lines.
                drop(lines);
                thread::sleep(Duration::from_millis(100));
                let lines = self.output.lines.lock().unwrap();
                panic!(
                    "{} exited ({status}) before printing the expected line:\n{}",
                    self.name,
                    lines.join("\n")
                );
            }
            let wait = (deadline - now).min(Duration::from_millis(200));
            lines = self.output.changed.wait_timeout(lines, wait).unwrap().0;
        }
    }

    /// Everything printed so far, one entry per line. (A `wait_for_line`
    /// that panicked poisoned the lock; the lines are still good.)
    fn lines(&self) -> Vec<String> {
        let lines = self.output.lines.lock();
        lines.unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "--- output of {} ---\n{}",
                self.name,
                self.lines().join("\n")
            );
        }
    }
}

/// Reads `stream` line by line into `output` on a thread of its own.
fn collect_lines(stream: impl Read + Send + 'static, output: &Arc<Output>) {
    let output = output.clone();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            output.lines.lock().unwrap().push(line);
            output.changed.notify_all();
        }
    });
}
