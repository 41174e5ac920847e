#!/usr/bin/env bash
# Checks the public API of wasm-websocket-protocol, wasm-websocket-engine and
# wasm-websocket against git revision BASELINE (the tag of the last release)
# with cargo-semver-checks (on the host target, where the crates build too:
# its rustdoc runs for wasm32-wasip2 fail in 0.51.0): a change that needs a major
# (0.x: minor) version bump fails. Installs cargo-semver-checks at the pinned
# version (scripts/versions.env) into .tools on first use (about 10 minutes).
#
#   semver-check.sh BASELINE
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/versions.env
source scripts/versions.env
baseline=${1:?usage: semver-check.sh BASELINE (a git revision, e.g. v0.1.0)}
tools="$root/.tools"
bin="$tools/bin/cargo-semver-checks"

if [ "$("$bin" semver-checks --version 2>/dev/null | awk '{ print $2 }')" != "$SEMVER_CHECKS_VERSION" ]; then
    printf 'semver-check: building cargo-semver-checks %s (cargo install --locked)\n' "$SEMVER_CHECKS_VERSION" >&2
    cargo install --quiet --locked --root "$tools" "cargo-semver-checks@$SEMVER_CHECKS_VERSION"
fi
# The SDK with its default host shape, the direct client and the server
# (`p2` and `p3` exclude each other, so not every feature at once); the other
# two as they are.
PATH="$tools/bin:$PATH" cargo semver-checks check-release -p wasm-websocket \
    --baseline-rev "$baseline" --default-features --features sockets,server
PATH="$tools/bin:$PATH" cargo semver-checks check-release \
    -p wasm-websocket-protocol -p wasm-websocket-engine \
    --baseline-rev "$baseline" --default-features
