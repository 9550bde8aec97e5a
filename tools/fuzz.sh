#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 60), seeded with
# every message of the captured Buildbot session.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
"$root/tools/setup-deps.sh"
cmake --preset fuzz >/dev/null
cmake --build "$root/build/fuzz" -j "$(nproc)" --target kiln_protocol_fuzzer
corpus="$root/build/fuzz/corpus/protocol"
mkdir -p "$corpus"
python3 - "$root/../shared/specs/worker-protocol-transcript.jsonl" "$corpus" <<'PY'
import json, sys, os
src, out = sys.argv[1], sys.argv[2]
if os.path.exists(src):
    for line in open(src):
        o = json.loads(line)
        if 'raw_hex' in o:
            open(os.path.join(out, 'seed-%d' % o['n']), 'wb').write(bytes.fromhex(o['raw_hex']))
PY
"$root/build/fuzz/tests/fuzz/kiln_protocol_fuzzer" -max_total_time="$seconds" -max_len=65536 \
    -rss_limit_mb=2048 "$corpus"
