#!/usr/bin/python3
"""Change -> build latency: Kiln's master (`kiln`) vs the stock Buildbot 3.7 master, side by
side in the same run, each with one kiln-worker (max_builds=1), so that only the master
differs. Everything on 127.0.0.1, temp dirs under /tmp.

Both masters: the base change hook (POST /change_hook/base, form fields), a single-branch
scheduler on branch `main` without tree-stable timer (Kiln: k.single_branch; Buildbot:
SingleBranchScheduler(treeStableTimer=None), bench/bench_latency.cfg), one builder `trivial`
with one shell step `true` (no environment log), request collapsing off.

One sample: POST a change (branch main, a new revision) to /change_hook/base on a keep-alive
connection; a WebSocket on /ws subscribed (startConsuming) to builds/*/new and
builds/*/finished, read by its own thread, stamps each event when it arrives. Measured from
just before the POST is sent:
  answer    the hook's 200 ("1 change found"; the change is stored by then on both masters)
  started   the builds/N/new event of the build
  finished  the builds/N/finished event of the build
The next sample starts 0.2 s after the build finished (the worker is idle again). --samples
per run (50) after --warmup (3) unmeasured ones; p50 and p90 per run; --repeat runs (3) on a
fresh master each, the order of the masters alternating; min / median / max over the runs.

usage:
  /usr/bin/python3 bench/latency_bench.py --kiln build/release/app/kiln \
      --kiln-worker build/release/app/kiln-worker
  ... --quick (1 run, 20 samples)   --only kiln|buildbot   --keep   --out FILE
  ... --nice -10   masters, worker and this script at nice -10 (root): priority over other
                   users' processes on a shared machine
Writes JSON to bench/results/latency-<time>.json (or --out) and prints a markdown table.
"""
import base64
import contextlib
import http.client
import json
import os
import queue
import shutil
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common as bc  # noqa: E402
import master_bench as mb  # noqa: E402
from common import BUILDBOT, HOST, WORKER_PASS, BenchError, log  # noqa: E402

BB_CFG = os.path.join(HERE, 'bench_latency.cfg')
NICE = []  # ['nice', '-n', N] with --nice: prefixes the masters and the workers


# ---------------------------------------------------------------------------------------------
# /ws client (RFC 6455 text frames, standard library), events stamped on arrival
# ---------------------------------------------------------------------------------------------
class LiveBuilds:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f'GET /ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n'
                           f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
                           f'Sec-WebSocket-Version: 13\r\n\r\n').encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise BenchError(f'/ws handshake: closed after {head!r}')
            head += chunk
        if b' 101 ' not in head.split(b'\r\n', 1)[0]:
            raise BenchError(f'/ws handshake: {head!r}')
        self.sock.settimeout(None)
        self.events = queue.Queue()
        self.replies = queue.Queue()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        for n, path in enumerate(('builds/*/new', 'builds/*/finished')):
            self._send({'cmd': 'startConsuming', 'path': path, '_id': n + 1})
            reply = self.replies.get(timeout=30)
            if reply.get('code') != 200:
                raise BenchError(f'/ws startConsuming {path}: {reply}')

    def _send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        header = bytes([0x81, 0x80 | len(data)])  # short frames only
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        data = b''
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _run(self):
        try:
            while True:
                first, second = self._read(2)
                length = second & 0x7f
                if length == 126:
                    length, = struct.unpack('>H', self._read(2))
                elif length == 127:
                    length, = struct.unpack('>Q', self._read(8))
                payload = self._read(length)
                now = time.perf_counter()
                opcode = first & 0x0f
                if opcode == 8:
                    break
                if opcode != 1:
                    continue
                message = json.loads(payload)
                if 'k' in message:
                    self.events.put((now, message['k'], message.get('m') or {}))
                else:
                    self.replies.put(message)
        except (EOFError, OSError):
            pass
        self.closed = True

    def next_event(self, timeout):
        return self.events.get(timeout=timeout)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# masters (one worker each)
