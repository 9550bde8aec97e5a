#!/usr/bin/python3
"""`kiln try` end to end: an uncommitted change of a real git working copy built by a real
kiln master on kiln-worker and on the stock Buildbot 3.7 worker.

A bare upstream repository is cloned (file://); the clone gets an edited file, a new text file
and a new binary file, none committed. Checked (PASS/FAIL lines, then "N passed, N failed"):

  try-wait      `kiln try --wait` builds the change: the shell step after k.git shows the
                edited and new content and the binary file's digest; exit 0, result and link
  rest-patch    /api/v2/sourcestamps shows the patch (level, author, comment; body null),
                the buildset's reason is Buildbot's "'try' job by user ... (...)", and the
                stored patch is the client's diff
  patched-clean a second try on the same incremental checkout no longer has the first
                job's new files (.buildbot-patched: git clean before the update)
  wait-failure  --wait exits 1 when a build fails and says which
  wrong-password 401 for a bad password (CLI and raw), anonymous 401; nothing is created
  forbidden     a user without the try role gets 403; nothing is created
  foreign       a builder not in the try scheduler is refused (400); nothing is created
  oversized     a patch over 10 MiB is refused (400), a body over 16 MiB gets 413
  large         a 9 MiB new file (just under the limit) is built
  stock         the same try on buildbot-worker 3.7 builds the patched tree

Usage: /usr/bin/python3 test_try.py --kiln build/dev/app/kiln --kiln-worker build/dev/app/kiln-worker
"""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'refmaster'))
import refmaster as rm  # noqa: E402  (test_master and test_api are importable then)
import test_master as tm  # noqa: E402
import test_api as ta  # noqa: E402
from refmaster import Failure, check, log  # noqa: E402


BINARY = bytes(range(256)) * 4 + b'\x00tail'


