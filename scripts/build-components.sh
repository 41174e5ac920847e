#!/usr/bin/env bash
# Builds every component in release mode and composes each example app with
# the polyfill into target/composed/<example>.wasm. `just build` and the
# integration tests both call this; cargo and wac make reruns cheap.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=target/wasm32-wasip2/release
composed=target/composed
mkdir -p "$composed"

examples=()
for manifest in examples/*/Cargo.toml; do
    examples+=("$(basename "$(dirname "$manifest")")")
done

cargo build --quiet --release --target wasm32-wasip2 -p wasm-websocket-polyfill "${examples[@]/#/-p=}"

# The ws://-only polyfill (no TLS), for users who want the smallest component.
cargo build --quiet --release --target wasm32-wasip2 -p wasm-websocket-polyfill \
    --no-default-features --target-dir target/no-tls
cp target/no-tls/wasm32-wasip2/release/wasm_websocket_polyfill.wasm "$composed/polyfill-no-tls.wasm"
cp "$out/wasm_websocket_polyfill.wasm" "$composed/polyfill.wasm"

for example in "${examples[@]}"; do
    app="$out/$example.wasm"
    dest="$composed/$example.wasm"
    if [ ! -e "$dest" ] || [ "$app" -nt "$dest" ] || [ "$out/wasm_websocket_polyfill.wasm" -nt "$dest" ]; then
        wac plug "$app" --plug "$out/wasm_websocket_polyfill.wasm" -o "$dest" ||
            { echo "build-components: composing examples/$example with the polyfill failed" >&2; exit 1; }
    fi
done
