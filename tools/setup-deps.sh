#!/usr/bin/env bash
# Installs every Debian package Kiln's build, tests and benchmarks need, and unpacks
# msgpack-cxx into .deps/. Idempotent: a second run installs nothing and changes nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
    libssl-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev
    liblua5.4-dev libzstd-dev libsodium-dev libsqlite3-dev libpq-dev
    buildbot buildbot-worker python3-msgpack procps psmisc zstd
)
if [ "${KILN_WITH_BENCH:-0}" = 1 ]; then packages+=(wrk hyperfine curl); fi
# The web UI's end-to-end tests drive Debian's Chromium (through playwright-core).
if [ "${KILN_WITH_BROWSER:-0}" = 1 ]; then packages+=(chromium); fi
# Node.js and npm build the web UI; a node already on PATH (e.g. 20.x) is kept.
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
updated=0
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-deps: installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    updated=1
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# msgpack-cxx: Debian's package depends on libboost-dev (1.74), which conflicts with Boost
# 1.81, so it is unpacked into .deps/msgpack instead of installed (header-only).
if [ ! -f "$root/.deps/msgpack/usr/include/msgpack.hpp" ] && [ ! -f /usr/include/msgpack.hpp ]; then
    echo "setup-deps: unpacking libmsgpack-cxx-dev into .deps/msgpack"
    [ "$updated" = 1 ] || "${sudo[@]}" apt-get update -qq
    tmp=$(mktemp -d)
    chmod 777 "$tmp"
    (cd "$tmp" && apt-get download -qq libmsgpack-cxx-dev 2>/dev/null)
    mkdir -p "$root/.deps/msgpack"
    dpkg-deb -x "$tmp"/libmsgpack-cxx-dev_*.deb "$root/.deps/msgpack"
    rm -rf "$tmp"
fi

# Vite 8 needs Node.js 20.19 or later (Debian 12's own nodejs is 18).
node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
    echo "setup-deps: the web UI needs Node.js >= 20.19 (found ${node_version}); install a newer nodejs" >&2
    exit 1
fi
