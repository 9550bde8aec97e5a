#!/usr/bin/python3
"""API benchmark: Kiln's REST API v2 vs the stock Buildbot 3.7 master's, side by side in the
same run, both masters idle (no worker ever connects, so no build runs), everything on
127.0.0.1, temp dirs under /tmp.

Data (--builds finished builds over --builders builders, in buildsets of one claimed request
per builder; each build has 5 properties and one step "make" with a 3-line stdio log, and ends
SUCCESS; the last build has a second step "output" whose stdio log holds 100-byte lines):
  Kiln      written by kiln-bench-fill (bench/kiln_bench_fill.cpp) through kiln::data's stores,
            the code the master writes with, into a stopped master's SQLite database; the big
            log is appended in ~1 MB appends (zstd chunks, as the master stores them).
  Buildbot  the equivalent rows inserted with sqlite3 into the database `buildbot
            create-master` made (Buildbot's schema), while the master is stopped; log chunks
            as Buildbot writes them uncompressed (compressed=0, <= 64 KiB, 655 lines each).
Both masters then run at once, idle, with a www port on 127.0.0.1.

Workloads (--repeat runs; min / median / max reported; the order of the masters alternates):
  api   `wrk -t2 -c4 -d<--duration>s` (4 keep-alive connections, 2 threads) on
          GET /api/v2/builds?limit=50&order=-buildid
          GET /api/v2/builders
        with `Accept: application/json` (as the web UI sends; both masters then answer
        compact JSON), after a 2 s warm-up run: requests/s, p50/p99 latency (wrk's
        latency:percentile() via bench/wrk_report.lua), master CPU per request (utime+stime of
        the master process, /proc/<pid>/stat, all threads, over the run). Any non-2xx answer
        or socket error fails the run.
  log   `curl -o /dev/null` of GET /api/v2/logs/<id>/raw of the big log: download time, MB/s,
        master VmRSS before and peak during (sampled every 20 ms), master CPU. The raw
        download of a stdio log drops each line's stream tag: 99 bytes per 100-byte line.
        Buildbot builds the whole answer in memory, so it gets a smaller log (--bb-log-mb,
        default 100 MB): its figures are also given per GB.

usage:
  /usr/bin/python3 bench/api_bench.py --kiln build/release/app/kiln
      (kiln-bench-fill is looked up next to it: build/release/bench/kiln-bench-fill, or --fill)
  ... --quick            1 run, 3 s per wrk run, 20 000 builds, log 200 MB (Buildbot 20 MB)
  ... --only kiln|buildbot   --skip api|log   --keep (keep the temp dir)
  ... --nice -10         both masters, wrk and curl at nice -10 (root): priority over other
                         users' processes on a shared machine
Writes JSON to bench/results/api-<time>.json (or --out) and prints a markdown table with the
Kiln/Buildbot ratios. Needs wrk and curl (tools/setup-deps.sh with KILN_WITH_BENCH=1, or
apt-get install wrk curl; this script installs wrk with apt-get when it is missing and it runs
as root).
"""
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing common
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import (BUILDBOT, CLK_TCK, HOST, STARTED, BenchError, Proc,  # noqa: E402
                    add_binary_args, add_nice_arg, add_only_arg, add_output_args,
                    argument_parser, bench_root, buildbot_missing, compare_row,
                    executables_missing, free_ports, host_busy_s, log, port_open,
                    proc_cpu_s, proc_mem_kb, run_tool, start_buildbot_master, stats,
                    write_results)

BB_CFG = os.path.join(HERE, 'bench_api_master.cfg')
WRK_SCRIPT = os.path.join(HERE, 'wrk_report.lua')
ENDPOINTS = [('builds', '/api/v2/builds?limit=50&order=-buildid'),
             ('builders', '/api/v2/builders')]
RSS_POLL = 0.02
NICE = []          # ['nice', '-n', N] with --nice: prefixes the masters, wrk and curl
LINE_BYTES = 100
CHUNK_LINES = 655          # Buildbot's chunks: 655 lines of 100 bytes = 65 499 bytes <= 64 KiB
# The big log's lines (the same as kiln_bench_fill.cpp's): 'o' + 9 digits + ' ' + 88 + '\n'.
FILLER = ('the quick brown fox jumps over the lazy dog 0123456789 THE QUICK BROWN FOX JUMPS '
          'OVER THE LAZY DOG 0123456789 the quick brown fox jumps over the lazy dog 0123456789 ')
