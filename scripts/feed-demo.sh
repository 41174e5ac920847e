#!/usr/bin/env bash
# `just feed-demo`: serves the composed `feed` example with `wasmtime serve`,
# asks it (curl) to follow a Python `websockets` feed for 9 seconds, and
# restarts that server twice meanwhile: first killed (connections end without
# a close frame) and started again 1.5 s later, then stopped (close 1001,
# going away) and started again 0.8 s later. Prints what the script did and
# when (times from the request), and the app's event log (times from when the
# app got the request).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
pids=()
server=
cleanup() {
    for pid in "${pids[@]}" $server; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

bash scripts/build-components.sh

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
started=$(date +%s%N)
say() { printf 'demo %6d ms: %s\n' $((($(date +%s%N) - started) / 1000000)) "$*"; }

feed_port=$(free_port)
start_server() {
    .venv/bin/python scripts/feed_server.py --port "$feed_port" --run "$1" >"$work/server$1.out" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        grep -q '^ws://' "$work/server$1.out" 2>/dev/null && break
        sleep 0.05
    done
}

app_port=$(free_port)
wasmtime serve -Scli -Sinherit-network --addr "127.0.0.1:$app_port" \
    target/composed/feed.wasm >"$work/serve.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$app_port/" && break
    sleep 0.1
done

start_server 1
started=$(date +%s%N)
say "feed server run 1 listens on ws://127.0.0.1:$feed_port/"
curl -sS -G "http://127.0.0.1:$app_port/" \
    --data-urlencode "url=ws://127.0.0.1:$feed_port/" \
    --data-urlencode "protocol=feed.v1" \
    --data-urlencode "subscribe=subscribe:btc" \
    --data-urlencode "delays=250,500,1000" \
    --data-urlencode "deadline_ms=9000" \
    --data-urlencode "linger_ms=1000" >"$work/log.json" &
curl_pid=$!
say "curl asks the feed app to follow the feed for 9 s"
sleep 2.2
kill -KILL "$server"; wait "$server" 2>/dev/null || true
say "restart 1: feed server killed (SIGKILL); it starts again 1.5 s later"
sleep 1.5
start_server 2
say "feed server run 2 listens on ws://127.0.0.1:$feed_port/"
sleep 2.3
kill -TERM "$server"; wait "$server" 2>/dev/null || true
say "restart 2: feed server stopped (SIGTERM: close 1001); it starts again 0.8 s later"
sleep 0.8
start_server 3
say "feed server run 3 listens on ws://127.0.0.1:$feed_port/"
wait "$curl_pid"
say "the app answered"
echo
python3 - "$work/log.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for e in report["events"]:
    kind = e["event"]
    if kind == "connected":
        what = f"attempt {e['attempt']}, protocol {e['agreed_protocol']}"
    elif kind == "message":
        what = e["data"]
    elif kind == "disconnected":
        why = f"close {e['close']['code']} {e['close']['reason']!r}" if e["close"] else e["error"]
        what = f"{why}; retry in {e['retry_in_ms']} ms; send -> {e['send']}"
    else:
        what = f"attempt {e['attempt']}: {e['error']}; retry in {e['retry_in_ms']} ms; send -> {e['send']}"
    print(f"app {e['t_ms']:6d} ms  {kind:<14} state={e['state']:<10} protocol={str(e['protocol']):<8} {what}")
end = report["end"]
print(f"app end: by {end['by']}, close {end.get('close_result')}, state {end.get('state')}; "
      f"after {report['elapsed_ms']} ms one more recv -> {report['after_close']['recv']}, "
      f"state {report['after_close']['state']}")
PY
