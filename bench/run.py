#!/usr/bin/python3
"""Every benchmark, Kiln and Buildbot 3.7 side by side in the same run: the entry point of
`tools/dev.sh bench` (which installs Buildbot, buildbot-worker, wrk and builds the release
binaries first).

Runs, one after the other (each starts and stops its own masters and workers on 127.0.0.1 and
repeats its workloads, min and median reported):
  master    bench/master_bench.py: 400 trivial builds on 4 workers; one step printing 200 MB
  master-bbworker   the trivial builds again with Debian's buildbot-worker 3.7 on both masters
  worker    bench/worker_bench.py: kiln-worker vs buildbot-worker 3.7 on the Buildbot 3.7
            master: 50 `true` commands (worker CPU ms per command), one step printing 200 MB
            (MB/s, worker CPU s per 100 MB)
  latency   bench/latency_bench.py: change hook POST -> build started / finished
  api       bench/api_bench.py: /api/v2/builds and /builders with 100,000 builds (wrk); a
            1 GB raw log download
  workers   bench/workers_bench.py: start to API, idle RSS, 100 real workers, 10,000
            simulated workers (Kiln only)
  ui        bench/ui_bench.mjs: the web UI in headless Chromium with 2,000 builders and
            100,000 builds (Kiln only: Debian ships no Buildbot web UI)
Each writes its JSON into bench/results/run-<time>/; this script then writes all.json there,
prints one summary table and (with --docs) puts it into docs/benchmarks.md between the
`bench:summary` markers.

usage: /usr/bin/python3 bench/run.py --build build/release [--quick] [--only kiln]
                                     [--bench NAME ... | --skip NAME ...] [--docs]
  --bench NAME   run only these benchmarks (repeatable), e.g. --bench worker
  --only kiln    Kiln's side only (--only buildbot: Buildbot's side only), in every benchmark
The summary shows the Kiln advantage only where a ratio means something: both sides measured,
and a cost or a throughput (the run conditions -- other load, load average, utilisation --
are left out of the table; they stay in the JSON).
"""
import argparse
import json
import re
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOCS = os.path.join(ROOT, 'docs', 'benchmarks.md')
BEGIN, END = '<!-- bench:summary:begin -->', '<!-- bench:summary:end -->'
# summary keys that describe the conditions of a run (not a cost to compare): left out
CONDITIONS = ('other_cpu_cores', 'loadavg', '_util')


def benches(build, quick, only):
    kiln = os.path.join(build, 'app', 'kiln')
    worker = os.path.join(build, 'app', 'kiln-worker')
    common = (['--quick'] if quick else []) + (['--only', only] if only else [])
    py = '/usr/bin/python3'
    return [
        ('master', [py, os.path.join(HERE, 'master_bench.py'), '--kiln', kiln,
                    '--kiln-worker', worker] + common),
        ('master-bbworker', [py, os.path.join(HERE, 'master_bench.py'), '--kiln', kiln,
                             '--kiln-worker', worker, '--worker-kind', 'buildbot',
                             '--skip', 'output'] + common),
        ('worker', [py, os.path.join(HERE, 'worker_bench.py'), '--kiln-worker', worker]
         + common),
        ('latency', [py, os.path.join(HERE, 'latency_bench.py'), '--kiln', kiln,
                     '--kiln-worker', worker] + common),
        ('api', [py, os.path.join(HERE, 'api_bench.py'), '--kiln', kiln] + common),
        ('workers', [py, os.path.join(HERE, 'workers_bench.py'), '--kiln', kiln,
                     '--kiln-worker', worker,
                     '--bench-workers', os.path.join(build, 'bench', 'kiln-bench-workers')]
         + common),
        ('ui', ['node', os.path.join(HERE, 'ui_bench.mjs'), '--kiln', kiln,
                '--fill', os.path.join(build, 'bench', 'kiln-bench-fill')]
         + (['--quick'] if quick else [])),
    ]


def fmt(v):
    if v is None:
        return '-'
    if abs(v) >= 100:
        return f'{v:.0f}'
    if 0 < abs(v) < 0.1:
        return f'{v:.3g}'
    return f'{v:.2f}'


