# wasm-websocket: every task has a recipe here. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The tools scripts/setup.sh installs at the pinned versions (scripts/versions.env)
# come first on PATH for every recipe and everything it runs (cargo test, bench).
export PATH := justfile_directory() / ".tools/bin" + ":" + env_var("PATH")

python := justfile_directory() / ".venv/bin/python"

# Show the recipes.
default:
    @{{ just_executable() }} --list

# Install the pinned tools (scripts/versions.env) into .venv/ and .tools/bin/, prebuilt where PyPI has them.
setup:
    bash scripts/setup.sh

# Build every component and compose each example with the polyfill into target/composed/.
build: setup
    bash scripts/build-components.sh

# Serve the composed echo example (built alone, first); talk through it to a local Python echo server, or to URL.
demo url="": setup
    bash scripts/demo.sh {{ url }}

# The Golem agent example built with golem-rust 2.x and 3.x into target/agents/ (`just build-agents p2` for the quick one; golem-rust 3.0.2 takes about half an hour). Apart from `build`, so `demo` does not wait for it.
build-agents *generations: setup
    bash scripts/build-agents.sh {{ generations }}

# Serve the composed feed example and restart its feed server twice while it follows the feed.
feed-demo: setup
    bash scripts/feed-demo.sh

# Everything: unit tests, end-to-end tests, Golem's scenarios on the test host (testhost/, built once in release), the agents' imports, a crate outside the workspace on the packaged crates, Autobahn, and one quick pass of the benchmarks.
test: build build-agents
    cargo build --quiet --release -p wasm-websocket-testhost
    cargo build --quiet --release --target wasm32-wasip2 -p golem-scenarios
    cargo test --quiet -p wasm-websocket -p wasm-websocket-protocol -p wasm-websocket-engine -p wasm-websocket-polyfill -p wasm-websocket-tests -p wasm-websocket-bench
    cargo test --quiet -p wasm-websocket-polyfill --features p3
    cargo test --quiet -p wasm-websocket --features sockets,server
    cargo test --quiet -p server --bin raw-echo
    bash scripts/packages.sh outside
    {{ just_executable() }} autobahn
    {{ just_executable() }} bench --quick

# Autobahn client cases (kosoku fuzzing server) through the composed client and the direct one (feature `sockets`: WebSocket::connect_direct), diffed against tests/autobahn/expected-results.json and expected-results-direct.json; and the server cases (kosoku fuzzing client against examples/server, feature `server`), diffed against expected-server-results.json.
autobahn: build
    {{ python }} tests/autobahn/run.py
    {{ python }} tests/autobahn/run.py --direct
    {{ python }} tests/autobahn/run_server.py

# The parsers under libFuzzer (fuzz/, cargo-fuzz on the nightly toolchain): each target for `seconds` (default 60), from fuzz/seeds/ and the corpus of earlier runs; installs the pinned cargo-fuzz when missing. Not part of `test`, whose stable run feeds the same entry points bounded inputs.
fuzz seconds="60":
    #!/usr/bin/env bash
    set -euo pipefail
    version=0.13.1
    if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $version" ]; then
        cargo install "cargo-fuzz@$version" --locked
    fi
    mkdir -p fuzz/target
    for target in $(cargo +nightly fuzz list); do
        mkdir -p "fuzz/corpus/$target"
        log="fuzz/target/fuzz-$target.log"
        echo "fuzz: $target for {{ seconds }} s (log: $log)"
        if ! cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
            -max_total_time={{ seconds }} -print_final_stats=1 > "$log" 2>&1; then
            tail -n 40 "$log"
            echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/"
            exit 1
        fi
        grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$log"
    done

# Component vs native tokio-tungstenite, side by side (and the app on the test host, as on Golem); `--quick` runs each workload once.
bench *args: build
    cargo build --quiet --release -p wasm-websocket-testhost
    cargo run --quiet --release -p wasm-websocket-bench -- {{ args }}

