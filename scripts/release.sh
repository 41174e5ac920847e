#!/usr/bin/env bash
# The polyfill as a download: builds it (with TLS, and the ws://-only build)
# and lays out target/dist/wasm-websocket-polyfill-<version>/ with the two
# components, the WIT they export (read back from the components themselves
# with `wasm-tools component wit`), the polyfill's README and SHA256SUMS, and
# a .tar.gz of that folder with its own .sha256 beside it: what a release
# attaches, and what a user downloads instead of building this repository.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$PATH"
log() { printf 'release: %s\n' "$*" >&2; }

version=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "wasm-websocket-polyfill"))')
name="wasm-websocket-polyfill-$version"
out="target/dist/$name"

bash scripts/build-components.sh echo >/dev/null
log "the ws://-only build"
cargo build --quiet --release --target wasm32-wasip2 -p wasm-websocket-polyfill \
    --no-default-features --target-dir target/no-tls

rm -rf "$out"
mkdir -p "$out/wit"
cp target/composed/polyfill.wasm "$out/polyfill.wasm"
cp target/no-tls/wasm32-wasip2/release/wasm_websocket_polyfill.wasm "$out/polyfill-no-tls.wasm"
for wasm in polyfill polyfill-no-tls; do
    wasm-tools validate "$out/$wasm.wasm"
    wasm-tools component wit "$out/$wasm.wasm" >"$out/wit/$wasm.wit"
done
cp polyfill/README.md "$out/README.md"
(cd "$out" && sha256sum polyfill.wasm polyfill-no-tls.wasm wit/*.wit README.md >SHA256SUMS)
tar -C target/dist -czf "target/dist/$name.tar.gz" "$name"
(cd target/dist && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
log "target/dist/$name/ and target/dist/$name.tar.gz (+ .sha256):"
cat "$out/SHA256SUMS" >&2
