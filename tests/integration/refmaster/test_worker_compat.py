#!/usr/bin/python3
"""Interoperability test: the worker under test vs the stock Buildbot 3.7 worker, both against
the reference Buildbot 3.7 master (/work/shared/reference/buildbot-master/master.cfg, msgpack
worker protocol).

Every reference builder (smoke, edge, interrupt, badcmd, longrun, shutdown) is run once with the
stock worker and once with the worker under test, each builder on a fresh worker base dir, and
the two builds are compared: build result, every step's name/result/state string, every log's
text, the files the master received in its uploads/ dir (byte-identical, same permission bits),
and, for `shutdown`, that the worker process exits within a few seconds.

Usage:
  /usr/bin/python3 test_worker_compat.py --kiln-worker build/<preset>/app/kiln-worker
  /usr/bin/python3 test_worker_compat.py                    # kiln-worker from $KILN_WORKER
  /usr/bin/python3 test_worker_compat.py --worker specworker   # spec-only Python worker
  /usr/bin/python3 test_worker_compat.py --worker stock        # stock vs stock (self-test)
  /usr/bin/python3 test_worker_compat.py --worker command \
      --worker-cmd 'my-worker --master {host}:{port} --name {name} --password {password} {basedir}'
Options: --quick (skip the 60 s longrun builder), --builders smoke,edge, --serial (no
parallel lanes), --keep (keep the temp dir), --json OUT (dump all build results).
Prints one PASS/FAIL block per builder and a last line "N passed, N failed"; exit code 1 on any
failure.

Known stock-master (Buildbot 3.7) bugs: we assert what really happens, which is the same with
both workers (see worker-protocol.md):
  * FileDownload / StringDownload over msgpack deliver 0 bytes (the master answers
    update_read_file with nil = EOF): smoke's check-downloads shows two empty files (with the
    requested 0640 mode for downloaded.txt), steps SUCCESS (spec 4.11.3).
  * FileUpload(keepstamp=True): the master's update_upload_file_utime handler always fails, the
    worker completes the command with a failure string -> edge's last step EXCEPTION, build
    EXCEPTION (spec 4.9).  The file itself has been uploaded (uploads/hostname).
  * Output without a final newline ("partial line without newline" in smoke/shell-list) must be
    flushed by the worker with a '\\n' appended: the master asserts that text ends in '\\n' and
    otherwise loses the chunk (spec 3.5).
  * The master puts a worker "in quarantine" for 10 s after a build that ended in EXCEPTION
    (master-side scheduling, not protocol): the EXCEPTION builders (edge, badcmd) are therefore
    run last on their lane's master.

Normalisations (only what legitimately differs between two correct workers):
  * Header ('h') lines of stdio logs: their texts need not be identical (spec 5.7: command
    display, ' in dir', argv repr, environment listing, elapsedTime=, 'sending <path>').  We
    require that a log has header lines whenever the stock worker's has, and that the ordered
    list of key header facts is the same: 'command timed out: N seconds without output|elapsed',
    'command interrupted', 'process killed by signal N', 'program finished with exit code N'
    (added by the master from rc), 'SIG.. failed to kill process', 'using fake rc=..'.
  * Order between the 'o' and 'e' streams: stdout and stderr are separate pipes, so their
    relative order is not defined (it differs between two runs of the same worker).  Each
    stream's own line sequence is compared exactly.
  * Absolute temp paths: worker base dirs and master dirs differ per run -> <WORKER>, <MASTER>,
    <TMP> placeholders.
  * smoke: the date/time column of `ls -l` output.
  * edge/pty: the pty number in `tty` output (/dev/pts/N).
  * edge/maxtime-kill: the number of 'tick' lines printed in 3 s at 2 per second is timing
    dependent (6 or 7 with the same worker); the counts may differ by one.
  * err.text / err.html logs (the master's rendering of an EXCEPTION, with its own stack trace):
    the exception type must be the same, and the exception message of the stock run must occur
    in the test run's.  When the failure text comes from the worker (its `complete` failure
    string, e.g. the keepstamp upload), the stock worker wraps it as "[Failure instance:
    Traceback: <class '...RemoteWorkerError'>: MSG" + Python frames; only MSG is required.
    err.html is only required to exist.
Everything else (stdout/stderr lines, step and build results and state strings, uploaded files)
must match exactly.
"""
import argparse
import difflib
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refmaster as rm  # noqa: E402

