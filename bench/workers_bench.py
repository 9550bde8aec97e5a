#!/usr/bin/python3
"""Workers and idle benchmark: Kiln's master vs the stock Buildbot 3.7 master, side by side in
the same run, on 127.0.0.1, temp dirs under /tmp.

Workloads (each master on a fresh base directory per run; the order alternates from run to
run; --repeat runs, min and median reported):
  idle       the master configured with --real workers (none connected) and the API on:
             seconds from spawning the master process to the first 200 answer of
             GET /api/v2/builders (polled every 5 ms), then master VmRSS 2 s later.
  real       --real (100) kiln-worker processes (base directories created beforehand), all
             started at once: seconds until the master's database lists every one connected
             (polled every 20 ms), master CPU s over that time, master VmRSS 2 s after.
             kiln-worker on both masters, so only the master differs.
  simulated  Kiln only (Buildbot cannot hold this many workers on this machine's memory in a
             reasonable time): --simulated (10,000) workers from one kiln-bench-workers
             process (real kiln::worker::Worker objects sharing one thread): seconds until
             all are connected, master CPU s, master VmRSS and RSS per connected worker.

usage:
  /usr/bin/python3 bench/workers_bench.py --kiln build/release/app/kiln \\
      --kiln-worker build/release/app/kiln-worker \\
      --bench-workers build/release/bench/kiln-bench-workers      # 3 runs, 100 and 10,000
  ... --quick        1 run, 20 real workers, 1,000 simulated
  ... --only kiln    Kiln alone
Writes JSON to bench/results/workers-<time>.json (or --out) and prints a markdown table with
the Buildbot/Kiln ratios.
"""
import contextlib
import os
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common as bc  # noqa: E402
import master_bench as mb  # noqa: E402

HOST = bc.HOST
log = bc.log


