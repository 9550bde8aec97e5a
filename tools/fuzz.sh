#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 60): the worker
# protocol decoder seeded with every message of the captured Buildbot session, the REST query
# parser and the JSON-RPC envelope parser seeded with the captured API requests.
# Usage: tools/fuzz.sh [SECONDS] [protocol|rest_query|json_rpc ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(protocol rest_query json_rpc)
samples="$root/../shared/specs/samples/_index.json"
"$root/tools/setup-deps.sh"
cmake --preset fuzz >/dev/null
for target in "${targets[@]}"; do
    cmake --build "$root/build/fuzz" -j "$(nproc)" --target "kiln_${target}_fuzzer"
    corpus="$root/build/fuzz/corpus/$target"
    mkdir -p "$corpus"
    case "$target" in
    protocol)
        python3 - "$root/../shared/specs/worker-protocol-transcript.jsonl" "$corpus" <<'PY'
import json, sys, os
src, out = sys.argv[1], sys.argv[2]
if os.path.exists(src):
    for line in open(src):
        o = json.loads(line)
        if 'raw_hex' in o:
            open(os.path.join(out, 'seed-%d' % o['n']), 'wb').write(bytes.fromhex(o['raw_hex']))
PY
        ;;
    rest_query)
        # The query string of every captured GET, and a few paging edge cases.
        python3 - "$samples" "$corpus" <<'PY'
import json, sys, os
src, out = sys.argv[1], sys.argv[2]
queries = {"offset=9223372036854775807&limit=-1", "limit=0&order=-complete_at&order=results",
           "tags__contains=linux&name__in=a&name__in=b", "results__lt=3&complete_at__ge=1.5",
           "field=name&field=tags&order=name&state_string__contains=%22"}
if os.path.exists(src):
    for sample in json.load(open(src)):
        path = sample["request"]["path"]
        if sample["request"]["method"] == "GET" and "?" in path:
            queries.add(path.split("?", 1)[1])
for n, query in enumerate(sorted(queries)):
    open(os.path.join(out, "seed-%d" % n), "w").write(query)
PY
        ;;
    json_rpc)
        # Every captured POST body; the first byte picks the Content-Type (0: application/json).
        python3 - "$samples" "$corpus" <<'PY'
import json, sys, os
src, out = sys.argv[1], sys.argv[2]
if os.path.exists(src):
    for n, sample in enumerate(json.load(open(src))):
        request = sample["request"]
        if request["method"] != "POST" or request["body"] is None:
            continue
        selector = b"\x00" if request["headers"].get("Content-Type") == "application/json" else b"\x02"
        body = request["body"] if isinstance(request["body"], str) else json.dumps(request["body"])
        open(os.path.join(out, "seed-%d" % n), "wb").write(selector + body.encode())
PY
        ;;
    esac
    "$root/build/fuzz/tests/fuzz/kiln_${target}_fuzzer" -max_total_time="$seconds" \
        -max_len=65536 -rss_limit_mb=2048 "$corpus"
done
