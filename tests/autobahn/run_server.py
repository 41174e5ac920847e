#!/usr/bin/env python3
"""Runs the Autobahn testsuite's server cases against the `server` feature.

The `server` example (an echo server on the wasm-websocket crate's
`server` feature) listens on a loopback port under `wasmtime run
-Sinherit-network`; kosoku (the Autobahn cases, no docker) drives it as the
fuzzing client, sections 1-10 (12 and 13 need permessage-deflate, which is
not implemented). The script prints the per-section counts and compares each
case with tests/autobahn/expected-server-results.json, like run.py does for
the client cases (its verdict rules and helpers are the same).

It fails (exit 1) when a case is not OK, NON-STRICT or INFORMATIONAL, when a
case got worse than its expected result, or when the run itself fails.
`--update` records a run without FAILED cases as the new expected results.

Components must be built first (`bash scripts/build-components.sh`, which
`just autobahn` does). Reports land in target/autobahn-server/report/.

Usage: python3 tests/autobahn/run_server.py [--update] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the client run's verdict rules and process helpers)

ROOT = run.ROOT
COMPONENT = ROOT / "target" / "direct" / "server.wasm"
EXPECTED = Path(__file__).resolve().parent / "expected-server-results.json"
WORK = ROOT / "target" / "autobahn-server"

LISTENING = re.compile(r"listening on ([0-9.]+:\d+)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help=f"record this run in {EXPECTED.name}")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds the whole run may take (default: 300)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run_suite(args.timeout)
    except run.RunError as e:
        print(f"autobahn-server: {e}", file=sys.stderr)
        return 1
    run.print_counts(results)
    failed = run.failures(results)
    for line in failed:
        print(f"FAILED {line}")
    if args.update:
        if failed:
            print("autobahn-server: not recorded: a run with FAILED cases is no expectation")
            return 1
        lines = [f"  {json.dumps(case)}: {json.dumps(r)}" for case, r in results.items()]
        EXPECTED.write_text("{\n" + ",\n".join(lines) + "\n}\n")
        print(f"wrote {EXPECTED.relative_to(ROOT)} ({len(results)} cases)")
        return 0
    if not EXPECTED.exists():
        print(f"autobahn-server: {EXPECTED.relative_to(ROOT)} is missing; {run.RECORD}")
        return 1
    regressions = run.compare(results, json.loads(EXPECTED.read_text()))
    for line in regressions:
        print(f"REGRESSION {line}")
    if failed or regressions:
        print(f"autobahn-server: failed; reports in {(WORK / 'report').relative_to(ROOT)}/index.html")
        return 1
    print(f"autobahn-server: passed ({len(results)} cases match {EXPECTED.relative_to(ROOT)})")
    return 0


def run_suite(timeout: float) -> dict[str, dict[str, str]]:
    """Runs the server and kosoku; returns {case id: {behavior, behaviorClose}}."""
    if not COMPONENT.exists():
        raise run.RunError(
            f"{COMPONENT.relative_to(ROOT)} is missing; build it first: "
            "bash scripts/build-components.sh"
        )
    wasmtime = shutil.which("wasmtime")
    if wasmtime is None:
        raise run.RunError("wasmtime is not on PATH (scripts/setup.sh installs it)")
    report = WORK / "report"
    shutil.rmtree(report, ignore_errors=True)
    report.mkdir(parents=True)
    deadline = time.monotonic() + timeout
    server_log = WORK / "server.log"
    client_log = WORK / "kosoku.log"
    server_cmd = [
        wasmtime, "run", "-Sinherit-network", str(COMPONENT), "--listen", "127.0.0.1:0",
    ]
    with run.Started(server_cmd, server_log) as server:
        address = wait_for_listening(server, server_log, deadline)
        excludes = [arg for section in run.EXCLUDED for arg in ("-x", f"{section}.*")]
        client_cmd = [run.kosoku(), "-m", "fuzzingclient", address, *excludes, "-o", str(report)]
        print(f"autobahn-server: {COMPONENT.relative_to(ROOT)} at {address}; running kosoku", flush=True)
        with run.Started(client_cmd, client_log) as client:
            # kosoku's exit code only says whether every case passed.
            client.wait_until(deadline)
        if server.proc.poll() is not None:
            raise run.RunError(f"the server exited with {server.proc.returncode}:\n{run.tail(server_log)}")
    index = report / "index.json"
    if not index.exists():
        raise run.RunError(f"kosoku wrote no report:\n{run.tail(client_log)}")
    agents = json.loads(index.read_text())
    if len(agents) != 1:
        raise run.RunError(f"the report has {len(agents)} agents, not one: {list(agents)}")
    cases = next(iter(agents.values()))
    return {
        case: {"behavior": r["behavior"], "behaviorClose": r["behaviorClose"]}
        for case, r in sorted(cases.items(), key=lambda kv: run.case_key(kv[0]))
    }


def wait_for_listening(server: run.Started, log: Path, deadline: float) -> str:
    """The server's address, once it prints that it listens."""
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if server.proc.poll() is not None:
            raise run.RunError(f"the server exited with {server.proc.returncode}:\n{run.tail(log)}")
        time.sleep(0.1)
    raise run.RunError(f"the server did not start listening in time:\n{run.tail(log)}")


if __name__ == "__main__":
    sys.exit(main())
