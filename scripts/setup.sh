#!/usr/bin/env bash
# Installs every tool the project needs, pinned, and skips what is already
# installed at the pinned version. Safe to run again; `just setup` calls it.
#
# Needs only rustup/cargo, Python 3 and (for clang) Debian's apt.
set -euo pipefail

WASMTIME_VERSION=48.0.8
WAC_VERSION=0.12.0
JUST_VERSION=1.59.0
PY_WEBSOCKETS_VERSION=17.4
PY_KOSOKU_VERSION=0.1.0

root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'setup: %s\n' "$*" >&2; }

# The Rust target that emits components.
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    log "adding rust target wasm32-wasip2"
    rustup target add wasm32-wasip2
fi

# apt_install PACKAGE...: Debian packages, installed only when missing.
apt_install() {
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    log "installing $* (apt)"
    if [ -z "${apt_updated:-}" ]; then
        $sudo_cmd apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

# clang compiles ring (rustls' crypto) for wasm32-wasip2; curl drives the demo.
command -v clang >/dev/null 2>&1 || apt_install clang
command -v curl >/dev/null 2>&1 || apt_install curl

# Python peers for the tests: the `websockets` library (an independent server)
# and kosoku (the Autobahn fuzzing server), in a project-local venv.
venv="$root/.venv"
want_py="websockets==$PY_WEBSOCKETS_VERSION kosoku==$PY_KOSOKU_VERSION"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$want_py" ]; then
    log "creating $venv with $want_py"
    # Debian's own python3 keeps venv in a package of its own.
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $want_py
    echo "$want_py" >"$venv/.pinned"
fi

# cargo_tool BINARY CRATE VERSION: install CRATE@VERSION unless BINARY already
# reports VERSION.
cargo_tool() {
    local bin=$1 crate=$2 version=$3
    if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -qw "$version"; then
        return 0
    fi
    log "installing $crate@$version (cargo install; this can take a while)"
    cargo install "$crate@$version" --locked --quiet
}

cargo_tool just just "$JUST_VERSION"
cargo_tool wac wac-cli "$WAC_VERSION"
cargo_tool wasmtime wasmtime-cli "$WASMTIME_VERSION"

log "ok: $(wasmtime --version), $(wac --version), $(just --version), $(clang --version | head -1)"
