#!/usr/bin/env bash
# Builds components in release mode and composes example apps with the
# polyfill into target/composed/<example>.wasm (wasmcloud-draft too: its
# imports, wasmcloud:websocket/{client,types}@0.1.1-draft, are filled by the
# polyfill's exports of the same names); the direct client (echo,
# autobahn-client, stall, bench-client, fanin and feed with the feature `sockets`, not
# composed) into target/direct/.
#
#   build-components.sh              every example, the polyfill and the
#                                    ws://-only polyfill (`just build`, tests)
#   build-components.sh EXAMPLE...   only the polyfill and those examples
#                                    (`just demo` needs only `echo`)
#
# cargo and the timestamps below make reruns cheap. Uses the tools of
# scripts/setup.sh (.tools/bin) before any on PATH.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$PATH"
# Run from `cargo test` (tests/src/components.rs), this script inherits what
# cargo sets for a test: CARGO_MANIFEST_DIR, CARGO_PKG_NAME... ring's build
# script reruns when one of those changes (rerun-if-env-changed), and with it
# rustls and the polyfill: 45 s twice in every `just test`. Without them, a
# build from the tests and one from `just` are the same build.
while IFS= read -r name; do
    unset "$name"
done < <(compgen -e | grep -E '^(CARGO_PKG_|CARGO_MANIFEST_|CARGO_CRATE_NAME$|CARGO_BIN_NAME$|CARGO_PRIMARY_PACKAGE$|CARGO_TARGET_TMPDIR$|OUT_DIR$)' || true)
out=target/wasm32-wasip2/release
composed=target/composed
mkdir -p "$composed"
log() { printf 'build-components: %s\n' "$*" >&2; }

# cargo's own progress on a terminal; in a log, only the lines of this script.
quiet=()
[ -t 2 ] || quiet=(--quiet)

examples=("$@")
if [ ${#examples[@]} -eq 0 ]; then
    for manifest in examples/*/Cargo.toml; do
        examples+=("$(basename "$(dirname "$manifest")")")
    done
fi
for example in "${examples[@]}"; do
    [ -f "examples/$example/Cargo.toml" ] || { log "no example named $example (examples/)"; exit 1; }
done

# Examples on the crate's `server` feature build on their own, so that the
# other examples (the minimal app whose size the benchmark reports) are built
# with the features they ask for, as a user's build would be: cargo unifies
# the features of the packages one build takes. (The features only add, and
# an app links only what it calls, so it would change what they compile, not
# what they do.) They import no golem:websocket, so they go to target/direct/
# as they are, not composed with the polyfill.
together=()
apart=()
for example in "${examples[@]}"; do
    case "$example" in
        server) apart+=("$example") ;;
        *) together+=("$example") ;;
    esac
done
log "cargo build --release --target wasm32-wasip2: the polyfill and ${together[*]}" \
    "(the first build takes minutes, later ones seconds)"
cargo build "${quiet[@]}" --release --target wasm32-wasip2 -p wasm-websocket-polyfill "${together[@]/#/-p=}"
mkdir -p target/direct
for example in "${apart[@]}"; do
    log "cargo build --release --target wasm32-wasip2: $example (on its own: the server feature)"
    cargo build "${quiet[@]}" --release --target wasm32-wasip2 -p "$example"
    cp "$out/$example.wasm" "target/direct/$example.wasm"
    # The server's raw-echo (no WebSocket library: the runtime's ceiling for
    # the bench's server rows) is built with it.
    [ "$example" != server ] || cp "$out/raw-echo.wasm" target/direct/raw-echo.wasm
done
cp "$out/wasm_websocket_polyfill.wasm" "$composed/polyfill.wasm"

if [ $# -eq 0 ]; then
    # The ws://-only polyfill (no TLS), for users who want the smallest component.
    log "cargo build --release --target wasm32-wasip2: the ws://-only polyfill (--no-default-features)"
    cargo build "${quiet[@]}" --release --target wasm32-wasip2 -p wasm-websocket-polyfill \
        --no-default-features --target-dir target/no-tls
    cp target/no-tls/wasm32-wasip2/release/wasm_websocket_polyfill.wasm "$composed/polyfill-no-tls.wasm"
fi

for example in "${together[@]}"; do
    app="$out/$example.wasm"
    dest="$composed/$example.wasm"
    if [ ! -e "$dest" ] || [ "$app" -nt "$dest" ] || [ "$out/wasm_websocket_polyfill.wasm" -nt "$dest" ]; then
        wac plug "$app" --plug "$out/wasm_websocket_polyfill.wasm" -o "$dest" ||
            { log "composing examples/$example with the polyfill failed"; exit 1; }
    fi
done

if [ $# -eq 0 ]; then
    # The direct client (the apps' feature `sockets`: they connect with
    # WebSocket::connect_direct): echo, autobahn-client, stall, bench-client,
    # fanin and feed again,
    # running the engine themselves over wasi:sockets, served without the
    # polyfill. Built after the apps were composed: this build replaces their
    # copies in $out (cargo keeps both builds, so rerunning either is cheap).
    direct=target/direct
    direct_apps=(echo autobahn-client stall bench-client fanin feed)
    mkdir -p "$direct"
    log "cargo build --release --target wasm32-wasip2: the direct client (${direct_apps[*]} --features sockets)"
    cargo build "${quiet[@]}" --release --target wasm32-wasip2 "${direct_apps[@]/#/-p=}" \
        --features "${direct_apps[*]/%//sockets}"
    for app in "${direct_apps[@]}"; do
        cp "$out/$app.wasm" "$direct/$app.wasm"
    done
    # bench-client's raw-pipe (no WebSocket library: the runtime's ceiling
    # for the bench's pipelined rows) was built with it.
    cp "$out/raw-pipe.wasm" "$direct/raw-pipe.wasm"
    # Back to the default build, for whoever reads $out next.
    cargo build "${quiet[@]}" --release --target wasm32-wasip2 "${direct_apps[@]/#/-p=}"

    # The WASI 0.3 mode (target/p3): the P3 bench client, for the benchmark's
    # "(p3)" rows, and the P3 echo.
    log "scripts/build-p3.sh: the P3 polyfill, examples-p3/echo and examples-p3/bench-client"
    bash scripts/build-p3.sh
fi
