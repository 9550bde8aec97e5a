#!/usr/bin/python3
"""Worker benchmark: the stock Buildbot 3.7 worker vs the worker under test, on the same
stock Buildbot 3.7 master (bench/bench_master.cfg, msgpack protocol, loopback only).

Workloads (each repeated --repeat times, alternating workers; min and median reported):
  trivial  a build of 50 ShellCommand steps running `true`: worker CPU ms per command
           (utime+stime+cutime+cstime of the worker process from /proc/<pid>/stat fields 14-17,
           before the trigger and after the build completed, / number of commands; cutime/cstime
           include the reaped `true` children).
  output   one step printing --log-mb MB (71-byte lines, `yes ... | head -c`): MB/s over the
           build's wall time, worker CPU s, master CPU s; CPU utilisation of both sides
           (CPU s / wall s) tells which one is the bottleneck (a side near 1.0 = one core
           saturated).  'worker_active_s' = time until the worker's CPU stopped growing, i.e.
           when it was done producing (the master may still be storing the log).  Worker CPU
           s per 100 MB: the worker process alone (worker_own_...) and with the step command.

usage:
  /usr/bin/python3 bench/worker_bench.py --kiln-worker build/<preset>/app/kiln-worker
  /usr/bin/python3 bench/worker_bench.py --worker specworker --log-mb 20 --repeat 3 \
      --out /tmp/bench.json
  ... --quick        1 run each, 50 commands, 50 MB of output
  ... --only kiln    the worker under test alone (--only buildbot: the stock worker alone)
Writes JSON to --out (if given) and prints a markdown table with stock/test ratios.  The JSON
'summary' is what bench/run.py tabulates: per metric 'buildbot' (stock buildbot-worker 3.7)
and 'kiln' (the worker under test) {min, median}, 'kiln_advantage' (stock/test for costs,
test/stock for throughputs; None where a ratio means nothing) and 'label'.
"""
import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration', 'refmaster'))
import refmaster as rm  # noqa: E402

BENCH_CFG = os.path.join(HERE, 'bench_master.cfg')
LINE_BYTES = 71


