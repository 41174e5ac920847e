"""Clients of the Python `websockets` library (an implementation this project
did not write) against the component server (`examples/server`), one
scenario per run. Prints one JSON line with what it saw, then exits 0; the
Rust test (tests/e2e/server.rs) checks it.

Usage: websockets_client.py SCENARIO HOST:PORT [ARGS...]

Scenarios:
  echo PATH [PROTOCOL...]   one client: text, binary, a ping, then a close 4001
  many N MESSAGES           N clients at once, each echoing MESSAGES messages
  slow MESSAGES             one client sends without ever reading while another
                            echoes MESSAGES messages
  silent                    a TCP connection that never sends a handshake, and
                            an ordinary client meanwhile
  status PATH               the HTTP status of a refused handshake
  big SIZE                  sends a SIZE-byte message; the server's close code
  closed PATH               the close frame the server sends first
  first PATH                the first message the server sends
  hold N                    N clients connect and stay; one more then tries
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

# Every wait here only catches a hang: the test's bounds are far above it.
PATIENCE = 60


async def echo(base: str, path: str, *protocols: str) -> dict:
    async with connect(
        base + path, subprotocols=list(protocols) or None, max_size=None, open_timeout=PATIENCE
    ) as ws:
        await ws.send("héllo")
        text = await ws.recv()
        await ws.send(bytes(range(256)) * 4)
        binary = await ws.recv()
        pong = await asyncio.wait_for(await ws.ping(b"are you there"), PATIENCE)
        await ws.close(4001, "client says bye")
        return {
            "protocol": ws.subprotocol,
            "text": text,
            "binary_ok": binary == bytes(range(256)) * 4,
            "pong": pong is not None,
            "close_code": ws.close_code,
        }


async def one_client(base: str, index: int, messages: int) -> bool:
    async with connect(f"{base}/client/{index}", open_timeout=PATIENCE) as ws:
        for i in range(messages):
            payload = f"client {index} message {i}"
            await ws.send(payload)
            if await asyncio.wait_for(ws.recv(), PATIENCE) != payload:
                return False
        return True


async def many(base: str, n: str, messages: str) -> dict:
    results = await asyncio.gather(*(one_client(base, i, int(messages)) for i in range(int(n))))
    return {"clients": len(results), "all_echoed": all(results)}


async def slow(base: str, messages: str) -> dict:
    # The slow client: sends large messages and never reads, until the
    # server's replies fill every buffer and its sends stall.
    stalled = await connect(f"{base}/slow", max_size=None, open_timeout=PATIENCE)
    chunk = b"x" * (1 << 20)
    sent = 0

    async def flood() -> None:
        nonlocal sent
        while True:
            await stalled.send(chunk)
            sent += 1

    # Stop reading at the socket: the server's replies pile up in the TCP
    # buffers until its sends to this client wait.
    stalled.transport.pause_reading()
    flooding = asyncio.create_task(flood())
    await asyncio.sleep(0.5)
    ok = await one_client(base, 0, int(messages))
    stalled_sends = sent
    flooding.cancel()
    stalled.transport.abort()
    return {"fast_echoed": ok, "slow_sent_mib": stalled_sends}


async def silent(base: str) -> dict:
    host, port = base.removeprefix("ws://").split(":")
    loop = asyncio.get_running_loop()
    sock = socket.create_connection((host, int(port)), timeout=PATIENCE)
    sock.setblocking(False)
    # Meanwhile an ordinary client is served.
    served = await one_client(base, 0, 3)
    started = time.monotonic()
    data = await asyncio.wait_for(loop.sock_recv(sock, 4096), PATIENCE)
    sock.close()
    return {"served": served, "silent_got": data.decode(errors="replace"),
            "closed": data == b"", "waited_s": round(time.monotonic() - started, 1)}


async def status(base: str, path: str) -> dict:
    try:
        async with connect(base + path, open_timeout=PATIENCE):
            return {"status": 101}
    except InvalidStatus as e:
        return {"status": e.response.status_code, "body": e.response.body.decode()}


async def big(base: str, size: str) -> dict:
    async with connect(f"{base}/big", max_size=None, open_timeout=PATIENCE) as ws:
        await ws.send(b"y" * int(size))
        try:
            reply = await asyncio.wait_for(ws.recv(), PATIENCE)
            return {"echoed": len(reply), "close_code": None}
        except ConnectionClosed as e:
            return {"echoed": None, "close_code": e.rcvd.code if e.rcvd else None}


async def closed(base: str, path: str) -> dict:
    async with connect(base + path, open_timeout=PATIENCE) as ws:
        try:
            await asyncio.wait_for(ws.recv(), PATIENCE)
            return {"close_code": None}
        except ConnectionClosed as e:
            return {
                "close_code": e.rcvd.code if e.rcvd else None,
                "reason": e.rcvd.reason if e.rcvd else None,
            }


async def first(base: str, path: str) -> dict:
    async with connect(base + path, open_timeout=PATIENCE) as ws:
        return {"message": await asyncio.wait_for(ws.recv(), PATIENCE)}


async def hold(base: str, n: str) -> dict:
    held = [await connect(f"{base}/held/{i}", open_timeout=PATIENCE) for i in range(int(n))]
    try:
        result = await status(base, "/one-too-many")
    finally:
        for ws in held:
            await ws.close()
    # Once they are gone, there is room again.
    for _ in range(100):
        after = await status(base, "/after")
        if after["status"] == 101:
            break
        await asyncio.sleep(0.1)
    return {"over_limit": result, "after_close": after["status"]}


async def idle(base: str, seconds: str) -> dict:
    # Reading goes on while idle, so the server's pings are answered.
    async with connect(f"{base}/idle", open_timeout=PATIENCE, ping_interval=None) as ws:
        await asyncio.sleep(float(seconds))
        await ws.send("after the idle time")
        return {"echoed": await asyncio.wait_for(ws.recv(), PATIENCE)}


SCENARIOS = {
    "echo": echo,
    "many": many,
    "slow": slow,
    "silent": silent,
    "status": status,
    "big": big,
    "closed": closed,
    "first": first,
    "hold": hold,
    "idle": idle,
}


def main() -> None:
    scenario, address, *args = sys.argv[1:]
    result = asyncio.run(SCENARIOS[scenario](f"ws://{address}", *args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
