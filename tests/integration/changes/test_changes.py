#!/usr/bin/python3
"""End-to-end test of how changes get into a real `kiln` master (issue #4 part 1).

A `kiln` master (temp dir, SQLite) with www.change_hook = { base, github (secret, strict) },
www.change_hook_auth, and a k.git_poller on a real git repository in the temp dir. Driven only
through HTTP, the `kiln` CLI and git:

  hooks       the captured Buildbot 3.7 hook answers (specs/samples/change_hook_responses.json):
              base form POST and GET, signed GitHub push (X-Hub-Signature and
              X-Hub-Signature-256), bad signature, missing signature, dialect not enabled, plus
              missing change_hook_auth credentials (401), bad JSON: status, body, and that a
              refused request stores nothing.
  rest        GET /api/v2/changes, /changes/1, /sourcestamps/N/changes have the shapes of the
              captured GET_changes*.json; order=-changeid&limit=1 gives the newest,
              limit=1 too (Buildbot's reversal is not reproduced), meta.total is the real count.
  sendchange  `kiln sendchange` stores a change with every field given; without --auth it
              fails with the master's 401 message and a non-zero exit.
  burst       1,000 base hook posts from 16 threads over loopback keep-alive connections: all
              answered 200 and exactly 1,000 new changes stored.
  poller      the first poll stores no change; two commits become exactly two changes with
              their revision, author and files; a commit made while the master is stopped
              becomes one change after the restart, a reconfig that changes the poller
              restarts it, and nothing is reported twice.

Usage: /usr/bin/python3 test_changes.py --kiln build/dev/app/kiln [--keep] [-v]
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'refmaster'))
import refmaster as rm  # noqa: E402  (test_master is importable then)
import test_master as tm  # noqa: E402
from refmaster import HOST, check, log, wait_for  # noqa: E402

SAMPLES = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..', 'shared', 'specs', 'samples'))
SECRET = 'sekrit'
HOOK_USER, HOOK_PASSWORD = 'hooker', 'hook-pass'
BURST = 1000
BURST_THREADS = 16

CONFIG = r'''
local k = require "kiln"
return {
  title = "changes e2e",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = {
    port = @WWW@,
    change_hook = { base = true, github = { secret = k.secret("github-hook"), strict = true } },
    change_hook_auth = { k.secret("hook-user") },
  },
  change_sources = {
    k.git_poller{ name = "origin", repourl = "@REPO@", branches = { "main" },
                  pollinterval = 1, poll_at_launch = true, project = "polled" },
  },
}
'''


def load_sample(name):
    with open(os.path.join(SAMPLES, name)) as f:
        return json.load(f)


def json_type(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, (int, float)):
        return 'number'
    return type(value).__name__


def compare_shape(name, want, got, path, problems):
    if isinstance(want, dict) and isinstance(got, dict):
        if path.endswith('.properties'):
            return  # a map of property names: its keys are data, not shape
        if set(want) != set(got):
            problems.append(f'{name}{path}: keys {sorted(got)}, Buildbot {sorted(want)}')
        for key in set(want) & set(got):
            compare_shape(name, want[key], got[key], f'{path}.{key}', problems)
    elif isinstance(want, list) and isinstance(got, list):
        if want and got:
            compare_shape(name, want[0], got[0], f'{path}[0]', problems)
    elif want is not None and got is not None and json_type(want) != json_type(got):
        problems.append(f'{name}{path}: {json_type(got)}, Buildbot {json_type(want)}')


def git(repo, *args, author='Alice', email='alice@example.com'):
    env = {k: v for k, v in os.environ.items() if not k.startswith('GIT_')}
    env.update(GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=author,
               GIT_COMMITTER_EMAIL=email, GIT_CONFIG_NOSYSTEM='1', HOME=repo)
    out = subprocess.run(['git', '-C', repo] + list(args), env=env, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return out.stdout.decode().strip()


class Scenario:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-changes-')
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.kiln = args.kiln
        self.keep = args.keep
        self.repo = os.path.join(self.root, 'origin')

    def start(self):
        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master failed: {out}')
        for name, value in (('github-hook', SECRET), ('hook-user', f'{HOOK_USER}:{HOOK_PASSWORD}')):
            with open(os.path.join(m.dir, 'secrets', name), 'w') as f:
                f.write(value + '\n')
        os.makedirs(self.repo)
        git(self.repo, 'init', '--quiet', '-b', 'main')
        self.commit('README', 'hello\n', 'Initial commit')
        m.port, self.www_port = rm.free_ports(2)
        text = (CONFIG.replace('@PORT@', str(m.port)).replace('@WWW@', str(self.www_port))
                .replace('@REPO@', self.repo))
        m.write_config(text=text)
        m.start()
        wait_for('the web server', lambda: rm.port_open(self.www_port), 30)

    def stop(self):
        self.master.stop()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            log(f'kept {self.root}')

    def commit(self, name, text, message, author='Alice', email='alice@example.com'):
        path = os.path.join(self.repo, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        git(self.repo, 'add', '-A')
        git(self.repo, 'commit', '--quiet', '-m', message, author=author, email=email)
        return git(self.repo, 'rev-parse', 'HEAD')

    # -- HTTP
    def request(self, method, path, body=None, headers=None, auth=True, connection=None):
        headers = dict(headers or {})
        if auth:
            token = base64.b64encode(f'{HOOK_USER}:{HOOK_PASSWORD}'.encode()).decode()
            headers['Authorization'] = f'Basic {token}'
        own = connection is None
        if own:
            connection = http.client.HTTPConnection(HOST, self.www_port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.reason, answer.read().decode(), dict(answer.getheaders())
        finally:
            if own:
                connection.close()

    def api(self, path):
        status, _, text, _ = self.request('GET', '/api/v2/' + path,
                                          headers={'Accept': 'application/json'}, auth=False)
        check(status == 200, f'GET {path}: {status} {text[:300]}')
        return json.loads(text)

    def changes(self):
        return self.api('changes?order=changeid')['changes']


SAMPLE_FORM = {
    'author': 'Bob Dev <bob@example.com>', 'committer': 'Bob Dev <bob@example.com>',
    'comments': 'Fix the frobnicator', 'revision': '0123456789abcdef0123456789abcdef01234567',
    'branch': 'main', 'repository': 'https://git.example.invalid/proj.git', 'project': 'proj',
    'category': 'push', 'revlink': 'https://git.example.invalid/proj/commit/0123456',
    'files': json.dumps(['src/frob.c', 'README']),
    'properties': json.dumps({'ticket': 'BUG-7', 'priority': 3}), 'when_timestamp': '1700000000',
}

GITHUB_PUSH = {
    'ref': 'refs/heads/feature-x', 'created': False, 'deleted': False,
    'commits': [{'id': '2' * 40, 'distinct': True, 'message': 'Add feature x',
                 'timestamp': '2023-11-14T22:13:20Z',
                 'url': 'https://github.com/acme/proj/commit/2222222',
                 'author': {'name': 'Carol', 'email': 'carol@example.com'},
                 'committer': {'name': 'Carol', 'email': 'carol@example.com'},
                 'added': ['x.c'], 'removed': [], 'modified': ['Makefile']}],
    'head_commit': {'id': '2' * 40, 'message': 'Add feature x'},
    'repository': {'name': 'proj', 'full_name': 'acme/proj',
                   'html_url': 'https://github.com/acme/proj'},
    'sender': {'login': 'carol'},
}


def section_hooks(sc):
    samples = load_sample('change_hook_responses.json')
    form = urllib.parse.urlencode(SAMPLE_FORM)
    form_headers = {'Content-Type': 'application/x-www-form-urlencoded'}

    status, _, body, headers = sc.request('POST', '/change_hook/base', form, form_headers, auth=False)
    check(status == 401, f'without change_hook_auth credentials: {status} {body}')
    check(sc.changes() == [], 'a refused request stored a change')

    def same(sample, status, body, headers=None):
        want = samples[sample]
        check(status == want['status'] and body == want['body'],
              f'{sample}: {status} {body!r}, Buildbot {want["status"]} {want["body"]!r}')
        if headers is not None:
            check(headers.get('Content-Type', '').startswith('text/html'),
                  f'{sample}: content type {headers.get("Content-Type")}')

    status, _, body, headers = sc.request('POST', '/change_hook/base', form, form_headers)
    same('base_form_post', status, body, headers)
    status, _, body, _ = sc.request('GET', '/change_hook/base?comments=via+GET&branch=other&author=dave')
    same('base_get_query', status, body)

    payload = json.dumps(GITHUB_PUSH).encode()
    sha1 = 'sha1=' + hmac.new(SECRET.encode(), payload, hashlib.sha1).hexdigest()
    sha256 = 'sha256=' + hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    github = {'Content-Type': 'application/json', 'X-GitHub-Event': 'push'}
    status, _, body, _ = sc.request('POST', '/change_hook/github', payload,
                                    dict(github, **{'X-Hub-Signature': sha1}))
    same('github_push_good_signature', status, body)
    before = len(sc.changes())
    status, reason, body, _ = sc.request('POST', '/change_hook/github', payload,
                                         dict(github, **{'X-Hub-Signature': 'sha1=deadbeef'}))
    same('github_push_bad_signature', status, body)
    check(reason == 'Hash mismatch', f'reason phrase {reason!r}')
    status, _, body, _ = sc.request('POST', '/change_hook/github', payload, github)
    same('github_push_missing_signature_strict', status, body)
    status, _, body, _ = sc.request('POST', '/change_hook/github', payload,
                                    dict(github, **{'X-Hub-Signature-256': sha256}))
    check(status == 200 and body == '1 change found',
          f'X-Hub-Signature-256 alone (Kiln accepts it, Buildbot 3.7 does not): {status} {body}')
    ping = json.dumps({'zen': 'Keep it logically awesome.'}).encode()
    status, _, body, _ = sc.request('POST', '/change_hook/github', ping, dict(
        github, **{'X-GitHub-Event': 'ping', 'X-Hub-Signature':
                   'sha1=' + hmac.new(SECRET.encode(), ping, hashlib.sha1).hexdigest()}))
    same('github_ping', status, body)
    status, reason, body, _ = sc.request('POST', '/change_hook/gitlab', payload,
                                         {'Content-Type': 'application/json'})
    same('dialect_not_enabled', status, body)
    check(reason == samples['dialect_not_enabled']['reason'], f'reason phrase {reason!r}')
    status, _, body, _ = sc.request('POST', '/change_hook/base', '{"author": ',
                                    {'Content-Type': 'application/json'})
    check(status == 400 and 'Error loading JSON' in body, f'bad JSON: {status} {body}')
    after = len(sc.changes())
    check(after == before + 1, f'refused requests stored changes: {before} -> {after}')
    return ('base form/GET, GitHub sha1 and sha256, bad/missing signature, ping, dialect not '
            'enabled, 401 without credentials, bad JSON: as captured, nothing stored when refused')


def section_rest(sc):
    problems = []
    all_changes = sc.api('changes')
    compare_shape('GET_changes.json', load_sample('GET_changes.json'), all_changes, '', problems)
    one = sc.api('changes/1')
    compare_shape('GET_changes_1.json', load_sample('GET_changes_1.json'), one, '', problems)
    first = one['changes'][0]
    check(first['properties'] == {'priority': [3, 'Change'], 'ticket': ['BUG-7', 'Change']},
          f'properties of change 1: {first["properties"]}')
    check(first['files'] == ['src/frob.c', 'README'] and first['when_timestamp'] == 1700000000,
          f'change 1: {first}')
    ssid = first['sourcestamp']['ssid']
    stamp_changes = sc.api(f'sourcestamps/{ssid}/changes')
    compare_shape('GET_sourcestamps_2_changes.json', load_sample('GET_sourcestamps_2_changes.json'),
                  stamp_changes, '', problems)
    check(not problems, '\n'.join(problems))
    total = all_changes['meta']['total']
    ids = [c['changeid'] for c in all_changes['changes']]
    check(ids == sorted(ids, reverse=True), f'default order is newest first: {ids}')
    newest = sc.api('changes?order=-changeid&limit=1')
    check([c['changeid'] for c in newest['changes']] == [max(ids)] and
          newest['meta']['total'] == total, f'order=-changeid&limit=1: {newest}')
    limited = sc.api('changes?limit=1')
    check([c['changeid'] for c in limited['changes']] == [max(ids)],
          f'limit=1 gives the newest (Buildbot: the oldest): {limited}')
    ascending = sc.api('changes?order=changeid&field=changeid')
    check([c['changeid'] for c in ascending['changes']] == sorted(ids), 'order=changeid')
    properties = sc.api('changes/1/properties_list')
    check(len(properties['_properties']) == 2, f'properties_list: {properties}')
    return (f'GET_changes, GET_changes_1, GET_sourcestamps_2_changes shapes; {total} changes '
            'newest first; order=-changeid&limit=1 and limit=1 give the newest; properties_list')


def section_sendchange(sc):
    url = f'http://{HOST}:{sc.www_port}/'
    args = ['sendchange', '--master', url, '--who', 'Dana <dana@example.com>',
            '--repository', 'https://git.example.invalid/tool.git', '--branch', 'release',
            '--revision', 'abc123', '--comments', 'Release 1.0', '--category', 'release',
            '--project', 'tool', '--codebase', 'tools', '--files', 'a.c', '--files', 'b/c.h',
            '--property', 'ticket=REL-1', '--property', 'urgent=yes', '--when', '1700001234']
    rc, out = sc.master.cli(*args)
    check(rc != 0 and '401' in out, f'sendchange without --auth: rc {rc}: {out}')
    rc, out = sc.master.cli(*(args + ['--auth', f'{HOOK_USER}:{HOOK_PASSWORD}']))
    check(rc == 0 and '1 change found' in out, f'sendchange: rc {rc}: {out}')
    change = sc.changes()[-1]
    want = {'author': 'Dana <dana@example.com>', 'repository': 'https://git.example.invalid/tool.git',
            'branch': 'release', 'revision': 'abc123', 'comments': 'Release 1.0',
            'category': 'release', 'project': 'tool', 'codebase': 'tools',
            'files': ['a.c', 'b/c.h'], 'when_timestamp': 1700001234,
            'properties': {'ticket': ['REL-1', 'Change'], 'urgent': ['yes', 'Change']}}
    got = {key: change[key] for key in want}
    check(got == want, f'sendchange stored {got}')
    rc, out = sc.master.cli('sendchange', '--master', f'http://{HOST}:1/', '--who', 'x')
    check(rc != 0 and 'kiln sendchange' in out, f'unreachable master: rc {rc}: {out}')
    return 'all fields stored; 401 without --auth and an unreachable master exit non-zero'


def section_burst(sc):
    before = sc.api('changes?limit=1')['meta']['total']
    statuses = []
    lock = threading.Lock()

    def worker(index):
        connection = http.client.HTTPConnection(HOST, sc.www_port, timeout=60)
        mine = []
        for n in range(index, BURST, BURST_THREADS):
            body = urllib.parse.urlencode({'author': f'burst-{n}', 'comments': f'burst {n}',
                                           'revision': f'{n:040x}', 'branch': 'burst'})
            status, _, text, _ = sc.request('POST', '/change_hook/base', body,
                                            {'Content-Type': 'application/x-www-form-urlencoded'},
                                            connection=connection)
            mine.append((status, text))
        connection.close()
        with lock:
            statuses.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(BURST_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    bad = [s for s in statuses if s != (200, '1 change found')]
    check(len(statuses) == BURST and not bad, f'{len(bad)} bad answers, e.g. {bad[:3]}')
    after = sc.api('changes?limit=1')['meta']['total']
    check(after - before == BURST, f'{after - before} changes stored for {BURST} posts')
    burst = sc.api('changes?branch=burst&field=revision&field=branch&limit=2000')
    revisions = {c['revision'] for c in burst['changes']}
    check(len(revisions) == BURST, f'{len(revisions)} distinct revisions')
    return f'{BURST} posts from {BURST_THREADS} connections in {elapsed:.1f} s: {BURST} changes'


def polled(sc):
    # project is filtered in memory, so no page size applies (the burst made > 1000 changes)
    return sc.api('changes?project=polled&order=changeid')['changes']


def section_poller(sc):
    m = sc.master
    wait_for('the first poll', lambda: m.query(
        "select count(*) from object_state s join objects o on o.id = s.objectid "
        "where o.name = 'origin' and o.class_name = 'GitPoller'")[0][0] == 1, 30)
    check(polled(sc) == [], 'the first poll reported changes')
    one = sc.commit('src/one.c', 'int one;\n', 'Add one', 'Bob', 'bob@example.com')
    two = sc.commit('docs/two.md', 'two\n', 'Add two\n\nwith a body', 'Carol', 'carol@example.com')
    changes = wait_for('two polled changes', lambda: len(polled(sc)) >= 2 and polled(sc), 30)
    time.sleep(2.5)  # two more polls: nothing more may come
    changes = polled(sc)
    check([c['revision'] for c in changes] == [one, two], f'polled revisions {changes}')
    check(changes[0]['author'] == 'Bob <bob@example.com>' and changes[0]['files'] == ['src/one.c'],
          f'first polled change {changes[0]}')
    check(changes[1]['comments'] == 'Add two\n\nwith a body' and changes[1]['branch'] == 'main',
          f'second polled change {changes[1]}')
    check(changes[1]['parent_changeids'] == [changes[0]['changeid']], 'parent of the second')

    m.stop()
    three = sc.commit('three', '3\n', 'Add three')
    m.start()
    wait_for('the web server', lambda: rm.port_open(sc.www_port), 30)
    wait_for('the third polled change', lambda: len(polled(sc)) >= 3, 30)
    time.sleep(2.5)
    revisions = [c['revision'] for c in polled(sc)]
    check(revisions == [one, two, three], f'after a restart: {revisions}')

    # A reconfig that changes the poller restarts it; it still reports nothing twice.
    with open(os.path.join(m.dir, 'master.lua')) as f:
        text = f.read()
    m.write_config(text=text.replace('pollinterval = 1,', 'pollinterval = 2,'))
    rc, out = m.cli('reconfig', m.dir)
    check(rc == 0 and 'change source changed: origin' in out, f'reconfig: rc {rc}: {out}')
    four = sc.commit('four', '4\n', 'Add four')
    wait_for('the fourth polled change', lambda: len(polled(sc)) >= 4, 30)
    time.sleep(4.5)
    revisions = [c['revision'] for c in polled(sc)]
    check(revisions == [one, two, three, four], f'after a reconfig: {revisions}')
    return '1st poll: none; 2 commits -> 2 changes (revision, author, files, message); ' \
           'restart: the commit made meanwhile -> 1 change; reconfig restarts the poller; ' \
           'no duplicates'


SECTIONS = [('hooks', section_hooks), ('rest', section_rest), ('sendchange', section_sendchange),
            ('burst', section_burst), ('poller', section_poller)]


def main():
    return rm.main_with_sections(Scenario, SECTIONS, with_worker=False)

if __name__ == '__main__':
    sys.exit(main())
