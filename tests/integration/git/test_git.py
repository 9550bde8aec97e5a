#!/usr/bin/python3
"""The Git source step (k.git) against real git repositories, on kiln-worker and on the stock
Buildbot 3.7 worker, driven through a real kiln master's HTTP API.

An upstream repository (two commits on main, a branch `feature`, a submodule, a .gitignore)
is made in a temp dir; builders check it out in each mode and a shell step after the checkout
prints what the tree holds. Checked per builder (PASS/FAIL lines, then "N passed, N failed"):

  incremental  a second build fetches the new upstream commit into the same clone
  clobber      full/clobber: the tree is fresh each build (a marker file is gone)
  fresh        full/fresh: untracked and ignored files are removed (git clean -x)
  clean        full/clean: untracked files removed, ignored files kept
  copy         full/copy: `source` holds the clone, `build` a copy of it
  shallow      shallow = 1: one commit in the history
  submodules   the submodule's file is checked out
  revision     a forced revision (the first commit) is checked out; got_revision says so
  branch       a forced branch (feature) is checked out
  mirror       a per-worker mirror is created and the clone borrows from it (alternates)
  stock        incremental on the Buildbot 3.7 worker gives the same tree and got_revision
  bad-repo     an unreachable repository fails the step (FAILURE) after the configured retries

Usage: /usr/bin/python3 test_git.py --kiln build/dev/app/kiln --kiln-worker build/dev/app/kiln-worker
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'refmaster'))
import refmaster as rm  # noqa: E402  (test_master and test_api are importable then)
import test_master as tm  # noqa: E402
import test_api as ta  # noqa: E402
from refmaster import Failure, check, log  # noqa: E402



def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME='Ada', GIT_AUTHOR_EMAIL='ada@example.org',
               GIT_COMMITTER_NAME='Ada', GIT_COMMITTER_EMAIL='ada@example.org')
    done = subprocess.run(['git', '-c', 'protocol.file.allow=always', '-c', 'init.defaultBranch=main'] +
                          list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise Failure(f'git {" ".join(args)} failed: {done.stderr}')
    return done.stdout.strip()


def make_upstream(root):
    sub = os.path.join(root, 'sub')
    os.makedirs(sub)
    git(sub, 'init', '-q')
    with open(os.path.join(sub, 'subfile.txt'), 'w') as f:
        f.write('from the submodule\n')
    git(sub, 'add', '.')
    git(sub, 'commit', '-q', '-m', 'sub')
    up = os.path.join(root, 'upstream')
    os.makedirs(up)
    git(up, 'init', '-q')
    with open(os.path.join(up, 'a.txt'), 'w') as f:
        f.write('one\n')
    with open(os.path.join(up, '.gitignore'), 'w') as f:
        f.write('*.log\n')
    git(up, 'add', '.')
    git(up, 'commit', '-q', '-m', 'first')
    first = git(up, 'rev-parse', 'HEAD')
    git(up, 'submodule', 'add', '-q', sub, 'sub')
    with open(os.path.join(up, 'a.txt'), 'w') as f:
        f.write('two\n')
    git(up, 'commit', '-q', '-am', 'second')
    git(up, 'checkout', '-q', '-b', 'feature')
    with open(os.path.join(up, 'f.txt'), 'w') as f:
        f.write('feature\n')
    git(up, 'add', 'f.txt')
    git(up, 'commit', '-q', '-m', 'feature')
    git(up, 'checkout', '-q', 'main')
    return up, first


# What each builder's shell step prints after the checkout (tree facts, one per line).
SHOW = ('echo "a=$(cat a.txt)"; echo "count=$(git rev-list --count HEAD)"; '
        'echo "branch=$(git rev-parse --abbrev-ref HEAD)"; '
        'for f in f.txt junk.txt keep.log sub/subfile.txt .git/objects/info/alternates; do '
        '[ -e "$f" ] && echo "has=$f"; done; touch junk.txt keep.log')


def config(port, www, upstream, mirror_dir):
    def builder(name, worker, repourl=upstream, **git_args):
        args = ', '.join(f'{k} = {v}' for k, v in git_args.items())
        return (f'k.builder{{ name = "{name}", workers = {{ "{worker}" }}, steps = {{\n'
                f'  k.git{{ repourl = "{repourl}", {args} }},\n'
                f'  k.shell{{ name = "show", command = {json.dumps(SHOW)} }} }} }}')
    builders = [
        builder('incremental', 'kw', mode='"incremental"', branch='"main"'),
        builder('clobber', 'kw', mode='"full"', method='"clobber"'),
        builder('fresh', 'kw', mode='"full"', method='"fresh"'),
        builder('clean', 'kw', mode='"full"', method='"clean"'),
        builder('copy', 'kw', mode='"full"', method='"copy"'),
        # git ignores --depth for plain local paths: a file:// URL makes it a real fetch.
        builder('shallow', 'kw', repourl='file://' + upstream, mode='"full"',
                method='"clobber"', shallow='1'),
        # git >= 2.38.1 refuses file:// submodules unless protocol.file.allow says so.
        builder('submodules', 'kw', mode='"full"', method='"clobber"', submodules='true',
                env='{ GIT_CONFIG_COUNT = "1", GIT_CONFIG_KEY_0 = "protocol.file.allow", '
                    'GIT_CONFIG_VALUE_0 = "always" }'),
        builder('revision', 'kw', mode='"full"', method='"clobber"'),
        builder('branch', 'kw', mode='"full"', method='"clobber"'),
        builder('mirror', 'kw', mode='"full"', method='"clobber"', mirror=json.dumps(mirror_dir)),
        builder('stock', 'sw', mode='"incremental"', branch='"main"'),
    ]
    bad = ('k.builder{ name = "bad-repo", workers = { "kw" }, steps = {\n'
           '  k.git{ repourl = "/nonexistent/repo.git", mode = "full", method = "clobber", '
           'retry = { 1, 1 } } } }')
    names = ', '.join(f'"{n}"' for n in ['incremental', 'clobber', 'fresh', 'clean', 'copy',
                                          'shallow', 'submodules', 'revision', 'branch',
                                          'mirror', 'stock', 'bad-repo'])
    builder_text = ',\n'.join(builders)
    return f'''
local k = require "kiln"
return {{
  url = "http://127.0.0.1:{www}/",
  protocols = {{ worker = {{ port = {port} }} }},
  www = {{ port = {www} }},
  workers = {{ k.worker{{ name = "kw", password = "{tm.PASSWORD}", max_builds = 4 }},
               k.worker{{ name = "sw", password = "{tm.PASSWORD}" }} }},
  builders = {{
{builder_text},
{bad}
  }},
  schedulers = {{ k.force{{ name = "force", builders = {{ {names} }} }} }},
}}
'''


class GitTest:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-git-')
        self.args = args
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.workers = []
        self.api = None

    def start(self):
        self.upstream, self.first = make_upstream(self.root)
        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master: {out}')
        m.port, self.www = rm.free_ports(2)
        self.mirror = os.path.join(self.root, 'kw', 'mirror.git')
        m.write_config(text=config(m.port, self.www, self.upstream, self.mirror))
        m.start()
        self.api = ta.Api(self.www)
        ta.wait_for('the web server', lambda: rm.port_open(self.www), 30)
        for kind, name in (('kiln', 'kw'), ('stock', 'sw')):
            w = tm.Worker(kind, name, os.path.join(self.root, name), self.args.kiln_worker)
            w.create(m.port)
            w.start()
            self.workers.append(w)
        m.wait_connected(['kw', 'sw'], self.workers)

    def stop(self):
        for w in self.workers:
            w.stop()
        self.master.stop()
        if self.args.keep:
            log(f'kept {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def build(self, builder, **fields):
        params = {'builderNames': [builder]}
        params.update(fields)
        status, reply = self.api.rpc('forceschedulers/force', 'force', params)
        check(status == 200, f'force {builder}: {status} {reply}')
        bsid = reply['result'][0]

        def done():
            builds = self.api.data(f'builds?buildrequestid={list(reply["result"][1].values())[0]}')['builds']
            return builds[0] if builds and builds[0]['complete'] else None
        build = ta.wait_for(f'build of {builder} (buildset {bsid})', done, 120)
        facts = {}
        steps = self.api.data(f'builds/{build["buildid"]}/steps')['steps']
        if any(s['name'] == 'show' and s['results'] is not None for s in steps):
            lines = self.api.data(f'builds/{build["buildid"]}/steps/show/logs/stdio/contents')[
                'logchunks'][0]['content'].split('\n')
            for line in lines:
                if line.startswith('o') and '=' in line:
                    key, value = line[1:].split('=', 1)
                    facts.setdefault(key, []).append(value)
        props = self.api.data(f'builds/{build["buildid"]}?property=got_revision')['builds'][0]['properties']
        build['got_revision'] = props.get('got_revision', [None])[0]
        build['facts'] = facts
        return build

    def ok(self, builder, **fields):
        build = self.build(builder, **fields)
        if build['results'] != 0:
            git_log = self.api.data(f'builds/{build["buildid"]}/steps/git/logs/stdio/contents')[
                'logchunks'][0]['content']
            raise Failure(f'{builder}: results {build["results"]} ({build["state_string"]})\n'
                          f'{git_log[-3000:]}')
        return build


def upstream_head(t):
    return git(t.upstream, 'rev-parse', 'HEAD')


def incremental(t):
    head = upstream_head(t)
    b1 = t.ok('incremental')
    check(b1['facts']['a'] == ['two'] and b1['got_revision'] == head, f'first: {b1}')
    with open(os.path.join(t.upstream, 'a.txt'), 'w') as f:
        f.write('three\n')
    git(t.upstream, 'commit', '-q', '-am', 'third')
    new_head = git(t.upstream, 'rev-parse', 'HEAD')
    b2 = t.ok('incremental')
    check(b2['facts']['a'] == ['three'] and b2['got_revision'] == new_head, f'second: {b2}')
    check('junk.txt' in b2['facts'].get('has', []), 'incremental keeps untracked files')
    return f'fetched {new_head[:8]} into the same clone'


def twice(t, builder):
    t.ok(builder)
    return t.ok(builder)['facts'].get('has', [])


def clobber(t):
    has = twice(t, 'clobber')
    check('junk.txt' not in has and 'keep.log' not in has, f'clobber left {has}')
    return 'fresh tree each build'


def fresh(t):
    has = twice(t, 'fresh')
    check('junk.txt' not in has and 'keep.log' not in has, f'fresh left {has}')
    return 'untracked and ignored files removed'


def clean(t):
    has = twice(t, 'clean')
    check('junk.txt' not in has and 'keep.log' in has, f'clean: {has}')
    return 'untracked removed, ignored kept'


def copy(t):
    b = t.ok('copy')
    check(b['facts']['a'] == ['three'], f'copy: {b["facts"]}')
    source = os.path.join(t.root, 'kw', 'copy', 'source', '.git')
    check(os.path.isdir(source), f'no clone in {source}')
    return 'source cloned, build copied'


def shallow(t):
    b = t.ok('shallow')
    check(b['facts']['count'] == ['1'], f'shallow history: {b["facts"]}')
    return 'one commit fetched'


def submodules(t):
    b = t.ok('submodules')
    check('sub/subfile.txt' in b['facts'].get('has', []), f'submodule: {b["facts"]}')
    return 'submodule checked out'


def revision(t):
    b = t.ok('revision', revision=t.first)
    check(b['facts']['a'] == ['one'] and b['got_revision'] == t.first, f'revision: {b}')
    return f'checked out {t.first[:8]}'


def branch(t):
    b = t.ok('branch', branch='feature')
    check('f.txt' in b['facts'].get('has', []) and b['facts']['branch'] == ['feature'],
          f'branch: {b["facts"]}')
    return 'feature checked out'


def mirror(t):
    b = t.ok('mirror')
    check(os.path.exists(os.path.join(t.mirror, 'HEAD')), 'no mirror')
    check('.git/objects/info/alternates' in b['facts'].get('has', []), f'{b["facts"]}')
    b2 = t.ok('mirror')
    check(b2['got_revision'] == upstream_head(t), f'mirror second build: {b2}')
    return 'mirror created and borrowed from'


def stock(t):
    b = t.ok('stock')
    check(b['facts']['a'] == ['three'] and b['got_revision'] == upstream_head(t), f'stock: {b}')
    return 'same tree on buildbot-worker 3.7'


def bad_repo(t):
    b = t.build('bad-repo')
    check(b['results'] == 2, f'bad repo should fail: {b}')
    text = t.api.data(f'builds/{b["buildid"]}/steps/git/logs/stdio/contents')[
        'logchunks'][0]['content']
    check('retrying in 1 s' in text, 'no retry in the log')
    return 'FAILURE after one retry'


SECTIONS = [
    ('incremental', incremental),
    ('clobber', clobber),
    ('fresh', fresh),
    ('clean', clean),
    ('copy', copy),
    ('shallow', shallow),
    ('submodules', submodules),
    ('revision', revision),
    ('branch', branch),
    ('mirror', mirror),
    ('stock', stock),
    ('bad-repo', bad_repo),
]


def main():
    return rm.main_with_sections(GitTest, SECTIONS)


if __name__ == '__main__':
    sys.exit(main())
