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

# Everything: unit tests, end-to-end tests, Autobahn, and one quick pass of the benchmarks.
test: build
    cargo test --quiet -p wasm-websocket -p wasm-websocket-polyfill -p wasm-websocket-tests -p wasm-websocket-bench
    {{ just_executable() }} autobahn
    {{ just_executable() }} bench --quick

# Autobahn client cases (kosoku fuzzing server), diffed against tests/autobahn/expected-results.json.
autobahn: build
    {{ python }} tests/autobahn/run.py

# Component vs native tokio-tungstenite, side by side; `--quick` runs each workload once.
bench *args: build
    cargo run --quiet --release -p wasm-websocket-bench -- {{ args }}

# Pinned versions named alike everywhere, formatting, clippy on both targets, and docs, all warnings denied.
check: setup
    bash scripts/check-versions.sh
    cargo fmt --all --check
    cargo clippy --quiet --workspace --all-targets -- -D warnings
    cargo clippy --quiet --workspace --all-targets --target wasm32-wasip2 -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket
