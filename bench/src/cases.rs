//! What the benchmark measures: the workloads, the figures taken from each
//! run, and issue 14's floors; and how much of it a run does (`--quick`,
//! `--repetitions`).

use wasm_websocket_bench::Workload;

use crate::process::Run;
use crate::table::Goal;

/// How much to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Every workload once, with small counts: a smoke test of the harness.
    pub(crate) quick: bool,
    /// Runs of each workload and client; figures are their medians.
    pub(crate) repetitions: usize,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            repetitions: 5,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--repetitions" => {
                    options.repetitions = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or("--repetitions takes a positive number")?;
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if options.quick {
            options.repetitions = 1;
        }
        Ok(options)
    }

    /// `full` messages in a real run, `quick` in a smoke test.
    pub(crate) fn count(&self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }
}

/// One figure taken from each run of a workload.
pub(crate) struct Measure {
    pub(crate) label: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) value: fn(&Run) -> f64,
    pub(crate) goal: Option<Goal>,
}

/// How `wasmtime run` gets the component's machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// From the project's compilation cache (primed before the workloads).
    Cached,
    /// Compiled at start (`-C cache=n`): what a first run ever costs.
    Compiled,
    /// Precompiled by `wasmtime compile` (`--allow-precompiled`).
    Precompiled,
    /// From the compilation cache, with wasmtime's component-model
    /// concurrency support (and so WASIp3) off: `-W concurrency-support=n
    /// -Sp3=n`. The components need neither; the figure shows what that
    /// support costs on every host call (see "Where the time goes" in the
    /// README).
    CachedWithoutConcurrency,
}

/// A workload and the figures it yields.
pub(crate) struct Case {
    pub(crate) title: String,
    pub(crate) workload: Workload,
    pub(crate) measures: Vec<Measure>,
    /// How the component starts (the native client is the same in each case).
    pub(crate) start: Start,
}

fn measure(label: &'static str, unit: &'static str, value: fn(&Run) -> f64) -> Measure {
    Measure {
        label,
        unit,
        value,
        goal: None,
    }
}

impl Measure {
    fn goal(self, goal: Goal) -> Measure {
        Measure {
            goal: Some(goal),
            ..self
        }
    }
}

fn messages_per_second(run: &Run) -> f64 {
    run.field("msgs_per_s")
}

fn megabytes_per_second(run: &Run) -> f64 {
    run.field("mb_per_s")
}

/// CPU time (user + system, all threads, start-up included) per message.
fn cpu_per_message(run: &Run) -> f64 {
    run.cpu.as_secs_f64() * 1e6 / run.field("messages").max(1.0)
}

fn peak_rss_mib(run: &Run) -> f64 {
    run.peak_rss as f64 / (1024.0 * 1024.0)
}

/// The titles of a full run's cases that `select` picks, in order: what a
/// set of rows runs (for tests).
#[cfg(test)]
pub(crate) fn titles_of(select: impl Fn(&Case) -> bool) -> Vec<String> {
    cases(Options::parse(&[]).unwrap())
        .into_iter()
        .filter(|case| select(case))
        .map(|case| case.title)
        .collect()
}

