#!/usr/bin/env bash
# Builds the WASI 0.3 mode: the polyfill with its `p3` feature (exporting the
# P3 shape of golem:websocket/client@1.5.0) and the P3 example app
# (examples-p3/echo, a wasi:cli/run@0.3.0 command built with the crate's `p3`
# feature), and composes them into target/composed/p3-echo.wasm.
# The end-to-end tests call this; cargo and wac make reruns cheap.
#
# Both build into target/p3, so that they never overwrite the WASI 0.2 builds
# of scripts/build-components.sh in target/wasm32-wasip2.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target_dir="$root/target/p3"
out="$target_dir/wasm32-wasip2/release"
composed=target/composed
mkdir -p "$composed"

cargo build --quiet --release --target wasm32-wasip2 -p wasm-websocket-polyfill \
    --features p3 --target-dir "$target_dir"
cargo build --quiet --release --target wasm32-wasip2 \
    --manifest-path examples-p3/echo/Cargo.toml --target-dir "$target_dir"

cp "$out/wasm_websocket_polyfill.wasm" "$composed/polyfill-p3.wasm"
app="$out/p3_echo.wasm"
dest="$composed/p3-echo.wasm"
if [ ! -e "$dest" ] || [ "$app" -nt "$dest" ] || [ "$out/wasm_websocket_polyfill.wasm" -nt "$dest" ]; then
    wac plug "$app" --plug "$out/wasm_websocket_polyfill.wasm" -o "$dest" ||
        { echo "build-p3: composing examples-p3/echo with the P3 polyfill failed" >&2; exit 1; }
fi
