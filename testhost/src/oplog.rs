//! The oplog: every durable host call, one JSON line each (`call`, `args`,
//! `result`), written as Golem's executor writes its `HostCall` entries, and
//! read back in order on a restart.
//!
//! While entries remain to be replayed, a call takes its result from the next
//! one and does not run; it is checked against the entry first, by its name
//! as Golem does (`Durability::validate_oplog_entry`), and under `strict` by
//! its arguments too. A call that does not match stops the run with a
//! [`Divergence`]. After the last entry every call runs live and is appended.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmtime::Result;
use wasmtime::error::Context as _;

/// The exit status of a run stopped by `crash_at` (as `EX_TEMPFAIL`).
pub const CRASH_EXIT: i32 = 75;
/// The exit status of a replay that diverged from its oplog.
pub const DIVERGENCE_EXIT: i32 = 3;

/// One recorded host call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The function, named as Golem names it (`golem:websocket/client::send`,
    /// `io::poll::poll`, `monotonic_clock::now`).
    pub call: String,
    /// Its arguments, as Golem records them (a poll records only how many
    /// pollables it was given).
    pub args: Value,
    /// What it returned.
    pub result: Value,
}

/// A replayed call that does not match the oplog.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The entry's index (0-based; line `index + 1` of the file).
    pub index: usize,
    /// What the oplog holds there.
    pub logged: Entry,
    /// What the guest called: the name and the arguments (`None`: nothing,
    /// it ended first).
    pub called: Option<(String, Value)>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let called = match &self.called {
            Some((call, args)) => format!("{call} {args}"),
            None => "nothing (it ended)".to_owned(),
        };
        write!(
            f,
            "replay diverged at oplog entry {}: the log holds {} {}, the guest called {called}",
            self.index, self.logged.call, self.logged.args
        )
    }
}

impl std::error::Error for Divergence {}

/// How a run uses its oplog.
#[derive(Debug, Clone, Default)]
pub struct OplogOptions {
    /// Check the arguments of a replayed call too, not only its name.
    pub strict: bool,
    /// Stop the process (exit [`CRASH_EXIT`]) when this call starts live:
    /// a crash inside that call, before its result is written.
    pub crash_at: Option<CrashAt>,
}

/// Where a run crashes on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrashAt {
    /// The call that would be this entry of the oplog.
    Entry(usize),
    /// The `n`th call (from 1, replayed ones counted) of this name.
    Call(String, usize),
}

impl std::str::FromStr for CrashAt {
    type Err = String;

    /// `N` (an entry) or `NAME#N` (the `N`th call of `NAME`).
    fn from_str(text: &str) -> Result<CrashAt, String> {
        let number = |text: &str| {
            text.parse::<usize>()
                .map_err(|_| format!("not an entry index or NAME#N: {text:?}"))
        };
        match text.rsplit_once('#') {
            Some((call, n)) => Ok(CrashAt::Call(call.to_owned(), number(n)?)),
            None => Ok(CrashAt::Entry(number(text)?)),
        }
    }
}

/// The oplog of one run.
pub struct Oplog {
    /// The entries read back at the start, to be replayed.
    replay: Vec<Entry>,
    /// The next entry to replay.
    cursor: usize,
    /// How many entries were appended since.
    appended: usize,
    /// How many calls of each name were made (replayed or live).
    calls: std::collections::HashMap<String, usize>,
    /// Where entries are appended; `None` records nothing (a served request).
    file: Option<File>,
    options: OplogOptions,
}

impl Oplog {
    /// An oplog that records nothing and replays nothing.
    pub fn none() -> Oplog {
        Oplog {
            replay: Vec::new(),
            cursor: 0,
            appended: 0,
            calls: Default::default(),
            file: None,
            options: OplogOptions::default(),
        }
    }

    /// Opens `path`: its entries are replayed, then new ones appended. A
    /// missing file is an empty log (a first run, which records).
    pub fn open(path: &Path, options: OplogOptions) -> Result<Oplog> {
        let replay = match File::open(path) {
            Ok(file) => {
                read_entries(file).with_context(|| format!("reading {}", path.display()))?
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(err).with_context(|| format!("opening {}", path.display())),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {} to append", path.display()))?;
        Ok(Oplog {
            replay,
            cursor: 0,
            appended: 0,
            calls: Default::default(),
            file: Some(file),
            options,
        })
    }

    /// Whether live calls are written down (there is an oplog file).
    pub fn records(&self) -> bool {
        self.file.is_some()
    }

    /// Whether calls run live now (nothing left to replay).
    pub fn is_live(&self) -> bool {
        self.cursor >= self.replay.len()
    }

    /// Starts the call `call` with `args`. While replaying: checks it
    /// against the next entry and returns that entry's result. Live:
    /// `None` (run it, then [`Oplog::record`] what it returned), unless
    /// this is the call `crash_at` names, which ends the process.
    pub fn replay<R: DeserializeOwned>(&mut self, call: &str, args: &Value) -> Result<Option<R>> {
        let made = self.calls.entry(call.to_owned()).or_default();
        *made += 1;
        let made = *made;
        let Some(entry) = self.replay.get(self.cursor) else {
            let crash = match &self.options.crash_at {
                Some(CrashAt::Entry(index)) => *index == self.len(),
                Some(CrashAt::Call(name, n)) => name == call && *n == made,
                None => false,
            };
            if crash {
                eprintln!(
                    "testhost: crash before oplog entry {} ({call} {args})",
                    self.len()
                );
                std::process::exit(CRASH_EXIT);
            }
            return Ok(None);
        };
        let diverged = entry.call != call || (self.options.strict && entry.args != *args);
        let result = if diverged {
            None
        } else {
            serde_json::from_value(entry.result.clone()).ok()
        };
        let Some(result) = result else {
            return Err(Divergence {
                index: self.cursor,
                logged: entry.clone(),
                called: Some((call.to_owned(), args.clone())),
            }
            .into());
        };
        self.cursor += 1;
        Ok(Some(result))
    }

    /// Appends a live call and its result (and writes it out at once, so
    /// that a crash keeps it).
    pub fn record<R: Serialize>(&mut self, call: &str, args: Value, result: &R) -> Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let entry = Entry {
            call: call.to_owned(),
            args,
            result: serde_json::to_value(result)?,
        };
        let mut line = serde_json::to_string(&entry)?;
        line.push('\n');
        file.write_all(line.as_bytes())?;
        self.appended += 1;
        Ok(())
    }

    /// How many entries the oplog holds: the replayed part and what was
    /// appended.
    fn len(&self) -> usize {
        self.replay.len() + self.appended
    }

    /// After the guest finished: entries it never asked for are a
    /// divergence too (the guest ended first).
    pub fn unreplayed(&self) -> Option<Divergence> {
        self.replay.get(self.cursor).map(|entry| Divergence {
            index: self.cursor,
            logged: entry.clone(),
            called: None,
        })
    }
}

/// Reads an oplog file: one JSON entry a line, blank lines skipped.
fn read_entries(file: File) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line).with_context(|| format!("line {}", number + 1))?;
        entries.push(entry);
    }
    Ok(entries)
}