ALL_BUILDERS = ['smoke', 'edge', 'interrupt', 'badcmd', 'longrun', 'shutdown']
# Lanes: one master per lane and worker kind, lanes run in parallel.  EXCEPTION builders come
# last on a lane (see quarantine note above).
LANES = [('main', ['smoke', 'interrupt', 'shutdown', 'edge']),
         ('long', ['longrun', 'badcmd'])]
BUILD_TIMEOUT = {'smoke': 90, 'edge': 90, 'interrupt': 60, 'badcmd': 60, 'longrun': 180,
                 'shutdown': 60}
SHUTDOWN_EXIT_TIMEOUT = 5.0


# ---------------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------------
class Run:
    """One builder run with one worker."""

    def __init__(self, kind, builder):
        self.kind, self.builder = kind, builder
        self.build = None           # rm.BuildResult
        self.uploads = None         # snapshot dir of master uploads/
        self.paths = []             # (absolute path, placeholder) for normalisation
        self.error = None           # harness-level error text
        self.worker_exit = None     # shutdown: (rc, seconds after build end) or None
        self.worker_alive_after = None
        self.seconds = None


class Lane:
    def __init__(self, name, kind, launcher, builders, root, args):
        self.name, self.kind, self.launcher = name, kind, launcher
        self.builders, self.root, self.args = builders, root, args
        self.label = f'{kind}/{name}'
        self.runs = {}
        self.master = None
        self.thread = None

    def log(self, *a):
        rm.log(f'[{self.label}]', *a)

    def new_master(self):
        if self.master is not None:
            self.master.stop()
        n = sum(1 for d in os.listdir(self.lane_dir) if d.startswith('master'))
        self.master = rm.RefMaster(tmp_root=self.lane_dir, label=f'master{n}')
        self.master.start()

    def run(self):
        self.lane_dir = os.path.join(self.root, f'{self.kind}-{self.name}')
        os.makedirs(self.lane_dir)
        try:
            try:
                self.new_master()
            except Exception as e:
                for b in self.builders:
                    r = self.runs[b] = Run(self.kind, b)
                    r.error = f'master did not start: {e}'
                return
            for b in self.builders:
                r = self.runs[b] = Run(self.kind, b)
                dirty = False
                try:
                    dirty = self.run_one(r)
                except Exception as e:
                    dirty = True
                    r.error = f'{type(e).__name__}: {e}'
                    if self.args.verbose:
                        r.error += '\n' + traceback.format_exc()
                if dirty and b != self.builders[-1]:
                    # a build that did not finish cleanly may be retried by the master when
                    # the next worker connects: continue on a fresh master
                    self.log('restarting the master after a failed run')
                    try:
                        self.new_master()
                    except Exception as e:
                        for b2 in self.builders[self.builders.index(b) + 1:]:
                            r2 = self.runs[b2] = Run(self.kind, b2)
                            r2.error = f'master did not restart: {e}'
                        return
        finally:
            if self.master is not None:
                self.master.stop()

    def run_one(self, r):
        m = self.master
        base = os.path.join(self.lane_dir, f'{self.kind}-{r.builder}', 'worker')
        r.paths = [(base, '<WORKER>'), (m.basedir, '<MASTER>'), (self.root, '<TMP>')]
        t0 = time.monotonic()
        w = rm.WorkerRun(m, self.launcher, base)
        try:
            w.start()
            self.log(f'{r.builder}: worker connected after {time.monotonic() - t0:.1f}s')
            alive = w.check_alive if r.builder != 'shutdown' else None
            t1 = time.monotonic()
            r.build = m.run_build(r.builder, timeout=BUILD_TIMEOUT[r.builder], alive=alive)
            r.seconds = time.monotonic() - t1
            self.log(f'{r.builder}: {r.build.result_name} in {r.seconds:.1f}s')
            if r.builder == 'shutdown':
                t2 = time.monotonic()
                rc = w.proc.wait(SHUTDOWN_EXIT_TIMEOUT)
                r.worker_exit = None if rc is None else (rc, time.monotonic() - t2)
            else:
                r.worker_alive_after = w.proc.alive()
                if not r.worker_alive_after:
                    r.error = (f'worker process exited during the build '
                               f'({rm.describe_rc(w.proc.popen.returncode)}):\n'
                               f'{w.proc.output()[-2000:]}')
        finally:
            w.stop()
            if r.build is not None or os.path.exists(m.uploads_dir()):
                r.uploads = m.take_uploads(os.path.join(self.lane_dir,
                                                        f'uploads-{self.kind}-{r.builder}'))
        return r.build is None or r.error is not None


# ---------------------------------------------------------------------------------------------
# normalisation and comparison
# ---------------------------------------------------------------------------------------------
FACT_RES = [re.compile(p) for p in (
    r'command timed out: \d+ seconds (?:without output|elapsed)',
    r'command interrupted',
    r'process killed by signal \d+',
    r'program finished with exit code -?\d+',
    r'SIG\w+ failed to kill process',
    r'using fake rc=-?\d+',
)]
LS_L_RE = re.compile(r'^([-bcdlps][-rwxsStT]{9}[.+@]?\s+\d+\s+\S+\s+\S+\s+\d+\s+)'
                     r'[A-Z][a-z]{2}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4})(\s.*)$')
PTS_RE = re.compile(r'^/dev/pts/\d+$')


def replace_paths(text, paths):
    for p, ph in sorted(paths, key=lambda x: -len(x[0])):
        text = text.replace(p, ph)
        rp = os.path.realpath(p)
        if rp != p:
            text = text.replace(rp, ph)
    return text


def line_rules(builder, step):
    """Per-line normalisations of 'o'/'e' lines for (builder, step)."""
    rules = []
    if builder == 'smoke':
        rules.append(lambda s: LS_L_RE.sub(r'\1<DATE>\2', s))
    if builder == 'edge' and step == 'pty':
        rules.append(lambda s: PTS_RE.sub('/dev/pts/<N>', s))
    return rules


def split_stdio(text, paths, builder, step):
    streams = {'o': [], 'e': [], 'h': []}
    other = []
    rules = line_rules(builder, step)
    for line in replace_paths(text, paths).split('\n')[:-1]:
        ch, body = line[:1], line[1:]
        if ch not in streams:
            other.append(line)
            continue
        if ch != 'h':
            for f in rules:
                body = f(body)
        streams[ch].append(body)
    return streams, other


def header_facts(hlines):
    facts = []
    for h in hlines:
        for rx in FACT_RES:
            facts.extend(m.group(0) for m in rx.finditer(h))
    return facts


WRAPPED_FAILURE_RE = re.compile(r"^\[Failure instance: Traceback: <class '[^']*'>: ")


def exception_of(text):
    """(type, message) of the exception at the end of a Python traceback text."""
    lines = text.split('\n')
    start = None
    for i, line in enumerate(lines):
        if line.startswith('  File '):
            start = i + 2
    if start is None:
        start = 0
    tail = [ln for ln in lines[start:] if ln.strip()]
    for i, line in enumerate(tail):
        if not line.startswith(' ') and ': ' in line:
            typ, msg = line.split(': ', 1)
            return typ, '\n'.join([msg] + tail[i + 1:])
    return None, '\n'.join(tail)


def core_message(msg):
    msg = WRAPPED_FAILURE_RE.sub('', msg)
    return msg.split('\n', 1)[0].strip()


def udiff(a, b, name, la, lb, n=3):
    d = list(difflib.unified_diff(a, b, f'{name} ({la})', f'{name} ({lb})', lineterm='', n=n))
    if len(d) > 80:
        d = d[:80] + [f'... ({len(d) - 80} more diff lines)']
    return d


def compare_tick_lines(sa, sb, out, la, lb, where):
    """edge/maxtime-kill: 'tick' count is timing dependent (+-1 allowed); strip them."""
    ca, cb = sa['o'].count('tick'), sb['o'].count('tick')
    if cb == 0 or abs(ca - cb) > 1:
        out.append(f'{where}: {ca} "tick" lines ({la}) vs {cb} ({lb}) (must differ by <= 1)')
    sa['o'] = [x for x in sa['o'] if x != 'tick']
    sb['o'] = [x for x in sb['o'] if x != 'tick']


