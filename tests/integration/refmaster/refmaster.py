"""Reusable harness around the reference Buildbot 3.7 master (msgpack worker protocol).

Stdlib only; must be run by /usr/bin/python3 (the Debian buildbot packages live there).

What it provides:

* ``RefMaster``: a stock Buildbot 3.7 master in a fresh temp dir, configured from
  /work/shared/reference/buildbot-master/master.cfg (or another master.cfg, e.g. the bench one),
  listening on free loopback ports, run in the foreground as our own child process
  (``buildbot start --nodaemon``).  ``trigger(builder)`` sends a change through the PB change
  source (``buildbot sendchange``), ``wait_build()`` polls the master's state.sqlite read-only and
  returns a ``BuildResult`` (build result, steps, step logs as text with Buildbot's per-line
  stream prefix 'o'/'e'/'h' for stdio logs).
* Worker launchers: ``StockWorker`` (buildbot-worker 3.7, msgpack), ``CommandWorker`` (any worker
  given as command templates, e.g. kiln-worker or specworker.py), see ``make_worker()``.
* Process hygiene: every process is started in its own process group and stopped by PID/process
  group.  ``enable_subreaper()`` makes this harness process the subreaper of everything it
  starts, so grandchildren that leave their group (e.g. shell commands a worker runs in their own
  process group, then orphaned) are re-parented to us and ``kill_leftover_descendants()`` can
  still find and kill them by PID.  Nothing outside our own process tree is ever touched.
"""
import argparse
import bz2
import contextlib
import ctypes
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib

PYTHON = '/usr/bin/python3'
BUILDBOT = '/usr/bin/buildbot'
BUILDBOT_WORKER = '/usr/bin/buildbot-worker'
REF_DIR = os.environ.get('KILN_BBREF_DIR') or '/work/shared/reference/buildbot-master'
REF_MASTER_CFG = os.path.join(REF_DIR, 'master.cfg')
SPECWORKER = os.path.join(REF_DIR, 'specworker.py')
HOST = '127.0.0.1'
WORKER_NAME = 'ref-worker'
WORKER_PASS = 'ref-pass'

# The integration tests share modules across their folders (test_master's KilnMaster and
# Worker, test_api's Api and WebSocket): once refmaster is imported, `import test_master` and
# `import test_api` work from any test.
for _folder in ('master', 'www'):
    _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), _folder)
    if _path not in sys.path:
        sys.path.append(_path)

RESULTS = {None: 'running', 0: 'SUCCESS', 1: 'WARNINGS', 2: 'FAILURE', 3: 'SKIPPED',
           4: 'EXCEPTION', 5: 'RETRY', 6: 'CANCELLED'}


class HarnessError(Exception):
    pass


