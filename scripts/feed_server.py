"""A subscription feed on loopback, from the `websockets` library (not ours).

Used by `scripts/feed-demo.sh`. Selects the subprotocol `feed.v1` when offered,
answers `subscribe:<topic>` with `subscribed:<topic> (run R)` and then sends
`<topic> tick I (run R)` every `--interval` seconds, where R is `--run`, so a
restarted server is told apart. Prints `ws://127.0.0.1:PORT/` once it listens.
SIGKILL ends every connection abruptly; SIGTERM closes each with 1001 (going
away) first.
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--run", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()

    async def feed(websocket):
        ticker = None
        try:
            async for message in websocket:
                if isinstance(message, str) and message.startswith("subscribe:"):
                    topic = message.removeprefix("subscribe:")
                    await websocket.send(f"subscribed:{topic} (run {args.run})")
                    if ticker is None:
                        ticker = asyncio.create_task(ticks(websocket, topic))
        finally:
            if ticker:
                ticker.cancel()

    async def ticks(websocket, topic):
        i = 0
        while True:
            await asyncio.sleep(args.interval)
            await websocket.send(f"{topic} tick {i} (run {args.run})")
            i += 1

    async with serve(feed, "127.0.0.1", args.port, subprotocols=["feed.v1"]) as server:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, server.close)
        port = server.sockets[0].getsockname()[1]
        print(f"ws://127.0.0.1:{port}/", flush=True)
        await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