SMALL_LOG = 'hmake all\nobuild {number} ok\nhprogram finished with exit code 0'
REASON = "The web-page 'force build' button was pressed by 'bench': bench"


def big_line(n):
    start = (n * 7) % 64
    return f'o{n % 1000000000:09d} {FILLER[start:start + 88]}'


def raw_size(lines):
    """Bytes of the raw download of a stdio log of `lines` 100-byte lines (tags dropped)."""
    return lines * (LINE_BYTES - 1) - 1 if lines else 0


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# masters
# ---------------------------------------------------------------------------------------------
class ApiMaster:
    kind = '?'

    def __init__(self, root):
        self.root = os.path.join(root, self.kind)
        self.basedir = os.path.join(self.root, 'master')
        self.proc = None
        self.www_port = None
        self.big_logid = None
        self.big_log_lines = 0
        self.fill = {}

    def get(self, path, timeout=600):
        conn = http.client.HTTPConnection(HOST, self.www_port, timeout=timeout)
        try:
            conn.request('GET', path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise BenchError(f'{self.kind}: GET {path}: HTTP {r.status} {body[:500]!r}')
            return json.loads(body)
        finally:
            conn.close()

    def check_alive(self):
        if self.proc is not None and not self.proc.alive():
            raise BenchError(f'{self.kind} master exited (rc {self.proc.popen.returncode}):\n'
                             f'{self.proc.output()[-3000:]}')

    def verify(self, nbuilds):
        """The API sees what was filled: the builds (meta.total) and the big log's lines."""
        page = self.get('/api/v2/builds?limit=1&order=-buildid')
        # Buildbot 3.7 reports the page's size as meta.total when SQL did the paging.
        total = page['meta'].get('total')
        newest = [b['buildid'] for b in page['builds']]
        if newest != [nbuilds]:
            raise BenchError(f'{self.kind}: newest build {newest}, expected [{nbuilds}]')
        lg = self.get(f'/api/v2/logs/{self.big_logid}')['logs'][0]
        if lg['num_lines'] != self.big_log_lines:
            raise BenchError(f'{self.kind}: big log has {lg["num_lines"]} lines, expected '
                             f'{self.big_log_lines}')
        return {'meta_total': total, 'builders': len(self.get('/api/v2/builders')['builders'])}

    def stop(self):
        if self.proc is not None:
            self.proc.stop(timeout=60)
            self.proc = None


class KilnMaster(ApiMaster):
    kind = 'kiln'

    def __init__(self, root, binary, fill_binary):
        super().__init__(root)
        self.binary = binary
        self.fill_binary = fill_binary

    def config(self, nbuilders, worker_port):
        names = [f'bench-{i:02d}' for i in range(1, nbuilders + 1)]
        builders = ',\n    '.join(
            f'k.builder{{ name = "{n}", workers = {{ "bench-worker" }}, '
            f'steps = {{ k.shell{{ name = "make", command = {{ "true" }} }} }} }}' for n in names)
        quoted = ', '.join(f'"{n}"' for n in names)
        return f'''-- generated by bench/api_bench.py
local k = require "kiln"
return {{
  title = "api-bench",
  db = {{ url = "sqlite:state.sqlite" }},
  protocols = {{ worker = {{ port = {worker_port} }} }},
  www = {{ port = {self.www_port} }},
  workers = {{ k.worker{{ name = "bench-worker", password = "bench-pass", max_builds = 1 }} }},
  builders = {{
    {builders},
  }},
  schedulers = {{ k.force{{ name = "force", builders = {{ {quoted} }} }} }},
}}
'''

    def prepare(self, nbuilds, nbuilders, log_bytes):
        os.makedirs(self.root)
        run_tool([self.binary, 'create-master', self.basedir])
        t0 = time.monotonic()
        out = run_tool([self.fill_binary, self.basedir, '--builds', str(nbuilds),
                        '--builders', str(nbuilders), '--log-bytes', str(log_bytes)],
                       timeout=3600)
        wall = time.monotonic() - t0
        self.fill = json.loads(out.strip().splitlines()[-1])
        self.fill['wall_s'] = wall
        self.big_logid = self.fill['big_logid']
        self.big_log_lines = self.fill['big_log_lines']
        self.fill['db_mb'] = os.path.getsize(os.path.join(self.basedir, 'state.sqlite')) / 1e6
        return self.fill

    def start(self, nbuilders):
        env = dict(os.environ, KILN_WWW_BIND=HOST, KILN_WORKER_BIND=HOST)
        for _ in range(3):
            worker_port, self.www_port = free_ports(2)
            with open(os.path.join(self.basedir, 'master.lua'), 'w') as f:
                f.write(self.config(nbuilders, worker_port))
            self.proc = Proc(NICE + [self.binary, 'start', self.basedir, '--foreground'],
                             os.path.join(self.root, 'master.console.log'), cwd=self.basedir,
                             env=env)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and self.proc.alive():
                if port_open(self.www_port):
                    return
                time.sleep(0.1)
            out = self.proc.output()
            self.proc.stop()
            if 'in use' not in out:
                raise BenchError(f'kiln master did not start:\n{out[-3000:]}')
        raise BenchError('kiln master: no free port')


class BuildbotMaster(ApiMaster):
    kind = 'buildbot'

    def prepare(self, nbuilds, nbuilders, log_bytes):
        os.makedirs(self.root)
        run_tool([BUILDBOT, 'create-master', '-q', self.basedir])
        shutil.copyfile(BB_CFG, os.path.join(self.basedir, 'master.cfg'))
        t0 = time.monotonic()
        self.fill = fill_buildbot_db(os.path.join(self.basedir, 'state.sqlite'),
                                     f'{os.uname()[1]}:{os.path.abspath(self.basedir)}',
                                     nbuilds, nbuilders, log_bytes)
        self.fill['wall_s'] = time.monotonic() - t0
        self.big_logid = self.fill['big_logid']
        self.big_log_lines = self.fill['big_log_lines']
        self.fill['db_mb'] = os.path.getsize(os.path.join(self.basedir, 'state.sqlite')) / 1e6
        return self.fill

    def start(self, nbuilders):
        self.proc, _, self.www_port = start_buildbot_master(
            self.basedir, os.path.join(self.root, 'master.console.log'),
            {'BENCH_BUILDERS': str(nbuilders)}, prefix=NICE, timeout=180,
            need_worker_port=False)


def fill_buildbot_db(path, master_name, nbuilds, nbuilders, log_bytes):
    """Buildbot's rows for the same builds, inserted directly (explicit ids, one transaction)."""
    now = int(time.time())
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute('BEGIN')
        con.execute('INSERT INTO masters (id, name, name_hash, active, last_active) '
                    'VALUES (1, ?, ?, 0, ?)', (master_name, sha1(master_name), now))
        names = [f'bench-{i:02d}' for i in range(1, nbuilders + 1)]
        con.executemany('INSERT INTO builders (id, name, description, name_hash) '
                        'VALUES (?, ?, NULL, ?)',
                        [(i, n, sha1(n)) for i, n in enumerate(names, 1)])
        con.execute("INSERT INTO workers (id, name, info, paused, graceful) "
                    "VALUES (1, 'bench-worker', '{}', 0, 0)")
        # The all-empty stamp of a force build: branch, revision, repository, project,
        # codebase, patchid joined by NUL, NULL as 0xF5 (data-model.md §2.9).
        ss_hash = hashlib.sha1(b'\0'.join([b'\xf5', b'\xf5', b'', b'', b'', b'\xf5'])).hexdigest()
        con.execute("INSERT INTO sourcestamps (id, ss_hash, branch, revision, patchid, "
                    "repository, codebase, project, created_at) "
                    "VALUES (1, ?, NULL, NULL, NULL, '', '', '', ?)", (ss_hash, now))
        # As kiln-bench-fill: builds 1..N-1 in buildsets of one request per builder (build i
        # is of builder (i-1) mod M + 1), the last build in a buildset of its own.
        rounds = (nbuilds - 1 + nbuilders - 1) // nbuilders
        bsids = list(range(1, rounds + 2))
        con.executemany('INSERT INTO buildsets (id, external_idstring, reason, submitted_at, '
                        'complete, complete_at, results) VALUES (?, NULL, ?, ?, 1, ?, 0)',
                        [(bsid, REASON, now, now) for bsid in bsids])
        con.executemany('INSERT INTO buildset_sourcestamps (id, buildsetid, sourcestampid) '
                        'VALUES (?, ?, 1)', [(bsid, bsid) for bsid in bsids])
        numbers = [0] * (nbuilders + 1)
        batch = 10000
        for start in range(1, nbuilds + 1, batch):
            ids = range(start, min(start + batch, nbuilds + 1))
            plan = []
            for i in ids:
                b = (i - 1) % nbuilders + 1 if i < nbuilds else 1
                numbers[b] += 1
                plan.append((i, b, numbers[b]))
            con.executemany('INSERT INTO buildrequests (id, buildsetid, builderid, priority, '
                            'complete, results, submitted_at, complete_at, waited_for) '
                            'VALUES (?, ?, ?, 0, 1, 0, ?, ?, 0)',
                            [(i, (i - 1) // nbuilders + 1 if i < nbuilds else rounds + 1, b,
                              now, now) for i, b, _ in plan])
            con.executemany('INSERT INTO buildrequest_claims (brid, masterid, claimed_at) '
                            'VALUES (?, 1, ?)', [(i, now) for i, _, _ in plan])
            con.executemany('INSERT INTO builds (id, number, builderid, buildrequestid, workerid, '
                            "masterid, started_at, complete_at, state_string, results) "
                            "VALUES (?, ?, ?, ?, 1, 1, ?, ?, 'finished', 0)",
                            [(i, n, b, i, now, now) for i, b, n in plan])
            props = []
            for i, b, n in plan:
                props += [(i, 'buildnumber', str(n), 'Build'),
                          (i, 'buildername', json.dumps(names[b - 1]), 'Builder'),
                          (i, 'builderid', str(b), 'Builder'),
                          (i, 'workername', '"bench-worker"', 'Worker'),
                          (i, 'scheduler', '"force"', 'Scheduler')]
            con.executemany('INSERT INTO build_properties (buildid, name, value, source) '
                            'VALUES (?, ?, ?, ?)', props)
            con.executemany('INSERT INTO steps (id, number, name, buildid, started_at, '
                            "complete_at, state_string, results, urls_json, hidden) "
                            "VALUES (?, 0, 'make', ?, ?, ?, 'pending', 0, '[]', 0)",
                            [(i, i, now, now) for i, _, _ in plan])
            con.executemany("INSERT INTO logs (id, name, slug, stepid, complete, num_lines, type) "
                            "VALUES (?, 'stdio', 'stdio', ?, 1, 3, 's')",
                            [(i, i) for i, _, _ in plan])
            # Buildbot reads content as bytes and decodes it: a BLOB, not TEXT.
            con.executemany('INSERT INTO logchunks (logid, first_line, last_line, content, '
                            'compressed) VALUES (?, 0, 2, ?, 0)',
                            [(i, SMALL_LOG.format(number=n).encode()) for i, _, n in plan])
        # The last build's second step and its big stdio log.
        big = nbuilds + 1
        lines = log_bytes // LINE_BYTES
        con.execute("INSERT INTO steps (id, number, name, buildid, started_at, complete_at, "
                    "state_string, results, urls_json, hidden) "
                    "VALUES (?, 1, 'output', ?, ?, ?, 'pending', 0, '[]', 0)",
                    (big, nbuilds, now, now))
        con.execute("INSERT INTO logs (id, name, slug, stepid, complete, num_lines, type) "
                    "VALUES (?, 'stdio', 'stdio', ?, 1, ?, 's')", (big, big, lines))
        for first in range(0, lines, CHUNK_LINES):
            last = min(first + CHUNK_LINES, lines) - 1
            content = '\n'.join(big_line(n) for n in range(first, last + 1)).encode()
            con.execute('INSERT INTO logchunks (logid, first_line, last_line, content, '
                        'compressed) VALUES (?, ?, ?, ?, 0)', (big, first, last, content))
        con.execute('COMMIT')
    finally:
        con.close()
    return {'builds': nbuilds, 'big_logid': big, 'big_log_lines': lines,
            'big_log_bytes': lines * LINE_BYTES}


# ---------------------------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------------------------
def idle_cores(m, seconds=1.0):
    c0, t0 = proc_cpu_s(m.proc.pid), time.monotonic()
    time.sleep(seconds)
    return (proc_cpu_s(m.proc.pid) - c0) / (time.monotonic() - t0)


def run_wrk(m, path, duration, connections, threads):
    url = f'http://{HOST}:{m.www_port}{path}'
    # The UI's Accept header: both masters then answer compact JSON (pretty without it).
    argv = NICE + ['wrk', f'-t{threads}', f'-c{connections}', f'-d{duration}s', '--timeout',
                   '10s', '-H', 'Accept: application/json', '-s', WRK_SCRIPT, url]
    mpid = m.proc.pid
    c0, h0, t0 = proc_cpu_s(mpid), host_busy_s(), time.monotonic()
    ru0 = os.times()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=duration + 120)
    ru1 = os.times()
    c1, h1, t1 = proc_cpu_s(mpid), host_busy_s(), time.monotonic()
    text = r.stdout.decode(errors='replace')
    report = None
    for line in text.splitlines():
        if line.startswith('WRKJSON '):
            report = json.loads(line[len('WRKJSON '):])
    if r.returncode != 0 or report is None:
        raise BenchError(f'{m.kind}: wrk failed (rc {r.returncode}):\n{text[-2000:]}')
    m.check_alive()
    errors = sum(report['errors'].values())
    wrk_cpu = (ru1.children_user + ru1.children_system) - (ru0.children_user
                                                           + ru0.children_system)
    wall = t1 - t0
    n = report['requests']
    return {
        'ok': errors == 0 and n > 0, 'requests': n, 'errors': report['errors'],
        'duration_s': report['duration_us'] / 1e6,
        'requests_per_s': n / (report['duration_us'] / 1e6),
        'p50_ms': report['p50_us'] / 1000, 'p90_ms': report['p90_us'] / 1000,
        'p99_ms': report['p99_us'] / 1000, 'max_ms': report['max_us'] / 1000,
        'mean_ms': report['mean_us'] / 1000,
        'bytes_per_response': report['bytes'] / n if n else None,
        'master_cpu_s': c1 - c0,
        'master_cpu_ms_per_request': 1000 * (c1 - c0) / n if n else None,
        'master_util': (c1 - c0) / wall, 'wrk_cpu_cores': wrk_cpu / wall,
        'other_cpu_cores': ((h1 - h0) - (c1 - c0) - wrk_cpu) / wall,
    }


