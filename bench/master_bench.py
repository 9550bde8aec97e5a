#!/usr/bin/python3
"""Master benchmark: Kiln's master (`kiln`) vs the stock Buildbot 3.7 master, side by side in
the same run, both with the same workers (4 kiln-worker processes each, max_builds=1), so
that only the master differs. Everything on 127.0.0.1, temp dirs under /tmp.

Workloads (each master on a fresh base directory per run; the order of the masters alternates
from run to run; --repeat runs, min and median reported):
  trivial  --builds forced builds (default 400) of a builder with one shell step `true`, all
           submitted at once, run on the 4 workers: builds/s (first submission -> all
           buildsets complete, polled every 0.1 s), master CPU ms per build (utime+stime of
           the master process, /proc/<pid>/stat fields 14-15, all threads, from before the
           first submission to the end; includes handling the submissions), master VmHWM.
  output   one build of one step printing BYTES bytes in 100-byte lines
           (`yes <99 x> | head -c BYTES`, log = BYTES bytes; `yes` costs almost no CPU, so the
           generator does not compete with the master for this 2-core machine):
           log MB/s = log bytes / build wall time (build row seen -> build complete, polled every
           0.02 s), master CPU s (and per 100 MB of log), master VmRSS before / peak during
           (sampled every 0.02 s) / VmHWM before and after.

Forcing builds (the cheapest stock way on each side, one request per build):
  Kiln      one JSON line {"command":"force","builder":...} per connection on the control
            socket DIR/kiln.sock (what `kiln force` sends), from this process.
  Buildbot  the REST API's JSON-RPC, POST /api/v2/forceschedulers/force
            {"method":"force","params":{"builderid":N}} on one keep-alive HTTP connection
            (the stock ForceScheduler; see bench/bench_master_forced.cfg for the www
            placeholder that Debian's package needs).
Completion is read from each master's SQLite DB (buildsets.complete, builds.results), with
read-only connections.

usage:
  /usr/bin/python3 bench/master_bench.py --kiln build/release/app/kiln \
      --kiln-worker build/release/app/kiln-worker            # 3 runs, 400 builds, 200 MB
  ... --quick                                 # 1 run, 100 builds, 50 MB (Buildbot 10 MB)
  ... --bb-log-mb 20   (Buildbot ingests ~6.5 MB/s here: its output workload is smaller by
                        default; MB/s and CPU per 100 MB do not depend on the size)
Writes JSON to bench/results/master-<time>.json (or --out) and prints a markdown table with
the Buildbot/Kiln ratios.
"""
import contextlib
import http.client
import json
import os
import shutil
import socket
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing common
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import (BUILDBOT, BUILDBOT_WORKER, CLK_TCK, HOST, WORKER_PASS,  # noqa: E402
                    BenchError, Proc, add_binary_args, add_only_arg, add_output_args,
                    argument_parser, bench_root, buildbot_missing, compare_row,
                    executables_missing, free_ports, host_busy_s, log, port_open, proc_cpu_s,
                    proc_mem_kb, run_tool, start_buildbot_master, stats, write_results)

BB_CFG = os.path.join(HERE, 'bench_master_forced.cfg')
POLL = 0.1          # trivial workload: completion polled every 0.1 s
POLL_OUTPUT = 0.02  # output workload: build state and VmRSS sampled every 0.02 s


