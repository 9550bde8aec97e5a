#!/usr/bin/python3
"""Commit -> change -> scheduler -> builds, end to end (issue #4), with real git repositories,
a real kiln master and a real kiln-worker, driven only through git, HTTP and the REST API.

Repositories (temp dir): a bare `upstream.git` (served as file://...) and a working clone
`work` that commits and pushes. Each commit writes content.txt with a text unique to it.

master.lua:
  change hooks  base, github (secret, strict), gitlab (token)
  git poller    on upstream.git, branch `polled` only, every second
  schedulers    `main`: k.single_branch without tree-stable timer, branches main and polled
                -> builders `alpha` and `beta`;
                `stable`: k.single_branch on branch `burst`, tree_stable_timer = 2 -> `gamma`
  builders      k.git{ repourl = "file://.../upstream.git" } then a shell step `show` that
                prints `git rev-parse HEAD` and `cat content.txt`

Checked (PASS/FAIL lines, then "N passed, N failed"):
  base      a commit pushed to main and posted to /change_hook/base (form)   } each: exactly
  github    one posted as a GitHub push, signed with X-Hub-Signature-256      } one build per
  gitlab    one posted as a GitLab push with its X-Gitlab-Token               } builder (alpha,
  poller    one pushed to `polled`, found by the git poller                   } beta), SUCCESS,
            got_revision (GET /api/v2/builds/N/properties) == the commit's sha, and the
            step log shows that sha and the commit's content.txt (for the hooks, a newer
            commit is pushed on top before posting: the posted revision is built, not the tip)
  burst     4 commits pushed to `burst`, each posted to the base hook within the 2 s
            tree-stable timer: one build of gamma, at the newest commit
  refused   bad GitHub signature, missing signature, unknown GitHub event, bad JSON (base,
            gitlab), wrong GitLab token, unknown GitLab event: each a 4xx, no change stored;
            a good hook posted afterwards is built, and no build came from the refused ones
  totals    at the end: every commit built exactly once per builder, nothing else built

Conditions are awaited by polling the REST API with a deadline; "nothing more" is shown with
a barrier (a later change that schedulers handle after the earlier ones, in change order).

Usage: /usr/bin/python3 test_flow.py --kiln build/dev/app/kiln --kiln-worker build/dev/app/kiln-worker
"""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'refmaster'))
import refmaster as rm  # noqa: E402  (test_master and test_api are importable then)
import test_master as tm  # noqa: E402
import test_api as ta  # noqa: E402
from refmaster import Failure, check, log  # noqa: E402

GITHUB_SECRET = 'gh-sekrit'
GITLAB_TOKEN = 'gl-token'
MAIN_BUILDERS = ('alpha', 'beta')
BURST = 4
SHOW = 'git rev-parse HEAD; cat content.txt'


def config(port, www, upstream_url):
    def builder(name):
        return (f'k.builder{{ name = "{name}", workers = {{ "kw" }}, steps = {{\n'
                f'      k.git{{ repourl = "{upstream_url}", mode = "full", method = "fresh" }},\n'
                f'      k.shell{{ name = "show", command = {json.dumps(SHOW)} }} }} }}')
    builders = ',\n    '.join(builder(n) for n in MAIN_BUILDERS + ('gamma',))
    return f'''
local k = require "kiln"
return {{
  title = "flow e2e",
  url = "http://127.0.0.1:{www}/",
  protocols = {{ worker = {{ port = {port} }} }},
  www = {{
    port = {www},
    change_hook = {{
      base = true,
      github = {{ secret = k.secret("github-hook"), strict = true }},
      gitlab = {{ secret = k.secret("gitlab-hook") }},
    }},
  }},
  change_sources = {{
    k.git_poller{{ name = "upstream", repourl = "{upstream_url}", branches = {{ "polled" }},
                  pollinterval = 1, poll_at_launch = true, project = "polled" }},
  }},
  workers = {{ k.worker{{ name = "kw", password = "{tm.PASSWORD}", max_builds = 4 }} }},
  builders = {{
    {builders},
  }},
  schedulers = {{
    k.single_branch{{ name = "main", builders = {{ "alpha", "beta" }},
                     change_filter = k.change_filter{{ branch = {{ "main", "polled" }} }} }},
    k.single_branch{{ name = "stable", builders = {{ "gamma" }}, branch = "burst",
                     tree_stable_timer = 2 }},
  }},
}}
'''