def bench_api(m, name, path, args):
    run_wrk(m, path, 2, args.connections, args.threads)   # warm-up, not recorded
    idle = idle_cores(m)
    r = run_wrk(m, path, args.duration, args.connections, args.threads)
    r['idle_cores_before'] = idle
    log(f'[{m.kind}] {name}: ok={r["ok"]} {r["requests_per_s"]:.1f} req/s, p50 '
        f'{r["p50_ms"]:.2f} ms, p99 {r["p99_ms"]:.2f} ms, master '
        f'{r["master_cpu_ms_per_request"]:.3f} CPU ms/request (util {r["master_util"]:.2f}), '
        f'wrk {r["wrk_cpu_cores"]:.2f} cores, '
        f'other {r["other_cpu_cores"]:.2f} cores, idle before {idle:.3f} cores')
    return r


def bench_log(m):
    url = f'http://{HOST}:{m.www_port}/api/v2/logs/{m.big_logid}/raw'
    expected = raw_size(m.big_log_lines)
    mpid = m.proc.pid
    time.sleep(0.5)
    mem0 = proc_mem_kb(mpid)
    c0, h0, t0 = proc_cpu_s(mpid), host_busy_s(), time.monotonic()
    curl = subprocess.Popen(NICE + ['curl', '-sS', '-o', '/dev/null', '--max-time', '3600',
                                    '-w', '%{http_code} %{size_download} '
                                    '%{time_starttransfer} %{time_total}', url],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    STARTED.append(_Popened(curl))
    peak = mem0['VmRSS']
    samples = 0
    while curl.poll() is None:
        with contextlib.suppress(OSError):
            peak = max(peak, proc_mem_kb(mpid)['VmRSS'])
            samples += 1
        time.sleep(RSS_POLL)
    t1 = time.monotonic()
    c1, h1 = proc_cpu_s(mpid), host_busy_s()
    mem1 = proc_mem_kb(mpid)
    out, err = curl.communicate()
    m.check_alive()
    fields = out.decode().split()
    if curl.returncode != 0 or len(fields) != 4:
        raise BenchError(f'{m.kind}: curl failed (rc {curl.returncode}): {err.decode()[-500:]}')
    status, size, ttfb, total = int(fields[0]), int(fields[1]), float(fields[2]), float(fields[3])
    gb = size / 1e9 if size else None
    r = {
        'ok': status == 200 and size == expected, 'status': status, 'bytes': size,
        'expected_bytes': expected, 'log_lines': m.big_log_lines,
        'time_s': total, 'first_byte_s': ttfb, 'mb_per_s': size / 1e6 / total if total else None,
        's_per_gb': total / gb if gb else None,
        'master_cpu_s': c1 - c0, 'master_cpu_s_per_gb': (c1 - c0) / gb if gb else None,
        'rss_before_mb': mem0['VmRSS'] / 1024, 'rss_peak_mb': peak / 1024,
        'rss_growth_mb': (peak - mem0['VmRSS']) / 1024,
        'rss_growth_mb_per_gb': (peak - mem0['VmRSS']) / 1024 / gb if gb else None,
        'rss_after_mb': mem1['VmRSS'] / 1024,
        'hwm_before_mb': mem0['VmHWM'] / 1024, 'hwm_after_mb': mem1['VmHWM'] / 1024,
        'rss_samples': samples,
        'other_cpu_cores': ((h1 - h0) - (c1 - c0)) / (t1 - t0),
    }
    log(f'[{m.kind}] raw log {size / 1e6:.0f} MB: ok={r["ok"]} {r["time_s"]:.2f} s '
        f'({r["mb_per_s"]:.0f} MB/s, first byte {ttfb:.2f} s), master {r["master_cpu_s"]:.2f} '
        f'CPU s, RSS {r["rss_before_mb"]:.1f} -> peak {r["rss_peak_mb"]:.1f} MB '
        f'(+{r["rss_growth_mb"]:.1f}), after {r["rss_after_mb"]:.1f} MB')
    return r


class _Popened:
    """A curl we started, in the STARTED list so that an interrupted run stops it."""

    def __init__(self, popen):
        self.popen = popen

    def alive(self):
        return self.popen.poll() is None

    def stop(self, timeout=10):
        if self.alive():
            self.popen.terminate()
            self.popen.wait(timeout)


# ---------------------------------------------------------------------------------------------
def ensure_tools():
    missing = [t for t in ('wrk', 'curl') if not shutil.which(t)]
    if missing and os.geteuid() == 0 and shutil.which('apt-get'):
        log(f'installing {" ".join(missing)} with apt-get')
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends'] + missing,
                       env=env, check=False, stdout=subprocess.DEVNULL)
        missing = [t for t in missing if not shutil.which(t)]
    if missing:
        raise BenchError(f'missing {" ".join(missing)}: apt-get install {" ".join(missing)} '
                         f'(or KILN_WITH_BENCH=1 tools/setup-deps.sh)')