# ---------------------------------------------------------------------------------------------
# masters
# ---------------------------------------------------------------------------------------------
class Master:
    kind = '?'

    def __init__(self, root, nworkers):
        self.root = os.path.join(root, self.kind)
        self.basedir = os.path.join(self.root, 'master')
        self.nworkers = nworkers
        self.proc = None
        self.workers = []
        self._db = None
        self.worker_port = None

    # --- DB (Buildbot's schema on both sides)
    def db(self):
        if self._db is None:
            path = os.path.join(self.basedir, 'state.sqlite')
            self._db = sqlite3.connect(f'file:{path}?mode=ro', uri=True, timeout=10,
                                       isolation_level=None, check_same_thread=False)
        return self._db

    def query(self, sql, args=()):
        for _ in range(100):
            try:
                return self.db().execute(sql, args).fetchall()
            except sqlite3.OperationalError as e:
                if 'locked' not in str(e) and 'busy' not in str(e):
                    raise
                time.sleep(0.05)
        raise BenchError(f'{self.kind}: database stayed locked: {sql}')

    def scalar(self, sql, args=()):
        return self.query(sql, args)[0][0]

    # --- workers
    def start_workers(self, kiln_worker, kind='kiln'):
        """`kind` kiln: kiln-worker processes; buildbot: Debian's buildbot-worker 3.7 (msgpack)."""
        for i in range(1, self.nworkers + 1):
            wdir = os.path.join(self.root, f'w{i}')
            if kind == 'kiln':
                run_tool([kiln_worker, 'create', wdir, '--master', f'{HOST}:{self.worker_port}',
                          '--name', f'w{i}', '--password', WORKER_PASS])
                argv = [kiln_worker, 'run', wdir]
            else:
                run_tool([BUILDBOT_WORKER, 'create-worker', '-q', '--maxdelay', '2',
                          '--protocol=msgpack_experimental_v7', wdir,
                          f'{HOST}:{self.worker_port}', f'w{i}', WORKER_PASS])
                argv = ['/usr/bin/python3', BUILDBOT_WORKER, 'start', '--nodaemon', '.']
            self.workers.append(Proc(argv, wdir + '.console.log', cwd=wdir))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            self.check_alive()
            n = self.scalar('select count(distinct workerid) from connected_workers')
            if n == self.nworkers:
                time.sleep(1.0)   # let them settle (builder dirs prepared etc.)
                return
            time.sleep(0.2)
        raise BenchError(f'{self.kind}: workers not all attached after 90 s')

    def check_alive(self):
        if self.proc is not None and not self.proc.alive():
            raise BenchError(f'{self.kind} master exited (rc {self.proc.popen.returncode}):\n'
                             f'{self.proc.output()[-3000:]}')
        for w in self.workers:
            if not w.alive():
                raise BenchError(f'{self.kind}: a worker exited:\n{w.output()[-2000:]}')

    def workers_cpu_s(self):
        return sum(proc_cpu_s(w.pid, children=True) for w in self.workers)

    def workers_own_cpu_s(self):
        """The worker processes alone, without their children (the step's commands)."""
        return sum(proc_cpu_s(w.pid) for w in self.workers)

    def stop(self):
        if self._db is not None:
            self._db.close()
            self._db = None
        for w in self.workers:
            w.stop(timeout=15)
        self.workers = []
        if self.proc is not None:
            self.proc.stop(timeout=60)
            self.proc = None


class KilnMaster(Master):
    kind = 'kiln'

    def __init__(self, root, nworkers, binary, log_bytes):
        super().__init__(root, nworkers)
        self.binary = binary
        self.log_bytes = log_bytes

    def config(self):
        workers = ',\n    '.join(
            f'k.worker{{ name = "w{i}", password = "{WORKER_PASS}", max_builds = 1 }}'
            for i in range(1, self.nworkers + 1))
        names = ', '.join(f'"w{i}"' for i in range(1, self.nworkers + 1))
        output_cmd = f"yes {'x' * 99} | head -c {self.log_bytes}"
        return f'''-- generated by bench/master_bench.py
local k = require "kiln"
return {{
  title = "master-bench",
  db = {{ url = "sqlite:state.sqlite" }},
  protocols = {{ worker = {{ port = {self.worker_port} }} }},
  collapse_requests = false,
  workers = {{
    {workers},
  }},
  builders = {{
    k.builder{{ name = "trivial", workers = {{ {names} }}, collapse_requests = false,
               steps = {{ k.shell{{ name = "true", command = {{ "true" }}, log_environ = false }} }} }},
    k.builder{{ name = "output", workers = {{ {names} }}, collapse_requests = false,
               steps = {{ k.shell{{ name = "output", command = "{output_cmd}",
                                    log_environ = false }} }} }},
  }},
  schedulers = {{ k.force{{ name = "force", builders = {{ "trivial", "output" }} }} }},
}}
'''

    def start(self):
        os.makedirs(self.root)
        run_tool([self.binary, 'create-master', self.basedir])
        env = dict(os.environ, KILN_WORKER_BIND=HOST)
        for _ in range(3):
            self.worker_port, = free_ports(1)
            with open(os.path.join(self.basedir, 'master.lua'), 'w') as f:
                f.write(self.config())
            self.proc = Proc([self.binary, 'start', self.basedir, '--foreground'],
                             os.path.join(self.root, 'master.console.log'), cwd=self.basedir,
                             env=env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.alive():
                if (os.path.exists(os.path.join(self.basedir, 'kiln.sock'))
                        and port_open(self.worker_port)):
                    return
                time.sleep(0.1)
            out = self.proc.output()
            self.proc.stop()
            if 'in use' not in out:
                raise BenchError(f'kiln master did not start:\n{out[-3000:]}')
        raise BenchError('kiln master: no free port')

    def force(self, builder):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(os.path.join(self.basedir, 'kiln.sock'))
            s.sendall(json.dumps({'command': 'force', 'builder': builder,
                                  'reason': 'bench'}).encode() + b'\n')
            buf = b''
            while not buf.endswith(b'\n'):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf)
        if not reply.get('ok'):
            raise BenchError(f'kiln force {builder}: {reply}')