def compare_logs(builder, step, la_, lb_, ra, rb, la, lb, out):
    where = f'{step} / log {la_.name!r}'
    if la_.type != lb_.type:
        out.append(f'{where}: log type {la_.type!r} ({la}) vs {lb_.type!r} ({lb})')
        return
    if la_.name == 'err.html':
        return                      # HTML rendering of err.text (master stack trace): exists
    if la_.name == 'err.text':
        ta, ma = exception_of(replace_paths(la_.text, ra.paths))
        tb, mb = exception_of(replace_paths(lb_.text, rb.paths))
        core = core_message(ma)
        if ta != tb or core not in mb:
            out.append(f'{where}: exception differs:\n    {la}: {ta}: {core}\n'
                       f'    {lb}: {tb}: {mb}')
        return
    if la_.type != 's':
        a = replace_paths(la_.text, ra.paths).split('\n')
        b = replace_paths(lb_.text, rb.paths).split('\n')
        if a != b:
            out.append(f'{where}: text differs:')
            out.extend('    ' + x for x in udiff(a, b, where, la, lb))
        return
    sa, oa = split_stdio(la_.text, ra.paths, builder, step)
    sb, ob = split_stdio(lb_.text, rb.paths, builder, step)
    if oa or ob:
        out.append(f'{where}: lines without a stream prefix: {oa[:3]!r} ({la}) / '
                   f'{ob[:3]!r} ({lb})')
    if builder == 'edge' and step == 'maxtime-kill':
        compare_tick_lines(sa, sb, out, la, lb, where)
    for ch, sname in (('o', 'stdout'), ('e', 'stderr')):
        if sa[ch] != sb[ch]:
            out.append(f'{where}: {sname} lines differ:')
            out.extend('    ' + x for x in udiff(sa[ch], sb[ch], f'{where} {sname}', la, lb))
    if sa['h'] and not sb['h']:
        out.append(f'{where}: {la} has {len(sa["h"])} header lines, {lb} has none')
    fa, fb = header_facts(sa['h']), header_facts(sb['h'])
    if fa != fb:
        out.append(f'{where}: key header facts differ:')
        out.extend('    ' + x for x in udiff(fa, fb, f'{where} header facts', la, lb, n=10))


def tree(path):
    """{relative path: (kind, permission bits, bytes or link target)}"""
    out = {}
    if not path or not os.path.isdir(path):
        return out
    for dirpath, dirnames, filenames in os.walk(path):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, path)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ('link', 0, os.readlink(p).encode())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ('dir', stat.S_IMODE(st.st_mode), b'')
            else:
                with open(p, 'rb') as f:
                    out[rel] = ('file', stat.S_IMODE(st.st_mode), f.read())
    return out


def compare_uploads(ra, rb, la, lb, out):
    ta, tb = tree(ra.uploads), tree(rb.uploads)
    for rel in sorted(set(ta) | set(tb)):
        if rel not in tb:
            out.append(f'uploads/{rel}: only with {la}')
        elif rel not in ta:
            out.append(f'uploads/{rel}: only with {lb}')
        else:
            (ka, ma, da), (kb, mb, db) = ta[rel], tb[rel]
            if ka != kb:
                out.append(f'uploads/{rel}: {ka} ({la}) vs {kb} ({lb})')
            elif ma != mb:
                out.append(f'uploads/{rel}: mode {ma:o} ({la}) vs {mb:o} ({lb})')
            elif da != db:
                i = next((k for k in range(min(len(da), len(db))) if da[k] != db[k]),
                         min(len(da), len(db)))
                out.append(f'uploads/{rel}: contents differ ({len(da)} bytes {la}, '
                           f'{len(db)} bytes {lb}, first difference at byte {i})')
    return len(ta)


def compare_runs(ra, rb, la, lb):
    """List of mismatch descriptions (empty = same)."""
    out = []
    for r, lab in ((ra, la), (rb, lb)):
        if r.error:
            out.append(f'{lab} run failed: {r.error}')
    if ra.build is None or rb.build is None:
        return out
    a, b = ra.build, rb.build
    if a.result_name != b.result_name or a.state_string != b.state_string:
        out.append(f'build: {a.result_name} ({a.state_string}) with {la} vs '
                   f'{b.result_name} ({b.state_string}) with {lb}')
    na, nb = [s.name for s in a.steps], [s.name for s in b.steps]
    if na != nb:
        out.append(f'steps differ: {na} ({la}) vs {nb} ({lb})')
    bsteps = {s.name: s for s in b.steps}
    for sa in a.steps:
        sb = bsteps.get(sa.name)
        if sb is None:
            continue
        if sa.result_name != sb.result_name:
            out.append(f'{sa.name}: result {sa.result_name} ({la}) vs {sb.result_name} ({lb})')
        if sa.state_string != sb.state_string:
            out.append(f'{sa.name}: state {sa.state_string!r} ({la}) vs '
                       f'{sb.state_string!r} ({lb})')
        lna, lnb = [lg.name for lg in sa.logs], [lg.name for lg in sb.logs]
        if lna != lnb:
            out.append(f'{sa.name}: logs {lna} ({la}) vs {lnb} ({lb})')
        blogs = {lg.name: lg for lg in sb.logs}
        for lga in sa.logs:
            if lga.name in blogs:
                compare_logs(a.builder, sa.name, lga, blogs[lga.name], ra, rb, la, lb, out)
    compare_uploads(ra, rb, la, lb, out)
    if a.builder == 'shutdown':
        for r, lab in ((ra, la), (rb, lb)):
            if r.worker_exit is None:
                out.append(f'{lab} worker did not exit within {SHUTDOWN_EXIT_TIMEOUT:.0f}s '
                           f'after the shutdown build')
    return out


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--worker', choices=['kiln', 'specworker', 'stock', 'command'],
                    default='kiln', help='worker under test (default: kiln)')
    ap.add_argument('--kiln-worker', default=os.environ.get('KILN_WORKER'),
                    help='kiln-worker binary (default: $KILN_WORKER)')
    ap.add_argument('--worker-cmd', help='--worker command: run template with {host} {port} '
                    '{name} {password} {basedir}')
    ap.add_argument('--worker-create-cmd', help='--worker command: optional create template')
    ap.add_argument('--quick', action='store_true', help='skip the 60 s longrun builder')
    ap.add_argument('--builders', help='comma-separated subset of ' + ','.join(ALL_BUILDERS))
    ap.add_argument('--serial', action='store_true', help='run the lanes one after another')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')
    ap.add_argument('--json', help='write all build results to this JSON file')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args(argv)
    if args.kiln_worker:
        args.kiln_worker = os.path.abspath(args.kiln_worker)
    return args


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt('SIGTERM')


