#!/usr/bin/env python3
"""Runs the Autobahn testsuite's client cases against the polyfill.

kosoku (the Autobahn cases, no docker) serves as the fuzzing server on a
loopback port; the composed `autobahn-client` component (the app built on the
wasm-websocket crate, plugged with the polyfill) runs every case under
`wasmtime run`. The script prints the per-section counts and compares each
case with tests/autobahn/expected-results.json.

It fails (exit 1) when a case in sections 1-10 is not OK, NON-STRICT or
INFORMATIONAL, when a case got worse than its expected result, or when the run
itself fails. `--update` records a run without FAILED cases as the new expected
results.

Components must be built first (`bash scripts/build-components.sh`, which
`just autobahn` does). Reports land in target/autobahn/report/ (index.html).

`--direct` runs the direct client instead: the same app built with the
feature `sockets` (target/direct/autobahn-client.wasm, the engine in the app,
no polyfill), compared with tests/autobahn/expected-results-direct.json, its
reports in target/autobahn-direct/.

Usage: python3 tests/autobahn/run.py [--direct] [--update] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "target" / "composed" / "autobahn-client.wasm"
EXPECTED = Path(__file__).resolve().parent / "expected-results.json"
WORK = ROOT / "target" / "autobahn"
AGENT = "wasm-websocket"

# permessage-deflate (RFC 7692) is not implemented: its sections are left out.
EXCLUDED = {"12": "permessage-deflate", "13": "permessage-deflate"}

# Verdicts, best first; a case's rank is the worse of its two verdicts.
ACCEPTABLE = ("OK", "NON-STRICT", "INFORMATIONAL")
RANK = {"OK": 0, "INFORMATIONAL": 0, "NON-STRICT": 1, "UNIMPLEMENTED": 2}
WORST = 3
CLOSE_ACCEPTABLE = ("OK", "INFORMATIONAL")
COLUMNS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")

RECORD = "--update records the new results"

LISTENING = re.compile(r"listening on ws://([0-9.]+):(\d+)")


class RunError(Exception):
    """The run itself failed (no verdicts to compare)."""


def main() -> int:
    global COMPONENT, EXPECTED, WORK, AGENT
    args = parse_args()
    if args.direct:
        COMPONENT = ROOT / "target" / "direct" / "autobahn-client.wasm"
        EXPECTED = EXPECTED.with_name("expected-results-direct.json")
        WORK = ROOT / "target" / "autobahn-direct"
        AGENT = "wasm-websocket-direct"
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so that the
    # processes started here are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run_suite(args.timeout)
    except RunError as e:
        print(f"autobahn: {e}", file=sys.stderr)
        return 1
    print_counts(results)
    failed = failures(results)
    for line in failed:
        print(f"FAILED {line}")
    if args.update:
        if failed:
            print("autobahn: not recorded: a run with FAILED cases is no expectation")
            return 1
        write_expected(results)
        print(f"wrote {EXPECTED.relative_to(ROOT)} ({len(results)} cases)")
        return 0
    regressions = compare(results, read_expected())
    for line in regressions:
        print(f"REGRESSION {line}")
    if failed or regressions:
        print(f"autobahn: failed; reports in {(WORK / 'report').relative_to(ROOT)}/index.html")
        return 1
    print(f"autobahn: passed ({len(results)} cases match {EXPECTED.relative_to(ROOT)})")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--update", action="store_true", help=f"record this run in {EXPECTED.name}"
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="run the direct client (feature sockets) instead of the composed one",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds the whole run may take (default: 600)",
    )
    return parser.parse_args()


def run_suite(timeout: float) -> dict[str, dict[str, str]]:
    """Runs kosoku and the client; returns {case id: {behavior, behaviorClose}}."""
    if not COMPONENT.exists():
        raise RunError(
            f"{COMPONENT.relative_to(ROOT)} is missing; build it first: "
            "bash scripts/build-components.sh"
        )
    wasmtime = shutil.which("wasmtime")
    if wasmtime is None:
        raise RunError("wasmtime is not on PATH (scripts/setup.sh installs it)")
    report = WORK / "report"
    shutil.rmtree(report, ignore_errors=True)
    report.mkdir(parents=True)
    deadline = time.monotonic() + timeout

    server_log = WORK / "kosoku.log"
    client_log = WORK / "client.log"
    excludes = [arg for section in EXCLUDED for arg in ("-x", f"{section}.*")]
    # Port 0: the OS picks a free loopback port, which kosoku then prints.
    server_cmd = [kosoku(), "-m", "fuzzingserver", "127.0.0.1:0", *excludes, "-o", str(report)]
    with Started(server_cmd, server_log) as server:
        base = wait_for_listening(server, server_log, deadline)
        client_cmd = [
            wasmtime, "run", "-Sinherit-network", "-Sallow-ip-name-lookup",
            str(COMPONENT), base, AGENT,
        ]
        print(f"autobahn: kosoku at {base}; running {COMPONENT.relative_to(ROOT)}", flush=True)
        with Started(client_cmd, client_log) as client:
            code = client.wait_until(deadline)
        if code != 0:
            raise RunError(f"the client exited with {code}:\n{tail(client_log)}")
        # kosoku writes its reports and exits once the client asked for them;
        # its exit code only says whether every case passed.
        server.wait_until(deadline)
    index = report / "index.json"
    if not index.exists():
        raise RunError(f"kosoku wrote no report:\n{tail(server_log)}")
    cases = json.loads(index.read_text()).get(AGENT)
    if not cases:
        raise RunError(f"the report has no results for agent {AGENT!r}")
    return {
        case: {"behavior": r["behavior"], "behaviorClose": r["behaviorClose"]}
        for case, r in sorted(cases.items(), key=lambda kv: case_key(kv[0]))
    }


def kosoku() -> str:
    """kosoku's script next to this Python, in the project's venv, or on PATH."""
    for candidate in (Path(sys.executable).parent / "kosoku", ROOT / ".venv" / "bin" / "kosoku"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("kosoku")
    if found is None:
        raise RunError("kosoku is not installed (scripts/setup.sh: pip install kosoku==0.1.0)")
    return found


class Started:
    """A child process (in its own process group, output to a log file) that is
    stopped, with everything it started, when the `with` block ends."""

    def __init__(self, cmd: list[str], log: Path) -> None:
        self.cmd = cmd
        self.log = log

    def __enter__(self) -> Started:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
            )
        return self

    def wait_until(self, deadline: float) -> int:
        try:
            return self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise RunError(
                f"{Path(self.cmd[0]).name} did not finish in time:\n{tail(self.log)}"
            ) from None

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is not None:
            return
        # The group id is the child's pid (start_new_session): only what this
        # script started is signalled.
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_for_listening(server: Started, log: Path, deadline: float) -> str:
    """The server's base URL, once kosoku reports it is listening."""
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return f"ws://{found.group(1)}:{found.group(2)}"
        if server.proc.poll() is not None:
            raise RunError(f"kosoku exited with {server.proc.returncode}:\n{tail(log)}")
        time.sleep(0.1)
    raise RunError(f"kosoku did not start listening in time:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join(f"  | {line}" for line in text[-lines:])


def case_key(case: str) -> list[int]:
    return [int(part) for part in case.split(".")]


def section(case: str) -> str:
    return case.split(".")[0]


def verdict(result: dict[str, str]) -> str:
    """One word per case: the behavior when the close was acceptable, else FAILED."""
    behavior = result["behavior"]
    if behavior in RANK and result["behaviorClose"] in CLOSE_ACCEPTABLE:
        return behavior
    return "FAILED"


def rank(result: dict[str, str]) -> int:
    close = 0 if result["behaviorClose"] in CLOSE_ACCEPTABLE else WORST
    return max(RANK.get(result["behavior"], WORST), close)


def print_counts(results: dict[str, dict[str, str]]) -> None:
    counts: dict[str, Counter[str]] = {}
    for case, result in results.items():
        counts.setdefault(section(case), Counter())[verdict(result)] += 1
    header = f"{'section':>8} {'cases':>6} " + " ".join(f"{c:>13}" for c in COLUMNS)
    print(header)
    for sec in sorted(counts, key=int):
        row = counts[sec]
        cells = " ".join(f"{row[c]:>13}" for c in COLUMNS)
        print(f"{sec:>8} {sum(row.values()):>6} {cells}")
    total = sum(counts.values(), Counter())
    cells = " ".join(f"{total[c]:>13}" for c in COLUMNS)
    print(f"{'total':>8} {sum(total.values()):>6} {cells}")
    for sec, why in EXCLUDED.items():
        print(f"{sec:>8} excluded ({why} is not implemented)")


def failures(results: dict[str, dict[str, str]]) -> list[str]:
    """Cases of sections 1-10 that are not OK, NON-STRICT or INFORMATIONAL."""
    return [
        f"{case}: behavior {r['behavior']}, close {r['behaviorClose']}"
        for case, r in results.items()
        if 1 <= int(section(case)) <= 10
        and not (r["behavior"] in ACCEPTABLE and r["behaviorClose"] in CLOSE_ACCEPTABLE)
    ]


def compare(
    results: dict[str, dict[str, str]], expected: dict[str, dict[str, str]]
) -> list[str]:
    """Regressions against the expected results; other changes are printed as notes."""
    regressions = []
    for case, want in expected.items():
        got = results.get(case)
        if got is None:
            regressions.append(f"{case}: expected {describe(want)}, but the case did not run")
        elif rank(got) > rank(want):
            regressions.append(f"{case}: expected {describe(want)}, got {describe(got)}")
        elif got != want:
            print(f"note: {case} went from {describe(want)} to {describe(got)}; {RECORD}")
    for case in sorted(results.keys() - expected.keys(), key=case_key):
        print(f"note: {case} is new: {describe(results[case])}; {RECORD}")
    return regressions


def describe(result: dict[str, str]) -> str:
    return f"{result['behavior']}/{result['behaviorClose']}"


def read_expected() -> dict[str, dict[str, str]]:
    if not EXPECTED.exists():
        raise SystemExit(f"autobahn: {EXPECTED.relative_to(ROOT)} is missing; {RECORD}")
    return json.loads(EXPECTED.read_text())


def write_expected(results: dict[str, dict[str, str]]) -> None:
    """One line per case, in case order, so that a diff shows what changed."""
    lines = [f"  {json.dumps(case)}: {json.dumps(r)}" for case, r in results.items()]
    EXPECTED.write_text("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    sys.exit(main())
