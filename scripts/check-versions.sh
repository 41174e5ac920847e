#!/usr/bin/env bash
# Checks that the docs and scripts name the tool versions pinned in
# scripts/versions.env, and no other: "wasmtime 48.0.2", "wac-cli 0.12.0",
# "just@1.59.0"... A figure measured with another version may say so as
# "Measured with wasmtime X.Y.Z". Part of `just check`.
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
    esac
}

status=0
while IFS= read -r file; do
    # Joined into one line, so that a mention broken across two lines counts.
    while IFS= read -r mention; do
        [[ $mention == Measured* ]] && continue
        [[ $mention =~ ^([a-z-]+)[\ @]v?([0-9.]+)$ ]] || continue
        want=$(pinned "${BASH_REMATCH[1]}")
        if [ "${BASH_REMATCH[2]}" != "$want" ]; then
            echo "$file: '$mention', but scripts/versions.env pins $want" >&2
            status=1
        fi
    done < <(tr '\n' ' ' <"$file" |
        grep -oE '(Measured with )?(wasmtime-cli|wasmtime|wac-cli|wac|wasm-tools|just)[ @]v?[0-9]+\.[0-9]+\.[0-9]+' || true)
done < <(git ls-files '*.md' '*.sh' '*.rs' justfile .ci/run)
exit "$status"
