#!/usr/bin/python3
"""End-to-end test of the kiln master with real worker processes.

A real `kiln` master (own temp dir, SQLite state.sqlite, worker port on 127.0.0.1, bound with
KILN_WORKER_BIND=127.0.0.1) runs builds on real workers: kiln-worker and Debian's
buildbot-worker 3.7 (msgpack). Everything is read back from the master's database.

Sections (each prints one PASS/FAIL block; the last line is "N passed, N failed"):
  checkconfig     `kiln checkconfig` on a Lua syntax error, an unknown key, a builder naming an
                  unknown worker, and two errors at once: non-zero exit, each error as
                  master.lua:LINE.
  same-results    the same builders on kiln-worker and on buildbot-worker (pass, fail with
                  halt_on_failure, warnings via decode_rc and warn_on_failure, timeout, a 1 MB
                  file_download + file_upload round trip, set_property_from_command + do_step_if)
                  give the expected results, and the same results, state strings and logs on
                  both (stdout/stderr lines exact, header lines exact but for paths and
                  elapsedTime).
  big-log         a step printing 100 MB: SUCCESS, logs.num_lines and the stored text are
                  right, and the master's VmHWM after it grows by less than 64 MB over its VmHWM
                  after a tiny build (both numbers reported).
  worker-lost     two workers (one of each kind) on a builder, the one running a long step is
                  SIGKILLed: that build ends RETRY and the request is rebuilt on the other worker
                  to SUCCESS.
  reconfig        `kiln reconfig` during a running build (adds a builder, changes the running
                  builder's steps): the running build finishes SUCCESS with its old steps, the
                  new builder builds, the changed builder's next build has the new steps; a
                  broken config: reconfig fails with master.lua:LINE and nothing changes.
  stop-interrupt  `kiln stop --timeout 1` during a running build on each kind of worker: the
                  builds end RETRY (the step log says "command interrupted" on both) and after a
                  restart the requests are built again to SUCCESS.
  master-killed   the master SIGKILLed mid-build and started again: the orphaned build ends
                  RETRY, the stdout lines it had stored are still in its log, and the request is
                  built again to SUCCESS (its buildset completes).

Usage:
  /usr/bin/python3 test_master.py --kiln build/dev/app/kiln --kiln-worker build/dev/app/kiln-worker
Options: --keep (keep the temp dir), --only a,b (run only these sections; checkconfig and
same-results need nothing else, the others use the master started for them), -v.
Stdlib only; the log chunks Kiln stores zstd-compressed are read with the zstd CLI.
Processes: every process is started by this script in its own process group and stopped by PID;
the script is the subreaper of what it starts (see ../refmaster/refmaster.py).
"""
import argparse
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'refmaster'))
import refmaster as rm  # noqa: E402

ZSTD = '/usr/bin/zstd'
HOST = rm.HOST
PASSWORD = 'itest-pass'
RESULTS = rm.RESULTS
SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED = range(7)
BIG_LOG_BYTES = 100_000_000
BIG_LINE = '0123456789abcdef' * 5 + '012345678'      # 89 characters + '\n' = 90 bytes
HWM_GROWTH_LIMIT_KB = 64 * 1024
SECTIONS = ['checkconfig', 'same-results', 'big-log', 'worker-lost', 'reconfig',
            'stop-interrupt', 'master-killed']
KINDS = ('kiln', 'stock')
# worker names: the comparison pair, then the pair for worker-lost
COMPARE_WORKER = {'kiln': 'kw', 'stock': 'sw'}
LOSS_WORKER = {'kiln': 'kw-lost', 'stock': 'sw-lost'}

log = rm.log


