#!/usr/bin/env bash
# Builds the Golem agent examples for wasm32-wasip2 (dev profile) and copies
# them to target/agents/: golem-agent-p2.wasm is examples/golem-agent built with
# golem-rust 2.x. Each has its own workspace and lockfile, apart from the
# repository's, and they share target/golem-agent/. `just build-agents` and
# tests/tests/golem_agent.rs call this; cargo makes reruns cheap.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p target/agents

cargo build --quiet --locked --target wasm32-wasip2 \
    --manifest-path examples/golem-agent/p2/Cargo.toml --target-dir target/golem-agent
cp target/golem-agent/wasm32-wasip2/debug/golem_agent.wasm target/agents/golem-agent-p2.wasm
