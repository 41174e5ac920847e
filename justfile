# wasm-websocket: every task has a recipe here. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

python := justfile_directory() / ".venv/bin/python"

# Show the recipes.
default:
    @just --list

# Install the pinned toolchain: wasm32-wasip2, clang, curl, wasmtime-cli, wac-cli, Python peers.
setup:
    bash scripts/setup.sh

# Build every component and compose each example with the polyfill into target/composed/.
build: setup
    bash scripts/build-components.sh

# Serve the composed echo example; talk through it to a local Python echo server, or to URL.
demo url="": setup
    bash scripts/demo.sh {{ url }}

# The Golem agent example built with golem-rust 2.x into target/agents/; `just build-agents p3` builds the golem-rust 3.x one (needs >23 GiB of RAM). Apart from `build`, so `demo` does not wait for it.
build-agents *generations: setup
    bash scripts/build-agents.sh {{ generations }}

# Everything: unit tests, end-to-end tests, the agents' imports, Autobahn, and one quick pass of the benchmarks.
test: build build-agents
    cargo test --quiet -p wasm-websocket -p wasm-websocket-polyfill -p wasm-websocket-tests -p wasm-websocket-bench
    just autobahn
    just bench --quick

# Autobahn client cases (kosoku fuzzing server), diffed against tests/autobahn/expected-results.json.
autobahn: build
    {{ python }} tests/autobahn/run.py

# Component vs native tokio-tungstenite, side by side; `--quick` runs each workload once.
bench *args: build
    cargo run --quiet --release -p wasm-websocket-bench -- {{ args }}

# Formatting, clippy on both targets, and docs, all warnings denied.
check: setup
    cargo fmt --all --check
    cargo clippy --quiet --workspace --all-targets -- -D warnings
    cargo clippy --quiet --workspace --all-targets --target wasm32-wasip2 -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket
    cargo fmt --check --manifest-path examples/golem-agent/p2/Cargo.toml
    cargo clippy --quiet --locked --target wasm32-wasip2 --manifest-path examples/golem-agent/p2/Cargo.toml --target-dir target/golem-agent -- -D warnings
    cargo clippy --quiet --target wasm32-wasip2 -p wasm-websocket --no-default-features --features p3 --all-targets -- -D warnings
    cargo clippy --quiet --locked --target wasm32-wasip2 --manifest-path examples/golem-agent/p3/Cargo.toml --target-dir target/golem-agent-p3 -- -D warnings
    just check-min-versions

# The crate against the lowest wstd, wasip2 and wit-bindgen it allows, and resolved next to golem-rust 2.0 and 2.1.
check-min-versions: setup
    bash scripts/check-min-versions.sh