class TestFailure(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# master.lua
# ---------------------------------------------------------------------------------------------
CONFIG = r'''
local k = require "kiln"
local MARK = "@MARK@"
local VERSION = @VERSION@

-- a step that waits the first time it runs for a marker name, and is quick the next time
local function once_slow(name, seconds)
  local m = MARK .. "/" .. name
  return "echo line1; echo line2; echo line3; echo line4; echo line5; " ..
         "if [ -e " .. m .. " ]; then echo rebuilt; else touch " .. m .. "; echo waiting; " ..
         "sleep " .. seconds .. "; fi"
end

local names, builders = {}, {}
local function add(name, workers, steps)
  names[#names + 1] = name
  builders[#builders + 1] = k.builder{ name = name, workers = workers, steps = steps }
end

for _, kind in ipairs({ "kiln", "stock" }) do
  local w = ({ kiln = "kw", stock = "sw" })[kind]
  add("pass-" .. kind, { w }, {
    k.shell{ name = "echo", command = "echo hello; echo to-stderr 1>&2; printf 'no newline'" },
    k.shell{ name = "argv", command = { "printf", "%s|", "a b", "c" } },
  })
  add("fail-" .. kind, { w }, {
    k.shell{ name = "ok-first", command = "echo first" },
    k.shell{ name = "fails", command = "echo before; exit 1", halt_on_failure = true },
    k.shell{ name = "never", command = "echo never" },
  })
  add("warn-" .. kind, { w }, {
    k.shell{ name = "rc3", command = "echo three; exit 3",
             decode_rc = { [0] = "success", [3] = "warnings" }, warn_on_warnings = true },
    k.shell{ name = "soft-fail", command = "echo soft 1>&2; exit 1",
             flunk_on_failure = false, warn_on_failure = true },
    k.shell{ name = "after", command = "echo still here" },
  })
  add("timeout-" .. kind, { w }, {
    k.shell{ name = "sleepy", command = "echo start; sleep 30", timeout = 2 },
  })
  add("transfer-" .. kind, { w }, {
    k.file_download{ name = "download", mastersrc = "blob.bin", workerdest = "blob.bin",
                     mode = 384 },
    k.shell{ name = "checksum", command = "sha256sum blob.bin; stat -c %a blob.bin" },
    k.file_upload{ name = "upload", workersrc = "blob.bin",
                   masterdest = "uploads/" .. kind .. "/blob.bin" },
  })
  add("props-" .. kind, { w }, {
    k.set_property_from_command{ name = "get-answer", property = "answer", command = "echo 42" },
    k.shell{ name = "use-answer", command = k.interpolate("echo answer=%(prop:answer)s") },
    k.shell{ name = "skipped", command = "echo never", do_step_if = false },
    k.shell{ name = "if-answer", command = "echo ran",
             do_step_if = function(props) return props.answer == "42" end },
  })
  add("interrupt-" .. kind, { w }, {
    k.shell{ name = "wait", command = once_slow("interrupt-" .. kind, 60) },
  })
end

add("tiny", { "kw" }, { k.shell{ name = "tiny", command = "echo tiny" } })
add("biglog", { "kw" }, {
  k.shell{ name = "big", command = "yes @BIGLINE@ | head -c @BIGBYTES@" },
})
add("survive", { "kw-lost", "sw-lost" }, {
  k.shell{ name = "long", command = once_slow("survive", 60) },
})
add("crash", { "kw" }, { k.shell{ name = "wait", command = once_slow("crash", 60) } })

if VERSION == 1 then
  add("slow", { "kw" }, { k.shell{ name = "slow-v1", command = "sleep 6; echo slow-done" } })
else
  add("slow", { "kw" }, {
    k.shell{ name = "slow-v2", command = "echo changed" },
    k.shell{ name = "second-v2", command = "echo second" },
  })
  add("added", { "sw" }, { k.shell{ name = "new", command = "echo from the new builder" } })
end

return {
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = {
    k.worker{ name = "kw", password = "@PASSWORD@" },
    k.worker{ name = "sw", password = "@PASSWORD@" },
    k.worker{ name = "kw-lost", password = "@PASSWORD@" },
    k.worker{ name = "sw-lost", password = "@PASSWORD@" },
  },
  builders = builders,
  schedulers = { k.force{ name = "force", builders = names } },
}
'''


def master_config(port, mark_dir, version=1, www_port=0):
    text = CONFIG
    for key, value in (('@PORT@', str(port)), ('@WWW@', str(www_port)), ('@MARK@', mark_dir), ('@VERSION@', str(version)),
                       ('@PASSWORD@', PASSWORD), ('@BIGLINE@', BIG_LINE),
                       ('@BIGBYTES@', str(BIG_LOG_BYTES))):
        text = text.replace(key, value)
    return text.lstrip()


# ---------------------------------------------------------------------------------------------
# log chunks
# ---------------------------------------------------------------------------------------------
def zstd_content_size(frame):
    """Frame_Content_Size from a zstd frame header (RFC 8878 3.1.1.1), or None."""
    if len(frame) < 6 or frame[:4] != b'\x28\xb5\x2f\xfd':
        return None
    fhd = frame[4]
    fcs_flag, single, did_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[did_flag]
    size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if size == 0:
        return None
    value = int.from_bytes(frame[pos:pos + size], 'little')
    return value + 256 if size == 2 else value


def zstd_decompress(blobs):
    """Decompress a list of zstd frames with one zstd run; returns the list of texts."""
    if not blobs:
        return []
    sizes = [zstd_content_size(b) for b in blobs]
    if None in sizes:   # no content size in a header: one zstd run per chunk
        return [subprocess.run([ZSTD, '-dcq'], input=b, capture_output=True,
                               check=True).stdout for b in blobs]
    out = subprocess.run([ZSTD, '-dcq'], input=b''.join(blobs), capture_output=True,
                         check=True).stdout
    if len(out) != sum(sizes):
        raise TestFailure(f'zstd: {len(out)} bytes decompressed, headers say {sum(sizes)}')
    parts, pos = [], 0
    for s in sizes:
        parts.append(out[pos:pos + s])
        pos += s
    return parts


def chunks_text(rows):
    """rows: (first_line, last_line, content, compressed) ordered by first_line -> bytes of the
    whole log, each line ending in '\\n'. Checks that the chunks are contiguous."""
    expect = 0
    for first, last, _, comp in rows:
        if first != expect:
            raise TestFailure(f'log chunks: gap at line {expect} (next chunk starts at {first})')
        if comp not in (0, 4):
            raise TestFailure(f'log chunk compressed with method {comp}')
        expect = last + 1
    zstd_parts = iter(zstd_decompress([bytes(r[2]) for r in rows if r[3] == 4]))
    out = []
    for _, _, content, comp in rows:
        out.append(next(zstd_parts) if comp == 4 else bytes(content))
        out.append(b'\n')
    return b''.join(out), expect


# ---------------------------------------------------------------------------------------------
# the master
# ---------------------------------------------------------------------------------------------
class Log:
    def __init__(self, name, type_, num_lines, complete, text):
        self.name, self.type, self.num_lines, self.complete = name, type_, num_lines, complete
        self.text = text

    def lines(self):
        return self.text.split('\n')[:-1]

    def stream(self, ch):
        return [ln[1:] for ln in self.lines() if ln[:1] == ch]


class Step:
    def __init__(self, number, name, results, state_string, hidden, logs):
        self.number, self.name, self.results = number, name, results
        self.state_string, self.hidden, self.logs = state_string, hidden, logs

    def log(self, name='stdio'):
        for lg in self.logs:
            if lg.name == name:
                return lg
        raise TestFailure(f'step {self.name!r} has no log {name!r} '
                          f'(has {[lg.name for lg in self.logs]})')


class Build:
    def __init__(self, row, steps, worker, properties):
        (self.id, self.builder, self.number, self.brid, self.results, self.state_string,
         self.started_at, self.complete_at) = row
        self.steps, self.worker, self.properties = steps, worker, properties

    @property
    def result_name(self):
        return RESULTS.get(self.results, str(self.results))

    def step(self, name):
        for s in self.steps:
            if s.name == name:
                return s
        raise TestFailure(f'build {self.builder} #{self.number} has no step {name!r} '
                          f'(has {[s.name for s in self.steps]})')

    def summary(self):
        out = [f'{self.builder} #{self.number} on {self.worker}: {self.result_name} '
               f'({self.state_string})']
        for s in self.steps:
            out.append(f'    {s.name:<20} {RESULTS.get(s.results, s.results):<9} '
                       f'{s.state_string}')
        return '\n'.join(out)


class KilnMaster:
    def __init__(self, kiln, root):
        self.kiln = kiln
        self.dir = os.path.join(root, 'master')
        self.mark_dir = os.path.join(root, 'marks')
        self.root = root
        self.port = None
        self.www_port = None
        self.proc = None
        self.starts = 0
        self._db = None

    def cli(self, *args, timeout=120):
        return rm.run_tool([self.kiln] + list(args), timeout=timeout, env=self.env())

    def env(self):
        env = dict(os.environ)
        env['KILN_WORKER_BIND'] = HOST
        return env

    def create(self):
        os.makedirs(self.mark_dir)
        rc, out = self.cli('create-master', self.dir)
        if rc != 0:
            raise TestFailure(f'kiln create-master failed (rc {rc}):\n{out}')
        self.port, self.www_port = rm.free_ports(2)
        self.write_config(1)
        with open(os.path.join(self.dir, 'blob.bin'), 'wb') as f:
            f.write(os.urandom(1_000_000))

    def write_config(self, version=1, text=None):
        if text is None:
            text = master_config(self.port, self.mark_dir, version, self.www_port)
        path = os.path.join(self.dir, 'master.lua')
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.replace(path + '.tmp', path)

    def start(self, timeout=30):
        self.starts += 1
        self.proc = rm.Proc([self.kiln, 'start', self.dir, '--foreground'],
                            os.path.join(self.root, f'kiln-{self.starts}.log'),
                            env=self.env(), label=f'kiln#{self.starts}')
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise TestFailure(f'kiln start exited ({rm.describe_rc(self.proc.popen.returncode)})'
                                  f':\n{self.proc.output()[-3000:]}')
            if os.path.exists(os.path.join(self.dir, 'kiln.sock')) and rm.port_open(self.port):
                log(f'master running (pid {self.proc.pid}, worker port {self.port})')
                return
            rm.sleep(0.1)
        raise TestFailure(f'master not up after {timeout}s:\n{self.proc.output()[-3000:]}')

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def check_alive(self):
        if not self.alive():
            rc = self.proc.popen.returncode if self.proc else None
            raise TestFailure(f'the master exited ({rm.describe_rc(rc)}):\n'
                              f'{self.proc.output()[-3000:] if self.proc else ""}')

    def stop(self):
        self.close_db()
        if self.proc is not None:
            self.proc.stop(term_timeout=20)
            self.proc = None

    def kill(self):
        """SIGKILL the master process (only it: its workers are separate processes)."""
        self.close_db()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.popen.wait(10)
        self.proc.stop()
        self.proc = None

    def vmhwm_kb(self):
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
        raise TestFailure('no VmHWM in /proc/PID/status')

    # -- database (read-only)
    def db(self):
        if self._db is None:
            path = os.path.join(self.dir, 'state.sqlite')
            self._db = sqlite3.connect(f'file:{path}?mode=ro', uri=True, timeout=10,
                                       isolation_level=None)
        return self._db

    def close_db(self):
        if self._db is not None:
            self._db.close()
            self._db = None

    def query(self, sql, args=()):
        for _ in range(100):
            try:
                return self.db().execute(sql, args).fetchall()
            except sqlite3.OperationalError as e:
                if 'locked' not in str(e) and 'busy' not in str(e):
                    raise
                time.sleep(0.05)
        raise TestFailure(f'database stayed locked: {sql}')

    def connected(self):
        return {r[0] for r in self.query('select w.name from connected_workers c join workers w '
                                         'on c.workerid = w.id')}

    def wait_connected(self, names, workers=(), timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(names) <= self.connected():
                return
            self.check_alive()
            for w in workers:
                w.check_alive()
            rm.sleep(0.1)
        raise TestFailure(f'workers {sorted(set(names) - self.connected())} not connected '
                          f'after {timeout}s')

    # -- builds
    def force(self, builder):
        rc, out = self.cli('force', self.dir, '--builder', builder, timeout=60)
        m = re.search(r'buildset (\d+) submitted', out)
        if rc != 0 or not m:
            raise TestFailure(f'kiln force --builder {builder} failed (rc {rc}): {out.strip()}')
        return int(m.group(1))

    def buildset(self, bsid):
        (complete, results), = self.query('select complete, results from buildsets where id = ?',
                                          (bsid,))
        return bool(complete), results

    def wait_buildset(self, bsid, timeout=60, alive=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            complete, results = self.buildset(bsid)
            if complete:
                return results
            self.check_alive()
            for w in alive:
                w.check_alive()
            rm.sleep(0.2)
        raise TestFailure(f'buildset {bsid} not complete after {timeout}s; builds:\n' +
                          '\n'.join(self.read_build(b).summary() for b in self.build_ids(bsid)))

    def build_ids(self, bsid):
        return [r[0] for r in self.query(
            'select b.id from builds b join buildrequests r on b.buildrequestid = r.id '
            'where r.buildsetid = ? order by b.id', (bsid,))]

    def wait_step(self, bsid, step, pattern, timeout=30):
        """Wait until the newest build of buildset bsid has a step `step` whose stdio log
        contains `pattern` (a stdout line); returns the build id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = self.build_ids(bsid)
            if ids:
                rows = self.query('select l.id from logs l join steps s on l.stepid = s.id '
                                  'where s.buildid = ? and s.name = ? and l.name = ?',
                                  (ids[-1], step, 'stdio'))
                if rows:
                    text, _ = chunks_text(self.query(
                        'select first_line, last_line, content, compressed from logchunks '
                        'where logid = ? order by first_line', (rows[0][0],)))
                    if ('\no' + pattern + '\n') in '\n' + text.decode('utf-8', 'replace'):
                        return ids[-1]
            self.check_alive()
            rm.sleep(0.1)
        raise TestFailure(f'step {step!r} of buildset {bsid} did not print {pattern!r} within '
                          f'{timeout}s')

    def read_build(self, buildid, with_text=True):
        (row, ) = self.query(
            'select b.id, bu.name, b.number, b.buildrequestid, b.results, b.state_string, '
            'b.started_at, b.complete_at from builds b join builders bu on b.builderid = bu.id '
            'where b.id = ?', (buildid,))
        worker = self.query('select w.name from builds b left join workers w on '
                            'b.workerid = w.id where b.id = ?', (buildid,))[0][0]
        props = {n: (v, s) for n, v, s in self.query(
            'select name, value, source from build_properties where buildid = ?', (buildid,))}
        steps = []
        for sid, num, name, res, state, hidden in self.query(
                'select id, number, name, results, state_string, hidden from steps '
                'where buildid = ? order by number', (buildid,)):
            logs = []
            for lid, lname, ltype, nlines, complete in self.query(
                    'select id, name, type, num_lines, complete from logs where stepid = ? '
                    'order by id', (sid,)):
                text = None
                if with_text:
                    raw, stored = chunks_text(self.query(
                        'select first_line, last_line, content, compressed from logchunks '
                        'where logid = ? order by first_line', (lid,)))
                    if stored != nlines:
                        raise TestFailure(f'log {lname!r} of {name!r}: num_lines {nlines}, '
                                          f'chunks hold {stored} lines')
                    text = raw.decode('utf-8', 'replace')
                logs.append(Log(lname, ltype, nlines, complete, text))
            steps.append(Step(num, name, res, state, hidden, logs))
        return Build(row, steps, worker, props)

    def read_log_bytes(self, buildid, step, log_name='stdio'):
        (lid, nlines), = self.query(
            'select l.id, l.num_lines from logs l join steps s on l.stepid = s.id '
            'where s.buildid = ? and s.name = ? and l.name = ?', (buildid, step, log_name))
        raw, stored = chunks_text(self.query(
            'select first_line, last_line, content, compressed from logchunks where logid = ? '
            'order by first_line', (lid,)))
        return raw, nlines, stored


# ---------------------------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------------------------
class Worker:
    def __init__(self, kind, name, basedir, kiln_worker):
        self.kind, self.name, self.basedir = kind, name, basedir
        self.kiln_worker = kiln_worker
        self.proc = None
        self.starts = 0

    def create(self, port):
        if self.kind == 'kiln':
            argv = [self.kiln_worker, 'create', self.basedir, '--master', f'{HOST}:{port}',
                    '--name', self.name, '--password', PASSWORD, '--max-retry-delay', '2']
        else:
            argv = [rm.BUILDBOT_WORKER, 'create-worker', '-q', '--maxdelay', '2',
                    '--protocol=msgpack_experimental_v7', self.basedir, f'{HOST}:{port}',
                    self.name, PASSWORD]
        rc, out = rm.run_tool(argv, timeout=120)
        if rc != 0:
            raise TestFailure(f'creating worker {self.name} failed (rc {rc}):\n{out}')

    def start(self):
        self.starts += 1
        if self.kind == 'kiln':
            argv = [self.kiln_worker, 'run', self.basedir]
        else:
            argv = [rm.PYTHON, rm.BUILDBOT_WORKER, 'start', '--nodaemon', '.']
        self.proc = rm.Proc(argv, f'{self.basedir}.console-{self.starts}.log', cwd=self.basedir,
                            env=rm.worker_env(), label=f'{self.name}')

    def check_alive(self):
        if self.proc is None or not self.proc.alive():
            rc = self.proc.popen.returncode if self.proc else None
            raise TestFailure(f'worker {self.name} exited ({rm.describe_rc(rc)}):\n'
                              f'{self.proc.output()[-2000:] if self.proc else ""}')

    def kill(self):
        """SIGKILL the worker process and everything it started (by PID)."""
        rm.kill_tree(self.proc.pid, signal.SIGKILL)
        self.proc.popen.wait(10)
        self.proc.stop()

    def stop(self):
        if self.proc is not None:
            self.proc.stop(term_timeout=10)


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------
class Section:
    def __init__(self, name):
        self.name = name
        self.errors = []
        self.notes = []

    def check(self, cond, message):
        if not cond:
            self.errors.append(message)
        return bool(cond)

    def equal(self, got, want, what):
        return self.check(got == want, f'{what}: got {got!r}, want {want!r}')

    def note(self, text):
        self.notes.append(text)


def normalize_header(line, paths):
    for p, ph in paths:
        line = line.replace(p, ph)
    return line


def compare_builds(sec, a, b, paths_a, paths_b, la='kiln', lb='stock'):
    where = a.builder.rsplit('-', 1)[0]
    if (a.results, a.state_string) != (b.results, b.state_string):
        sec.errors.append(f'{where}: build {a.result_name} ({a.state_string}) with {la} vs '
                          f'{b.result_name} ({b.state_string}) with {lb}')
    sa = [(s.name, s.results, s.state_string, s.hidden, [lg.name for lg in s.logs])
          for s in a.steps if s.name != 'worker_preparation']
    sb = [(s.name, s.results, s.state_string, s.hidden, [lg.name for lg in s.logs])
          for s in b.steps if s.name != 'worker_preparation']
    if sa != sb:
        sec.errors.append(f'{where}: steps differ:\n    {la}: {sa}\n    {lb}: {sb}')
        return
    for s1 in a.steps:
        if s1.name == 'worker_preparation':
            continue
        s2 = b.step(s1.name)
        for l1 in s1.logs:
            l2 = s2.log(l1.name)
            for ch in 'oe':
                if l1.stream(ch) != l2.stream(ch):
                    sec.errors.append(f'{where}/{s1.name}/{l1.name}: {ch} lines differ:\n'
                                      f'    {la}: {l1.stream(ch)[:10]}\n'
                                      f'    {lb}: {l2.stream(ch)[:10]}')
            # paths differ by the worker base dir and the builder name (pass-kiln/pass-stock)
            h1 = [normalize_header(h, paths_a + [(a.builder, '<BUILDER>')])
                  for h in l1.stream('h') if not h.startswith('elapsedTime=')]
            h2 = [normalize_header(h, paths_b + [(b.builder, '<BUILDER>')])
                  for h in l2.stream('h') if not h.startswith('elapsedTime=')]
            if h1 != h2:
                sec.errors.append(f'{where}/{s1.name}/{l1.name}: header lines differ:\n'
                                  f'    {la}: {h1}\n    {lb}: {h2}')


def expect_common(sec, kind, builds, blob, master_dir):
    """The expected results of the comparison builders with one worker kind."""
    b = builds[f'pass-{kind}']
    sec.equal(b.results, SUCCESS, f'pass-{kind} result')
    echo = b.step('echo').log()
    sec.equal(echo.stream('o'), ['hello', 'no newline'], f'pass-{kind}/echo stdout')
    sec.equal(echo.stream('e'), ['to-stderr'], f'pass-{kind}/echo stderr')
    sec.check('program finished with exit code 0' in echo.stream('h'),
              f'pass-{kind}/echo: no "program finished with exit code 0" header line: '
              f'{echo.stream("h")}')
    sec.equal(b.step('argv').log().stream('o'), ['a b|c|'], f'pass-{kind}/argv stdout')

    b = builds[f'fail-{kind}']
    sec.equal(b.results, FAILURE, f'fail-{kind} result')
    sec.equal([s.name for s in b.steps], ['worker_preparation', 'ok-first', 'fails'],
              f'fail-{kind} steps (halt_on_failure stops the build)')
    sec.equal([s.results for s in b.steps], [SUCCESS, SUCCESS, FAILURE], f'fail-{kind} step results')
    sec.check('program finished with exit code 1' in b.step('fails').log().stream('h'),
              f'fail-{kind}/fails: no "program finished with exit code 1" header line')

    b = builds[f'warn-{kind}']
    sec.equal(b.results, WARNINGS, f'warn-{kind} result')
    sec.equal([s.results for s in b.steps], [SUCCESS, WARNINGS, FAILURE, SUCCESS],
              f'warn-{kind} step results (decode_rc, warn_on_failure)')
    # Buildbot's updateBuildSummaryPolicy: warn_on_warnings and warn_on_failure steps count
    sec.equal(b.state_string, "warnings 'echo three; ...' (warnings) 'echo soft ...' (failure)",
              f'warn-{kind} state string')

    b = builds[f'timeout-{kind}']
    sec.equal(b.results, FAILURE, f'timeout-{kind} result')
    lg = b.step('sleepy').log()
    sec.equal(lg.stream('o'), ['start'], f'timeout-{kind} stdout')
    sec.check(any('command timed out: 2 seconds without output' in h for h in lg.stream('h')),
              f'timeout-{kind}: no "command timed out: 2 seconds without output" header: '
              f'{lg.stream("h")}')
    if b.complete_at is not None and b.started_at is not None:
        sec.check(b.complete_at - b.started_at < 20,
                  f'timeout-{kind} took {b.complete_at - b.started_at}s (timeout=2)')

    b = builds[f'transfer-{kind}']
    sec.equal(b.results, SUCCESS, f'transfer-{kind} result')
    digest = hashlib.sha256(blob).hexdigest()
    sec.equal(b.step('checksum').log().stream('o'), [f'{digest}  blob.bin', '600'],
              f'transfer-{kind}: sha256 and mode of the downloaded file on the worker')
    up = os.path.join(master_dir, 'uploads', kind, 'blob.bin')
    try:
        with open(up, 'rb') as f:
            data = f.read()
        sec.check(data == blob, f'transfer-{kind}: uploaded file differs ({len(data)} bytes, '
                                f'sent {len(blob)})')
    except OSError as e:
        sec.errors.append(f'transfer-{kind}: uploaded file missing: {e}')

    b = builds[f'props-{kind}']
    sec.equal(b.results, SUCCESS, f'props-{kind} result')
    sec.equal(b.properties.get('answer'), ('"42"', 'SetPropertyFromCommand Step'),
              f'props-{kind}: build_properties answer')
    sec.equal(b.step('use-answer').log().stream('o'), ['answer=42'], f'props-{kind}/use-answer')
    step = b.step('get-answer')
    sec.equal(step.state_string, "property 'answer' set", f'props-{kind}/get-answer state')
    sec.equal(step.log('property changes').text, "answer: '42'\n",
              f'props-{kind}/get-answer "property changes" log')
    sec.equal((b.step('skipped').results, b.step('skipped').state_string),
              (SKIPPED, "'echo never' (skipped)"), f'props-{kind}/skipped (do_step_if false)')
    sec.equal(b.step('if-answer').results, SUCCESS, f'props-{kind}/if-answer result')


COMPARED = ['pass', 'fail', 'warn', 'timeout', 'transfer', 'props']


# ---------------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------------
CHECKCONFIG_CASES = {
    'syntax error': ('''local k = require "kiln"
local x = = 1
return { workers = {}, builders = {} }
''', [r'master\.lua:2:']),
    'unknown key': ('''local k = require "kiln"
return {
  workers = { k.worker{ name = "w", password = "p" } },
  builders = {
    k.builder{ name = "b", workers = { "w" }, steps = {
      k.shell{ command = "echo", bogus_key = 1 },
    } },
  },
}
''', [r'master\.lua:6: .*bogus_key']),
    'unknown worker': ('''local k = require "kiln"
return {
  workers = { k.worker{ name = "w", password = "p" } },
  builders = {
    k.builder{ name = "b", workers = { "nobody" }, steps = { k.shell{ command = "echo" } } },
  },
}
''', [r'master\.lua:5: .*nobody']),
    'two errors': ('''local k = require "kiln"
return {
  workers = { k.worker{ name = "w", password = "p" } },
  builders = {
    k.builder{ name = "b", workers = { "nobody" }, steps = { k.shell{ command = "echo" } } },
    k.builder{ name = "c", workers = { "w" }, steps = {
      k.shell{ command = "echo", timeout = "soon" },
    } },
  },
}
''', [r'master\.lua:5: .*nobody', r'master\.lua:7: .*timeout']),
}


def section_checkconfig(ctx, sec):
    for case, (text, patterns) in CHECKCONFIG_CASES.items():
        d = os.path.join(ctx.root, 'checkconfig', case.replace(' ', '-'))
        os.makedirs(d)
        with open(os.path.join(d, 'master.lua'), 'w') as f:
            f.write(text)
        rc, out = rm.run_tool([ctx.args.kiln, 'checkconfig', d], timeout=60)
        sec.check(rc != 0, f'{case}: exit code {rc}, want non-zero')
        for p in patterns:
            sec.check(re.search(p, out), f'{case}: {p!r} not in output:\n    ' +
                      out.strip().replace('\n', '\n    '))
        errors = [ln for ln in out.strip().split('\n') if re.match(r'master\.lua:\d+:', ln)]
        sec.note(f'{case}: rc {rc}: ' + ' | '.join(errors))
    # and the config the rest of the test uses is fine
    rc, out = ctx.master.cli('checkconfig', ctx.master.dir)
    sec.check(rc == 0, f'the test config: rc {rc}: {out}')


def section_same_results(ctx, sec):
    m = ctx.master
    bsids = {}
    for name in COMPARED:
        for kind in KINDS:
            bsids[f'{name}-{kind}'] = m.force(f'{name}-{kind}')
    builds = {}
    for builder, bsid in bsids.items():
        m.wait_buildset(bsid, timeout=90, alive=ctx.workers_alive())
        ids = m.build_ids(bsid)
        sec.equal(len(ids), 1, f'{builder}: number of builds')
        builds[builder] = m.read_build(ids[-1])
    with open(os.path.join(m.dir, 'blob.bin'), 'rb') as f:
        blob = f.read()
    for kind in KINDS:
        expect_common(sec, kind, builds, blob, m.dir)
    pk = [(ctx.workers['kw'].basedir, '<WORKER>')]
    ps = [(ctx.workers['sw'].basedir, '<WORKER>')]
    for name in COMPARED:
        compare_builds(sec, builds[f'{name}-kiln'], builds[f'{name}-stock'], pk, ps)
    for name in COMPARED:
        b = builds[f'{name}-kiln']
        sec.note(f'{name:<9} {b.result_name:<9} {b.state_string}')
    if sec.errors or ctx.args.verbose:
        for b in builds.values():
            log(b.summary())


def section_big_log(ctx, sec):
    m = ctx.master
    m.wait_buildset(m.force('tiny'), timeout=60)
    before = m.vmhwm_kb()
    t0 = time.monotonic()
    bsid = m.force('biglog')
    m.wait_buildset(bsid, timeout=150, alive=ctx.workers_alive())
    seconds = time.monotonic() - t0
    after = m.vmhwm_kb()
    (bid,) = m.build_ids(bsid)
    b = m.read_build(bid, with_text=False)
    sec.equal(b.results, SUCCESS, 'biglog result')
    raw, nlines, stored = m.read_log_bytes(bid, 'big')
    full, rest = divmod(BIG_LOG_BYTES, len(BIG_LINE) + 1)
    want_o = full + (1 if rest else 0)
    lines = raw.split(b'\n')[:-1]
    o_lines = [ln for ln in lines if ln[:1] == b'o']
    sec.equal(nlines, len(lines), 'logs.num_lines vs the lines stored')
    sec.equal(stored, nlines, 'lines in the chunks vs logs.num_lines')
    sec.equal(len(o_lines), want_o, 'stdout lines')
    body = b'\n'.join(ln[1:] for ln in o_lines)
    want = ((BIG_LINE + '\n') * full + BIG_LINE[:rest]).encode()
    sec.check(body == want, f'the stored stdout differs from what was printed '
                            f'({len(body)} bytes, want {len(want)})')
    growth = after - before
    sec.check(growth < HWM_GROWTH_LIMIT_KB,
              f'master VmHWM grew by {growth} kB (limit {HWM_GROWTH_LIMIT_KB} kB)')
    sec.note(f'master VmHWM after a tiny build: {before} kB; after the 100 MB log: {after} kB '
             f'(+{growth} kB); {nlines} log lines, build took {seconds:.1f}s')


def section_worker_lost(ctx, sec):
    m = ctx.master
    bsid = m.force('survive')
    bid = m.wait_step(bsid, 'long', 'waiting', timeout=30)
    first = m.read_build(bid, with_text=False)
    victim = next(w for w in ctx.workers.values() if w.name == first.worker)
    other = next(w for w in ctx.workers.values()
                 if w.name in LOSS_WORKER.values() and w.name != victim.name)
    log(f'worker-lost: killing {victim.name} ({victim.kind}, pid {victim.proc.pid})')
    victim.kill()
    results = m.wait_buildset(bsid, timeout=60)
    ids = m.build_ids(bsid)
    builds = [m.read_build(i) for i in ids]
    sec.equal(results, SUCCESS, 'buildset result')
    sec.equal(len(builds), 2, 'builds for the request')
    if builds:
        sec.equal(builds[0].results, RETRY, f'build on the killed worker {victim.name}')
        sec.check(builds[0].complete_at is not None, 'the lost build is complete')
        sec.equal(builds[0].step('long').log().stream('o')[:6],
                  ['line1', 'line2', 'line3', 'line4', 'line5', 'waiting'],
                  'what the lost build had logged')
    if len(builds) > 1:
        sec.equal(builds[1].results, SUCCESS, 'the rebuild')
        sec.equal(builds[1].worker, other.name, 'the rebuild worker')
        sec.equal(builds[1].brid, builds[0].brid, 'same build request')
        sec.check('rebuilt' in builds[1].step('long').log().stream('o'), 'rebuild output')
    sec.note(f'killed {victim.name} ({victim.kind} worker): build #{first.number} '
             f'{builds[0].result_name if builds else "?"} '
             f'({builds[0].state_string if builds else ""}); rebuilt on {other.name}: '
             f'{builds[1].result_name if len(builds) > 1 else "no rebuild"}')
    # bring it back for the cleanup's sake (not needed by later sections)
    victim.start()


def section_reconfig(ctx, sec):
    m = ctx.master
    bsid = m.force('slow')
    ids = []
    deadline = time.monotonic() + 30
    while not ids and time.monotonic() < deadline:
        ids = m.build_ids(bsid)
        rm.sleep(0.1)
    if not sec.check(ids, 'the slow build did not start'):
        return
    m.write_config(2)
    rc, out = m.cli('reconfig', m.dir)
    sec.check(rc == 0, f'reconfig (add a builder, change a step): rc {rc}: {out}')
    sec.check('builder added: added' in out and 'builder changed: slow' in out,
              f'reconfig output: {out.strip()}')
    running = m.read_build(ids[0], with_text=False)
    sec.check(running.complete_at is None, 'the slow build ended before the reconfig was done: '
                                           'the test proves nothing (make it slower)')
    m.wait_buildset(bsid, timeout=60)
    old = m.read_build(ids[0])
    sec.equal((old.results, [s.name for s in old.steps]),
              (SUCCESS, ['worker_preparation', 'slow-v1']), 'the build running during reconfig')
    sec.equal(old.step('slow-v1').log().stream('o'), ['slow-done'], 'its output')
    bs_added = m.force('added')
    bs_slow = m.force('slow')
    sec.equal(m.wait_buildset(bs_added, timeout=60), SUCCESS, 'the new builder\'s build')
    sec.equal(m.wait_buildset(bs_slow, timeout=60), SUCCESS, 'the changed builder\'s build')
    new = m.read_build(m.build_ids(bs_slow)[-1], with_text=False)
    sec.equal([s.name for s in new.steps], ['worker_preparation', 'slow-v2', 'second-v2'],
              'the changed builder\'s steps')

    # a broken config: reported, nothing changes
    good = open(os.path.join(m.dir, 'master.lua')).read()
    broken = good.replace('k.shell{ name = "new", command = "echo from the new builder" }',
                          'k.shell{ name = "new", command = "echo from the new builder", '
                          'no_such_key = true }')
    assert broken != good
    broken_line = next(i for i, ln in enumerate(broken.split('\n'), 1) if 'no_such_key' in ln)
    broken = broken.replace('local VERSION = 2', 'local VERSION = 2 +')  # and a syntax error
    m.write_config(text=broken)
    rc, out = m.cli('reconfig', m.dir)
    sec.check(rc != 0, f'reconfig of a broken config: rc {rc}, want non-zero')
    sec.check(re.search(r'master\.lua:\d+:', out), f'reconfig error without file:line: {out}')
    note = out.strip().split('\n')
    # with a syntax error Lua stops at the first error; now only the unknown key
    m.write_config(text=good.replace(
        'k.shell{ name = "new", command = "echo from the new builder" }',
        'k.shell{ name = "new", command = "echo from the new builder", no_such_key = true }'))
    rc2, out2 = m.cli('reconfig', m.dir)
    sec.check(rc2 != 0, f'reconfig with an unknown key: rc {rc2}, want non-zero')
    sec.check(f'master.lua:{broken_line}:' in out2 and 'no_such_key' in out2,
              f'reconfig error does not name master.lua:{broken_line} and the key: {out2}')
    bs1, bs2 = m.force('added'), m.force('pass-kiln')
    sec.equal(m.wait_buildset(bs1, timeout=60), SUCCESS, 'the builders still build after a '
                                                         'failed reconfig (added)')
    sec.equal(m.wait_buildset(bs2, timeout=60), SUCCESS, '... (pass-kiln)')
    m.write_config(text=good)
    sec.note(f'broken reconfig said: {note[0] if note else ""!r}; '
             f'{out2.strip().splitlines()[0] if out2.strip() else ""!r}')


def section_stop_interrupt(ctx, sec):
    m = ctx.master
    bsids = {kind: m.force(f'interrupt-{kind}') for kind in KINDS}
    bids = {kind: m.wait_step(bsids[kind], 'wait', 'waiting', timeout=30) for kind in KINDS}
    rc, out = m.cli('stop', m.dir, '--timeout', '1', timeout=60)
    sec.check(rc == 0, f'kiln stop --timeout 1: rc {rc}: {out}')
    code = m.proc.wait(30)
    sec.check(code == 0, f'master exit code after stop: {code}')
    m.stop()
    first = {kind: m.read_build(bids[kind]) for kind in KINDS}
    for kind, b in first.items():
        sec.equal(b.results, RETRY, f'interrupt-{kind}: build stopped by the master\'s stop')
        sec.check(b.complete_at is not None, f'interrupt-{kind}: complete_at set')
        h = b.step('wait').log().stream('h')
        sec.check(any('command interrupted' in x for x in h),
                  f'interrupt-{kind}: no "command interrupted" header: {h}')
    compare_builds(sec, first['kiln'], first['stock'],
                   [(ctx.workers['kw'].basedir, '<WORKER>')],
                   [(ctx.workers['sw'].basedir, '<WORKER>')])
    for kind in KINDS:
        sec.equal(m.buildset(bsids[kind]), (False, -1),
                  f'interrupt-{kind}: buildset while the master is down')
    t0 = time.monotonic()
    m.start()
    m.wait_connected(['kw', 'sw'], timeout=60)
    reconnect = time.monotonic() - t0
    for kind in KINDS:
        sec.equal(m.wait_buildset(bsids[kind], timeout=60), SUCCESS,
                  f'interrupt-{kind}: buildset after the restart')
        ids = m.build_ids(bsids[kind])
        sec.equal(len(ids), 2, f'interrupt-{kind}: builds')
        if len(ids) == 2:
            again = m.read_build(ids[1])
            sec.equal(again.results, SUCCESS, f'interrupt-{kind}: the rebuild')
            sec.check('rebuilt' in again.step('wait').log().stream('o'),
                      f'interrupt-{kind}: rebuild output')
    s = first['kiln'].step('wait')
    sec.note(f'stopped builds: {first["kiln"].result_name} ({first["kiln"].state_string}), '
             f'step {RESULTS.get(s.results)} ({s.state_string}); workers back '
             f'{reconnect:.1f}s after the restart')


def section_master_killed(ctx, sec):
    m = ctx.master
    bsid = m.force('crash')
    bid = m.wait_step(bsid, 'wait', 'waiting', timeout=30)
    stored = m.read_build(bid).step('wait').log().stream('o')
    log(f'master-killed: SIGKILL master pid {m.proc.pid}')
    m.kill()
    b = m.read_build(bid)
    sec.check(b.complete_at is None, 'the build was complete before the kill')
    m.start()
    m.wait_connected(['kw'], timeout=60)
    sec.equal(m.wait_buildset(bsid, timeout=60), SUCCESS, 'buildset after the restart')
    ids = m.build_ids(bsid)
    sec.equal(len(ids), 2, 'builds for the request')
    orphan = m.read_build(bid)
    sec.equal(orphan.results, RETRY, 'the orphaned build')
    sec.check(orphan.complete_at is not None, 'the orphaned build is complete')
    sec.check(all(lg.complete for s in orphan.steps for lg in s.logs),
              'the orphaned build\'s logs are complete')
    kept = orphan.step('wait').log().stream('o')
    sec.check(kept[:len(stored)] == stored and stored[:6] ==
              ['line1', 'line2', 'line3', 'line4', 'line5', 'waiting'],
              f'stdout lines stored before the kill {stored} are not all kept: {kept}')
    if len(ids) == 2:
        again = m.read_build(ids[1])
        sec.equal(again.results, SUCCESS, 'the rebuild')
        sec.equal(again.brid, orphan.brid, 'same build request')
    sec.note(f'orphaned build: {orphan.result_name} ({orphan.state_string}), '
             f'{len(kept)} stdout lines kept; rebuild '
             f'{RESULTS.get(m.read_build(ids[-1], False).results) if ids else "?"}')


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
class Context:
    def __init__(self, args, root):
        self.args, self.root = args, root
        self.master = KilnMaster(args.kiln, root)
        self.workers = {}

    def workers_alive(self):
        return [w for w in self.workers.values() if w.proc is not None and w.proc.alive()]

    def setup(self):
        self.master.create()
        for kind, name in list(COMPARE_WORKER.items()) + list(LOSS_WORKER.items()):
            self.workers[name] = Worker(kind, name, os.path.join(self.root, 'workers', name),
                                        self.args.kiln_worker)
        os.makedirs(os.path.join(self.root, 'workers'))
        for w in self.workers.values():
            w.create(self.master.port)
        self.master.start()
        for w in self.workers.values():
            w.start()
        self.master.wait_connected(self.workers, self.workers.values(), timeout=60)
        log('all workers connected')


RUNNERS = {
    'checkconfig': section_checkconfig,
    'same-results': section_same_results,
    'big-log': section_big_log,
    'worker-lost': section_worker_lost,
    'reconfig': section_reconfig,
    'stop-interrupt': section_stop_interrupt,
    'master-killed': section_master_killed,
}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--kiln', default=os.environ.get('KILN'), help='kiln binary ($KILN)')
    ap.add_argument('--kiln-worker', default=os.environ.get('KILN_WORKER'),
                    help='kiln-worker binary ($KILN_WORKER)')
    ap.add_argument('--only', help='comma-separated sections: ' + ','.join(SECTIONS))
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args(argv)
    for opt in ('kiln', 'kiln_worker'):
        path = getattr(args, opt)
        if not path or not os.access(path, os.X_OK):
            ap.error(f'--{opt.replace("_", "-")}: not an executable: {path}')
        setattr(args, opt, os.path.abspath(path))
    return args


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt('SIGTERM')


def main(argv=None):
    args = parse_args(argv)
    wanted = SECTIONS if not args.only else args.only.split(',')
    for s in wanted:
        if s not in SECTIONS:
            print(f'unknown section {s!r}', file=sys.stderr)
            return 2
    for tool in (ZSTD, rm.BUILDBOT_WORKER, rm.PYTHON):
        if not os.access(tool, os.X_OK):
            print(f'error: {tool} is missing (tools/setup-deps.sh installs it)', file=sys.stderr)
            print(f'0 passed, {len(wanted)} failed')
            return 1
    rm.enable_subreaper()
    signal.signal(signal.SIGTERM, _on_sigterm)
    root = tempfile.mkdtemp(prefix='kiln-master-itest-')
    t0 = time.monotonic()
    ctx = Context(args, root)
    results = []
    interrupted = False
    try:
        setup_error = None
        try:
            ctx.setup()
        except Exception as e:
            setup_error = f'setup failed: {type(e).__name__}: {e}'
            if args.verbose:
                setup_error += '\n' + traceback.format_exc()
        for name in wanted:
            sec = Section(name)
            t1 = time.monotonic()
            if setup_error and name != 'checkconfig':
                sec.errors.append(setup_error)
            else:
                log(f'--- {name}')
                try:
                    if name != 'checkconfig' and not ctx.master.alive():
                        ctx.master.start()   # a previous section left it stopped
                    RUNNERS[name](ctx, sec)
                except (TestFailure, rm.HarnessError, sqlite3.Error, OSError,
                        subprocess.CalledProcessError) as e:
                    sec.errors.append(f'{type(e).__name__}: {e}')
                    if args.verbose:
                        sec.errors.append(traceback.format_exc())
            results.append((sec, time.monotonic() - t1))
            status = 'PASS' if not sec.errors else 'FAIL'
            print(f'{status} {name} [{time.monotonic() - t1:.1f}s]', flush=True)
            for n in sec.notes:
                print(f'    {n}', flush=True)
            for e in sec.errors:
                print('    ERROR ' + e.replace('\n', '\n    '), flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print('interrupted: stopping', file=sys.stderr)
        rm.request_stop()
    finally:
        ctx.master.close_db()
        if ctx.master.alive():
            ctx.master.stop()
        for w in ctx.workers.values():
            w.stop()
        left = rm.final_cleanup()
        if left:
            print(f'note: killed {len(left)} leftover processes at the end: {left}')
    passed = sum(1 for s, _ in results if not s.errors)
    failed = len(results) - passed
    if args.keep or failed:
        print(f'kept temp dir {root}' if args.keep else f'temp dir (kept on failure): {root}',
              file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)
    print(f'total time {time.monotonic() - t0:.0f}s')
    print(f'{passed} passed, {failed} failed')
    if interrupted:
        return 130
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
