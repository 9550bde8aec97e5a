"""What the benchmark scripts share (stdlib only; run by /usr/bin/python3): loopback ports,
/proc readings, the processes a benchmark starts (only these are ever signalled), the temp
root of a run, the common command-line options, min / median / max and the comparison rows,
and the JSON results file.
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDBOT = '/usr/bin/buildbot'
BUILDBOT_WORKER = '/usr/bin/buildbot-worker'
HOST = '127.0.0.1'
WORKER_PASS = 'bench-pass'
CLK_TCK = os.sysconf('SC_CLK_TCK')

STARTED = []   # every process a benchmark started (only these are ever signalled)


class BenchError(Exception):
    pass


def log(*args):
    print(time.strftime('%H:%M:%S'), *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------------------------
def proc_cpu_s(pid, children=False):
    """utime+stime (+cutime+cstime) of pid in seconds, all threads."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = [int(x) for x in fields[11:15]]   # fields 14-17 of stat(5)
    return sum(ticks if children else ticks[:2]) / CLK_TCK


def proc_mem_kb(pid):
    """{'VmRSS': kB, 'VmHWM': kB} of pid."""
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            key = line.split(':', 1)[0]
            if key in ('VmRSS', 'VmHWM'):
                out[key] = int(line.split()[1])
    return out


def host_busy_s():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


# ---------------------------------------------------------------------------------------------
# loopback ports
# ---------------------------------------------------------------------------------------------
def free_ports(n):
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


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------
class Proc:
    def __init__(self, argv, log_path, cwd=None, env=None):
        self.log_path = log_path
        self.log_file = open(log_path, 'wb')
        self.popen = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, cwd=cwd, env=env,
                                      start_new_session=True)
        self.pid = self.popen.pid
        STARTED.append(self)

    def alive(self):
        return self.popen.poll() is None

    def output(self):
        with contextlib.suppress(OSError):
            with open(self.log_path, 'rb') as f:
                return f.read().decode(errors='replace')
        return ''

    def stop(self, timeout=30):
        """SIGTERM our process (and its own session: nothing else is in it), then SIGKILL."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(10)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)   # leftovers of its session, if any
        self.log_file.close()


def start_buildbot_master(basedir, console_log, extra_env, prefix=(), timeout=120,
                          need_worker_port=True):
    """`buildbot start --nodaemon basedir` with BBREF_MSGPACK_PORT / BENCH_WWW_PORT set to two
    free ports plus extra_env (a dict); waits for 'BuildMaster is running' and the ports to
    answer. A port taken meanwhile ('in use') is retried with new ports (3 tries). Returns
    (proc, worker_port, www_port)."""
    twistd_log = os.path.join(basedir, 'twistd.log')
    for _ in range(3):
        worker_port, www_port = free_ports(2)
        env = dict(os.environ, BBREF_MSGPACK_PORT=str(worker_port),
                   BENCH_WWW_PORT=str(www_port), **extra_env)
        proc = Proc(list(prefix) + [BUILDBOT, 'start', '--nodaemon', basedir], console_log,
                    cwd=basedir, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.alive():
            with contextlib.suppress(OSError):
                with open(twistd_log) as f:
                    if 'BuildMaster is running' in f.read():
                        break
            time.sleep(0.2)
        if (proc.alive() and port_open(www_port)
                and (not need_worker_port or port_open(worker_port))):
            return proc, worker_port, www_port
        out = proc.output()
        with contextlib.suppress(OSError):
            out += open(twistd_log).read()[-3000:]
        proc.stop()
        if 'in use' not in out:
            raise BenchError(f'buildbot master did not start:\n{out[-4000:]}')
        with contextlib.suppress(OSError):
            os.rename(twistd_log, twistd_log + '.failed')
    raise BenchError('buildbot master: no free port')


def run_tool(argv, cwd=None, env=None, timeout=120):
    r = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if r.returncode != 0:
        raise BenchError(f'{argv[0]} {argv[1]} failed (rc {r.returncode}):\n'
                         f'{r.stdout.decode(errors="replace")[-3000:]}')
    return r.stdout.decode(errors='replace')


def on_sigterm(signum, frame):
    raise KeyboardInterrupt('SIGTERM')


@contextlib.contextmanager
def bench_root(prefix, keep):
    """A fresh temp dir under /tmp for one benchmark run; SIGTERM interrupts the run. At the
    end every process in STARTED still running is stopped and the dir removed (or kept)."""
    signal.signal(signal.SIGTERM, on_sigterm)
    root = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
    try:
        yield root
    finally:
        for p in STARTED:
            with contextlib.suppress(Exception):
                if p.alive():
                    p.stop(timeout=10)
        if keep:
            print(f'kept {root}', file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------
def argument_parser(doc):
    return argparse.ArgumentParser(description=doc.split('\n\n')[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_binary_args(ap, worker=True):
    ap.add_argument('--kiln', default=os.environ.get('KILN'), help='kiln binary ($KILN)')
    if worker:
        ap.add_argument('--kiln-worker', default=os.environ.get('KILN_WORKER'),
                        help='kiln-worker binary ($KILN_WORKER)')


def add_only_arg(ap):
    ap.add_argument('--only', choices=['kiln', 'buildbot'], help='run one master only')


def add_nice_arg(ap, help):
    ap.add_argument('--nice', type=int, help=help)


def add_output_args(ap, name):
    ap.add_argument('--out', help=f'JSON results (default bench/results/{name}-<time>.json)')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')


def executables_missing(named_paths):
    """Prints an error for the first (option, path) that is not an executable; True then."""
    for name, path in named_paths:
        if not path or not os.access(path, os.X_OK):
            print(f'error: {name}: not an executable: {path}', file=sys.stderr)
            return True
    return False


def buildbot_missing():
    if not os.access(BUILDBOT, os.X_OK):
        print(f'error: {BUILDBOT} missing (apt-get install buildbot)', file=sys.stderr)
        return True
    return False


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------
def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return {'min': None, 'median': None, 'max': None}
    return {'min': min(values), 'median': statistics.median(values), 'max': max(values)}


def fmt(v, nd=2):
    if v is None:
        return '-'
    if abs(v) >= 100:
        return f'{v:.0f}'
    if 0 < abs(v) < 0.1:
        return f'{v:.3g}'
    return f'{v:.{nd}f}'


def compare_row(label, st, kinds, higher_is_better):
    """(Kiln advantage, markdown row `| label | min / median / max per kind | advantage |`).
    The advantage compares the medians: Kiln/Buildbot for throughputs, Buildbot/Kiln for
    costs; None unless both masters ran."""
    ratio = None
    if len(kinds) == 2 and st['kiln']['median'] and st['buildbot']['median']:
        kb, bb = st['kiln']['median'], st['buildbot']['median']
        ratio = kb / bb if higher_is_better else bb / kb
    cells = ' | '.join(f'{fmt(st[k]["min"])} / {fmt(st[k]["median"])} / '
                       f'{fmt(st[k]["max"])}' for k in kinds)
    return ratio, f'| {label} | {cells} | {fmt(ratio) + "×" if ratio else "-"} |'


def write_results(out, name, data, say=print):
    """Writes `data` as JSON to `out` (default bench/results/<name>-<time>.json)."""
    out = out or os.path.join(HERE, 'results', time.strftime(f'{name}-%Y%m%d-%H%M%S.json'))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(data, f, indent=1)
    say(f'results: {out}')
    return out
