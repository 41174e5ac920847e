"""An independent WebSocket server for the end-to-end tests.

The Python `websockets` library, so that the polyfill is checked against an
implementation that shares no code with tungstenite. Paths:

  /echo                          echoes every message
  /delay?ms=N                    echoes every message N ms after it arrived
  /close?code=C&reason=R         closes with C and R after the first message
  /subprotocol                   answers each message with the subprotocol it
                                 selected ("" for none), out of "superchat" and
                                 "chat", in that order of preference
  /together?n=N                  after the first message, waits until N
                                 connections on this path sent theirs (at most
                                 60 s), then all close with 1000 "together" at
                                 once

Usage: websockets_server.py [--cert CERT.pem --key KEY.pem]
With a certificate it serves wss://. It prints "READY <port>" once it listens
on 127.0.0.1, then one JSON line per connection that ended:
{"path": ..., "close_code": ..., "close_reason": ..., "messages": ...}, the
close frame the client sent (null code when none) and how many messages
/echo and /delay received.
"""

import argparse
import asyncio
import json
import ssl
import urllib.parse

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOLS = ["superchat", "chat"]

# /together: how many connections sent their first message, per N, and the
# event that releases them all once N did.
TOGETHER: dict[int, tuple[list[int], asyncio.Event]] = {}


def select_subprotocol(connection, offered):
    return next((p for p in SUBPROTOCOLS if p in offered), None)


async def handler(ws):
    target = urllib.parse.urlsplit(ws.request.path)
    params = urllib.parse.parse_qs(target.query)
    messages = 0
    try:
        if target.path == "/echo":
            async for message in ws:
                messages += 1
                await ws.send(message)
        elif target.path == "/delay":
            delay = int(params["ms"][0]) / 1000
            async for message in ws:
                messages += 1
                await asyncio.sleep(delay)
                await ws.send(message)
        elif target.path == "/close":
            await ws.recv()
            await ws.close(int(params["code"][0]), params.get("reason", [""])[0])
        elif target.path == "/together":
            n = int(params["n"][0])
            arrived, all_here = TOGETHER.setdefault(n, ([0], asyncio.Event()))
            await ws.recv()
            arrived[0] += 1
            if arrived[0] >= n:
                all_here.set()
            await asyncio.wait_for(all_here.wait(), 60)
            await ws.close(1000, "together")
        elif target.path == "/subprotocol":
            async for _ in ws:
                await ws.send(ws.subprotocol or "")
        else:
            await ws.close(1008, f"no such path {target.path}")
    except ConnectionClosed:
        pass
    await ws.wait_closed()
    received = ws.protocol.close_rcvd
    print(
        json.dumps(
            {
                "path": target.path,
                "close_code": received.code if received else None,
                "close_reason": received.reason if received else None,
                "messages": messages,
            }
        ),
        flush=True,
    )


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    async with serve(
        handler,
        "127.0.0.1",
        0,
        ssl=tls,
        select_subprotocol=select_subprotocol,
        max_size=None,
        ping_interval=None,
        compression=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await server.serve_forever()


asyncio.run(main())
