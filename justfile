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

# Everything: unit tests, end-to-end tests, Golem's scenarios on the test host (testhost/, built once in release), the agents' imports, Autobahn, and one quick pass of the benchmarks.
test: build build-agents
    cargo build --quiet --release -p wasm-websocket-testhost
    cargo build --quiet --release --target wasm32-wasip2 -p golem-scenarios
    cargo test --quiet -p wasm-websocket -p wasm-websocket-engine -p wasm-websocket-polyfill -p wasm-websocket-tests -p wasm-websocket-bench
    cargo test --quiet -p wasm-websocket-polyfill --features p3
    cargo test --quiet -p wasm-websocket --features server
    {{ just_executable() }} autobahn
    {{ just_executable() }} bench --quick

# Autobahn client cases (kosoku fuzzing server) through the composed client and the direct one (feature `sockets`), diffed against tests/autobahn/expected-results.json and expected-results-direct.json; and the server cases (kosoku fuzzing client against examples/server, feature `server`), diffed against expected-server-results.json.
autobahn: build
    {{ python }} tests/autobahn/run.py
    {{ python }} tests/autobahn/run.py --direct
    {{ python }} tests/autobahn/run_server.py

# Component vs native tokio-tungstenite, side by side; `--quick` runs each workload once.
bench *args: build
    cargo run --quiet --release -p wasm-websocket-bench -- {{ args }}

# Pinned versions named alike everywhere, formatting, clippy on both targets (and the p3 feature; the Golem agent source once, with golem-rust 2.x: `just test` builds the same file with 3.x), and docs, all warnings denied.
check: setup
    bash scripts/check-versions.sh
    cargo fmt --all --check
    cargo clippy --quiet --workspace --all-targets -- -D warnings
    cargo clippy --quiet --workspace --all-targets --target wasm32-wasip2 -- -D warnings
    cargo clippy --quiet -p wasm-websocket --all-targets --target wasm32-wasip2 --no-default-features --features p3 -- -D warnings
    cargo clippy --quiet -p wasm-websocket --all-targets --features server -- -D warnings
    cargo clippy --quiet -p wasm-websocket --all-targets --target wasm32-wasip2 --features server -- -D warnings
    cargo clippy --quiet -p wasm-websocket -p echo -p autobahn-client -p stall -p bench-client --all-targets --features sockets -- -D warnings
    cargo clippy --quiet -p wasm-websocket -p echo -p autobahn-client -p stall -p bench-client --all-targets --target wasm32-wasip2 --features sockets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket --features sockets
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket -p wasm-websocket-engine
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p wasm-websocket --features server
    cargo fmt --check --manifest-path examples/golem-agent/p2/Cargo.toml
    cargo clippy --quiet --target wasm32-wasip2 --manifest-path examples/golem-agent/p2/Cargo.toml --target-dir target/golem-agent -- -D warnings
    cargo clippy --quiet -p wasm-websocket-polyfill --features p3 --all-targets -- -D warnings
    cargo clippy --quiet -p wasm-websocket-polyfill --features p3 --all-targets --target wasm32-wasip2 -- -D warnings
    cargo fmt --check --manifest-path examples-p3/echo/Cargo.toml
    cargo clippy --quiet --target wasm32-wasip2 --manifest-path examples-p3/echo/Cargo.toml --target-dir target/p3 --all-targets -- -D warnings
    just check-min-versions

# The crate against the lowest wstd, wasip2 and wit-bindgen it allows, and resolved next to golem-rust 2.0 and 2.1.
check-min-versions: setup
    bash scripts/check-min-versions.sh
