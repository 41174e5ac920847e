//! The benchmark run: starts the echo server, checks that it is not the
//! bottleneck, runs every workload with both clients (alternating, repeated),
//! measures the component sizes, prints the table and writes
//! `target/bench/results.json`.
//!
//! The component runs under `wasmtime run` with a compilation cache of the
//! project's own (`target/bench/wasmtime-cache.toml`), primed before the
//! workloads; the first-echo workload also runs it compiled at start (no
//! cache) and precompiled (`wasmtime compile`, `--allow-precompiled`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use wasm_websocket_bench::Workload;

use crate::cases::{Case, Options, Start, cases};
use crate::process::{Client, Run};
use crate::server::EchoServer;
use crate::table::{Figure, Goal};

const USAGE: &str = "usage: wasm-websocket-bench [--quick] [--repetitions N]\n       \
    wasm-websocket-bench client <workload> <ws url> [params]\n       \
    wasm-websocket-bench server";

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
    let cases = cases(options);
    // The server holds a socket per connection, and so does each client.
    let most_connections = cases
        .iter()
        .map(|case| match case.workload {
            Workload::Concurrent { connections, .. } => connections,
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    let fd_limit = crate::process::raise_fd_limit();
    if fd_limit < most_connections + 256 {
        eprintln!(
            "WARNING: the open-file limit is {fd_limit} (hard limit included) and the \
             {most_connections}-connection workload needs about {}; raise `ulimit -Hn`",
            most_connections + 256
        );
    }

    let bench_dir = root.join("target/bench");
    std::fs::create_dir_all(&bench_dir)
        .map_err(|e| format!("cannot create {}: {e}", bench_dir.display()))?;
    let cache_config = write_cache_config(&bench_dir)?;
    let cwasm = precompile(&component_wasm, &bench_dir)?;
    let native = Client::native(std::env::current_exe().map_err(|e| e.to_string())?);
    let cached = Client::component(&component_wasm, &cache_args(&cache_config));
    let mut without_concurrency = cache_args(&cache_config);
    without_concurrency.extend(["-W", "concurrency-support=n", "-Sp3=n"].map(String::from));
    let cached_without_concurrency = Client::component(&component_wasm, &without_concurrency);
    let compiled = Client::component(&component_wasm, &["-C".into(), "cache=n".into()]);
    let precompiled = Client::component(&cwasm, &["--allow-precompiled".into()]);
    let server = EchoServer::start().map_err(|e| format!("cannot start the echo server: {e}"))?;
    let url = server.url.clone();
    eprintln!("echo server at {url}");

    // Load the programs once, so that no repetition pays for a cold start
    // (the compilation cache, the page cache).
    for client in [&native, &cached, &cached_without_concurrency, &precompiled] {
        client.run(&Workload::FirstEcho, &url)?;
    }

    let server_check = server_check(&native, &url, options)?;
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
            let component = match case.start {
                Start::Cached => &cached,
                Start::Compiled => &compiled,
                Start::Precompiled => &precompiled,
                Start::CachedWithoutConcurrency => &cached_without_concurrency,
            };
            let runs = [component, &native].map(|client| client.run(&case.workload, &url));
            record(case, &runs, &mut figures[index..], &mut failures);
            index += case.measures.len();
        }
    }
    let (direct, direct_failures) =
        crate::direct::figures(&root, &cases, &native, &url, options, &cache_config)?;
    figures.extend(direct);
    failures.extend(direct_failures);
    let (ceiling, ceiling_failures) =
        crate::direct::ceiling_figures(&root, &cases, &native, &url, options, &cache_config)?;
    figures.extend(ceiling);
    failures.extend(ceiling_failures);
    let (testhost, testhost_failures) =
        crate::testhost::figures(&root, &cases, &native, &url, options)?;
    figures.extend(testhost);
    failures.extend(testhost_failures);
    let (p3, p3_failures) =
        crate::p3::figures(&root, &cases, &native, &url, options, &cache_config)?;
    figures.extend(p3);
    failures.extend(p3_failures);
    figures.extend(crate::component_server::figures(
        &root,
        &native,
        &url,
        &cache_config,
        options,
    )?);
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
        "precompiled_component": cwasm.display().to_string(),
        "wasmtime_cache_config": cache_config.display().to_string(),
        "open_file_limit": fd_limit,
        "server_check": {
            "workload": "sequential 16 B, native client",
            "one_client_msgs_per_s": server_check.one,
            "two_clients_msgs_per_s": server_check.two,
            "server_cpu_us_per_echo": server_check.server_cpu_us,
        },
        "figures": figures.iter().map(Figure::to_json).collect::<Vec<Value>>(),
        "failures": failures,
    });
    let file = bench_dir.join(if options.quick {
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
/// The rows of one more component client beside `native` (the direct
/// client, the test host, the P3 client): every case of `cases` run by both,
/// alternating and repeated like the composed rows, each figure named
/// "<case> <measure> (<tag>)" with the goal `goal` gives it; the figures, and
/// the failures met.
pub(crate) fn beside_native(
    client: &Client,
    native: &Client,
    cases: &[&Case],
    url: &str,
    options: Options,
    tag: &str,
    goal: impl Fn(&Case, &str) -> Option<Goal>,
) -> (Vec<Figure>, Vec<String>) {
    let mut figures: Vec<Figure> = cases
        .iter()
        .flat_map(|case| {
            case.measures.iter().map(|m| {
                let name = format!("{} {} ({tag})", case.title, m.label);
                Figure::new(name, m.unit, goal(case, m.label))
            })
        })
        .collect();
    let mut failures = Vec::new();
    for repetition in 1..=options.repetitions {
        let mut index = 0;
        for case in cases {
            eprintln!(
                "[{repetition}/{}] {} ({tag})",
                options.repetitions, case.title
            );
            let runs = [client, native].map(|client| client.run(&case.workload, url));
            record(case, &runs, &mut figures[index..], &mut failures);
            index += case.measures.len();
        }
    }
    (figures, failures)
}

/// The component client `wasm` (built by `bash scripts/build-components.sh`)
/// on the bench's compilation cache, which one run of `prime` fills first,
/// like the composed component's.
pub(crate) fn primed_component(
    wasm: &Path,
    prime: &Workload,
    url: &str,
    cache_config: &Path,
) -> Result<Client, String> {
    built(wasm, "bash scripts/build-components.sh")?;
    let client = Client::component(wasm, &cache_args(cache_config));
    client.run(prime, url)?;
    Ok(client)
}

/// `Ok` if `path` exists, else the error that names the command building it.
pub(crate) fn built(path: &Path, build: &str) -> Result<(), String> {
    if path.exists() {
        Ok(())
    } else {
        Err(format!(
            "{} is missing: run `{build}` first",
            path.display()
        ))
    }
}

/// Adds one side-by-side run of `case` (component, native) to its figures,
/// which start `figures`; a failed run marks them failed, and its error is
/// kept once in `failures`.
pub(crate) fn record(
    case: &Case,
    runs: &[Result<Run, String>; 2],
    figures: &mut [Figure],
    failures: &mut Vec<String>,
) {
    for (measure, figure) in case.measures.iter().zip(figures) {
        match runs {
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
            Some(Goal::AtMost(64_000.0)),
        ),
        (
            "size: polyfill without TLS",
            size(composed.join("polyfill-no-tls.wasm"))?,
            None,
        ),
        (
            "size: polyfill with TLS",
            size(composed.join("polyfill.wasm"))?,
            Some(Goal::AtMost(1_000_000.0)),
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

/// The `wasmtime run` options that load a component from the benchmark's
/// compilation cache (configured by [`write_cache_config`]).
pub(crate) fn cache_args(cache_config: &Path) -> Vec<String> {
    vec![
        "-C".into(),
        "cache=y".into(),
        "-C".into(),
        format!("cache-config={}", cache_config.display()),
    ]
}

/// A wasmtime cache configuration of the project's own (the cache lives in
/// `target/bench/wasmtime-cache/`), so that the figures do not depend on the
/// user's `~/.cache/wasmtime` nor add to it; its path.
fn write_cache_config(bench_dir: &Path) -> Result<PathBuf, String> {
    let config = bench_dir.join("wasmtime-cache.toml");
    let directory = bench_dir.join("wasmtime-cache");
    let text = format!(
        "# Written by wasm-websocket-bench: the compilation cache of its runs.\n\
         [cache]\ndirectory = {:?}\n",
        directory.display().to_string()
    );
    std::fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    Ok(config)
}

/// `wasmtime compile`s the component into `target/bench/bench-client.cwasm`
/// (what `wasmtime run --allow-precompiled` loads without compiling).
fn precompile(wasm: &Path, bench_dir: &Path) -> Result<PathBuf, String> {
    let cwasm = bench_dir.join("bench-client.cwasm");
    let status = std::process::Command::new(wasmtime())
        .arg("compile")
        .arg(wasm)
        .arg("-o")
        .arg(&cwasm)
        .status()
        .map_err(|e| format!("cannot run `wasmtime compile`: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`wasmtime compile {} -o {}` failed ({status})",
            wasm.display(),
            cwasm.display()
        ));
    }
    Ok(cwasm)
}

fn wasmtime_version() -> String {
    std::process::Command::new(wasmtime())
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}