def table(collected):
    lines = ['| benchmark | metric | Buildbot 3.7 (median) | Kiln (median) | Kiln advantage |',
             '|---|---|---|---|---|']
    for name, result in collected.items():
        for key, value in result.get('summary', {}).items():
            if not isinstance(value, dict) or 'kiln' not in value:
                continue
            if value.get('kind') == 'condition' or any(part in key for part in CONDITIONS):
                continue  # the conditions of the run, not a cost to compare
            bb = (value.get('buildbot') or {}).get('median')
            kiln = (value.get('kiln') or {}).get('median')
            adv = value.get('kiln_advantage', value.get('buildbot_over_kiln'))
            if not (bb and kiln and bb > 0 and kiln > 0 and adv and adv > 0):
                adv = None  # one side only, or nothing to divide: no ratio
            lines.append(f'| {name} | {value.get("label", key)} | {fmt(bb)} | {fmt(kiln)} | '
                         f'{fmt(adv) + "×" if adv else "-"} |')
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build', 'release'),
                    help='build directory with app/kiln, app/kiln-worker, bench/ tools')
    ap.add_argument('--quick', action='store_true', help='each benchmark in its quick form')
    ap.add_argument('--only', choices=['kiln', 'buildbot'])
    names = [name for name, _ in benches('', False, None)]
    ap.add_argument('--bench', action='append', default=[], choices=names,
                    help='run only this benchmark (repeatable)')
    ap.add_argument('--skip', action='append', default=[], choices=names)
    ap.add_argument('--docs', action='store_true',
                    help='write the summary table into docs/benchmarks.md')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if not os.access(os.path.join(build, 'app', 'kiln'), os.X_OK):
        print(f'error: no kiln binary in {build}/app (build the release preset first)',
              file=sys.stderr)
        return 2
    stamp = time.strftime('%Y%m%d-%H%M%S')
    out_dir = os.path.join(HERE, 'results', f'run-{stamp}')
    os.makedirs(out_dir, exist_ok=True)
    collected, failed = {}, []
    started = time.monotonic()
    for name, argv in benches(build, args.quick, args.only):
        if name in args.skip or (args.bench and name not in args.bench):
            continue
        script = argv[1]
        if not os.path.exists(script):
            print(f'== {name}: {os.path.relpath(script, ROOT)} is missing, skipped', flush=True)
            failed.append(name)
            continue
        out = os.path.join(out_dir, f'{name}.json')
        print(f'== {name}: {" ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in argv)}',
              flush=True)
        t0 = time.monotonic()
        rc = subprocess.run(argv + ['--out', out]).returncode
        print(f'== {name}: exit {rc} after {time.monotonic() - t0:.0f} s', flush=True)
        if rc != 0 or not os.path.exists(out):
            failed.append(name)
            continue
        with open(out) as f:
            collected[name] = json.load(f)
    summary = table(collected)
    with open(os.path.join(out_dir, 'all.json'), 'w') as f:
        json.dump({'time': stamp, 'quick': args.quick, 'load_avg': os.getloadavg(),
                   'cpus': os.cpu_count(), 'failed': failed, 'results': collected}, f, indent=1)
    print('\n' + summary)
    print(f'\nresults: {out_dir}; {time.monotonic() - started:.0f} s'
          + (f'; FAILED: {", ".join(failed)}' if failed else ''))
    if args.docs:
        with open(DOCS) as f:
            text = f.read()
        partial = bool(args.bench or args.skip)
        head = (f'Last {"partial" if partial else "full"} run: {time.strftime("%Y-%m-%d %H:%M")}'
                f'{" (quick)" if args.quick else ""}, `tools/dev.sh bench'
                f'{"".join(" --bench " + b for b in args.bench)}'
                f'{"".join(" --skip " + b for b in args.skip)}`, load average '
                f'{os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} cores. Kiln advantage = '
                f'Buildbot/Kiln for costs, Kiln/Buildbot for throughputs.')
        if partial and BEGIN in text and END in text:
            # keep the rows of the benchmarks not run this time (from an earlier run)
            ran = set(collected) | set(failed)
            old = text[text.index(BEGIN):text.index(END)].splitlines()
            kept = [line for line in old if line.startswith('| ') and not line.startswith(
                '| benchmark |') and line.split('|')[1].strip() not in ran
                and not any(part in line.split('|')[2] for part in CONDITIONS)]
            if kept:
                when = re.search(r'run: (\d{4}-\d\d-\d\d \d\d:\d\d)', old[1] if len(old) > 1 else '')
                earlier = re.search(r'[Rr]ows of .* are from (the run of [^.]*|an earlier run)',
                                    old[1] if len(old) > 1 else '')
                source = (earlier.group(1) if earlier else
                          f'the run of {when.group(1)}' if when else 'an earlier run')
                head += (' Rows of ' + ', '.join(sorted({l.split('|')[1].strip() for l in kept}))
                         + f' are from {source}.')
                order = [name for name, _ in benches('', False, None)]
                rows = sorted(kept + summary.splitlines()[2:], key=lambda l: order.index(
                    l.split('|')[1].strip()) if l.split('|')[1].strip() in order else len(order))
                summary = '\n'.join(summary.splitlines()[:2] + rows)
        block = f'{BEGIN}\n{head}\n\n{summary}\n{END}'
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip('\n') + '\n\n## Summary of the last full run\n\n' + block + '\n'
        with open(DOCS, 'w') as f:
            f.write(text)
        print(f'wrote the summary into {os.path.relpath(DOCS, ROOT)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