def git(cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith('GIT_')}
    env.update(GIT_AUTHOR_NAME='Ada', GIT_AUTHOR_EMAIL='ada@example.org',
               GIT_COMMITTER_NAME='Ada', GIT_COMMITTER_EMAIL='ada@example.org',
               GIT_CONFIG_NOSYSTEM='1', HOME=cwd)
    done = subprocess.run(['git', '-c', 'init.defaultBranch=main'] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise Failure(f'git {" ".join(args)} failed: {done.stderr}')
    return done.stdout.strip()


class FlowTest:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-flow-')
        self.args = args
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.workers = []
        self.api = None
        self.upstream = os.path.join(self.root, 'upstream.git')
        self.upstream_url = 'file://' + self.upstream
        self.work = os.path.join(self.root, 'work')
        self.expected = {}   # builder -> [sha, ...] it must have built, once each
        self.builderids = {}
        self.properties_cache = {}

    # -- repositories
    def make_repos(self):
        os.makedirs(self.upstream)
        git(self.upstream, 'init', '-q', '--bare')
        git(self.root, 'clone', '-q', self.upstream_url, self.work)
        self.commit('main', 'initial')
        git(self.work, 'push', '-q', 'origin', 'main:polled', 'main:burst')

    def commit(self, branch, label):
        """A commit on `branch` of the working clone, pushed upstream: (sha, content)."""
        current = git(self.work, 'branch', '--show-current')
        if current != branch:
            exists = git(self.work, 'branch', '--list', branch)
            if exists:
                git(self.work, 'checkout', '-q', branch)
            elif git(self.work, 'ls-remote', '--heads', 'origin', branch):
                git(self.work, 'checkout', '-q', '-b', branch, f'origin/{branch}')
            else:
                git(self.work, 'checkout', '-q', '-b', branch)
        content = f'{label} {uuid.uuid4().hex}'
        with open(os.path.join(self.work, 'content.txt'), 'w') as f:
            f.write(content + '\n')
        git(self.work, 'add', 'content.txt')
        git(self.work, 'commit', '-q', '-m', f'{label}\n\non {branch}')
        sha = git(self.work, 'rev-parse', 'HEAD')
        git(self.work, 'fetch', '-q', 'origin')
        git(self.work, 'push', '-q', 'origin', f'{branch}:{branch}')
        return sha, content

    # -- processes
    def start(self):
        self.make_repos()
        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master: {out}')
        for name, value in (('github-hook', GITHUB_SECRET), ('gitlab-hook', GITLAB_TOKEN)):
            with open(os.path.join(m.dir, 'secrets', name), 'w') as f:
                f.write(value + '\n')
        m.port, self.www = rm.free_ports(2)
        m.write_config(text=config(m.port, self.www, self.upstream_url))
        m.start()
        self.api = ta.Api(self.www)
        ta.wait_for('the web server', lambda: rm.port_open(self.www), 30)
        w = tm.Worker('kiln', 'kw', os.path.join(self.root, 'kw'), self.args.kiln_worker)
        w.create(m.port)
        w.start()
        self.workers.append(w)
        m.wait_connected(['kw'], self.workers)
        for name in MAIN_BUILDERS + ('gamma',):
            self.builderids[name] = self.api.data(f'builders/{name}')['builders'][0]['builderid']
            self.expected[name] = []

    def stop(self):
        for w in self.workers:
            w.stop()
        self.master.stop()
        if self.args.keep:
            log(f'kept {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- HTTP
    def post(self, path, body, headers):
        status, _, text = self.api.request('POST', path, body, headers)
        return status, text

    def change_count(self):
        return self.api.data('changes?limit=1')['meta']['total']

    def changes_with(self, sha):
        return [c for c in self.api.data('changes?order=changeid')['changes']
                if c['revision'] == sha]

    # -- builds
    def builds(self, builder):
        return self.api.data(f'builders/{self.builderids[builder]}/builds?order=buildid')['builds']

    def properties(self, build):
        cached = self.properties_cache.get(build['buildid'])
        if cached is not None:
            return cached
        props = self.api.data(f'builds/{build["buildid"]}/properties')['properties'][0]
        if build['complete']:
            self.properties_cache[build['buildid']] = props
        return props

    def builds_of(self, builder, sha):
        """Builds of `builder` whose sourcestamp revision is `sha`."""
        found = []
        for build in self.builds(builder):
            revision = self.properties(build).get('revision', [None])[0]
            if revision == sha:
                found.append(build)
        return found

    def wait_built(self, builder, sha, timeout=120):
        def done():
            builds = self.builds_of(builder, sha)
            return builds if builds and all(b['complete'] for b in builds) else None
        return ta.wait_for(f'a finished build of {builder} at {sha[:12]}', done, timeout)

    def show_log(self, build):
        chunks = self.api.data(f'builds/{build["buildid"]}/steps/show/logs/stdio/contents')[
            'logchunks']
        text = ''.join(c['content'] for c in chunks)
        return [line[1:] for line in text.split('\n') if line.startswith('o')]

    def check_build(self, builder, build, sha, content):
        check(build['results'] == 0,
              f'{builder} #{build["number"]}: results {build["results"]} ({build["state_string"]})')
        got = self.properties(build).get('got_revision', [None])[0]
        check(got == sha, f'{builder} #{build["number"]}: got_revision {got}, expected {sha}')
        lines = self.show_log(build)
        check(lines[:2] == [sha, content],
              f'{builder} #{build["number"]}: show log {lines}, expected {[sha, content]}')

    def expect_one_build_each(self, sha, content, builders=MAIN_BUILDERS):
        numbers = []
        for builder in builders:
            builds = self.wait_built(builder, sha)
            check(len(builds) == 1, f'{builder}: {len(builds)} builds of {sha[:12]}')
            self.check_build(builder, builds[0], sha, content)
            self.expected[builder].append(sha)
            numbers.append(f'{builder} #{builds[0]["number"]}')
        return ', '.join(numbers)


# -- payloads -----------------------------------------------------------------------------------
def base_form(sha, label, branch='main'):
    return urllib.parse.urlencode({
        'author': 'Ada <ada@example.org>', 'comments': label, 'revision': sha, 'branch': branch,
        'repository': 'file:///upstream.git', 'project': 'flow', 'files': json.dumps(['content.txt'])})


FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def github_push(sha, label, branch='main'):
    return json.dumps({
        'ref': f'refs/heads/{branch}', 'before': '0' * 39 + '1', 'after': sha,
        'created': False, 'deleted': False,
        'commits': [{'id': sha, 'distinct': True, 'message': label,
                     'timestamp': '2026-01-02T03:04:05Z',
                     'url': f'https://github.com/acme/flow/commit/{sha}',
                     'author': {'name': 'Ada', 'email': 'ada@example.org'},
                     'committer': {'name': 'Ada', 'email': 'ada@example.org'},
                     'added': [], 'removed': [], 'modified': ['content.txt']}],
        'head_commit': {'id': sha, 'message': label},
        'repository': {'name': 'flow', 'full_name': 'acme/flow',
                       'html_url': 'https://github.com/acme/flow'},
        'sender': {'login': 'ada'}}).encode()


def github_headers(payload, event='push', secret=GITHUB_SECRET):
    signature = 'sha256=' + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return {'Content-Type': 'application/json', 'X-GitHub-Event': event,
            'X-Hub-Signature-256': signature}


def gitlab_push(sha, label, branch='main', kind='push'):
    return json.dumps({
        'object_kind': kind, 'event_name': kind, 'before': '0' * 39 + '1', 'after': sha,
        'ref': f'refs/heads/{branch}', 'checkout_sha': sha, 'user_name': 'Ada',
        'project': {'name': 'flow', 'web_url': 'https://gitlab.example.org/acme/flow'},
        'repository': {'name': 'flow', 'url': 'git@gitlab.example.org:acme/flow.git',
                       'homepage': 'https://gitlab.example.org/acme/flow'},
        'commits': [{'id': sha, 'message': label, 'timestamp': '2026-01-02T03:04:05+00:00',
                     'url': f'https://gitlab.example.org/acme/flow/-/commit/{sha}',
                     'author': {'name': 'Ada', 'email': 'ada@example.org'},
                     'added': [], 'modified': ['content.txt'], 'removed': []}],
        'total_commits_count': 1}).encode()


def gitlab_headers(token=GITLAB_TOKEN, event='Push Hook'):
    return {'Content-Type': 'application/json', 'X-Gitlab-Event': event, 'X-Gitlab-Token': token}


# -- checks ---------------------------------------------------------------------------------------
def hooked(t, label, post):
    sha, content = t.commit('main', label)
    # A newer commit on top, not posted: the build must check out `sha`, not the tip.
    t.commit('main', f'{label} (later, not posted)')
    status, text = post(sha, label)
    check(status == 200 and text == '1 change found', f'{label} hook: {status} {text!r}')
    changes = t.changes_with(sha)
    check(len(changes) == 1, f'{len(changes)} changes with revision {sha[:12]}')
    return f'change {changes[0]["changeid"]} -> ' + t.expect_one_build_each(sha, content)


def base(t):
    return hooked(t, 'base', lambda sha, label: t.post(
        '/change_hook/base', base_form(sha, label), FORM))


def github(t):
    def post(sha, label):
        payload = github_push(sha, label)
        return t.post('/change_hook/github', payload, github_headers(payload))
    return hooked(t, 'github', post)


def gitlab(t):
    return hooked(t, 'gitlab', lambda sha, label: t.post(
        '/change_hook/gitlab', gitlab_push(sha, label), gitlab_headers()))


def poller(t):
    m = t.master
    ta.wait_for('the first poll', lambda: m.query(
        "select count(*) from object_state s join objects o on o.id = s.objectid "
        "where o.name = 'upstream' and o.class_name = 'GitPoller'")[0][0] == 1, 30)
    before = t.change_count()
    sha, content = t.commit('polled', 'polled')
    changes = ta.wait_for('the polled change', lambda: t.changes_with(sha), 30)
    check(len(changes) == 1 and changes[0]['branch'] == 'polled' and
          changes[0]['project'] == 'polled', f'polled changes: {changes}')
    detail = t.expect_one_build_each(sha, content)
    check(t.change_count() == before + 1, f'{t.change_count() - before} changes polled')
    return f'change {changes[0]["changeid"]} -> {detail}'


def burst(t):
    before = len(t.builds('gamma'))
    commits = []
    for n in range(BURST):
        commits.append(t.commit('burst', f'burst-{n}'))
    started = time.monotonic()
    for n, (sha, _) in enumerate(commits):
        status, text = t.post('/change_hook/base', base_form(sha, f'burst-{n}', 'burst'), FORM)
        check(status == 200, f'burst hook {n}: {status} {text}')
    posted_in = time.monotonic() - started
    newest, content = commits[-1]
    builds = t.wait_built('gamma', newest)
    check(len(builds) == 1, f'{len(builds)} builds at the newest burst commit')
    t.check_build('gamma', builds[0], newest, content)
    t.expected['gamma'].append(newest)
    # The build came after the timer, so every burst change was seen before it fired.
    all_builds = t.builds('gamma')
    check(len(all_builds) == before + 1,
          f'{len(all_builds) - before} builds of gamma for {BURST} commits '
          f'(posted in {posted_in:.1f} s)')
    buildset = t.api.data(f'buildrequests/{builds[0]["buildrequestid"]}')['buildrequests'][0]
    stamps = t.api.data(f'buildsets/{buildset["buildsetid"]}')['buildsets'][0]['sourcestamps']
    check([s['revision'] for s in stamps] == [newest], f'buildset stamps {stamps}')
    return (f'{BURST} commits posted in {posted_in:.1f} s -> 1 build (gamma '
            f'#{builds[0]["number"]}) at {newest[:12]}')


def refused(t):
    sha, content = t.commit('main', 'refused')
    changes_before = t.change_count()
    builds_before = {b: len(t.builds(b)) for b in MAIN_BUILDERS}
    payload = github_push(sha, 'refused')
    issues = json.dumps({'action': 'opened', 'issue': {'number': 1}}).encode()
    attempts = [
        ('github bad signature', '/change_hook/github', payload,
         github_headers(payload, secret='wrong')),
        ('github missing signature', '/change_hook/github', payload,
         {'Content-Type': 'application/json', 'X-GitHub-Event': 'push'}),
        ('github unknown event', '/change_hook/github', issues,
         github_headers(issues, event='issues')),
        ('github bad JSON', '/change_hook/github', b'{"ref": ',
         github_headers(b'{"ref": ')),
        ('base bad JSON', '/change_hook/base', '{"revision": ',
         {'Content-Type': 'application/json'}),
        ('gitlab wrong token', '/change_hook/gitlab', gitlab_push(sha, 'refused'),
         gitlab_headers(token='nope')),
        ('gitlab unknown event', '/change_hook/gitlab', gitlab_push(sha, 'x', kind='wiki_page'),
         gitlab_headers(event='Wiki Page Hook')),
        ('gitlab bad JSON', '/change_hook/gitlab', '[1, 2', gitlab_headers()),
        ('unknown dialect', '/change_hook/bitbucket', payload, {'Content-Type': 'application/json'}),
    ]
    answers = []
    for name, path, body, headers in attempts:
        status, text = t.post(path, body, headers)
        check(400 <= status < 500, f'{name}: {status} {text!r}')
        check(t.change_count() == changes_before, f'{name} stored a change')
        answers.append(f'{name} {status}')
    check(t.changes_with(sha) == [], 'a refused hook stored the commit')
    # The barrier: the same commit posted properly is built; schedulers take changes in
    # order, so a build from a refused hook would have come first.
    status, text = t.post('/change_hook/github', payload, github_headers(payload))
    check(status == 200 and text == '1 change found', f'good hook: {status} {text}')
    t.expect_one_build_each(sha, content)
    for builder in MAIN_BUILDERS:
        count = len(t.builds(builder))
        check(count == builds_before[builder] + 1,
              f'{builder}: {count - builds_before[builder]} builds after the refused hooks')
    return '; '.join(answers) + '; no change, no build'


def totals(t):
    # A last change as barrier, then every builder's builds are accounted for.
    sha, content = t.commit('main', 'last')
    status, text = t.post('/change_hook/base', base_form(sha, 'last'), FORM)
    check(status == 200, f'last hook: {status} {text}')
    t.expect_one_build_each(sha, content)
    counts = []
    for builder, shas in t.expected.items():
        builds = t.builds(builder)
        revisions = [t.properties(b).get('got_revision', [None])[0] for b in builds]
        check(sorted(revisions) == sorted(shas),
              f'{builder}: built {revisions}, expected each of {shas} once')
        counts.append(f'{builder} {len(builds)}')
    return 'builds: ' + ', '.join(counts) + ', one per commit each'


SECTIONS = [
    ('base', base),
    ('github', github),
    ('gitlab', gitlab),
    ('poller', poller),
    ('burst', burst),
    ('refused', refused),
    ('totals', totals),
]


def main():
    return rm.main_with_sections(FlowTest, SECTIONS)


if __name__ == '__main__':
    sys.exit(main())