def main(argv=None):
    ap = argument_parser(__doc__)
    add_binary_args(ap, worker=False)
    ap.add_argument('--fill', help='kiln-bench-fill binary (default: <kiln>/../../bench/)')
    ap.add_argument('--repeat', type=int, default=3, help='runs per master and workload (3)')
    ap.add_argument('--duration', type=int, default=10, help='seconds per wrk run (10)')
    ap.add_argument('--connections', type=int, default=4, help='wrk connections (4)')
    ap.add_argument('--threads', type=int, default=2, help='wrk threads (2)')
    ap.add_argument('--builds', type=int, default=100000, help='finished builds (100000)')
    ap.add_argument('--builders', type=int, default=10, help='builders (10)')
    ap.add_argument('--log-mb', type=float, default=1000, help='big log on Kiln, MB (1000)')
    ap.add_argument('--bb-log-mb', type=float, default=100,
                    help='big log on Buildbot, MB (100: it builds the answer in memory)')
    ap.add_argument('--quick', action='store_true',
                    help='1 run, 3 s wrk runs, 20000 builds, 200 MB log (Buildbot 20 MB)')
    add_only_arg(ap)
    ap.add_argument('--skip', choices=['api', 'log'], action='append', default=[])
    add_nice_arg(ap, 'run both masters, wrk and curl at this niceness (e.g. -10 on a shared '
                     'machine, to keep other users\' load from the measurement; < 0 needs root)')
    add_output_args(ap, 'api')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.duration, args.builds = 1, 3, 20000
        args.log_mb, args.bb_log_mb = 200, 20
    kinds = ['kiln', 'buildbot'] if not args.only else [args.only]
    if 'kiln' in kinds:
        if executables_missing((('--kiln', args.kiln),)):
            return 2
        args.kiln = os.path.abspath(args.kiln)
        if not args.fill:
            args.fill = os.path.join(os.path.dirname(os.path.dirname(args.kiln)), 'bench',
                                     'kiln-bench-fill')
        if not os.access(args.fill, os.X_OK):
            print(f'error: --fill: not an executable: {args.fill} (ninja kiln-bench-fill)',
                  file=sys.stderr)
            return 2
        args.fill = os.path.abspath(args.fill)
    if 'buildbot' in kinds and buildbot_missing():
        return 2
    ensure_tools()
    if args.nice is not None:
        NICE[:] = ['nice', '-n', str(args.nice)]

    sizes = {'kiln': int(args.log_mb * 1e6) // LINE_BYTES * LINE_BYTES,
             'buildbot': int(args.bb_log_mb * 1e6) // LINE_BYTES * LINE_BYTES}
    masters = {}
    results = {k: {'fill': None, 'verify': None, 'idle_rss_mb': None,
                   'api': {name: [] for name, _ in ENDPOINTS}, 'log': []} for k in kinds}
    t_all = time.monotonic()
    with bench_root('kiln-api-bench-', args.keep) as root:
        try:
            for kind in kinds:
                m = (KilnMaster(root, args.kiln, args.fill) if kind == 'kiln'
                     else BuildbotMaster(root))
                masters[kind] = m
                log(f'[{kind}] filling: {args.builds} builds, {args.builders} builders, log '
                    f'{sizes[kind] / 1e6:g} MB')
                fill = m.prepare(args.builds, args.builders, sizes[kind])
                results[kind]['fill'] = fill
                log(f'[{kind}] filled in {fill["wall_s"]:.1f} s, database {fill["db_mb"]:.0f} MB: '
                    + json.dumps({k: v for k, v in fill.items() if k not in ('builderids',)}))
            for kind in kinds:
                m = masters[kind]
                m.start(args.builders)
                results[kind]['verify'] = m.verify(args.builds)
                time.sleep(2)
                results[kind]['idle_rss_mb'] = proc_mem_kb(m.proc.pid)['VmRSS'] / 1024
                log(f'[{kind}] master pid {m.proc.pid} up on port {m.www_port}, RSS '
                    f'{results[kind]["idle_rss_mb"]:.1f} MB, {results[kind]["verify"]}')
            for rep in range(args.repeat):
                order = kinds if rep % 2 == 0 else list(reversed(kinds))
                for kind in order:
                    m = masters[kind]
                    if 'api' not in args.skip:
                        for name, path in ENDPOINTS:
                            r = bench_api(m, name, path, args)
                            results[kind]['api'][name].append(r)
                    if 'log' not in args.skip:
                        results[kind]['log'].append(bench_log(m))
        finally:
            for m in masters.values():
                with contextlib.suppress(Exception):
                    m.stop()
    total = time.monotonic() - t_all
    return report(args, kinds, sizes, results, total)


def report(args, kinds, sizes, results, total):
    metrics = []  # (label, values per kind, higher_is_better)
    for name, path in ENDPOINTS:
        if 'api' in args.skip:
            break
        for key, label, hib in (('requests_per_s', 'requests/s', True),
                                ('p50_ms', 'p50 latency, ms', False),
                                ('p99_ms', 'p99 latency, ms', False),
                                ('master_cpu_ms_per_request', 'master CPU ms / request', False),
                                ('master_util', 'master CPU utilisation (cores)', False)):
            metrics.append((f'`GET {path}`: {label}', f'api.{name}.{key}',
                            {k: [r[key] for r in results[k]['api'][name]] for k in kinds}, hib))
    if 'log' not in args.skip:
        for key, label, hib in (
                ('mb_per_s', 'raw log download: MB/s (Kiln {kiln}, Buildbot {buildbot})', True),
                ('s_per_gb', 'raw log download: s per GB', False),
                ('master_cpu_s_per_gb', 'raw log download: master CPU s per GB', False),
                ('rss_before_mb', 'raw log download: master RSS before, MB', False),
                ('rss_growth_mb', 'raw log download: master RSS growth (peak - before), MB',
                 False),
                ('rss_growth_mb_per_gb', 'raw log download: master RSS growth per GB '
                                         '(Buildbot: scaled from its log)', False)):
            label = label.format(**{k: f'{sizes[k] / 1e6:g} MB' for k in
                                    ('kiln', 'buildbot')})
            metrics.append((label, f'log.{key}',
                            {k: [r[key] for r in results[k]['log']] for k in kinds}, hib))
    summary, rows = {}, []
    for label, key, values, hib in metrics:
        st = {k: stats(values[k]) for k in kinds}
        ratio, row = compare_row(label, st, kinds, hib)
        summary[key] = dict(st, kiln_advantage=ratio)
        rows.append(row)
    ok = all(r['ok'] for k in kinds for rs in results[k]['api'].values() for r in rs)
    ok = ok and all(r['ok'] for k in kinds for r in results[k]['log'])

    print(f'\n## API benchmark ({args.repeat} run(s) each; min / median / max; {args.builds} '
          f'builds; wrk -t{args.threads} -c{args.connections} -d{args.duration}s'
          + (f'; masters, wrk and curl at nice {args.nice}' if args.nice is not None else '')
          + ')\n')
    print('| metric | ' + ' | '.join(kinds) + ' | Kiln advantage (median) |')
    print('|---|' + '---|' * len(kinds) + '---|')
    print('\n'.join(rows))
    print('\nKiln advantage = Buildbot/Kiln for costs, Kiln/Buildbot for throughputs.')
    for k in kinds:
        f = results[k]['fill']
        print(f'{k} fill: {f["wall_s"]:.1f} s ' + (
            f'(builds {f["builds_s"]:.1f} s, big log {f["log_s"]:.1f} s)' if k == 'kiln' else
            '(sqlite3 executemany, one transaction)') + f', database {f["db_mb"]:.0f} MB')
    checks = []
    if 'kiln' in kinds and 'api' not in args.skip:
        for name, path in ENDPOINTS:
            p99 = summary[f'api.{name}.p99_ms']['kiln']
            checks.append(f'Kiln p99 of {path}: median {p99["median"]:.2f} ms, worst '
                          f'{p99["max"]:.2f} ms (target <= 5 ms): '
                          f'{"MET" if p99["max"] <= 5 else "MISSED"}')
            adv = summary[f'api.{name}.requests_per_s']['kiln_advantage']
            if adv:
                checks.append(f'Kiln requests/s of {path}: {adv:.1f}x Buildbot\'s (target >= 50x):'
                              f' {"MET" if adv >= 50 else "MISSED"}')
    if 'kiln' in kinds and 'log' not in args.skip:
        g = summary['log.rss_growth_mb']['kiln']['max']
        checks.append(f'Kiln RSS growth during the {sizes["kiln"] / 1e9:g} GB download: worst '
                      f'{g:.1f} MB (target <= 16 MB): {"MET" if g <= 16 else "MISSED"}')
    if checks:
        print('\n' + '\n'.join(checks))
    other = [r['other_cpu_cores'] for k in kinds for rs in results[k]['api'].values()
             for r in rs]
    if other and max(other) > 0.25:
        print(f'\nWARNING: other processes used up to {max(other):.2f} of {os.cpu_count()} '
              f'cores during the wrk runs: latencies and requests/s are not reliable; CPU per '
              f'request is.')
    print(f'\nall answers correct: {ok}; total {total:.0f}s')

    write_results(args.out, 'api', {
        'config': {'masters': kinds, 'repeat': args.repeat, 'builds': args.builds,
                   'builders': args.builders, 'duration_s': args.duration,
                   'connections': args.connections, 'threads': args.threads,
                   'log_bytes': sizes, 'endpoints': dict(ENDPOINTS), 'clk_tck': CLK_TCK,
                   'cpus': os.cpu_count(), 'argv': sys.argv, 'nice': args.nice,
                   'kiln': args.kiln, 'fill': args.fill},
        'runs': results, 'summary': summary, 'all_ok': ok, 'total_s': total})
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