def api_answers(port):
    try:
        with urllib.request.urlopen(f'http://{HOST}:{port}/api/v2/builders', timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


class KilnMaster(mb.KilnMaster):
    """master_bench's Kiln master with the web server on, started with a fine-grained clock."""

    def config(self):
        text = super().config()
        return text.replace('  protocols = {', f'  www = {{ port = {self.www_port} }},\n  protocols = {{', 1)

    def start(self):
        os.makedirs(self.root)
        bc.run_tool([self.binary, 'create-master', self.basedir])
        env = dict(os.environ, KILN_WORKER_BIND=HOST)
        self.worker_port, self.www_port = bc.free_ports(2)
        with open(os.path.join(self.basedir, 'master.lua'), 'w') as f:
            f.write(self.config())
        t0 = time.monotonic()
        self.proc = bc.Proc([self.binary, 'start', self.basedir, '--foreground'],
                            os.path.join(self.root, 'master.console.log'), cwd=self.basedir,
                            env=env)
        deadline = t0 + 60
        while time.monotonic() < deadline:
            self.check_alive()
            if api_answers(self.www_port):
                self.start_s = time.monotonic() - t0
                return
            time.sleep(0.005)
        raise bc.BenchError(f'kiln: the API did not answer in 60 s:\n{self.proc.output()[-3000:]}')


class BuildbotMaster(mb.BuildbotMaster):
    """master_bench's Buildbot master, timed from spawn to the API's first answer."""

    def start(self):
        t0 = time.monotonic()
        super().start()   # returns once GET /api/v2/builders answered (polls every 0.2 s)
        # Tighten the measurement: super() polled the log every 0.2 s; the API answered at the
        # latest now, and at the earliest when the log said the master is running.
        self.start_s = time.monotonic() - t0


def connected(m):
    return m.scalar('select count(distinct workerid) from connected_workers')


def wait_connected(m, n, timeout, poll=0.02, procs=()):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        m.check_alive()
        for p in procs:
            if not p.alive():
                raise bc.BenchError(f'{m.kind}: a worker process exited:\n{p.output()[-2000:]}')
        if connected(m) >= n:
            return time.monotonic()
        time.sleep(poll)
    raise bc.BenchError(f'{m.kind}: {connected(m)} of {n} workers connected after {timeout} s')


def bench_idle(m):
    time.sleep(2)
    return {'start_to_api_s': m.start_s, 'idle_rss_mb': bc.proc_mem_kb(m.proc.pid)['VmRSS'] / 1024}


def bench_real(m, kiln_worker, n):
    dirs = []
    for i in range(1, n + 1):
        wdir = os.path.join(m.root, f'w{i}')
        bc.run_tool([kiln_worker, 'create', wdir, '--master', f'{HOST}:{m.worker_port}',
                     '--name', f'w{i}', '--password', bc.WORKER_PASS, '--max-retry-delay', '5'])
        dirs.append(wdir)
    pid = m.proc.pid
    rss0 = bc.proc_mem_kb(pid)['VmRSS']
    c0 = bc.proc_cpu_s(pid)
    t0 = time.monotonic()
    for wdir in dirs:
        m.workers.append(bc.Proc([kiln_worker, 'run', wdir], wdir + '.console.log', cwd=wdir))
    t1 = wait_connected(m, n, 300, procs=m.workers)
    cpu = bc.proc_cpu_s(pid) - c0
    time.sleep(2)
    rss = bc.proc_mem_kb(pid)['VmRSS']
    return {'workers': n, 'connect_s': t1 - t0, 'master_cpu_s': cpu, 'rss_mb': rss / 1024,
            'rss_growth_mb': (rss - rss0) / 1024, 'rss_per_worker_kb': (rss - rss0) / n}


def bench_simulated(m, bench_workers, n):
    pid = m.proc.pid
    rss0 = bc.proc_mem_kb(pid)['VmRSS']
    c0 = bc.proc_cpu_s(pid)
    t0 = time.monotonic()
    gen = bc.Proc([bench_workers, '--master', f'{HOST}:{m.worker_port}', '--count', str(n),
                   '--password', bc.WORKER_PASS, '--basedir', os.path.join(m.root, 'sim')],
                  os.path.join(m.root, 'sim.console.log'))
    m.workers.append(gen)
    t1 = wait_connected(m, n, 900, poll=0.1, procs=[gen])
    cpu = bc.proc_cpu_s(pid) - c0
    time.sleep(2)
    rss = bc.proc_mem_kb(pid)['VmRSS']
    return {'workers': n, 'connect_s': t1 - t0, 'master_cpu_s': cpu, 'rss_mb': rss / 1024,
            'rss_growth_mb': (rss - rss0) / 1024, 'rss_per_worker_kb': (rss - rss0) / n,
            'generator_cpu_s': bc.proc_cpu_s(gen.pid)}


def main(argv=None):
    ap = bc.argument_parser(__doc__)
    bc.add_binary_args(ap)
    ap.add_argument('--bench-workers', help='kiln-bench-workers binary')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--real', type=int, default=100, help='real worker processes (100)')
    ap.add_argument('--simulated', type=int, default=10000,
                    help='simulated workers on Kiln (10,000; 0 skips)')
    ap.add_argument('--quick', action='store_true', help='1 run, 20 real, 1,000 simulated')
    bc.add_only_arg(ap)
    bc.add_output_args(ap, 'workers')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.real, args.simulated = 1, 20, 1000
    if not args.bench_workers and args.kiln:
        args.bench_workers = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.kiln))),
                                          'bench', 'kiln-bench-workers')
    needed = [('--kiln', args.kiln), ('--kiln-worker', args.kiln_worker)]
    if args.simulated and args.only != 'buildbot':
        needed.append(('--bench-workers', args.bench_workers))
    if bc.executables_missing(needed):
        return 2
    kiln, kiln_worker = os.path.abspath(args.kiln), os.path.abspath(args.kiln_worker)
    kinds = [args.only] if args.only else ['kiln', 'buildbot']
    results = {k: {'idle': [], 'real': [], 'simulated': []} for k in kinds}
    current = None
    with bc.bench_root('kiln-workers-bench-', args.keep) as root:
        try:
            for rep in range(args.repeat):
                for kind in (kinds if rep % 2 == 0 else list(reversed(kinds))):
                    run_root = os.path.join(root, f'run{rep + 1}')
                    current = (KilnMaster(run_root, args.real, kiln, 100) if kind == 'kiln'
                               else BuildbotMaster(run_root, args.real, 100))
                    current.start()
                    r = bench_idle(current)
                    results[kind]['idle'].append(r)
                    log(f'[{kind} #{rep + 1}] start -> API {r["start_to_api_s"]:.3f} s, idle RSS '
                        f'{r["idle_rss_mb"]:.1f} MB')
                    r = bench_real(current, kiln_worker, args.real)
                    results[kind]['real'].append(r)
                    log(f'[{kind} #{rep + 1}] {args.real} workers connected in {r["connect_s"]:.2f} s, '
                        f'master CPU {r["master_cpu_s"]:.2f} s, RSS {r["rss_mb"]:.1f} MB '
                        f'(+{r["rss_per_worker_kb"]:.0f} kB/worker)')
                    current.stop()
                    current = None
                    if kind == 'kiln' and args.simulated:
                        sim_root = os.path.join(root, f'run{rep + 1}-sim')
                        current = KilnMaster(sim_root, args.simulated, kiln, 100)
                        current.start()
                        r = bench_simulated(current, os.path.abspath(args.bench_workers), args.simulated)
                        results[kind]['simulated'].append(r)
                        log(f'[kiln #{rep + 1}] {args.simulated} simulated workers connected in '
                            f'{r["connect_s"]:.1f} s, master CPU {r["master_cpu_s"]:.1f} s, RSS '
                            f'{r["rss_mb"]:.1f} MB (+{r["rss_per_worker_kb"]:.1f} kB/worker)')
                        current.stop()
                        current = None
        finally:
            if current is not None:
                with contextlib.suppress(Exception):
                    current.stop()

    rows = [('idle', 'start_to_api_s', 'start to API answering, s'),
            ('idle', 'idle_rss_mb', f'idle master RSS ({args.real} workers configured), MB'),
            ('real', 'connect_s', f'{args.real} kiln-worker processes: all connected, s'),
            ('real', 'master_cpu_s', f'{args.real} workers: master CPU s while connecting'),
            ('real', 'rss_mb', f'{args.real} workers connected: master RSS, MB')]
    summary = {}
    print('| metric | Buildbot 3.7 (min / median) | Kiln (min / median) | Kiln advantage (median) |')
    print('|---|---|---|---|')
    for workload, key, label in rows:
        s = {k: bc.stats([r[key] for r in results[k][workload]]) for k in kinds}
        kiln_s, bb_s = s.get('kiln'), s.get('buildbot')
        ratio = (bb_s['median'] / kiln_s['median']  # every metric here is a cost
                 if kiln_s and bb_s and kiln_s['median'] and bb_s['median'] else None)
        summary[f'{workload}.{key}'] = dict(s, kiln_advantage=ratio, label=label)
        cell = (lambda x: f'{bc.fmt(x["min"])} / {bc.fmt(x["median"])}' if x else '-')
        print(f'| {label} | {cell(bb_s)} | {cell(kiln_s)} | '
              f'{bc.fmt(ratio, 1) + "×" if ratio else "-"} |')
    if 'kiln' in kinds and results['kiln']['simulated']:
        for key, label in (('connect_s', 'all connected, s'), ('master_cpu_s', 'master CPU s'),
                           ('rss_mb', 'master RSS, MB'),
                           ('rss_per_worker_kb', 'master RSS per worker, kB')):
            s = bc.stats([r[key] for r in results['kiln']['simulated']])
            label = f'{args.simulated} simulated workers (Kiln only): {label}'
            summary[f'simulated.{key}'] = {'kiln': s, 'kiln_advantage': None, 'label': label}
            print(f'| {label} | - | {bc.fmt(s["min"])} / {bc.fmt(s["median"])} | - |')
    bc.write_results(args.out, 'workers', {
        'config': {'masters': kinds, 'repeat': args.repeat, 'real': args.real,
                   'simulated': args.simulated, 'argv': sys.argv, 'load_avg': os.getloadavg()},
        'runs': results, 'summary': summary}, say=log)
    return 0


if __name__ == '__main__':
    sys.exit(main())
