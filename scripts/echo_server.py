"""A WebSocket echo server on loopback, from the `websockets` library (not ours).

Used by `just demo`. Prints `ws://127.0.0.1:PORT/` (or `wss://` with --certfile and
--keyfile) on its first line of output once it listens, then echoes every message
until it is killed.
"""

import argparse
import asyncio
import ssl

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args()

    tls = None
    if args.certfile:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.certfile, args.keyfile)

    async with serve(echo, "127.0.0.1", args.port, ssl=tls, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
