"""Bursts of Python `websockets` clients (an implementation this project did
not write) against the component server (`examples/server`): many clients
that connect, or close, at the same moment. One scenario per run; prints one
JSON line with what it saw, then exits 0. The Rust tests
(tests/e2e/burst.rs) check it.

Usage: burst_client.py SCENARIO HOST:PORT [ARGS...]

Scenarios:
  connect N TIMEOUT [MESSAGES]
                      N clients connect at once, each within TIMEOUT seconds
                      from its TCP connect to the end of its handshake, and
                      each echoes MESSAGES messages (default 1) and closes;
                      then one more client does the same
  hold N TIMEOUT      N clients connect at once and stay connected until
                      every one of them was answered (101 or an HTTP error):
                      the count of each answer
  stuck N TIMEOUT     N TCP connections open at once and never finish their
                      handshake (half send nothing, half the start of a
                      request head); meanwhile one client connects and echoes
                      one message within TIMEOUT seconds; then how many of the
                      N the server ended (at its handshake timeout)
  close N             N clients connect (in groups of 50), each echoes one
                      message; then all close with code 1000 at once: how many
                      got the server's close frame back before TCP ended

Every client and every wait is bounded (by TIMEOUT, or 60 s), and a whole run
by 240 s, whatever the server does.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

# Bounds every wait that only catches a hang.
PATIENCE = 60
# Clients opened at once in the `close` scenario: fewer than the backlog, so
# that its setup does not depend on the burst behaviour `connect` checks.
GROUP = 50


def room_for(sockets: int) -> None:
    """Raises the open-file limit so that `sockets` connections fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = sockets + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def failure(e: BaseException) -> str:
    """A short name for how a client failed."""
    if isinstance(e, InvalidStatus):
        return f"http {e.response.status_code}"
    if isinstance(e, (TimeoutError, asyncio.TimeoutError)):
        return "timeout"
    return type(e).__name__


async def echo_once(
    base: str, index: int, timeout: float, messages: int = 1
) -> tuple[str, float]:
    """Connects, echoes `messages` messages and closes: ("ok", handshake
    seconds), or (failure, seconds until it failed)."""
    started = time.monotonic()
    try:
        ws = await connect(f"{base}/burst/{index}", open_timeout=timeout)
    except Exception as e:  # noqa: BLE001: every way a client fails is counted
        return f"handshake: {failure(e)}", time.monotonic() - started
    opened = time.monotonic() - started
    try:
        async with ws:
            for i in range(messages):
                payload = f"client {index} message {i}"
                await ws.send(payload)
                reply = await asyncio.wait_for(ws.recv(), timeout)
                if reply != payload:
                    return "echo: wrong", opened
            return "ok", opened
    except Exception as e:  # noqa: BLE001
        return f"echo: {failure(e)}", opened


async def connect_burst(base: str, n: str, timeout: str, messages: str = "1") -> dict:
    n, timeout, messages = int(n), float(timeout), int(messages)
    room_for(n)
    started = time.monotonic()
    results = await asyncio.gather(*(echo_once(base, i, timeout, messages) for i in range(n)))
    elapsed = time.monotonic() - started
    outcomes = Counter(outcome for outcome, _ in results)
    handshakes = sorted(seconds for outcome, seconds in results if outcome == "ok")
    after, after_s = await echo_once(base, n, timeout)
    return {
        "clients": n,
        "served": outcomes.pop("ok", 0),
        "failed": dict(outcomes),
        "slowest_handshake_s": round(handshakes[-1], 2) if handshakes else None,
        "median_handshake_s": round(handshakes[len(handshakes) // 2], 2) if handshakes else None,
        "burst_s": round(elapsed, 2),
        "after": after,
        "after_s": round(after_s, 2),
    }


async def hold(base: str, n: str, timeout: str) -> dict:
    n, timeout = int(n), float(timeout)
    room_for(n)
    answered = 0
    everyone = asyncio.Event()

    async def one(index: int) -> str:
        nonlocal answered
        try:
            ws = await connect(f"{base}/held/{index}", open_timeout=timeout)
        except Exception as e:  # noqa: BLE001
            outcome = failure(e)
            ws = None
        else:
            outcome = "101"
        answered += 1
        if answered == n:
            everyone.set()
        if ws is not None:
            # Stay, so that the server counts this connection, until all
            # were answered.
            try:
                await asyncio.wait_for(everyone.wait(), 2 * timeout)
            finally:
                await ws.close()
        return outcome

    results = await asyncio.gather(*(one(i) for i in range(n)))
    return dict(Counter(results))


async def stuck(base: str, n: str, timeout: str) -> dict:
    n, timeout = int(n), float(timeout)
    room_for(n)
    host, port = base.removeprefix("ws://").split(":")

    async def open_stuck(index: int):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port)), PATIENCE
        )
        if index % 2:
            writer.write(b"GET /stuck HTTP/1.1\r\nHost: stuck\r\n")
            await writer.drain()
        return reader, writer

    async def ended(reader) -> bool:
        """Whether the server ends the connection (without a word)."""
        try:
            return await asyncio.wait_for(reader.read(4096), PATIENCE) == b""
        except ConnectionError:
            return True
        except (TimeoutError, asyncio.TimeoutError):
            return False

    started = time.monotonic()
    sockets = await asyncio.gather(*(open_stuck(i) for i in range(n)))
    try:
        outcome, seconds = await echo_once(base, n, timeout)
        # Then the server ends each of them at its handshake timeout.
        closed = await asyncio.gather(*(ended(reader) for reader, _ in sockets))
        all_closed_s = time.monotonic() - started
    finally:
        for _, writer in sockets:
            writer.transport.abort()
    return {
        "stuck": len(sockets),
        "client": outcome,
        "client_s": round(seconds, 2),
        "closed_by_server": sum(closed),
        "all_closed_s": round(all_closed_s, 1),
    }


async def close_at_once(base: str, n: str) -> dict:
    n = int(n)
    room_for(n)
    clients = []
    for start in range(0, n, GROUP):
        group = range(start, min(n, start + GROUP))
        clients += await asyncio.gather(
            *(connect(f"{base}/closing/{i}", open_timeout=PATIENCE) for i in group)
        )
    for ws in clients:
        await ws.send("ready?")
    for ws in clients:
        await asyncio.wait_for(ws.recv(), PATIENCE)

    async def close(ws) -> tuple[int | None, int]:
        await asyncio.wait_for(ws.close(1000, "burst over"), PATIENCE)
        received = ws.protocol.close_rcvd
        return (received.code if received else None), ws.close_code

    results = await asyncio.gather(*(close(ws) for ws in clients))
    # The close frame the server sent back, by code ("none": TCP ended
    # without one, which the client reports as 1006).
    replies = Counter("none" if code is None else str(code) for code, _ in results)
    return {"clients": n, "replies": dict(replies)}


SCENARIOS = {
    "connect": connect_burst,
    "hold": hold,
    "stuck": stuck,
    "close": close_at_once,
}


def main() -> None:
    scenario, address, *args = sys.argv[1:]
    run = SCENARIOS[scenario](f"ws://{address}", *args)
    try:
        result = asyncio.run(asyncio.wait_for(run, 4 * PATIENCE))
    except (TimeoutError, asyncio.TimeoutError):
        result = {"error": f"the {scenario} scenario did not end within {4 * PATIENCE} s"}
    except ConnectionClosed as e:
        result = {"error": f"a connection ended during the setup: {e}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