/// The workloads of issues 6 and 14 and the figures taken from each; the
/// goals are issue 14's floors.
pub(crate) fn cases(options: Options) -> Vec<Case> {
    let size_name = |size: usize| match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    };
    let mut cases = Vec::new();
    for (size, full, quick) in [
        (16, 20_000, 50),
        (1024, 20_000, 50),
        (64 << 10, 2_000, 10),
        (1 << 20, 100, 3),
    ] {
        let mut rate = measure("msg/s", "msg/s", messages_per_second);
        if size == 16 {
            rate = rate.goal(Goal::RatioAtLeast(0.6));
        }
        let bandwidth = measure("MB/s", "MB/s", megabytes_per_second);
        let cpu = measure("CPU per message", "us", cpu_per_message);
        cases.push(Case {
            title: format!("sequential {}", size_name(size)),
            workload: Workload::Sequential {
                size,
                count: options.count(full, quick),
            },
            measures: vec![rate, bandwidth, cpu],
            start: Start::Cached,
        });
    }
    for (size, full, quick, goal) in [(16, 100_000, 500, 0.5), (64 << 10, 5_000, 100, 0.6)] {
        cases.push(Case {
            title: format!("pipelined (64 in flight) {}", size_name(size)),
            workload: Workload::Pipelined {
                size,
                count: options.count(full, quick),
                window: 64,
            },
            measures: vec![
                measure("msg/s", "msg/s", messages_per_second).goal(Goal::RatioAtLeast(goal)),
                measure("MB/s", "MB/s", megabytes_per_second),
                measure("CPU per message", "us", cpu_per_message),
            ],
            start: Start::Cached,
        });
    }
    // The same pipelined 16 B workload without wasmtime's concurrency
    // support: no goal, a measure of the runtime's share.
    cases.push(Case {
        title: "pipelined (64 in flight) 16 B, -W concurrency-support=n".into(),
        workload: Workload::Pipelined {
            size: 16,
            count: options.count(100_000, 500),
            window: 64,
        },
        measures: vec![
            measure("msg/s", "msg/s", messages_per_second),
            measure("CPU per message", "us", cpu_per_message),
        ],
        start: Start::CachedWithoutConcurrency,
    });
    cases.push(Case {
        title: "round trip 16 B".into(),
        workload: Workload::Latency {
            size: 16,
            count: options.count(10_000, 100),
        },
        measures: vec![
            measure("p50", "us", |run| run.field("p50_us")),
            measure("p99", "us", |run| run.field("p99_us")).goal(Goal::RatioAtMost(1.5)),
        ],
        start: Start::Cached,
    });
    let until_echo = || {
        measure("process start to echo", "ms", |run| {
            run.until_report.as_secs_f64() * 1e3
        })
    };
    for (title, start) in [
        ("compiled at start, -C cache=n", Start::Compiled),
        ("compilation cache, -C cache=y", Start::Cached),
        ("precompiled, wasmtime compile", Start::Precompiled),
    ] {
        let mut measures = vec![until_echo()];
        if start == Start::Cached {
            measures.push(measure("connect + round trip", "us", |run| {
                run.field("elapsed_us")
            }));
        }
        cases.push(Case {
            title: format!("first echo ({title})"),
            workload: Workload::FirstEcho,
            measures,
            start,
        });
    }
    // 20 000 round trips in all up to 1000 connections; 5000 connections
    // make one round trip each (the component's cost per message still grows
    // with the number of connections: a minute a run), and a quick run leaves
    // them out.
    for (connections, full, quick) in [
        (1, 20_000, 2),
        (10, 2_000, 2),
        (100, 200, 2),
        (1_000, 20, 2),
        (5_000, 1, 0),
    ] {
        let round_trips = options.count(full, quick);
        if round_trips == 0 {
            continue;
        }
        let mut rate = measure("msg/s", "msg/s", messages_per_second);
        let mut delivered = measure("messages delivered", "msgs", |run| run.field("messages"));
        if connections == 1000 {
            rate = rate.goal(Goal::RatioAtLeast(0.25));
            delivered = delivered.goal(Goal::Exactly((connections * round_trips) as f64));
        }
        cases.push(Case {
            title: format!(
                "{connections} connection{} x {round_trips} round trip{} 16 B",
                if connections == 1 { "" } else { "s" },
                if round_trips == 1 { "" } else { "s" },
            ),
            workload: Workload::Concurrent {
                connections,
                round_trips,
                size: 16,
            },
            measures: vec![
                rate,
                delivered,
                measure("CPU per message", "us", cpu_per_message),
                measure("peak RSS", "MiB", peak_rss_mib),
                measure("time to connect all", "ms", |run| {
                    run.field("connect_us") / 1e3
                }),
            ],
            start: Start::Cached,
        });
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_runs_each_workload_once_with_small_counts() {
        let options = Options::parse(&["--quick".to_string()]).unwrap();
        assert_eq!(options.repetitions, 1);
        for case in cases(options) {
            let messages = case.workload.messages();
            assert!(messages <= 2_000, "{}: {messages}", case.title);
        }
    }

    #[test]
    fn full_runs_have_issue_14s_floors_and_5000_connections() {
        let cases = cases(Options::parse(&[]).unwrap());
        let goal = |title: &str, label: &str| {
            cases
                .iter()
                .find(|case| case.title == title)
                .and_then(|case| case.measures.iter().find(|m| m.label == label))
                .and_then(|m| m.goal)
        };
        assert_eq!(
            goal("sequential 16 B", "msg/s"),
            Some(Goal::RatioAtLeast(0.6))
        );
        assert_eq!(
            goal("pipelined (64 in flight) 16 B", "msg/s"),
            Some(Goal::RatioAtLeast(0.5))
        );
        assert_eq!(
            goal("pipelined (64 in flight) 64 KiB", "msg/s"),
            Some(Goal::RatioAtLeast(0.6))
        );
        assert_eq!(goal("round trip 16 B", "p99"), Some(Goal::RatioAtMost(1.5)));
        let thousand = "1000 connections x 20 round trips 16 B";
        assert_eq!(goal(thousand, "msg/s"), Some(Goal::RatioAtLeast(0.25)));
        assert_eq!(
            goal(thousand, "messages delivered"),
            Some(Goal::Exactly(20_000.0))
        );
        assert!(
            cases
                .iter()
                .any(|case| case.title == "5000 connections x 1 round trip 16 B")
        );
        let starts: Vec<Start> = cases
            .iter()
            .filter(|case| case.workload == Workload::FirstEcho)
            .map(|case| case.start)
            .collect();
        assert_eq!(starts, [Start::Compiled, Start::Cached, Start::Precompiled]);
        let without: Vec<&str> = cases
            .iter()
            .filter(|case| case.start == Start::CachedWithoutConcurrency)
            .map(|case| case.title.as_str())
            .collect();
        assert_eq!(
            without,
            ["pipelined (64 in flight) 16 B, -W concurrency-support=n"]
        );
        assert!(
            cases
                .iter()
                .filter(|case| case.start == Start::CachedWithoutConcurrency)
                .all(|case| case.measures.iter().all(|m| m.goal.is_none())),
            "a measure of the runtime, not a floor"
        );
    }

    #[test]
    fn options_are_checked() {
        let parse =
            |args: &[&str]| Options::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(parse(&[]).unwrap().repetitions, 5);
        assert_eq!(parse(&["--repetitions", "7"]).unwrap().repetitions, 7);
        assert!(parse(&["--repetitions", "0"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
