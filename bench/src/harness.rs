//! The benchmark run: starts the echo server, checks that it is not the
//! bottleneck, runs every workload with both clients (alternating, repeated),
//! measures the component sizes, prints the table and writes
//! `target/bench/results.json`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use wasm_websocket_bench::Workload;

use crate::process::{Client, Run};
use crate::server::EchoServer;
use crate::table::{Figure, Goal};

const USAGE: &str = "usage: wasm-websocket-bench [--quick] [--repetitions N]\n       \
    wasm-websocket-bench client <workload> <ws url> [params]\n       \
    wasm-websocket-bench server";

/// How much to run.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// Every workload once, with small counts: a smoke test of the harness.
    quick: bool,
    /// Runs of each workload and client; figures are their medians.
    repetitions: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
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
    fn count(&self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }
}

/// One figure taken from each run of a workload.
struct Measure {
    label: &'static str,
    unit: &'static str,
    value: fn(&Run) -> f64,
    goal: Option<Goal>,
}

/// A workload and the figures it yields.
struct Case {
    title: String,
    workload: Workload,
    measures: Vec<Measure>,
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

/// The workloads of issue 6 and the figures taken from each.
fn cases(options: Options) -> Vec<Case> {
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
        let mut bandwidth = measure("MB/s", "MB/s", megabytes_per_second);
        match size {
            16 => rate = rate.goal(Goal::RatioAtLeast(0.5)),
            65536 => bandwidth = bandwidth.goal(Goal::RatioAtLeast(0.8)),
            _ => {}
        }
        let cpu = measure("CPU per message", "us", cpu_per_message);
        cases.push(Case {
            title: format!("sequential {}", size_name(size)),
            workload: Workload::Sequential {
                size,
                count: options.count(full, quick),
            },
            measures: vec![rate, bandwidth, cpu],
        });
    }
    for (size, full, quick, goal) in [(16, 100_000, 500, 0.5), (64 << 10, 5_000, 100, 0.8)] {
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
        });
    }
    cases.push(Case {
        title: "round trip 16 B".into(),
        workload: Workload::Latency {
            size: 16,
            count: options.count(10_000, 100),
        },
        measures: vec![
            measure("p50", "us", |run| run.field("p50_us")),
            measure("p99", "us", |run| run.field("p99_us")).goal(Goal::RatioAtMost(2.0)),
        ],
    });
    cases.push(Case {
        title: "first echo".into(),
        workload: Workload::FirstEcho,
        measures: vec![
            measure("process start to echo", "ms", |run| {
                run.until_report.as_secs_f64() * 1e3
            }),
            measure("connect + round trip", "us", |run| run.field("elapsed_us")),
        ],
    });
    for connections in [1, 10, 100, 1000] {
        let round_trips = options.count((20_000 / connections).max(20), 2);
        cases.push(Case {
            title: format!(
                "{connections} {} x {round_trips} round trips 16 B",
                if connections == 1 {
                    "connection"
                } else {
                    "connections"
                }
            ),
            workload: Workload::Concurrent {
                connections,
                round_trips,
                size: 16,
            },
            measures: vec![
                measure("msg/s", "msg/s", messages_per_second),
                measure("CPU per message", "us", cpu_per_message),
                measure("peak RSS", "MiB", peak_rss_mib),
                measure("time to connect all", "ms", |run| {
                    run.field("connect_us") / 1e3
                }),
            ],
        });
    }
    cases
}

/// `wasm-websocket-bench [--quick] [--repetitions N]`.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the harness reads the components from its target/).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is inside the workspace")
        .to_path_buf()
}

/// The `wasmtime` the project pins: the one `scripts/setup.sh` installed in
/// `.tools/bin/`, else `wasmtime` as found on `PATH`.
pub(crate) fn wasmtime() -> PathBuf {
    let pinned = root().join(".tools/bin/wasmtime");
    if pinned.exists() {
        pinned
    } else {
        PathBuf::from("wasmtime")
    }
}

