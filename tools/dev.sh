#!/usr/bin/env bash
# The README's two commands, and the developer loop:
#   tools/dev.sh run    install dependencies, build (release), start Kiln's demo
#   tools/dev.sh test   install dependencies, build (dev: warnings as errors), run every test
#   tools/dev.sh build [PRESET]
#   tools/dev.sh web    build the web UI only (web/dist)
#   tools/dev.sh web-test   build the web UI and run its checks and tests (uses build/dev)
#   tools/dev.sh bench [--quick] [--docs] [--bench NAME]   every benchmark (or NAME), Kiln vs
#                       Buildbot 3.7 (bench/run.py)
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

# The web UI (web/, TypeScript + React + Vite) into web/dist/, which the master serves at /.
# `npm ci` runs when web/node_modules is missing or older than package-lock.json.
build_web() {
    cd "$root/web"
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    fi
    npm run --silent build
    cd "$root"
}

# Lint, format and type checks, generated files up to date, then Vitest and the
# Playwright end-to-end tests (headless Chromium, a real master and kiln-worker from
# build/dev), ending with one `N passed, N failed` line for the UI tests.
test_web() {
    /usr/bin/python3 "$root/tools/gen_spec.py" --check --kiln "$root/build/dev/app/kiln"
    cd "$root/web"
    npm run --silent gen:check
    npm run --silent lint
    npm run --silent format:check
    npm run --silent typecheck
    KILN="$root/build/dev/app/kiln" KILN_WORKER="$root/build/dev/app/kiln-worker" \
        node scripts/ui-tests.mjs
    cd "$root"
}

case "${1:-}" in
run)
    build release
    build_web
    exec /usr/bin/python3 "$root/tools/demo.py" "$root/build/release/app" --web-root "$root/web/dist" "${@:2}"
    ;;
test)
    KILN_WITH_BROWSER=1 build dev
    build_web
    python3 "$root/tools/check_layers.py"
    # Unit and integration suites (the reference-master interop test is labelled e2e too).
    ctest --test-dir "$root/build/dev" --output-on-failure --timeout 900 -j "$jobs" \
        -E 'worker_compat_with_buildbot_master'
    ctest --test-dir "$root/build/dev" --output-on-failure --timeout 900 \
        -R 'worker_compat_with_buildbot_master'
    test_web
    ;;
build)
    build "${2:-dev}"
    ;;
web)
    build_web
    ;;
web-test)
    build_web
    test_web
    ;;
bench)
    # Buildbot 3.7, buildbot-worker, wrk and Chromium come with KILN_WITH_BENCH/BROWSER.
    KILN_WITH_BENCH=1 KILN_WITH_BROWSER=1 build release
    build_web
    exec /usr/bin/python3 "$root/bench/run.py" --build "$root/build/release" "${@:2}"
    ;;
*)
    echo "usage: tools/dev.sh run | test | build [PRESET] | web | web-test | bench [--quick] [--docs] [--bench NAME]" >&2
    exit 2
    ;;
esac