# Pinned versions named alike everywhere, the crates packaged as crates.io would take them, formatting, clippy on both targets (the SDK in each feature set: p2 alone, with sockets, server and both, and p3; the Golem agent source once, with golem-rust 2.x: `just test` builds the same file with 3.x), and docs, all warnings denied.
check: setup
    bash scripts/check-versions.sh
    cargo fmt --all --check
    cargo fmt --check --manifest-path fuzz/Cargo.toml
    cargo clippy --quiet --workspace --all-targets -- -D warnings
    cargo clippy --quiet --workspace --all-targets --target wasm32-wasip2 -- -D warnings
    # The SDK alone in each feature set, as a dependency would have it: `p2`
    # alone, `p2` with each addition and with both, and `p3` (without `p2`).
    for features in p2 p2,sockets p2,server p2,sockets,server; do \
        for target in "" "--target wasm32-wasip2"; do \
            cargo clippy --quiet -p wasm-websocket --all-targets $target --no-default-features --features $features -- -D warnings; \
        done; \
    done
    cargo clippy --quiet -p wasm-websocket --all-targets --target wasm32-wasip2 --no-default-features --features p3 -- -D warnings
    cargo clippy --quiet -p echo -p autobahn-client -p stall -p bench-client -p fanin -p feed --all-targets --features echo/sockets,autobahn-client/sockets,stall/sockets,bench-client/sockets,fanin/sockets,feed/sockets -- -D warnings
    cargo clippy --quiet -p echo -p autobahn-client -p stall -p bench-client -p fanin -p feed --all-targets --target wasm32-wasip2 --features echo/sockets,autobahn-client/sockets,stall/sockets,bench-client/sockets,fanin/sockets,feed/sockets -- -D warnings
    for features in p2 p2,sockets p2,server; do \
        RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket --no-default-features --features $features; \
    done
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket-engine
    # What docs.rs builds ([package.metadata.docs.rs]): wasm32-wasip2, the SDK with `sockets` and `server`.
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --target wasm32-wasip2 -p wasm-websocket --features sockets,server
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --target wasm32-wasip2 -p wasm-websocket-engine
    # The doc examples under `p3` (`cargo test` runs those of the default features).
    cargo test --quiet --doc -p wasm-websocket --no-default-features --features p3
    cargo fmt --check --manifest-path examples/golem-agent/p2/Cargo.toml
    cargo clippy --quiet --target wasm32-wasip2 --manifest-path examples/golem-agent/p2/Cargo.toml --target-dir target/golem-agent -- -D warnings
    cargo clippy --quiet -p wasm-websocket-polyfill --features p3 --all-targets -- -D warnings
    cargo clippy --quiet -p wasm-websocket-polyfill --features p3 --all-targets --target wasm32-wasip2 -- -D warnings
    cargo clippy --quiet -p wasm-websocket-polyfill --target wasm32-wasip2 --no-default-features --target-dir target/no-tls -- -D warnings
    cargo fmt --check --manifest-path examples-p3/echo/Cargo.toml
    cargo fmt --check --manifest-path tests/outside/Cargo.toml
    cargo clippy --quiet --target wasm32-wasip2 --manifest-path examples-p3/echo/Cargo.toml --target-dir target/p3 --all-targets -- -D warnings
    cargo fmt --check --manifest-path examples-p3/bench-client/Cargo.toml
    cargo clippy --quiet --target wasm32-wasip2 --manifest-path examples-p3/bench-client/Cargo.toml --target-dir target/p3 --all-targets -- -D warnings
    bash scripts/packages.sh check
    just check-min-versions

# The crate against the lowest wstd, wasip2 and wit-bindgen it allows, and resolved next to golem-rust 2.0 and 2.1.
check-min-versions: setup
    bash scripts/check-min-versions.sh

# The polyfill as a download: target/dist/wasm-websocket-polyfill-<version>/ (both builds, the WIT they export, README, SHA256SUMS) and its .tar.gz.
release: setup
    bash scripts/release.sh

# Semver check of the published crates against a git revision of an earlier release (cargo-semver-checks, installed pinned into .tools on first use).
semver-check baseline: setup
    bash scripts/semver-check.sh {{ baseline }}