def main(argv=None):
    args = parse_args(argv)
    wanted = ALL_BUILDERS if not args.builders else args.builders.split(',')
    for b in wanted:
        if b not in ALL_BUILDERS:
            print(f'unknown builder {b!r}', file=sys.stderr)
            return 2
    if args.quick:
        wanted = [b for b in wanted if b != 'longrun']
    try:
        test_launcher = rm.make_worker(args.worker, kiln_binary=args.kiln_worker,
                                       run_cmd=args.worker_cmd,
                                       create_cmd=args.worker_create_cmd)
    except rm.HarnessError as e:
        print(f'error: {e}', file=sys.stderr)
        print(f'0 passed, {len(wanted)} failed')
        return 1
    la, lb = 'stock', test_launcher.kind if args.worker != 'stock' else 'stock-2'

    rm.enable_subreaper()
    signal.signal(signal.SIGTERM, _on_sigterm)
    root = tempfile.mkdtemp(prefix='kiln-compat-')
    t0 = time.monotonic()
    lanes = []
    interrupted = False
    for name, builders in LANES:
        bs = [b for b in builders if b in wanted]
        if bs:
            lanes.append(Lane(name, la, rm.StockWorker(), bs, root, args))
            lanes.append(Lane(name, lb, test_launcher, bs, root, args))
    try:
        if args.serial:
            for lane in lanes:
                lane.run()
        else:
            for lane in lanes:
                lane.thread = threading.Thread(target=lane.run, name=lane.label, daemon=True)
                lane.thread.start()
            for lane in lanes:
                lane.thread.join()
    except KeyboardInterrupt:
        interrupted = True
        print('interrupted: stopping', file=sys.stderr)
        rm.request_stop()
        rm.final_cleanup()
        for lane in lanes:
            if lane.thread is not None:
                lane.thread.join(30)
    finally:
        left = rm.final_cleanup()

    runs = {}
    for lane in lanes:
        for b, r in lane.runs.items():
            runs[(lane.kind, b)] = r
    passed = failed = 0
    for b in [b for b in ALL_BUILDERS if b in wanted]:
        ra, rb = runs.get((la, b)), runs.get((lb, b))
        if ra is None or rb is None:
            diffs = ['not run']
        else:
            diffs = compare_runs(ra, rb, la, lb)
        timing = ''
        if ra is not None and rb is not None and ra.seconds and rb.seconds:
            timing = f'  [{la} {ra.seconds:.1f}s, {lb} {rb.seconds:.1f}s]'
        res = ra.build.result_name if ra is not None and ra.build is not None else '?'
        if diffs:
            failed += 1
            print(f'FAIL {b} (stock result {res}){timing}')
            for d in diffs:
                print('    ' + d.replace('\n', '\n    '))
        else:
            passed += 1
            print(f'PASS {b}: {res}, {len(ra.build.steps)} steps identical{timing}')
    if left:
        print(f'note: killed {len(left)} leftover processes at the end: {left}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({f'{k}/{b}': {'build': r.build.to_dict() if r.build else None,
                                    'error': r.error, 'worker_exit': r.worker_exit}
                       for (k, b), r in runs.items()}, f, indent=1)
    if args.keep:
        print(f'kept temp dir {root}', file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)
    print(f'total time {time.monotonic() - t0:.0f}s', file=sys.stderr)
    print(f'{passed} passed, {failed} failed')
    if interrupted:
        return 130
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
