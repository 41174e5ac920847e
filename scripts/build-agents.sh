#!/usr/bin/env bash
# Builds the Golem agent examples for wasm32-wasip2 and copies them to
# target/agents/: golem-agent-p2.wasm is examples/golem-agent built with
# golem-rust 2.x (dev profile), golem-agent-p3.wasm the same source built with
# golem-rust 3.x and the crate's `p3` feature (release profile: in the dev
# profile, compiling golem-rust 3.0.2 needs more than 23 GiB of RAM; in release
# it peaked at 5.8 GiB and took 29 min on a busy 2-core machine). Each has its
# own workspace, lockfile and target directory (target/golem-agent/,
# target/golem-agent-p3/; why apart: see examples/golem-agent/p3/Cargo.toml).
#
# Usage: build-agents.sh [p2] [p3]   (no argument: both; p3 takes most of the
# time, golem-rust 3.0.2 alone: examples/golem-agent/p3/Cargo.toml)
# `just build-agents` and tests/tests/golem_agent.rs call this; cargo makes
# reruns cheap. Not --locked: when wasm-websocket gains a dependency, cargo
# adds it to the agent's lockfile and keeps every other pin (commit it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p target/agents

generations=("$@")
[ ${#generations[@]} -gt 0 ] || generations=(p2 p3)

for generation in "${generations[@]}"; do
    case $generation in
        p2) target_dir=target/golem-agent profile=dev out=debug ;;
        p3) target_dir=target/golem-agent-p3 profile=release out=release ;;
        *) echo "build-agents.sh: unknown generation '$generation' (p2 or p3)" >&2; exit 2 ;;
    esac
    cargo build --quiet --target wasm32-wasip2 --profile "$profile" \
        --manifest-path "examples/golem-agent/$generation/Cargo.toml" --target-dir "$target_dir"
    cp "$target_dir/wasm32-wasip2/$out/golem_agent.wasm" "target/agents/golem-agent-$generation.wasm"
done