def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME='Ada', GIT_AUTHOR_EMAIL='ada@example.org',
               GIT_COMMITTER_NAME='Ada', GIT_COMMITTER_EMAIL='ada@example.org')
    done = subprocess.run(['git', '-c', 'init.defaultBranch=main'] + list(args), cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise Failure(f'git {" ".join(args)} failed: {done.stderr}')
    return done.stdout.strip()


def write(path, content):
    with open(path, 'wb' if isinstance(content, bytes) else 'w') as f:
        f.write(content)


SHOW = ('echo "hello=$(cat hello.txt)"; for f in new.txt second.txt; do '
        '[ -e "$f" ] && echo "$f=$(cat $f)"; done; '
        '[ -e bin.dat ] && echo "bin=$(sha256sum bin.dat | cut -c1-64)"; '
        '[ -e big.txt ] && echo "big=$(sha256sum big.txt | cut -c1-64)"; '
        'echo "status=$(git status --porcelain | tr "\\n" " ")"; true')


def config(port, www, upstream):
    def builder(name, worker, extra=''):
        return (f'k.builder{{ name = "{name}", workers = {{ "{worker}" }}, steps = {{\n'
                f'  k.git{{ repourl = "{upstream}", mode = "incremental", branch = "main" }},\n'
                f'  k.shell{{ name = "show", command = {json.dumps(SHOW)} }}{extra} }} }}')
    builders = ',\n'.join([
        builder('try-kiln', 'kw'),
        builder('try-stock', 'sw'),
        builder('try-fail', 'kw', ',\n  k.shell{ name = "fail", command = "exit 3" }'),
        builder('other', 'kw'),
    ])
    return f'''
local k = require "kiln"
return {{
  url = "http://127.0.0.1:{www}/",
  protocols = {{ worker = {{ port = {port} }} }},
  www = {{ port = {www},
    auth = k.auth.users_file("users.txt"),
    authz = {{
      roles = {{ k.roles.from_groups{{ prefix = "kiln-" }} }},
      rules = {{ k.allow.try{{ role = "testers" }}, k.allow.any_control{{ role = "admins" }} }},
    }} }},
  workers = {{ k.worker{{ name = "kw", password = "{tm.PASSWORD}", max_builds = 2 }},
               k.worker{{ name = "sw", password = "{tm.PASSWORD}" }} }},
  builders = {{
{builders}
  }},
  schedulers = {{
    k.try_scheduler{{ name = "try", builders = {{ "try-kiln", "try-stock", "try-fail" }},
                      properties = {{ purpose = "trying" }} }},
    k.force{{ name = "force", builders = {{ "other" }} }},
  }},
}}
'''


class TryTest:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-try-')
        self.args = args
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.workers = []
        self.api = None
        self.state = {}

    def start(self):
        seed = os.path.join(self.root, 'seed')
        os.makedirs(seed)
        git(seed, 'init', '-q')
        write(os.path.join(seed, 'hello.txt'), 'hello\n')
        git(seed, 'add', '.')
        git(seed, 'commit', '-q', '-m', 'first')
        self.upstream = os.path.join(self.root, 'upstream.git')
        git(self.root, 'clone', '-q', '--bare', seed, self.upstream)
        self.upstream_url = 'file://' + self.upstream
        self.clone = os.path.join(self.root, 'clone')
        git(self.root, 'clone', '-q', self.upstream_url, self.clone)
        self.base = git(self.clone, 'rev-parse', 'HEAD')

        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master: {out}')
        for user, group in (('alice', 'kiln-testers'), ('bob', 'kiln-devs')):
            # The password is read from stdin, never from the command line.
            done = subprocess.run([m.kiln, 'user', 'add', m.dir, user, '--group', group],
                                  input=f'{user}-pw\n', text=True, capture_output=True,
                                  timeout=60)
            check(done.returncode == 0, f'kiln user add {user}: {done.stdout}{done.stderr}')
        m.port, self.www = rm.free_ports(2)
        m.write_config(text=config(m.port, self.www, self.upstream_url))
        m.start()
        self.api = ta.Api(self.www)
        ta.wait_for('the web server', lambda: rm.port_open(self.www), 30)
        for kind, name in (('kiln', 'kw'), ('stock', 'sw')):
            w = tm.Worker(kind, name, os.path.join(self.root, name), self.args.kiln_worker)
            w.create(m.port)
            w.start()
            self.workers.append(w)
        m.wait_connected(['kw', 'sw'], self.workers)
        # The uncommitted change: an edit, a new file and a new binary file.
        write(os.path.join(self.clone, 'hello.txt'), 'hello, try\n')
        write(os.path.join(self.clone, 'new.txt'), 'brand new\n')
        write(os.path.join(self.clone, 'bin.dat'), BINARY)
        self.digest = hashlib.sha256(BINARY).hexdigest()

    def stop(self):
        for w in self.workers:
            w.stop()
        self.master.stop()
        if self.args.keep:
            log(f'kept {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def kiln_try(self, *args, auth='alice:alice-pw'):
        argv = [self.args.kiln, 'try', '--master', f'http://127.0.0.1:{self.www}/']
        if auth:
            argv += ['--auth', auth]
        return rm.run_tool(argv + list(args), timeout=300, cwd=self.clone)

    def headers(self, user, password):
        return {'Authorization': ta.basic(user, password), 'Accept': 'application/json'}

    def get(self, path, user='alice', password='alice-pw'):
        status, _, body = self.api.request('GET', '/api/v2/' + path,
                                           headers=self.headers(user, password))
        check(status == 200, f'GET {path}: {status} {body[:300]}')
        return json.loads(body)

    def post_try(self, params, user='alice', password='alice-pw', raw=None):
        body = raw if raw is not None else json.dumps(
            {'jsonrpc': '2.0', 'method': 'try', 'id': 1, 'params': params})
        headers = {'Content-Type': 'application/json'}
        if user:
            headers['Authorization'] = ta.basic(user, password)
        status, _, text = self.api.request('POST', '/api/v2/tryschedulers/try', body, headers)
        return status, text

    def counts(self):
        return (self.master.query('select count(*) from buildsets')[0][0],
                self.master.query('select count(*) from patches')[0][0],
                self.master.query('select count(*) from buildrequests')[0][0])

    def show_facts(self, buildid):
        text = self.get(f'builds/{buildid}/steps/show/logs/stdio/contents')['logchunks'][0][
            'content']
        facts = {}
        for line in text.split('\n'):
            if line.startswith('o') and '=' in line:
                key, value = line[1:].split('=', 1)
                facts[key] = value
        return facts

    def last_build(self, builder):
        builderid = self.get(f'builders/{builder}')['builders'][0]['builderid']
        builds = self.get(f'builders/{builderid}/builds?order=-number&limit=1')['builds']
        check(builds, f'no build of {builder}')
        return builds[0]


def try_wait(t):
    rc, out = t.kiln_try('--builder', 'try-kiln', '--wait', '--comment', 'first try',
                         '--property', 'ticket=T-1')
    check(rc == 0, f'kiln try rc {rc}:\n{out}')
    check('try-kiln: success' in out, f'no result line:\n{out}')
    build = t.last_build('try-kiln')
    link = f'http://127.0.0.1:{t.www}/#/builders/{build["builderid"]}/builds/{build["number"]}'
    check(link in out, f'no link {link}:\n{out}')
    facts = t.show_facts(build['buildid'])
    check(facts.get('hello') == 'hello, try', f'edit not built: {facts}')
    check(facts.get('new.txt') == 'brand new', f'new file not built: {facts}')
    check(facts.get('bin') == t.digest, f'binary file differs: {facts}')
    props = t.get(f'builds/{build["buildid"]}?property=*')['builds'][0]['properties']
    check(props.get('ticket') == ['T-1', 'try build'], f'property: {props.get("ticket")}')
    check(props.get('purpose') == ['trying', 'Scheduler'], f'scheduler property: {props}')
    check(props.get('got_revision', [None])[0] == t.base, f'got_revision: {props}')
    check(props.get('owner', [None])[0] == 'alice', f'owner: {props.get("owner")}')
    t.state['build'] = build
    return f'built edit, new file and binary on kiln-worker; "{out.strip().splitlines()[-1]}"'


def rest_patch(t):
    stamps = t.get('sourcestamps')['sourcestamps']
    patched = [s for s in stamps if s['patch']]
    check(len(patched) == 1, f'patched stamps: {stamps}')
    stamp = patched[0]
    patch = stamp['patch']
    check(patch['level'] == 1 and patch['author'] == 'alice' and
          patch['comment'] == 'first try' and patch['body'] is None, f'patch: {patch}')
    check(stamp['revision'] == t.base and stamp['branch'] == 'main', f'stamp: {stamp}')
    one = t.get(f'sourcestamps/{stamp["ssid"]}')['sourcestamps'][0]
    check(one['patch'] == patch, f'entity: {one}')
    bsid = t.get(f'buildrequests/{t.state["build"]["buildrequestid"]}')['buildrequests'][0][
        'buildsetid']
    buildset = t.get(f'buildsets/{bsid}')['buildsets'][0]
    check(buildset['reason'] == "'try' job by user alice (first try)", f'{buildset}')
    check(buildset['sourcestamps'][0]['patch'] == patch, f'buildset stamp: {buildset}')
    stored = t.master.query('select patch_base64, patchlevel from patches where id = ?',
                            (patch['patchid'],))[0]
    diff = base64.b64decode(stored[0])
    check(b'+hello, try' in diff and b'b/new.txt' in diff and b'GIT binary patch' in diff,
          f'stored diff: {diff[:400]}')
    return f'patch {patch["patchid"]} on sourcestamp {stamp["ssid"]} ({len(diff)} bytes)'


def patched_clean(t):
    os.remove(os.path.join(t.clone, 'new.txt'))
    os.remove(os.path.join(t.clone, 'bin.dat'))
    write(os.path.join(t.clone, 'second.txt'), 'second\n')
    rc, out = t.kiln_try('--builder', 'try-kiln', '--wait')
    check(rc == 0, f'kiln try rc {rc}:\n{out}')
    facts = t.show_facts(t.last_build('try-kiln')['buildid'])
    check(facts.get('second.txt') == 'second', f'second change not built: {facts}')
    check('new.txt' not in facts and 'bin' not in facts, f'first job left files: {facts}')
    check(facts.get('hello') == 'hello, try', f'{facts}')
    return 'the earlier patch was cleaned away before the update'


def wait_failure(t):
    rc, out = t.kiln_try('--builder', 'try-fail', '--builder', 'try-kiln', '--wait')
    check(rc == 1, f'kiln try should exit 1, rc {rc}:\n{out}')
    check('try-fail: failure' in out and 'try-kiln: success' in out, out)
    return 'exit 1 with "try-fail: failure"'


def wrong_password(t):
    before = t.counts()
    rc, out = t.kiln_try('--builder', 'try-kiln', auth='alice:nope')
    check(rc == 1 and '401' in out, f'rc {rc}: {out}')
    status, text = t.post_try({'builderNames': ['try-kiln'], 'patch_body': 'x'},
                              password='nope')
    check(status == 401, f'raw: {status} {text}')
    status, text = t.post_try({'builderNames': ['try-kiln'], 'patch_body': 'x'}, user=None)
    check(status == 401 and 'credentials' in text, f'anonymous: {status} {text}')
    check(t.counts() == before, f'something was created: {before} -> {t.counts()}')
    return 'CLI, raw and anonymous: 401, nothing created'


def forbidden(t):
    before = t.counts()
    rc, out = t.kiln_try('--builder', 'try-kiln', auth='bob:bob-pw')
    check(rc == 1 and '403' in out and "role 'testers'" in out, f'rc {rc}: {out}')
    check(t.counts() == before, f'something was created: {before} -> {t.counts()}')
    return f'bob: "{out.strip()}"'


def foreign(t):
    before = t.counts()
    rc, out = t.kiln_try('--builder', 'try-kiln', '--builder', 'other')
    check(rc == 1 and '400' in out and "'other'" in out, f'rc {rc}: {out}')
    status, text = t.post_try({'builderNames': ['nope']})
    check(status == 400 and 'builderNames' in text, f'{status} {text}')
    check(t.counts() == before, f'something was created: {before} -> {t.counts()}')
    return f'"{out.strip()}"'


def oversized(t):
    before = t.counts()
    big = base64.b64encode(b'x' * (10 * 1024 * 1024 + 1)).decode()
    status, text = t.post_try({'builderNames': ['try-kiln'], 'patch_body_base64': big})
    check(status == 400 and 'patch_body_base64' in text and 'larger than' in text,
          f'{status} {text[:300]}')
    # A body declared larger than 16 MiB is refused before it is read (raw socket: the
    # answer comes before any body byte is sent).
    with socket.create_connection(('127.0.0.1', t.www), timeout=30) as s:
        s.sendall((f'POST /api/v2/tryschedulers/try HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                   f'Authorization: {ta.basic("alice", "alice-pw")}\r\n'
                   f'Content-Type: application/json\r\n'
                   f'Content-Length: {17 * 1024 * 1024}\r\n\r\n').encode())
        answer = s.recv(4096).decode('latin-1')
    check(answer.startswith('HTTP/1.1 413'), f'{answer[:200]}')
    check(t.counts() == before, f'something was created: {before} -> {t.counts()}')
    # The client refuses too, before sending.
    write(os.path.join(t.clone, 'huge.txt'), 'y' * (11 * 1024 * 1024))
    try:
        rc, out = t.kiln_try('--builder', 'try-kiln')
    finally:
        os.remove(os.path.join(t.clone, 'huge.txt'))
    check(rc == 2 and 'larger than' in out, f'client: rc {rc}: {out[:300]}')
    check(t.counts() == before, f'something was created: {before} -> {t.counts()}')
    return '10 MiB + 1: 400; 17 MiB body: 413; client refuses an 11 MiB diff'


def large(t):
    # Just under the limit: a 9 MiB diff goes through and is applied.
    text = ''.join(f'line {i:09d} of a big new file\n' for i in range(9 * 1024 * 1024 // 32))
    write(os.path.join(t.clone, 'big.txt'), text)
    started = time.monotonic()
    try:
        rc, out = t.kiln_try('--builder', 'try-kiln', '--wait')
    finally:
        os.remove(os.path.join(t.clone, 'big.txt'))
    took = time.monotonic() - started
    check(rc == 0 and 'try-kiln: success' in out, f'rc {rc}:\n{out[-2000:]}')
    facts = t.show_facts(t.last_build('try-kiln')['buildid'])
    check(facts.get('big') == hashlib.sha256(text.encode()).hexdigest(), f'big: {facts}')
    size = len(text.encode())
    return f'{size / 1048576:.1f} MiB file: submitted, built and waited for in {took:.1f} s'


def stock(t):
    rc, out = t.kiln_try('--builder', 'try-stock', '--wait')
    check(rc == 0 and 'try-stock: success' in out, f'rc {rc}:\n{out}')
    facts = t.show_facts(t.last_build('try-stock')['buildid'])
    check(facts.get('hello') == 'hello, try' and facts.get('second.txt') == 'second',
          f'stock tree: {facts}')
    return 'patched tree on buildbot-worker 3.7'


def live_buildsets(t):
    """Authorization rules without `view` entries hide nothing: an anonymous /ws client gets the
    new buildset's event (it used to be withheld from everyone once any rule was set)."""
    ws = ta.WebSocket(t.www)
    try:
        ws.send({'cmd': 'startConsuming', 'path': 'buildsets/*/new', '_id': 1})
        check(ws.receive()['code'] == 200, 'subscribe')
        status, text = t.post_try({'builderNames': ['try-kiln'], 'baserev': t.base,
                                   'patch_body': ''})
        check(status == 200, f'try: {status} {text[:300]}')
        bsid = json.loads(text)['result'][0]
        frame = ws.receive()
        check(frame['k'] == f'buildsets/{bsid}/new', f'event: {frame}')
    finally:
        ws.close()
    return f'anonymous /ws got buildsets/{bsid}/new'


SECTIONS = [
    ('try-wait', try_wait),
    ('rest-patch', rest_patch),
    ('patched-clean', patched_clean),
    ('wait-failure', wait_failure),
    ('wrong-password', wrong_password),
    ('forbidden', forbidden),
    ('foreign', foreign),
    ('oversized', oversized),
    ('large', large),
    ('stock', stock),
    ('live-buildsets', live_buildsets),
]


def main():
    return rm.main_with_sections(TryTest, SECTIONS)


if __name__ == '__main__':
    sys.exit(main())