# ---------------------------------------------------------------------------------------------
def start_worker(m, kiln_worker):
    """One kiln-worker `w1` (max_builds=1 on the master's side), attached."""
    wdir = os.path.join(m.root, 'w1')
    bc.run_tool([kiln_worker, 'create', wdir, '--master', f'{HOST}:{m.worker_port}',
                 '--name', 'w1', '--password', WORKER_PASS])
    m.workers.append(bc.Proc(NICE + [kiln_worker, 'run', wdir], wdir + '.console.log', cwd=wdir))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        m.check_alive()
        if m.scalar('select count(distinct workerid) from connected_workers') == 1:
            time.sleep(1.0)  # let it settle
            return
        time.sleep(0.2)
    raise BenchError(f'{m.kind}: the worker did not attach within 90 s')


class KilnMaster(mb.Master):
    kind = 'kiln'

    def __init__(self, root, binary):
        super().__init__(root, 1)
        self.binary = binary
        self.www_port = None

    def config(self):
        return f'''-- generated by bench/latency_bench.py
local k = require "kiln"
return {{
  title = "latency-bench",
  db = {{ url = "sqlite:state.sqlite" }},
  protocols = {{ worker = {{ port = {self.worker_port} }} }},
  www = {{ port = {self.www_port}, change_hook = {{ base = true }} }},
  collapse_requests = false,
  workers = {{ k.worker{{ name = "w1", password = "{WORKER_PASS}", max_builds = 1 }} }},
  builders = {{
    k.builder{{ name = "trivial", workers = {{ "w1" }}, collapse_requests = false,
               steps = {{ k.shell{{ name = "true", command = {{ "true" }}, log_environ = false }} }} }},
  }},
  schedulers = {{ k.single_branch{{ name = "main", builders = {{ "trivial" }}, branch = "main" }} }},
}}
'''

    def start(self):
        os.makedirs(self.root)
        bc.run_tool([self.binary, 'create-master', self.basedir])
        env = dict(os.environ, KILN_WORKER_BIND=HOST)
        for _ in range(3):
            self.worker_port, self.www_port = bc.free_ports(2)
            with open(os.path.join(self.basedir, 'master.lua'), 'w') as f:
                f.write(self.config())
            self.proc = bc.Proc(NICE + [self.binary, 'start', self.basedir, '--foreground'],
                                os.path.join(self.root, 'master.console.log'), cwd=self.basedir,
                                env=env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.alive():
                if bc.port_open(self.worker_port) and bc.port_open(self.www_port):
                    return
                time.sleep(0.1)
            out = self.proc.output()
            self.proc.stop()
            if 'in use' not in out:
                raise BenchError(f'kiln master did not start:\n{out[-3000:]}')
        raise BenchError('kiln master: no free port')


class BuildbotMaster(mb.Master):
    kind = 'buildbot'

    def __init__(self, root):
        super().__init__(root, 1)
        self.www_port = None

    def start(self):
        os.makedirs(self.root)
        bc.run_tool([BUILDBOT, 'create-master', '-q', self.basedir])
        shutil.copyfile(BB_CFG, os.path.join(self.basedir, 'master.cfg'))
        self.proc, self.worker_port, self.www_port = bc.start_buildbot_master(
            self.basedir, os.path.join(self.root, 'master.console.log'),
            {'BENCH_WORKER_PASS': WORKER_PASS}, prefix=NICE)


# ---------------------------------------------------------------------------------------------
# the measurement
# ---------------------------------------------------------------------------------------------
def sample(m, hook, live, n, timeout=60):
    """One change posted, its build seen starting and finishing: seconds from the POST."""
    body = urllib.parse.urlencode({
        'author': 'Bench <bench@example.org>', 'comments': f'change {n}',
        'revision': f'{n:040x}', 'branch': 'main', 'repository': 'file:///bench.git',
        'project': 'bench', 'files': json.dumps(['f.c'])})
    headers = {'Content-Type': 'application/x-www-form-urlencoded'}
    t0 = time.perf_counter()
    hook.request('POST', '/change_hook/base', body=body, headers=headers)
    answer = hook.getresponse()
    text = answer.read().decode(errors='replace')
    t_answer = time.perf_counter()
    if answer.status != 200:
        raise BenchError(f'{m.kind}: hook answered {answer.status} {text!r}')
    started = finished = None
    buildid = None
    deadline = time.monotonic() + timeout
    while finished is None:
        left = deadline - time.monotonic()
        if left <= 0:
            m.check_alive()
            raise BenchError(f'{m.kind}: no build finished within {timeout} s of change {n}')
        try:
            when, key, payload = live.next_event(min(left, 1.0))
        except queue.Empty:
            m.check_alive()
            continue
        parts = key.split('/')
        if len(parts) != 3 or parts[0] != 'builds':
            continue
        if parts[2] == 'new' and started is None:
            started, buildid = when, parts[1]
        elif parts[2] == 'finished' and parts[1] == buildid:
            finished = when
            if payload.get('results') not in (0, None):
                raise BenchError(f'{m.kind}: build {buildid} results {payload.get("results")}')
    return {'answer_ms': (t_answer - t0) * 1e3, 'started_ms': (started - t0) * 1e3,
            'finished_ms': (finished - t0) * 1e3}


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_one(m, args, base_n):
    live = LiveBuilds(m.www_port)
    hook = http.client.HTTPConnection(HOST, m.www_port, timeout=60)
    samples = []
    try:
        for i in range(args.warmup + args.samples):
            s = sample(m, hook, live, base_n + i)
            if i >= args.warmup:
                samples.append(s)
            time.sleep(args.gap)
            while True:  # events of nothing we wait for (none expected)
                try:
                    live.next_event(0)
                except queue.Empty:
                    break
    finally:
        hook.close()
        live.close()
    out = {'samples': samples}
    for key in ('answer_ms', 'started_ms', 'finished_ms'):
        values = [s[key] for s in samples]
        out[key] = {'p50': percentile(values, 50), 'p90': percentile(values, 90),
                    'min': min(values), 'max': max(values)}
    return out


def fmt(v):
    return f'{v:.1f}' if v < 100 else f'{v:.0f}'


def main(argv=None):
    ap = bc.argument_parser(__doc__)
    bc.add_binary_args(ap)
    ap.add_argument('--repeat', type=int, default=3, help='runs per master (3)')
    ap.add_argument('--samples', type=int, default=50, help='measured changes per run (50)')
    ap.add_argument('--warmup', type=int, default=3, help='unmeasured changes first (3)')
    ap.add_argument('--gap', type=float, default=0.2, help='seconds between samples (0.2)')
    ap.add_argument('--quick', action='store_true', help='1 run, 20 samples')
    bc.add_only_arg(ap)
    bc.add_nice_arg(ap, 'run both masters, their worker and this script at this niceness '
                        '(e.g. -10 on a shared machine; needs root)')
    bc.add_output_args(ap, 'latency')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.samples = 1, 20
    if bc.executables_missing((('--kiln', args.kiln), ('--kiln-worker', args.kiln_worker))):
        return 2
    args.kiln, args.kiln_worker = os.path.abspath(args.kiln), os.path.abspath(args.kiln_worker)
    if args.only != 'kiln' and bc.buildbot_missing():
        return 2

    if args.nice is not None:
        NICE[:] = ['nice', '-n', str(args.nice)]
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    kinds = ['kiln', 'buildbot'] if not args.only else [args.only]
    results = {k: [] for k in kinds}
    t_all = time.monotonic()
    current = None
    with bc.bench_root('kiln-latency-bench-', args.keep) as root:
        try:
            for rep in range(args.repeat):
                order = kinds if rep % 2 == 0 else list(reversed(kinds))
                for kind in order:
                    run_root = os.path.join(root, f'run{rep + 1}')
                    if kind == 'kiln':
                        current = KilnMaster(run_root, args.kiln)
                    else:
                        current = BuildbotMaster(run_root)
                    current.start()
                    start_worker(current, args.kiln_worker)
                    busy0, cpu0 = bc.host_busy_s(), bc.proc_cpu_s(current.proc.pid)
                    t0 = time.monotonic()
                    r = run_one(current, args, rep * 100000 + 1)
                    wall = time.monotonic() - t0
                    own = bc.proc_cpu_s(current.proc.pid) - cpu0 + current.workers_cpu_s()
                    r['other_cpu_cores'] = max(0.0, (bc.host_busy_s() - busy0 - own) / wall)
                    results[kind].append(r)
                    log(f'[{kind} #{rep + 1}] {args.samples} samples: answer p50 '
                        f'{r["answer_ms"]["p50"]:.2f} ms, started p50 {r["started_ms"]["p50"]:.2f} '
                        f'/ p90 {r["started_ms"]["p90"]:.2f} ms, finished p50 '
                        f'{r["finished_ms"]["p50"]:.2f} / p90 {r["finished_ms"]["p90"]:.2f} ms, '
                        f'other load {r["other_cpu_cores"]:.2f} cores')
                    current.stop()
                    current = None
        finally:
            if current is not None:
                with contextlib.suppress(Exception):
                    current.stop()

    summary, rows = {}, []
    for key, label in (('answer_ms', 'hook POST -> 200 answer'),
                       ('started_ms', 'hook POST -> build started'),
                       ('finished_ms', 'hook POST -> build finished')):
        for p in ('p50', 'p90'):
            st = {k: bc.stats([r[key][p] for r in results[k]]) for k in kinds}
            ratio = None
            if len(kinds) == 2:
                ratio = st['buildbot']['median'] / st['kiln']['median']
            summary[f'{key}.{p}'] = dict(st, buildbot_over_kiln=ratio)
            cells = ' | '.join(f'{fmt(st[k]["min"])} / {fmt(st[k]["median"])}' for k in kinds)
            rows.append(f'| {label}, {p} (ms) | {cells} | '
                        f'{fmt(ratio) + "×" if ratio else "-"} |')
    total = time.monotonic() - t_all
    print(f'\n## Change -> build latency ({args.repeat} run(s) x {args.samples} samples; '
          f'min / median over the runs)\n')
    print('| metric | ' + ' | '.join(kinds) + ' | Buildbot / Kiln (median) |')
    print('|---|' + '---|' * len(kinds) + '---|')
    print('\n'.join(rows))
    if 'kiln' in kinds:
        v = summary['started_ms.p50']['kiln']['median']
        print(f'\nKiln change -> build started, median of p50: {v:.2f} ms (target <= 10 ms): '
              f'{"MET" if v <= 10 else "MISSED"}')
    other = [r['other_cpu_cores'] for k in kinds for r in results[k]]
    if other and max(other) > 0.25:
        print(f'\nWARNING: other processes used up to {max(other):.2f} of {os.cpu_count()} '
              f'cores during the runs: the figures are not reliable.')
    print(f'total {total:.0f}s')
    bc.write_results(args.out, 'latency', {
        'config': {'masters': kinds, 'repeat': args.repeat, 'samples': args.samples,
                   'warmup': args.warmup, 'gap_s': args.gap, 'cpus': os.cpu_count(),
                   'nice': args.nice, 'argv': sys.argv, 'kiln': args.kiln,
                   'kiln_worker': args.kiln_worker},
        'runs': results, 'summary': summary, 'total_s': total})
    return 0


if __name__ == '__main__':
    sys.exit(main())