class BuildbotMaster(Master):
    kind = 'buildbot'

    def __init__(self, root, nworkers, log_bytes):
        super().__init__(root, nworkers)
        self.log_bytes = log_bytes
        self.www_port = None
        self.http = None
        self.builderids = {}

    def start(self):
        os.makedirs(self.root)
        run_tool([BUILDBOT, 'create-master', '-q', self.basedir])
        shutil.copyfile(BB_CFG, os.path.join(self.basedir, 'master.cfg'))
        self.proc, self.worker_port, self.www_port = start_buildbot_master(
            self.basedir, os.path.join(self.root, 'master.console.log'),
            {'BENCH_WORKERS': str(self.nworkers), 'BENCH_WORKER_PASS': WORKER_PASS,
             'BENCH_LOG_BYTES': str(self.log_bytes)})
        self.http = http.client.HTTPConnection(HOST, self.www_port, timeout=120)
        builders = self.get('/api/v2/builders')['builders']
        self.builderids = {b['name']: b['builderid'] for b in builders}

    def get(self, path):
        self.http.request('GET', path)
        r = self.http.getresponse()
        return json.loads(r.read())

    def force(self, builder):
        body = json.dumps({'jsonrpc': '2.0', 'method': 'force', 'id': 1,
                           'params': {'builderid': self.builderids[builder],
                                      'reason': 'bench'}})
        self.http.request('POST', '/api/v2/forceschedulers/force', body=body,
                          headers={'Content-Type': 'application/json'})
        r = self.http.getresponse()
        reply = json.loads(r.read())
        if r.status != 200 or 'result' not in reply:
            raise BenchError(f'buildbot force {builder}: HTTP {r.status} {reply}')

    def stop(self):
        if self.http is not None:
            self.http.close()
            self.http = None
        super().stop()


# ---------------------------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------------------------
def bench_trivial(m, nbuilds):
    mpid = m.proc.pid
    b0 = m.scalar('select coalesce(max(id), 0) from buildsets')
    mem0 = proc_mem_kb(mpid)
    c0, w0, h0 = proc_cpu_s(mpid), m.workers_cpu_s(), host_busy_s()
    t0 = time.monotonic()
    for _ in range(nbuilds):
        m.force('trivial')
    t_submitted = time.monotonic()
    deadline = t0 + 3600
    while True:
        done = m.scalar('select count(*) from buildsets where id > ? and complete = 1', (b0,))
        if done >= nbuilds:
            break
        if time.monotonic() > deadline:
            raise BenchError(f'{m.kind}: {done}/{nbuilds} trivial builds after 1 h')
        m.check_alive()
        time.sleep(POLL)
    t1 = time.monotonic()
    c1, w1, h1 = proc_cpu_s(mpid), m.workers_cpu_s(), host_busy_s()
    mem1 = proc_mem_kb(mpid)
    wall = t1 - t0
    rows = m.query('select b.results, count(*) from builds b join buildrequests r on '
                   'b.buildrequestid = r.id where r.buildsetid > ? group by b.results', (b0,))
    results = {str(r): n for r, n in rows}
    per_worker = dict(m.query('select w.name, count(*) from builds b join workers w on '
                              'b.workerid = w.id join buildrequests r on b.buildrequestid = r.id'
                              ' where r.buildsetid > ? group by w.name', (b0,)))
    ok = results == {'0': nbuilds}
    other = ((h1 - h0) - (c1 - c0) - (w1 - w0)) / wall
    return {
        'ok': ok, 'builds': nbuilds, 'results': results, 'builds_per_worker': per_worker,
        'wall_s': wall, 'submit_s': t_submitted - t0, 'builds_per_s': nbuilds / wall,
        'master_cpu_s': c1 - c0, 'master_cpu_ms_per_build': 1000 * (c1 - c0) / nbuilds,
        'master_util': (c1 - c0) / wall,
        'workers_cpu_ms_per_build': 1000 * (w1 - w0) / nbuilds,
        'rss_before_mb': mem0['VmRSS'] / 1024, 'rss_after_mb': mem1['VmRSS'] / 1024,
        'hwm_after_mb': mem1['VmHWM'] / 1024, 'other_cpu_cores': other,
    }