/// Runs everything; `Ok(false)` when some run failed (its figures are missing).
fn run(options: Options) -> Result<bool, String> {
    let root = root();
    let composed = root.join("target/composed");
    let component_wasm = composed.join("bench-client.wasm");
    if !component_wasm.exists() {
        return Err(format!(
            "{} is missing: run `bash scripts/build-components.sh` first",
            component_wasm.display()
        ));
    }
    let native = Client::native(std::env::current_exe().map_err(|e| e.to_string())?);
    let component = Client::component(&component_wasm);
    let server = EchoServer::start().map_err(|e| format!("cannot start the echo server: {e}"))?;
    let url = server.url.clone();
    eprintln!("echo server at {url}");

    // Load both programs once, so that no repetition pays for a cold start
    // (wasmtime's compilation cache, the page cache).
    for client in [&native, &component] {
        client.run(&Workload::FirstEcho, &url)?;
    }

    let server_check = server_check(&native, &url, options)?;
    let cases = cases(options);
    let mut figures: Vec<Figure> = cases
        .iter()
        .flat_map(|case| {
            case.measures
                .iter()
                .map(|m| Figure::new(format!("{} {}", case.title, m.label), m.unit, m.goal))
        })
        .collect();
    let mut failures = Vec::new();
    for repetition in 1..=options.repetitions {
        let mut index = 0;
        for case in &cases {
            eprintln!("[{repetition}/{}] {}", options.repetitions, case.title);
            let runs = [&component, &native].map(|client| client.run(&case.workload, &url));
            for measure in &case.measures {
                let figure = &mut figures[index];
                index += 1;
                match &runs {
                    [Ok(component), Ok(native)] => {
                        figure.component.push((measure.value)(component));
                        figure.native.push((measure.value)(native));
                    }
                    [component, native] => {
                        for e in [component, native]
                            .into_iter()
                            .filter_map(|r| r.as_ref().err())
                        {
                            if !failures.contains(e) {
                                eprintln!("FAILED: {e}");
                                failures.push(e.clone());
                            }
                        }
                        figure.failed = true;
                    }
                }
            }
        }
    }
    figures.extend(sizes(&root)?);

    println!(
        "server check (native sequential 16 B): one client {:.0} msg/s, two clients together \
         {:.0} msg/s ({:.2}x); the server spends {:.1} us of CPU per echo{}",
        server_check.one,
        server_check.two,
        server_check.two / server_check.one.max(1e-9),
        server_check.server_cpu_us,
        if server_check.two > server_check.one {
            ": the server is not the bottleneck"
        } else {
            ": WARNING, two clients got no more than one (the clients compete with the \
             server for the CPU cores)"
        }
    );
    println!(
        "{} (median of {} run(s) each; ratio = component / native)",
        if options.quick {
            "quick smoke run"
        } else {
            "benchmark"
        },
        options.repetitions
    );
    print!("{}", crate::table::render(&figures));

    let results = json!({
        "quick": options.quick,
        "repetitions": options.repetitions,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "wasmtime": wasmtime_version(),
        "component": component_wasm.display().to_string(),
        "server_check": {
            "workload": "sequential 16 B, native client",
            "one_client_msgs_per_s": server_check.one,
            "two_clients_msgs_per_s": server_check.two,
            "server_cpu_us_per_echo": server_check.server_cpu_us,
        },
        "figures": figures.iter().map(Figure::to_json).collect::<Vec<Value>>(),
        "failures": failures,
    });
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let file = out.join(if options.quick {
        "results-quick.json"
    } else {
        "results.json"
    });
    let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(&file, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    println!("results written to {}", file.display());
    Ok(failures.is_empty())
}

/// Messages per second of one native client, and of two running together, and
/// the server's CPU time per echo.
struct ServerCheck {
    one: f64,
    two: f64,
    /// CPU time of this process (the server, mostly) per message of one client.
    server_cpu_us: f64,
}

/// Shows that the server has room to spare: two native clients at once get more
/// round trips through than one alone, and an echo costs the server little CPU.
fn server_check(native: &Client, url: &str, options: Options) -> Result<ServerCheck, String> {
    let count = options.count(20_000, 200);
    let workload = Workload::Sequential { size: 16, count };
    let mut one = Vec::new();
    let mut two = Vec::new();
    let mut server_cpu_us = Vec::new();
    for _ in 0..options.repetitions {
        let before = crate::process::own_cpu();
        one.push(native.run(&workload, url)?.field("msgs_per_s"));
        let server_cpu = crate::process::own_cpu().saturating_sub(before);
        server_cpu_us.push(server_cpu.as_secs_f64() * 1e6 / count as f64);
        let pair = std::thread::scope(|scope| {
            let other = scope.spawn(|| native.run(&workload, url));
            let first = native.run(&workload, url);
            let second = other
                .join()
                .unwrap_or_else(|_| Err("client thread panicked".into()));
            Ok::<_, String>(first?.field("msgs_per_s") + second?.field("msgs_per_s"))
        })?;
        two.push(pair);
    }
    Ok(ServerCheck {
        one: crate::table::median(&one),
        two: crate::table::median(&two),
        server_cpu_us: crate::table::median(&server_cpu_us),
    })
}

/// The release sizes: a minimal app with and without the SDK (their difference
/// is what the SDK adds), and the two polyfills.
fn sizes(root: &Path) -> Result<Vec<Figure>, String> {
    let size = |path: PathBuf| -> Result<f64, String> {
        std::fs::metadata(&path)
            .map(|m| m.len() as f64)
            .map_err(|e| {
                format!(
                    "{}: {e} (run `bash scripts/build-components.sh`)",
                    path.display()
                )
            })
    };
    let apps = root.join("target/wasm32-wasip2/release");
    let composed = root.join("target/composed");
    let with_sdk = size(apps.join("minimal-with-sdk.wasm"))?;
    let without_sdk = size(apps.join("minimal-without-sdk.wasm"))?;
    let figures = [
        ("size: minimal app using the SDK", with_sdk, None),
        ("size: the same app without the SDK", without_sdk, None),
        (
            "size: SDK overhead (difference)",
            with_sdk - without_sdk,
            Some(Goal::AtMost(150_000.0)),
        ),
        (
            "size: polyfill without TLS",
            size(composed.join("polyfill-no-tls.wasm"))?,
            None,
        ),
        (
            "size: polyfill with TLS",
            size(composed.join("polyfill.wasm"))?,
            Some(Goal::AtMost(1_500_000.0)),
        ),
    ];
    Ok(figures
        .into_iter()
        .map(|(name, bytes, goal)| {
            let mut figure = Figure::new(name.to_string(), "bytes", goal);
            figure.component.push(bytes);
            figure
        })
        .collect())
}

fn wasmtime_version() -> String {
    std::process::Command::new(wasmtime())
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_runs_each_workload_once_with_small_counts() {
        let options = Options::parse(&["--quick".to_string()]).unwrap();
        assert_eq!(options.repetitions, 1);
        for case in cases(options) {
            let round_trips = match case.workload {
                Workload::Sequential { count, .. }
                | Workload::Pipelined { count, .. }
                | Workload::Latency { count, .. } => count,
                Workload::FirstEcho => 1,
                Workload::Concurrent {
                    connections,
                    round_trips,
                    ..
                } => connections * round_trips,
            };
            assert!(round_trips <= 2_000, "{}: {round_trips}", case.title);
        }
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
