#!/usr/bin/env bash
# The README's two commands, and the developer loop:
#   tools/dev.sh run    install dependencies, build (release), start Kiln's demo
#   tools/dev.sh test   install dependencies, build (dev: warnings as errors), run every test
#   tools/dev.sh build [PRESET]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${KILN_JOBS:-$(nproc)}

build() {
    local preset=$1
    "$root/tools/setup-deps.sh"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
}

case "${1:-}" in
run)
    build release
    exec /usr/bin/python3 "$root/tools/demo.py" "$root/build/release/app" "${@:2}"
    ;;
test)
    build dev
    python3 "$root/tools/check_layers.py"
    # Unit and integration suites (the reference-master interop test is labelled e2e too).
    ctest --test-dir "$root/build/dev" --output-on-failure --timeout 900 -j "$jobs" \
        -E 'worker_compat_with_buildbot_master'
    ctest --test-dir "$root/build/dev" --output-on-failure --timeout 900 \
        -R 'worker_compat_with_buildbot_master'
    ;;
build)
    build "${2:-dev}"
    ;;
*)
    echo "usage: tools/dev.sh run | test | build [PRESET]" >&2
    exit 2
    ;;
esac