def bench_output(m, nbytes):
    mpid = m.proc.pid
    log_bytes = nbytes                          # yes: 100-byte lines, newline included
    b0 = m.scalar('select coalesce(max(id), 0) from builds')
    mem0 = proc_mem_kb(mpid)
    c0, w0, h0 = proc_cpu_s(mpid), m.workers_cpu_s(), host_busy_s()
    wo0, load0 = m.workers_own_cpu_s(), os.getloadavg()[0]
    t0 = time.monotonic()
    m.force('output')
    t_start = None
    rss_peak = mem0['VmRSS']
    deadline = t0 + 7200
    while True:
        rss_peak = max(rss_peak, proc_mem_kb(mpid)['VmRSS'])
        row = m.query('select id, complete_at, results from builds where id > ? '
                      'order by id limit 1', (b0,))
        now = time.monotonic()
        if row:
            if t_start is None:
                t_start = now
            if row[0][1] is not None:
                t_end = now
                break
        if now > deadline:
            raise BenchError(f'{m.kind}: output build not done after 2 h')
        m.check_alive()
        time.sleep(POLL_OUTPUT)
    c1, w1, h1 = proc_cpu_s(mpid), m.workers_cpu_s(), host_busy_s()
    wo1, load1 = m.workers_own_cpu_s(), os.getloadavg()[0]
    mem1 = proc_mem_kb(mpid)
    buildid, _, result = row[0]
    lines = m.query('select l.num_lines from logs l join steps s on l.stepid = s.id '
                    "where s.buildid = ? and s.name = 'output' and l.name = 'stdio'",
                    (buildid,))
    num_lines = lines[0][0] if lines else None
    # What the log takes in the database (logchunks.content: zstd on Kiln, gzip on Buildbot).
    stored = m.scalar('select coalesce(sum(length(c.content)), 0) from logchunks c '
                      'join logs l on c.logid = l.id join steps s on l.stepid = s.id '
                      "where s.buildid = ? and s.name = 'output' and l.name = 'stdio'",
                      (buildid,))
    expect_lines = -(-nbytes // 100)
    wall = t_end - t_start
    other = ((h1 - h0) - (c1 - c0) - (w1 - w0)) / (time.monotonic() - t0)
    return {
        'ok': result == 0 and num_lines is not None and num_lines >= expect_lines,
        'result': result, 'bytes': nbytes, 'log_bytes': log_bytes, 'log_lines': num_lines,
        'expected_lines': expect_lines,
        'wall_s': wall, 'trigger_to_end_s': t_end - t0,
        'mb_per_s': log_bytes / 1e6 / wall,
        'db_bytes_per_log_byte': stored / log_bytes,
        'master_cpu_s': c1 - c0, 'master_cpu_s_per_100mb': (c1 - c0) / (log_bytes / 1e8),
        'master_util': (c1 - c0) / wall, 'workers_cpu_s': w1 - w0,
        'worker_cpu_s_per_100mb': (wo1 - wo0) / (log_bytes / 1e8),
        'loadavg_before': load0, 'loadavg_after': load1,
        'rss_before_mb': mem0['VmRSS'] / 1024, 'rss_peak_mb': rss_peak / 1024,
        'rss_growth_mb': (rss_peak - mem0['VmRSS']) / 1024,
        'rss_after_mb': mem1['VmRSS'] / 1024,
        'hwm_before_mb': mem0['VmHWM'] / 1024, 'hwm_after_mb': mem1['VmHWM'] / 1024,
        'other_cpu_cores': other,
    }


def main(argv=None):
    ap = argument_parser(__doc__)
    add_binary_args(ap)
    ap.add_argument('--repeat', type=int, default=3, help='runs per master (3)')
    ap.add_argument('--builds', type=int, default=400, help='trivial builds per run (400)')
    ap.add_argument('--workers', type=int, default=4, help='workers per master (4)')
    ap.add_argument('--worker-kind', choices=['kiln', 'buildbot'], default='kiln',
                    help='kiln-worker (default) or Debian\'s buildbot-worker 3.7 on both masters')
    ap.add_argument('--log-mb', type=float, default=200,
                    help='output workload on Kiln, MB of characters (200)')
    ap.add_argument('--bb-log-mb', type=float, default=50,
                    help='output workload on Buildbot, MB (50; ~8 s at Buildbot\'s ~6.5 MB/s)')
    ap.add_argument('--quick', action='store_true',
                    help='1 run, 100 builds, 50 MB on Kiln, 10 MB on Buildbot')
    add_only_arg(ap)
    ap.add_argument('--skip', choices=['trivial', 'output'], action='append', default=[])
    add_output_args(ap, 'master')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.builds, args.log_mb, args.bb_log_mb = 1, 100, 50, 10
    if executables_missing((('--kiln', args.kiln), ('--kiln-worker', args.kiln_worker))):
        return 2
    args.kiln, args.kiln_worker = os.path.abspath(args.kiln), os.path.abspath(args.kiln_worker)
    if args.only != 'kiln' and buildbot_missing():
        return 2

    kinds = ['kiln', 'buildbot'] if not args.only else [args.only]
    sizes = {'kiln': int(args.log_mb * 1e6) // 100 * 100,
             'buildbot': int(args.bb_log_mb * 1e6) // 100 * 100}
    results = {k: {'trivial': [], 'output': []} for k in kinds}
    t_all = time.monotonic()
    current = None
    with bench_root('kiln-master-bench-', args.keep) as root:
        try:
            for rep in range(args.repeat):
                order = kinds if rep % 2 == 0 else list(reversed(kinds))
                for kind in order:
                    run_root = os.path.join(root, f'run{rep + 1}')
                    if kind == 'kiln':
                        current = KilnMaster(run_root, args.workers, args.kiln, sizes['kiln'])
                    else:
                        current = BuildbotMaster(run_root, args.workers, sizes['buildbot'])
                    current.start()
                    current.start_workers(args.kiln_worker, args.worker_kind)
                    idle = proc_mem_kb(current.proc.pid)
                    log(f'[{kind} #{rep + 1}] master pid {current.proc.pid} up, '
                        f'{args.workers} workers attached, RSS {idle["VmRSS"] / 1024:.1f} MB')
                    if 'trivial' not in args.skip:
                        r = bench_trivial(current, args.builds)
                        r['idle_rss_mb'] = idle['VmRSS'] / 1024
                        results[kind]['trivial'].append(r)
                        log(f'[{kind} #{rep + 1}] trivial x{args.builds}: ok={r["ok"]} '
                            f'{r["builds_per_s"]:.1f} builds/s ({r["wall_s"]:.1f} s, submit '
                            f'{r["submit_s"]:.1f} s), master {r["master_cpu_ms_per_build"]:.2f} '
                            f'CPU ms/build (util {r["master_util"]:.2f}), workers '
                            f'{r["workers_cpu_ms_per_build"]:.1f} ms/build, VmHWM '
                            f'{r["hwm_after_mb"]:.1f} MB, other load {r["other_cpu_cores"]:.2f}'
                            f' cores, per worker {r["builds_per_worker"]}')
                    if 'output' not in args.skip:
                        r = bench_output(current, sizes[kind])
                        results[kind]['output'].append(r)
                        log(f'[{kind} #{rep + 1}] output {sizes[kind] / 1e6:g} MB: ok={r["ok"]} '
                            f'{r["mb_per_s"]:.1f} MB/s ({r["wall_s"]:.1f} s), master '
                            f'{r["master_cpu_s"]:.2f} CPU s (util {r["master_util"]:.2f}), RSS '
                            f'{r["rss_before_mb"]:.1f} -> peak {r["rss_peak_mb"]:.1f} MB, VmHWM '
                            f'{r["hwm_before_mb"]:.1f} -> {r["hwm_after_mb"]:.1f} MB, other load '
                            f'{r["other_cpu_cores"]:.2f} cores, kiln-worker '
                            f'{r["worker_cpu_s_per_100mb"]:.2f} CPU s/100 MB, load average '
                            f'{r["loadavg_before"]:.1f} -> {r["loadavg_after"]:.1f}')
                    current.stop()
                    current = None
        finally:
            if current is not None:
                with contextlib.suppress(Exception):
                    current.stop()

    metrics = [  # (workload, key, label, higher_is_better)
        ('trivial', 'builds_per_s', f'trivial: builds/s ({args.builds} builds, '
                                    f'{args.workers} workers)', True),
        ('trivial', 'master_cpu_ms_per_build', 'trivial: master CPU ms / build', False),
        ('trivial', 'hwm_after_mb', 'trivial: master peak RSS (VmHWM) MB', False),
        ('trivial', 'idle_rss_mb', 'master RSS at start, workers attached, MB', False),
        ('trivial', 'workers_cpu_ms_per_build', 'trivial: workers CPU ms / build (the same '
                                                'workers on both)', False),
        ('output', 'mb_per_s', 'output: log MB/s ingested (wall)', True),
        ('output', 'master_cpu_s_per_100mb', 'output: master CPU s / 100 MB of log', False),
        ('output', 'db_bytes_per_log_byte', 'output: database bytes per log byte (logchunks)',
         False),
        ('output', 'master_util', 'output: master CPU utilisation (cores)', False),
        ('output', 'worker_cpu_s_per_100mb', 'output: kiln-worker process CPU s / 100 MB '
                                             '(without the step command)', False),
        ('output', 'rss_growth_mb', 'output: master RSS growth during the build, MB', False),
        ('output', 'hwm_before_mb', 'output: master VmHWM before, MB', False),
        ('output', 'hwm_after_mb', 'output: master VmHWM after, MB', False),
        ('trivial', 'other_cpu_cores', 'trivial: other load on the machine (cores)', False),
        ('output', 'other_cpu_cores', 'output: other load on the machine (cores)', False),
        ('output', 'loadavg_after', 'output: 1-min load average at the end', False),
    ]
    summary, rows = {}, []
    for wl, key, label, hib in metrics:
        if wl in args.skip:
            continue
        st = {k: stats([r.get(key) for r in results[k][wl]]) for k in kinds}
        ratio, row = compare_row(label, st, kinds, hib)
        summary[f'{wl}.{key}'] = dict(st, kiln_advantage=ratio)
        rows.append(row)
    ok = all(r['ok'] for k in kinds for wl in ('trivial', 'output') for r in results[k][wl])
    total = time.monotonic() - t_all

    print(f'\n## Master benchmark ({args.repeat} run(s) each; min / median / max; output '
          f'workload: ' + ', '.join(f'{k} {sizes[k] / 1e6:g} MB' for k in kinds) + ')\n')
    print('| metric | ' + ' | '.join(kinds) + ' | Kiln advantage (median) |')
    print('|---|' + '---|' * len(kinds) + '---|')
    print('\n'.join(rows))
    print('\nKiln advantage = Buildbot/Kiln for costs, Kiln/Buildbot for throughputs.')
    if 'kiln' in kinds:
        k = summary
        checks = []
        if 'trivial' not in args.skip:
            v = k['trivial.master_cpu_ms_per_build']['kiln']['median']
            checks.append(f'Kiln master CPU per trivial build {v:.2f} ms (target <= 2 ms): '
                          f'{"MET" if v <= 2 else "MISSED"}')
        if 'output' not in args.skip:
            v = k['output.mb_per_s']['kiln']['median']
            g = k['output.rss_growth_mb']['kiln']['max']
            checks.append(f'Kiln log ingestion {v:.1f} MB/s (target >= 150): '
                          f'{"MET" if v >= 150 else "MISSED"}; RSS growth max {g:.1f} MB')
        print('\n' + '\n'.join(checks))
    other = [r['other_cpu_cores'] for k in kinds for wl in ('trivial', 'output')
             for r in results[k][wl]]
    if other and max(other) > 0.25:
        print(f'\nWARNING: other processes used up to {max(other):.2f} of {os.cpu_count()} '
              f'cores during the runs: wall-time figures are not reliable, CPU times are.')
    print(f'\nall builds correct: {ok}; total {total:.0f}s')

    write_results(args.out, 'master', {
        'config': {'masters': kinds, 'repeat': args.repeat, 'builds': args.builds,
                   'workers': args.workers, 'output_bytes': sizes, 'clk_tck': CLK_TCK,
                   'cpus': os.cpu_count(), 'argv': sys.argv, 'kiln': args.kiln,
                   'kiln_worker': args.kiln_worker},
        'runs': results, 'summary': summary, 'all_ok': ok, 'total_s': total})
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