def log(*args):
    print(time.strftime('%H:%M:%S'), *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# checks and sections, shared by the integration tests
# ---------------------------------------------------------------------------------------------
class Failure(Exception):
    """A check that did not hold: reported as its message, without a traceback."""


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(what, predicate, timeout=60, interval=0.1):
    """The first truthy value of predicate(), polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        sleep(interval)
    raise Failure(f'timed out waiting for {what}')


def run_sections(scenario, sections, verbose=False):
    """Starts `scenario`, runs each (name, function(scenario)) of `sections` and prints one
    PASS or FAIL line for each (a failing section does not stop the next ones), stops the
    scenario and every process left, prints `N passed, M failed` and returns the exit code."""
    passed = failed = 0
    try:
        scenario.start()
        for name, section in sections:
            try:
                detail = section(scenario)
                print(f'PASS {name}: {detail}', flush=True)
                passed += 1
            except Exception as e:  # one section's failure is reported, the others still run
                print(f'FAIL {name}: {e}', flush=True)
                if verbose or not isinstance(e, Failure):
                    traceback.print_exc()
                failed += 1
    except Exception as e:  # the set-up itself failed: nothing ran
        print(f'FAIL setup: {e}', flush=True)
        traceback.print_exc()
        failed += 1
    finally:
        scenario.stop()
        final_cleanup()
    print(f'{passed} passed, {failed} failed', flush=True)
    return 1 if failed else 0


def parse_test_args(with_worker=True):
    """The integration tests' common command line (--kiln, --kiln-worker, --keep, -v), binaries
    made absolute; also makes this process the subreaper of what the test starts."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--kiln', required=True)
    if with_worker:
        parser.add_argument('--kiln-worker', required=True)
    parser.add_argument('--keep', action='store_true', help='keep the temp dir')
    parser.add_argument('-v', action='store_true', help='a traceback for every failure')
    args = parser.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    if with_worker:
        args.kiln_worker = os.path.abspath(args.kiln_worker)
    enable_subreaper()
    return args


def main_with_sections(make_scenario, sections, with_worker=True):
    """A test's main(): parse_test_args, then run_sections on make_scenario(args)."""
    args = parse_test_args(with_worker)
    return run_sections(make_scenario(args), sections, args.v)


# ---------------------------------------------------------------------------------------------
# process hygiene
# ---------------------------------------------------------------------------------------------
PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def enable_subreaper():
    """Make this process the subreaper of its descendants (Linux).  Orphaned grandchildren
    (e.g. a shell command a worker started in its own process group) then get re-parented to
    us instead of init, so cleanup can find them.  Harmless if it fails."""
    global _subreaper
    if _subreaper:
        return True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:
        _subreaper = False
    return _subreaper


def _proc_stat(pid):
    """Fields of /proc/<pid>/stat as a list; index 0 = field 1 (pid)."""
    with open(f'/proc/{pid}/stat', 'rb') as f:
        data = f.read().decode('ascii', 'replace')
    lp, rp = data.index('('), data.rindex(')')
    return [data[:lp].strip(), data[lp + 1:rp]] + data[rp + 2:].split()


def descendants(root):
    """PIDs of all live descendants of `root` (by parent links in /proc)."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_proc_stat(entry)[3])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _is_zombie(pid):
    try:
        return _proc_stat(pid)[2] == 'Z'
    except (OSError, IndexError):
        return True


def kill_tree(pid, sig=signal.SIGKILL):
    """Signal `pid` and all its descendants (found via /proc) by PID."""
    for p in [pid] + descendants(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def kill_leftover_descendants(exclude=()):
    """Kill every remaining descendant of this harness process (all were started by us),
    except the PIDs in `exclude`; reap those that are our direct children and not managed by a
    Popen object (Popen-managed ones are reaped by Popen.wait())."""
    me = os.getpid()
    left = [p for p in descendants(me) if p not in exclude and not _is_zombie(p)]
    for p in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)
    return left


def reap_orphans(managed):
    """waitpid() our direct zombie children that no Popen manages (re-parented orphans)."""
    me = str(os.getpid())
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) in managed:
            continue
        try:
            st = _proc_stat(entry)
        except (OSError, IndexError):
            continue
        if st[3] == me and st[2] == 'Z':
            with contextlib.suppress(ChildProcessError):
                os.waitpid(int(entry), os.WNOHANG)


_stopping = threading.Event()


def request_stop():
    """Make every harness wait fail and refuse to start new processes (used on SIGTERM/^C, so
    that worker threads do not start anything while the main thread cleans up)."""
    _stopping.set()


def stopping():
    return _stopping.is_set()


def check_stop():
    if _stopping.is_set():
        raise HarnessError('harness is stopping')


def sleep(seconds):
    """time.sleep that ends early (with HarnessError) when the harness is stopping."""
    if _stopping.wait(seconds):
        raise HarnessError('harness is stopping')


_tools = {}   # pid -> Popen of short-lived tool runs (run_tool)


def run_tool(argv, timeout=120, env=None, cwd=None):
    """Run a short-lived command (create-master, sendchange, ...) in its own process group;
    returns (rc, output).  Killed (by process group) on timeout or when the harness stops."""
    check_stop()
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         start_new_session=True)
    _tools[p.pid] = p
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired:
        raise HarnessError(f'{argv[0]} {argv[1] if len(argv) > 1 else ""}: timed out after '
                           f'{timeout}s')
    finally:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        _tools.pop(p.pid, None)


def _kill_tools():
    for pid in list(_tools):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


class Proc:
    """A child process in its own process group (session), stopped by PID/process group."""

    _all = {}   # pid -> Proc, for emergency cleanup

    def __init__(self, argv, log_path, cwd=None, env=None, label=None):
        check_stop()
        self.argv = [str(a) for a in argv]
        self.label = label or os.path.basename(self.argv[0])
        self.log_path = log_path
        self._logf = open(log_path, 'ab')
        self.popen = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=self._logf, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self.started = time.monotonic()
        Proc._all[self.pid] = self

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, term_timeout=15.0):
        """SIGTERM the process group, then SIGKILL the group and every remaining descendant.
        Returns the exit code."""
        if self.alive():
            # collect the tree first: after the leader dies its children are re-parented
            tree = descendants(self.pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
            if self.wait(term_timeout) is None:
                log(f'{self.label} (pid {self.pid}) ignored SIGTERM; killing')
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                kill_tree(self.pid)
                self.popen.wait(10)
            for p in tree:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(p, signal.SIGKILL)
        # the group may outlive its leader (e.g. a worker's plain child); kill what is left
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._logf.close()
        Proc._all.pop(self.pid, None)
        return self.popen.returncode

    def output(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    @classmethod
    def stop_all(cls):
        for p in list(cls._all.values()):
            with contextlib.suppress(Exception):
                p.stop(term_timeout=5)


def final_cleanup():
    """Stop every Proc still running and kill any other leftover descendant."""
    _kill_tools()
    Proc.stop_all()
    left = kill_leftover_descendants()
    if left:
        log(f'killed {len(left)} leftover descendant process(es): {left}')
        time.sleep(0.2)
    reap_orphans(managed=set())
    return left


def describe_rc(rc):
    """'rc 3' or 'killed by SIGABRT' for a Popen returncode."""
    if rc is not None and rc < 0:
        try:
            return f'killed by {signal.Signals(-rc).name}'
        except ValueError:
            return f'killed by signal {-rc}'
    return f'rc {rc}'


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound simultaneously, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port):
    with contextlib.suppress(OSError):
        with socket.create_connection((HOST, port), timeout=1):
            return True
    return False


def cpu_ticks(pid):
    """(utime, stime, cutime, cstime) of /proc/<pid>/stat (fields 14-17), in clock ticks.
    cutime/cstime count waited-for children."""
    st = _proc_stat(pid)
    return tuple(int(x) for x in st[13:17])


CLK_TCK = os.sysconf('SC_CLK_TCK')


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
def chunk_text(content, compressed):
    data = bytes(content)
    if compressed == 1:
        data = zlib.decompress(data)  # buildbot "gz" = zlib stream
    elif compressed == 2:
        data = bz2.decompress(data)
    elif compressed == 3:
        try:
            import lz4.frame  # not in the stdlib; only if the master was configured for lz4
        except ImportError:
            raise HarnessError('log chunk compressed with lz4; set logCompressionMethod')
        data = lz4.frame.decompress(data)
    elif compressed not in (0, None):
        raise HarnessError(f'log chunk compressed with unknown method id {compressed}')
    return data.decode('utf-8', 'replace')


class LogResult:
    def __init__(self, name, type_, num_lines, text):
        self.name, self.type, self.num_lines, self.text = name, type_, num_lines, text

    def lines(self):
        return self.text.split('\n')[:-1] if self.text else []

    def to_dict(self):
        return {'name': self.name, 'type': self.type, 'num_lines': self.num_lines,
                'text': self.text}


class StepResult:
    def __init__(self, number, name, results, state_string, logs):
        self.number, self.name, self.results = number, name, results
        self.state_string, self.logs = state_string, logs

    @property
    def result_name(self):
        return RESULTS.get(self.results, str(self.results))

    def log(self, name):
        for lg in self.logs:
            if lg.name == name:
                return lg
        return None

    def to_dict(self):
        return {'number': self.number, 'name': self.name, 'results': self.result_name,
                'state_string': self.state_string, 'logs': [lg.to_dict() for lg in self.logs]}


class BuildResult:
    def __init__(self, buildid, builder, number, results, state_string, steps,
                 started_at, complete_at):
        self.buildid, self.builder, self.number = buildid, builder, number
        self.results, self.state_string, self.steps = results, state_string, steps
        self.started_at, self.complete_at = started_at, complete_at

    @property
    def result_name(self):
        return RESULTS.get(self.results, str(self.results))

    def step(self, name):
        for s in self.steps:
            if s.name == name:
                return s
        return None

    def to_dict(self):
        return {'builder': self.builder, 'number': self.number, 'results': self.result_name,
                'state_string': self.state_string, 'started_at': self.started_at,
                'complete_at': self.complete_at, 'steps': [s.to_dict() for s in self.steps]}

    def summary(self):
        out = [f'{self.builder} #{self.number}: {self.result_name} ({self.state_string})']
        for s in self.steps:
            out.append(f'    {s.name:<24} {s.result_name:<10} {s.state_string}')
        return '\n'.join(out)


# ---------------------------------------------------------------------------------------------
# the master
# ---------------------------------------------------------------------------------------------
class RefMaster:
    """A reference Buildbot 3.7 master in a fresh temp dir.  Use as a context manager, or call
    start()/stop() (stop() in a finally)."""

    def __init__(self, master_cfg=REF_MASTER_CFG, tmp_root=None, label='master',
                 extra_env=None, keep=False):
        self.master_cfg = master_cfg
        self.label = label
        self.extra_env = dict(extra_env or {})
        self.keep = keep
        self.own_tmp = tmp_root is None
        self.tmp = tmp_root or tempfile.mkdtemp(prefix='kiln-refmaster-')
        self.basedir = os.path.join(self.tmp, label)
        self.proc = None
        self.msgpack_port = self.pb_port = None
        self._db = None

    # -- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def env(self):
        env = dict(os.environ)
        env.update({'BBREF_MSGPACK_PORT': str(self.msgpack_port),
                    'BBREF_PB_PORT': str(self.pb_port),
                    'BBREF_BIND': HOST,
                    'BBREF_WORKER_NAME': WORKER_NAME,
                    'BBREF_WORKER_PASS': WORKER_PASS})
        env.update(self.extra_env)
        return env

    def start(self, timeout=90):
        t0 = time.monotonic()
        os.makedirs(self.basedir)
        rc, out = run_tool([BUILDBOT, 'create-master', '-q', self.basedir], timeout=120)
        if rc != 0:
            raise HarnessError(f'buildbot create-master failed:\n{out}')
        shutil.copyfile(self.master_cfg, os.path.join(self.basedir, 'master.cfg'))
        for attempt in range(3):
            self.msgpack_port, self.pb_port = free_ports(2)
            self.proc = Proc([BUILDBOT, 'start', '--nodaemon', self.basedir],
                             os.path.join(self.tmp, f'{self.label}-console.log'),
                             cwd=self.basedir, env=self.env(), label=f'{self.label}')
            if self._wait_running(timeout):
                log(f'{self.label}: running (pid {self.proc.pid}, msgpack {self.msgpack_port},'
                    f' pb {self.pb_port}) after {time.monotonic() - t0:.1f}s')
                return self
            out = self.proc.output() + self.twistd_log()[-3000:]
            self.proc.stop()
            if 'Address already in use' not in out:
                raise HarnessError(f'{self.label} did not start:\n{out[-4000:]}')
            log(f'{self.label}: port taken, retrying with other ports')
        raise HarnessError(f'{self.label}: could not get free ports')

    def _wait_running(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                return False
            if 'BuildMaster is running' in self.twistd_log() and port_open(self.pb_port):
                return True
            if 'Address already in use' in self.twistd_log():
                return False
            sleep(0.2)
        raise HarnessError(f'{self.label} not running after {timeout}s:\n'
                           f'{self.twistd_log()[-4000:]}')

    def stop(self):
        if self._db is not None:
            self._db.close()
            self._db = None
        if self.proc is not None:
            self.proc.stop(term_timeout=20)
            self.proc = None
        if self.own_tmp and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def twistd_log(self):
        try:
            with open(os.path.join(self.basedir, 'twistd.log'), 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    # -- database (read-only)
    def db(self):
        if self._db is None:
            path = os.path.join(self.basedir, 'state.sqlite')
            self._db = sqlite3.connect(f'file:{path}?mode=ro', uri=True, timeout=10,
                                       isolation_level=None, check_same_thread=False)
        return self._db

    def query(self, sql, args=()):
        for attempt in range(50):
            try:
                return self.db().execute(sql, args).fetchall()
            except sqlite3.OperationalError as e:
                if 'locked' not in str(e) and 'busy' not in str(e):
                    raise
                time.sleep(0.1)
        raise HarnessError(f'database stayed locked: {sql}')

    def connected_workers(self):
        return self.query('select w.name from connected_workers c join workers w '
                          'on c.workerid = w.id')

    def wait_worker(self, connected=True, timeout=60, proc=None):
        """Wait until the worker is (dis)connected according to the master's DB."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if bool(self.connected_workers()) == connected:
                return True
            if connected and proc is not None and not proc.alive():
                raise HarnessError(f'worker exited ({describe_rc(proc.popen.returncode)}) '
                                   f'before it was attached:\n{proc.output()[-3000:]}')
            sleep(0.1)
        raise HarnessError(f'worker not {"connected" if connected else "disconnected"} '
                           f'after {timeout}s')

    def last_build_id(self, builder=None):
        if builder is None:
            row = self.query('select max(id) from builds')
        else:
            row = self.query('select max(b.id) from builds b join builders bu on '
                             'b.builderid = bu.id where bu.name = ?', (builder,))
        return row[0][0] or 0

    # -- builds
    def trigger(self, builder, revision='1', properties=None):
        """Trigger `builder` (the scheduler filters on branch = builder name); `properties`:
        optional dict of change properties (they become build properties).  Returns the
        highest build id before the trigger (pass to wait_build)."""
        before = self.last_build_id()
        props = []
        for k, v in (properties or {}).items():
            props += ['--property', f'{k}:{v}']
        rc, out = run_tool([BUILDBOT, 'sendchange', '--master', f'{HOST}:{self.pb_port}',
                            '--auth', 'change:changepw', '--who', 'dev', '--branch', builder,
                            '--vc', 'git', '-r', str(revision)] + props + ['dummy-file'],
                           timeout=60, env=self.env())
        if rc != 0:
            raise HarnessError(f'sendchange failed (rc {rc}):\n{out}')
        return before

    def wait_build(self, builder, after_id, timeout=240, poll=0.25, alive=None):
        """Wait for the first build of `builder` with id > after_id to complete; return its
        BuildResult.  `alive`: optional callable raising if a process we depend on died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.build_state(builder, after_id)
            if st is not None and st[1]:
                return self.read_build(st[0])
            if self.proc is None or not self.proc.alive():
                raise HarnessError(f'{self.label} died:\n{self.twistd_log()[-3000:]}')
            if alive is not None:
                alive()
            sleep(poll)
        raise HarnessError(f'build of {builder} did not finish within {timeout}s')

    def run_build(self, builder, timeout=240, alive=None):
        return self.wait_build(builder, self.trigger(builder), timeout=timeout, alive=alive)

    def build_state(self, builder, after_id):
        """(build id, complete) of the first build of `builder` with id > after_id, or None."""
        rows = self.query('select b.id, b.complete_at from builds b join builders bu on '
                          'b.builderid = bu.id where bu.name = ? and b.id > ? '
                          'order by b.id limit 1', (builder, after_id))
        return (rows[0][0], rows[0][1] is not None) if rows else None

    def build_outline(self, buildid):
        """Like read_build() but without log texts (cheap for huge logs): LogResult.text is
        None, num_lines is set."""
        (bid, builder, number, results, state, started, completed), = self.query(
            'select b.id, bu.name, b.number, b.results, b.state_string, b.started_at, '
            'b.complete_at from builds b join builders bu on b.builderid = bu.id '
            'where b.id = ?', (buildid,))
        steps = []
        for sid, snum, sname, sres, sstate in self.query(
                'select id, number, name, results, state_string from steps '
                'where buildid = ? order by number', (bid,)):
            logs = [LogResult(lname, ltype, nlines, None) for lname, ltype, nlines in self.query(
                'select name, type, num_lines from logs where stepid = ? order by id', (sid,))]
            steps.append(StepResult(snum, sname, sres, sstate, logs))
        return BuildResult(bid, builder, number, results, state, steps, started, completed)

    def read_build(self, buildid, settle=10.0):
        """Read one build with all steps and logs.  Log compression runs asynchronously after
        a log finishes; re-read until every log is complete and its text is consistent with
        num_lines."""
        deadline = time.monotonic() + settle
        while True:
            try:
                return self._read_build(buildid)
            except _Inconsistent as e:
                if time.monotonic() > deadline:
                    raise HarnessError(f'inconsistent logs for build {buildid}: {e}')
                time.sleep(0.2)

    def _read_build(self, buildid):
        db = self.db()
        db.execute('begin')  # one read snapshot
        try:
            (bid, builder, number, results, state, started, completed), = db.execute(
                'select b.id, bu.name, b.number, b.results, b.state_string, b.started_at, '
                'b.complete_at from builds b join builders bu on b.builderid = bu.id '
                'where b.id = ?', (buildid,)).fetchall()
            steps = []
            for sid, snum, sname, sres, sstate in db.execute(
                    'select id, number, name, results, state_string from steps '
                    'where buildid = ? order by number', (bid,)).fetchall():
                logs = []
                for lid, lname, ltype, nlines, complete in db.execute(
                        'select id, name, type, num_lines, complete from logs '
                        'where stepid = ? order by id', (sid,)).fetchall():
                    if not complete:
                        raise _Inconsistent(f'log {lname!r} of step {sname!r} not complete')
                    parts, expect = [], 0
                    for first, last, content, comp in db.execute(
                            'select first_line, last_line, content, compressed from logchunks '
                            'where logid = ? order by first_line', (lid,)).fetchall():
                        if first != expect:
                            raise _Inconsistent(f'log {lname!r}: gap at line {expect}')
                        expect = last + 1
                        parts.append(chunk_text(content, comp) + '\n')
                    if expect != nlines:
                        raise _Inconsistent(f'log {lname!r}: {expect} of {nlines} lines')
                    logs.append(LogResult(lname, ltype, nlines, ''.join(parts)))
                steps.append(StepResult(snum, sname, sres, sstate, logs))
            return BuildResult(bid, builder, number, results, state, steps, started, completed)
        finally:
            db.execute('rollback')

    def uploads_dir(self):
        return os.path.join(self.basedir, 'uploads')

    def take_uploads(self, dest):
        """Move the master's uploads/ dir to `dest` (so the next build starts without it)."""
        src = self.uploads_dir()
        if os.path.exists(src):
            shutil.move(src, dest)
        else:
            os.makedirs(dest)
        return dest


class _Inconsistent(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------------------------
class WorkerLauncher:
    """Creates a worker base dir and starts the worker process against a master."""
    kind = 'worker'

    def create(self, basedir, port):
        raise NotImplementedError

    def start(self, basedir, port, console_log, env=None):
        raise NotImplementedError


class StockWorker(WorkerLauncher):
    kind = 'stock'

    def create(self, basedir, port):
        rc, out = run_tool([BUILDBOT_WORKER, 'create-worker', '-q',
                            '--protocol=msgpack_experimental_v7', basedir, f'{HOST}:{port}',
                            WORKER_NAME, WORKER_PASS], timeout=120)
        if rc != 0:
            raise HarnessError(f'buildbot-worker create-worker failed:\n{out}')

    def start(self, basedir, port, console_log, env=None):
        return Proc([BUILDBOT_WORKER, 'start', '--nodaemon', basedir], console_log,
                     cwd=basedir, env=env, label='stock-worker')


class CommandWorker(WorkerLauncher):
    """A worker given as command templates (argv lists); placeholders {host} {port} {name}
    {password} {basedir} are substituted.  `create` may be None (no creation step)."""

    def __init__(self, kind, run, create=None):
        self.kind = kind
        self.run_t = run
        self.create_t = create

    @staticmethod
    def _fill(template, basedir, port):
        if isinstance(template, str):
            template = shlex.split(template)
        return [a.format(host=HOST, port=port, name=WORKER_NAME, password=WORKER_PASS,
                         basedir=basedir) for a in template]

    def create(self, basedir, port):
        os.makedirs(basedir, exist_ok=True)
        if not self.create_t:
            return
        rc, out = run_tool(self._fill(self.create_t, basedir, port), timeout=120)
        if rc != 0:
            raise HarnessError(f'{self.kind} create failed (rc {rc}):\n{out}')

    def start(self, basedir, port, console_log, env=None):
        return Proc(self._fill(self.run_t, basedir, port), console_log, cwd=basedir, env=env,
                    label=f'{self.kind}-worker')


def kiln_worker(binary):
    binary = os.path.abspath(binary)
    return CommandWorker('kiln', run=[binary, 'run', '{basedir}'],
                         create=[binary, 'create', '{basedir}', '--master', '{host}:{port}',
                                 '--name', '{name}', '--password', '{password}'])


def spec_worker():
    return CommandWorker('specworker', run=[PYTHON, SPECWORKER, '{host}', '{port}', '{name}',
                                            '{password}', '{basedir}'])


def make_worker(kind, kiln_binary=None, run_cmd=None, create_cmd=None):
    """kind: 'stock', 'specworker', 'kiln' (needs kiln_binary or $KILN_WORKER) or 'command'
    (needs run_cmd, optional create_cmd; shell-like template strings)."""
    if kind == 'stock':
        return StockWorker()
    if kind == 'specworker':
        return spec_worker()
    if kind == 'kiln':
        binary = kiln_binary or os.environ.get('KILN_WORKER')
        if not binary:
            raise HarnessError('kiln worker: pass --kiln-worker PATH or set KILN_WORKER')
        if not os.access(binary, os.X_OK):
            raise HarnessError(f'kiln worker binary not executable: {binary}')
        return kiln_worker(binary)
    if kind == 'command':
        if not run_cmd:
            raise HarnessError('command worker: a run command template is required')
        return CommandWorker('command', run=run_cmd, create=create_cmd)
    raise HarnessError(f'unknown worker kind {kind!r}')


def worker_env():
    """The environment every worker is started with (identical for all workers, so that
    commands that print environment variables give the same output)."""
    env = dict(os.environ)
    # the worker under test must not depend on a Python environment; the stock worker is
    # started through /usr/bin/buildbot-worker (#!/usr/bin/python3) either way
    for k in ('PYTHONHOME', 'VIRTUAL_ENV'):
        env.pop(k, None)
    return env


class WorkerRun:
    """One worker process with a fresh base dir, attached to `master`.  Context manager:
    stops the worker on exit."""

    def __init__(self, master, launcher, basedir, env=None, connect_timeout=60):
        self.master, self.launcher, self.basedir = master, launcher, basedir
        self.env = env if env is not None else worker_env()
        self.connect_timeout = connect_timeout
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        # the master accepts one connection per worker name: make sure the previous is gone
        self.master.wait_worker(connected=False, timeout=30)
        os.makedirs(os.path.dirname(self.basedir), exist_ok=True)
        self.launcher.create(self.basedir, self.master.msgpack_port)
        self.proc = self.launcher.start(self.basedir, self.master.msgpack_port,
                                        self.basedir + '.console.log', env=self.env)
        self.master.wait_worker(connected=True, timeout=self.connect_timeout, proc=self.proc)
        return self

    def check_alive(self):
        if self.proc is not None and not self.proc.alive():
            raise HarnessError(f'{self.launcher.kind} worker exited unexpectedly '
                               f'({describe_rc(self.proc.popen.returncode)}):\n'
                               f'{self.proc.output()[-3000:]}')

    def stop(self):
        rc = None
        if self.proc is not None:
            rc = self.proc.stop(term_timeout=10)
            self.proc = None
            with contextlib.suppress(HarnessError):
                self.master.wait_worker(connected=False, timeout=30)
        return rc
