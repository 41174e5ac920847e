#!/usr/bin/env bash
# The crates a user depends on, as crates.io would have them.
#
#   packages.sh check     `cargo package` of wasm-websocket-protocol,
#                         wasm-websocket-engine and wasm-websocket, in that
#                         (dependency) order, each verified by a build of the
#                         packaged sources (`just check`)
#   packages.sh outside   packages them without the verify build, unpacks
#                         them into target/package/, then builds
#                         tests/outside, a crate outside the workspace that
#                         depends on them through `[patch.crates-io]` on the
#                         packaged sources, for wasm32-wasip2 with the default
#                         feature and with `p3` (`just test`)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf 'packages: %s\n' "$*" >&2; }

crates=(-p wasm-websocket-protocol -p wasm-websocket-engine -p wasm-websocket)
# cargo's own progress on a terminal; in a log, only the lines of this script.
quiet=()
[ -t 2 ] || quiet=(--quiet)

case "${1:-}" in
    check)
        # The verify build takes the packaged crates from a local registry,
        # and cargo holds a registry crate for immutable: a source unpacked,
        # or a library built, from an earlier package of the same version
        # would be used again, without what changed since. Drop them first.
        rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/wasm-websocket-*
        for deps in target/debug/deps/wasm_websocket*.d; do
            [ -e "$deps" ] || continue
            if grep -q 'registry/src/-' "$deps"; then
                build=$(basename "$deps" .d)
                rm -rf target/debug/deps/*"$build".* "target/debug/.fingerprint/${build//_/-}"
            fi
        done
        log "cargo package (verified): wasm-websocket-protocol, wasm-websocket-engine, wasm-websocket"
        cargo package "${quiet[@]}" --allow-dirty "${crates[@]}"
        ;;
    outside)
        log "cargo package (not verified): the three crates into target/package/"
        cargo package "${quiet[@]}" --allow-dirty --no-verify "${crates[@]}"
        # Without the verify build, cargo leaves only the .crate files: unpack
        # them where tests/outside's [patch.crates-io] points, afresh, so the
        # build reads what was just packaged.
        for crate in wasm-websocket-protocol wasm-websocket-engine wasm-websocket; do
            version=$(cargo pkgid -p "$crate" | sed 's/.*[@#]//')
            rm -rf "target/package/$crate-$version"
            tar -xzf "target/package/$crate-$version.crate" -C target/package
        done
        for features in "" "--no-default-features --features p3"; do
            log "tests/outside: cargo build --target wasm32-wasip2 ${features:-(default features)}"
            # shellcheck disable=SC2086
            cargo build "${quiet[@]}" --locked --target wasm32-wasip2 \
                --manifest-path tests/outside/Cargo.toml --target-dir target/outside $features
        done
        log "tests/outside builds against the packaged crates, with p2 and with p3"
        ;;
    *)
        echo "usage: packages.sh check|outside" >&2
        exit 2
        ;;
esac
