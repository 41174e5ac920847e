#!/usr/bin/env bash
# Builds the WASI 0.3 mode: the polyfill with its `p3` feature (exporting the
# P3 shape of golem:websocket/client@1.5.0) and the P3 apps (examples-p3/echo
# and examples-p3/bench-client, wasi:cli/run@0.3.0 commands built with the
# crate's `p3` feature), and composes each with it into
# target/composed/p3-<app>.wasm. The end-to-end tests and
# scripts/build-components.sh (for the benchmark) call this; cargo and wac
# make reruns cheap.
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
cp "$out/wasm_websocket_polyfill.wasm" "$composed/polyfill-p3.wasm"
# Each app has its own workspace and lockfile: one build each.
for app in echo bench-client; do
    cargo build --quiet --release --target wasm32-wasip2 \
        --manifest-path "examples-p3/$app/Cargo.toml" --target-dir "$target_dir"
    wasm="$out/p3_${app//-/_}.wasm"
    dest="$composed/p3-$app.wasm"
    if [ ! -e "$dest" ] || [ "$wasm" -nt "$dest" ] || [ "$out/wasm_websocket_polyfill.wasm" -nt "$dest" ]; then
        wac plug "$wasm" --plug "$out/wasm_websocket_polyfill.wasm" -o "$dest" ||
            { echo "build-p3: composing examples-p3/$app with the P3 polyfill failed" >&2; exit 1; }
    fi
done