def cpu_s(pid, children=True):
    """utime+stime (+cutime+cstime with children) of pid in seconds (None if gone)."""
    try:
        ticks = rm.cpu_ticks(pid)
        return sum(ticks if children else ticks[:2]) / rm.CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def host_busy_s():
    """Non-idle CPU seconds of the whole machine (all CPUs), from /proc/stat."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)   # idle + iowait
    return (sum(v[:8]) - idle) / rm.CLK_TCK


def run_workload(master, worker_proc, builder, properties=None, timeout=3600, sample=0.25):
    """Trigger `builder`, wait for it; return timings and CPU deltas."""
    wpid, mpid = worker_proc.pid, master.proc.pid
    w0, m0, h0 = cpu_s(wpid), cpu_s(mpid), host_busy_s()
    ws0 = cpu_s(wpid, children=False)
    t_trigger = time.monotonic()
    after = master.trigger(builder, properties=properties)
    t_start = None
    last_w, t_last_w_change = w0, None
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if now > deadline:
            raise rm.HarnessError(f'{builder} build did not finish within {timeout}s')
        if not worker_proc.alive():
            raise rm.HarnessError(f'worker exited during {builder}:\n'
                                  f'{worker_proc.output()[-2000:]}')
        st = master.build_state(builder, after)
        w = cpu_s(wpid)
        if w is not None and w != last_w:
            last_w, t_last_w_change = w, now
        if st is not None:
            if t_start is None:
                t_start = now
            if st[1]:
                t_end = now
                break
        time.sleep(0.05 if t_start is None else sample)
    w1, m1, h1 = cpu_s(wpid), cpu_s(mpid), host_busy_s()
    ws1 = cpu_s(wpid, children=False)
    t_done = time.monotonic()
    build = master.build_outline(st[0])
    wall = t_end - t_start
    # CPU used by everything else on the machine meanwhile (in cores; the machine may be shared)
    other = ((h1 - h0) - (w1 - w0) - (m1 - m0)) / (t_done - t_trigger)
    return {
        'result': build.result_name,
        'steps': len(build.steps),
        'wall_s': wall,
        'trigger_to_end_s': t_end - t_trigger,
        'worker_cpu_s': w1 - w0,
        'worker_own_cpu_s': ws1 - ws0,
        'master_cpu_s': m1 - m0,
        'worker_active_s': (max(0.0, t_last_w_change - t_start)
                            if t_last_w_change and t_start else None),
        'other_cpu_cores': other,
        'build': build,
    }


def bench_trivial(master, proc, nsteps):
    r = run_workload(master, proc, 'trivial', timeout=600)
    ok = r['result'] == 'SUCCESS' and r['steps'] == nsteps + 1   # + worker_preparation
    build = r.pop('build')
    return dict(r, ok=ok, commands=nsteps,
                worker_cpu_ms_per_cmd=1000 * r['worker_cpu_s'] / nsteps,
                worker_own_cpu_ms_per_cmd=1000 * r['worker_own_cpu_s'] / nsteps,
                master_cpu_ms_per_cmd=1000 * r['master_cpu_s'] / nsteps,
                wall_ms_per_cmd=1000 * r['wall_s'] / nsteps,
                failed_steps=[s.name for s in build.steps if s.result_name != 'SUCCESS'])


def bench_output(master, proc, nbytes):
    r = run_workload(master, proc, 'output', properties={'bytes': nbytes}, timeout=7200)
    build = r.pop('build')
    step = build.step('output')
    lines = step.log('stdio').num_lines if step and step.log('stdio') else 0
    # stdio: the output lines plus the header lines and 'program finished' line
    expect_lines = -(-nbytes // LINE_BYTES)
    ok = r['result'] == 'SUCCESS' and lines >= expect_lines
    wall = r['wall_s']
    wu = r['worker_cpu_s'] / wall if wall else None
    mu = r['master_cpu_s'] / wall if wall else None
    # msgpack has no flow control: the worker sends as fast as it can produce.  If it was done
    # well before the build ended, the master (storing the log) was the bottleneck; otherwise
    # the side with the higher CPU utilisation (>= 0.8 = one core saturated).
    active = r['worker_active_s']
    if active is not None and wall and active < 0.8 * wall:
        bottleneck = 'master'
    else:
        bottleneck = 'worker' if (wu or 0) > (mu or 0) else 'master'
    if max(wu or 0, mu or 0) < 0.8:
        if r['other_cpu_cores'] > 0.5:
            bottleneck += ' (CPU-starved by other load)'
        else:
            bottleneck += ' (no side CPU-saturated: I/O or latency bound)'
    per_100mb = 100e6 / nbytes
    return dict(r, ok=ok, bytes=nbytes, log_lines=lines, expected_output_lines=expect_lines,
                mb_per_s=nbytes / 1e6 / wall if wall else None,
                worker_cpu_s_per_100mb=r['worker_cpu_s'] * per_100mb,
                worker_own_cpu_s_per_100mb=r['worker_own_cpu_s'] * per_100mb,
                master_cpu_s_per_100mb=r['master_cpu_s'] * per_100mb,
                worker_mb_per_s=(nbytes / 1e6 / r['worker_active_s']
                                 if r['worker_active_s'] else None),
                worker_util=wu, master_util=mu, bottleneck=bottleneck)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return {'min': None, 'median': None}
    return {'min': min(values), 'median': statistics.median(values)}


def fmt(v, nd=2):
    return '-' if v is None else f'{v:.{nd}f}'


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt('SIGTERM')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--worker', choices=['kiln', 'specworker', 'stock', 'command'],
                    default='kiln', help='worker under test (default: kiln)')
    ap.add_argument('--kiln-worker', default=os.environ.get('KILN_WORKER'),
                    help='kiln-worker binary (default: $KILN_WORKER)')
    ap.add_argument('--worker-cmd', help='--worker command: run template')
    ap.add_argument('--worker-create-cmd', help='--worker command: create template')
    ap.add_argument('--repeat', type=int, default=3, help='repetitions per workload (3)')
    ap.add_argument('--log-mb', type=float, default=200, help='output workload size in MB (200)')
    ap.add_argument('--steps', type=int, default=50, help='trivial workload: commands (50)')
    ap.add_argument('--skip', choices=['trivial', 'output'], action='append', default=[],
                    help='skip a workload')
    ap.add_argument('--quick', action='store_true',
                    help='1 run each, 50 commands, 50 MB of output')
    ap.add_argument('--only', choices=['kiln', 'buildbot'],
                    help='run only the worker under test (kiln) or only the stock worker')
    ap.add_argument('--out', help='write the results as JSON to this file')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.steps, args.log_mb = 1, 50, min(args.log_mb, 50)

    try:
        test = rm.make_worker(args.worker, kiln_binary=args.kiln_worker,
                              run_cmd=args.worker_cmd, create_cmd=args.worker_create_cmd)
    except rm.HarnessError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    kinds = [('stock', rm.StockWorker()),
             (test.kind if args.worker != 'stock' else 'stock-2', test)]
    # roles in the summary: 'buildbot' = the stock worker, 'kiln' = the worker under test
    roles = {kinds[0][0]: 'buildbot', kinds[1][0]: 'kiln'}
    if args.only:
        kinds = [k for k in kinds if roles[k[0]] == args.only]
    nbytes = int(args.log_mb * 1e6)

    rm.enable_subreaper()
    signal.signal(signal.SIGTERM, _on_sigterm)
    root = tempfile.mkdtemp(prefix='kiln-bench-')
    results = {k: {'trivial': [], 'output': []} for k, _ in kinds}
    master = rm.RefMaster(master_cfg=BENCH_CFG, tmp_root=root, label='master',
                          extra_env={'BENCH_TRIVIAL_STEPS': str(args.steps)})
    t0 = time.monotonic()
    try:
        master.start()
        for rep in range(args.repeat):
            for kind, launcher in kinds:
                base = os.path.join(root, f'{kind}-{rep}', 'worker')
                with rm.WorkerRun(master, launcher, base) as w:
                    time.sleep(1.0)   # let the worker settle after attaching
                    if 'trivial' not in args.skip:
                        r = bench_trivial(master, w.proc, args.steps)
                        results[kind]['trivial'].append(r)
                        rm.log(f'[{kind} #{rep + 1}] trivial: {r["result"]}, worker '
                               f'{r["worker_cpu_ms_per_cmd"]:.1f} CPU ms/cmd, master '
                               f'{r["master_cpu_ms_per_cmd"]:.1f} CPU ms/cmd, wall '
                               f'{r["wall_ms_per_cmd"]:.0f} ms/cmd; other load '
                               f'{r["other_cpu_cores"]:.2f} cores')
                    if 'output' not in args.skip:
                        r = bench_output(master, w.proc, nbytes)
                        results[kind]['output'].append(r)
                        rm.log(f'[{kind} #{rep + 1}] output {args.log_mb:g} MB: {r["result"]}, '
                               f'{r["mb_per_s"]:.2f} MB/s wall ({r["wall_s"]:.1f}s), worker '
                               f'{r["worker_cpu_s"]:.2f} CPU s (util {r["worker_util"]:.2f}, '
                               f'done after {fmt(r["worker_active_s"], 1)}s), master '
                               f'{r["master_cpu_s"]:.2f} CPU s (util {r["master_util"]:.2f})'
                               f' -> bottleneck {r["bottleneck"]}; other load '
                               f'{r["other_cpu_cores"]:.2f} cores')
    finally:
        master.stop()
        rm.final_cleanup()
        if not args.keep:
            import shutil
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f'kept {root}', file=sys.stderr)

    # (workload, key, label, kind): kind 'cost' (advantage = stock / test), 'throughput'
    # (test / stock) or 'condition' (how the run went, not a cost: no ratio)
    metrics = [
        ('trivial', 'worker_own_cpu_ms_per_cmd', 'trivial: worker process CPU ms / command', 'cost'),
        ('trivial', 'worker_cpu_ms_per_cmd', 'trivial: worker CPU ms / command incl. `true`', 'cost'),
        ('trivial', 'master_cpu_ms_per_cmd', 'trivial: Buildbot master CPU ms / command', 'cost'),
        ('trivial', 'wall_ms_per_cmd', 'trivial: wall ms / command', 'cost'),
        ('output', 'mb_per_s', f'output {args.log_mb:g} MB: MB/s (wall, whole build)', 'throughput'),
        ('output', 'worker_mb_per_s', 'output: MB/s until the worker was done', 'throughput'),
        ('output', 'worker_own_cpu_s_per_100mb', 'output: worker process CPU s / 100 MB', 'cost'),
        ('output', 'worker_cpu_s_per_100mb', 'output: worker CPU s / 100 MB incl. the command',
         'cost'),
        ('output', 'master_cpu_s_per_100mb', 'output: Buildbot master CPU s / 100 MB', 'cost'),
        ('output', 'worker_util', 'output: worker CPU utilisation (cores)', 'condition'),
        ('output', 'master_util', 'output: master CPU utilisation (cores)', 'condition'),
        ('trivial', 'other_cpu_cores', 'trivial: other load on the machine (cores)', 'condition'),
        ('output', 'other_cpu_cores', 'output: other load on the machine (cores)', 'condition'),
    ]
    names = [k for k, _ in kinds]
    summary = {}
    rows = []
    for wl, key, label, kind in metrics:
        if wl in args.skip:
            continue
        st = {k: stats([r[key] for r in results[k][wl]]) for k in names}
        adv = None
        stock, test = st.get(kinds[0][0]), st.get(kinds[-1][0])
        if kind != 'condition' and len(names) == 2 and stock['median'] and test['median'] \
                and stock['median'] > 0 and test['median'] > 0:
            adv = (stock['median'] / test['median'] if kind == 'cost'
                   else test['median'] / stock['median'])
        entry = {roles[k]: st[k] for k in names}
        entry.update(label=label, kind=kind, kiln_advantage=adv)
        summary[f'{wl}.{key}'] = entry
        cells = ' | '.join(f'{fmt(st[k]["min"])} / {fmt(st[k]["median"])}' for k in names)
        rows.append(f'| {label} | {cells} | {fmt(adv) + "×" if adv else "-"} |')
    bottlenecks = {k: sorted({r['bottleneck'] for r in results[k]['output']}) for k in names}
    ok = all(r['ok'] for k in names for wl in ('trivial', 'output') for r in results[k][wl])

    print(f'\n## Worker benchmark: {" vs ".join(names)} on the Buildbot 3.7 master '
          f'({args.repeat} run(s) each, min / median)\n')
    print(f'| metric | {" | ".join(names)} | {names[-1]} advantage (median) |')
    print('|---|' + '---|' * len(names) + '---|')
    print('\n'.join(rows))
    print(f'\nadvantage = {names[0]}/{names[-1]} for costs, {names[-1]}/{names[0]} for '
          f'throughputs; none for the run conditions.')
    if 'output' not in args.skip:
        print('\nbottleneck of the output workload (side with the higher CPU utilisation): '
              + ', '.join(f'{k}: {"/".join(v)}' for k, v in bottlenecks.items()))
    other = [r['other_cpu_cores'] for k in names for wl in ('trivial', 'output')
             for r in results[k][wl]]
    if other and max(other) > 0.25:
        print(f'\nWARNING: other processes used up to {max(other):.2f} of {os.cpu_count()} '
              f'cores during the runs: wall-time figures are not reliable, CPU times are.')
    print(f'\nall builds correct: {ok}; total {time.monotonic() - t0:.0f}s; load average '
          f'{os.getloadavg()[0]:.1f}')

    if args.out:
        with open(args.out, 'w') as f:
            json.dump({'config': {'workers': names, 'roles': roles, 'repeat': args.repeat,
                                  'log_mb': args.log_mb, 'trivial_commands': args.steps,
                                  'clk_tck': rm.CLK_TCK, 'cpus': os.cpu_count(),
                                  'load_avg': os.getloadavg()},
                       'runs': results, 'summary': summary, 'bottlenecks': bottlenecks,
                       'all_ok': ok}, f, indent=1)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
