#!/usr/bin/env bash
# `just demo [URL]`: serves the composed `echo` example with `wasmtime serve` and
# asks it, with curl, to talk to a WebSocket echo server: by default the Python
# `websockets` library's, started here on loopback; or the server at URL.
# Builds only what it needs (the polyfill and the echo example, composed).
# Stops everything it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$PATH"
url=${1:-}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

bash scripts/build-components.sh echo

if [ -z "$url" ]; then
    .venv/bin/python scripts/echo_server.py >"$work/server.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        url=$(head -n1 "$work/server.out" 2>/dev/null)
        [[ $url == ws://* ]] && break
        sleep 0.1
    done
    [[ $url == ws://* ]] || { cat "$work/server.out" >&2; exit 1; }
    echo "demo: Python websockets echo server at $url"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "demo: starting wasmtime serve (the first start compiles the component to native code: up to a minute)"
wasmtime serve -Scli -Sinherit-network -Sallow-ip-name-lookup --addr "127.0.0.1:$port" \
    target/composed/echo.wasm >"$work/serve.out" 2>&1 &
serve=$!
pids+=("$serve")
for _ in $(seq 3000); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    kill -0 "$serve" 2>/dev/null || { cat "$work/serve.out" >&2; echo "demo: wasmtime serve stopped" >&2; exit 1; }
    sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$port/" ||
    { cat "$work/serve.out" >&2; echo "demo: wasmtime serve did not answer within 5 minutes" >&2; exit 1; }
echo "demo: wasmtime serve runs target/composed/echo.wasm (echo example + polyfill) at http://127.0.0.1:$port/"

ask() {
    local what=$1
    shift
    echo
    echo "== $what"
    local args=(--data-urlencode "url=$url")
    for param in "$@"; do args+=(--data-urlencode "$param"); done
    echo "\$ curl -G http://127.0.0.1:$port/ $(printf '%q ' "${args[@]}")"
    curl -sS -G "http://127.0.0.1:$port/" "${args[@]}" -w '  [HTTP %{http_code}]\n'
}

ask "one text message" "msg=hello from a component"
ask "three binary messages" "msg=bytes" "binary=1" "count=3"
ask "a 1 MiB message, closed with 4000" "size=1048576" "close_code=4000" "close_reason=demo done"
ask "a close code a client may not send: refused before sending" "close_code=1005"
echo
echo "== a URL that is not a WebSocket URL"
curl -sS -G "http://127.0.0.1:$port/" --data-urlencode "url=http://127.0.0.1:1/" -w '  [HTTP %{http_code}]\n'
