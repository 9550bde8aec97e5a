#!/usr/bin/python3
"""The README's run command: starts a Kiln master (SQLite, the demo config below) and a local
kiln-worker on 127.0.0.1, creates a small git repository, forces a build of it, prints each
step's result, and keeps both running until Ctrl-C (--once stops after the build). The web UI
(--web-root, built by `tools/dev.sh run`) is at http://127.0.0.1:8010/ (--www-port).

Everything lives in build/demo/ (master/, worker/, repo/); a second run reuses it, so the
build history grows. `kiln force build/demo/master --builder demo` forces another build."""
import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import time

DEMO_CONFIG = r'''-- The demo master: one local worker, one builder that tests a small git repository.
local k = require "kiln"

return {
  title = "Kiln demo",
  url = "http://127.0.0.1:@WWW@/",
  db = { url = "sqlite:state.sqlite" },
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = {
    k.worker{ name = "local-worker", password = k.secret("local-worker"), max_builds = 2 },
  },
  builders = {
    k.builder{
      name = "demo",
      workers = { "local-worker" },
      properties = { repo_url = "@REPO@" },
      steps = {
        k.shell{ name = "checkout", workdir = ".",
                 command = k.interpolate("rm -rf build && git clone --quiet %(prop:repo_url)s build") },
        k.set_property_from_command{ name = "revision", property = "got_revision",
                                     command = { "git", "rev-parse", "HEAD" } },
        k.shell{ name = "test", command = { "sh", "test.sh" } },
        k.shell{ name = "report", command = k.interpolate("echo tested %(prop:got_revision)s on %(prop:workername)s"),
                 always_run = true },
      },
    },
  },
  schedulers = {
    k.force{ name = "force", builders = { "demo" } },
  },
}
'''

RESULTS = ['success', 'warnings', 'failure', 'skipped', 'exception', 'retry', 'cancelled']


def run(*args, **kwargs):
    return subprocess.run(list(args), check=True, **kwargs)


def make_repo(path):
    if os.path.isdir(os.path.join(path, '.git')):
        return
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, 'test.sh'), 'w') as f:
        f.write('#!/bin/sh\nset -e\necho "running the tests of $(basename $(pwd))"\n'
                'for i in 1 2 3; do echo "test $i: ok"; done\necho "3 tests passed"\n')
    with open(os.path.join(path, 'README'), 'w') as f:
        f.write('A tiny repository for the Kiln demo.\n')
    env = dict(os.environ, GIT_AUTHOR_NAME='Kiln Demo', GIT_AUTHOR_EMAIL='demo@example.invalid',
               GIT_COMMITTER_NAME='Kiln Demo', GIT_COMMITTER_EMAIL='demo@example.invalid')
    run('git', 'init', '--quiet', path)
    run('git', '-C', path, 'add', '.')
    run('git', '-C', path, 'commit', '--quiet', '-m', 'Initial commit', env=env)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f'demo: timed out waiting for {what}')


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('bindir', help='directory holding the kiln and kiln-worker binaries')
    parser.add_argument('--dir', default=None, help='demo directory (default: build/demo)')
    parser.add_argument('--once', action='store_true', help='stop after the demo build')
    parser.add_argument('--web-root', default=None,
                        help='the built web UI to serve at / (default: web/dist when it exists)')
    parser.add_argument('--www-port', type=int, default=8010, help='web UI and API port')
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    demo = os.path.abspath(args.dir or os.path.join(root, 'build', 'demo'))
    kiln = os.path.join(os.path.abspath(args.bindir), 'kiln')
    kiln_worker = os.path.join(os.path.abspath(args.bindir), 'kiln-worker')
    master_dir, worker_dir, repo = (os.path.join(demo, d) for d in ('master', 'worker', 'repo'))

    make_repo(repo)
    port = free_port()
    if not os.path.exists(os.path.join(master_dir, 'master.lua')):
        run(kiln, 'create-master', master_dir, stdout=subprocess.DEVNULL)
    else:
        # A demo directory left by an older Kiln: bring its database up to date, as
        # `kiln start` refuses an older schema.
        run(kiln, 'upgrade-master', master_dir, stdout=subprocess.DEVNULL)
    with open(os.path.join(master_dir, 'master.lua'), 'w') as f:
        f.write(DEMO_CONFIG.replace('@PORT@', str(port)).replace('@REPO@', repo)
                .replace('@WWW@', str(args.www_port)))
    run(kiln, 'checkconfig', master_dir)
    password = open(os.path.join(master_dir, 'secrets', 'local-worker')).read().strip()

    env = dict(os.environ, KILN_WORKER_BIND='127.0.0.1')
    web_root = os.path.abspath(args.web_root or os.path.join(root, 'web', 'dist'))
    if os.path.isfile(os.path.join(web_root, 'index.html')):
        env['KILN_WEB_ROOT'] = web_root
    else:
        print(f'demo: no web UI in {web_root} (`tools/dev.sh web` builds it); serving the API only')
    master_log = open(os.path.join(demo, 'master.log'), 'a')
    master = subprocess.Popen([kiln, 'start', master_dir, '--foreground'], env=env,
                              stdout=master_log, stderr=subprocess.STDOUT)
    worker = None
    try:
        wait_for(lambda: os.path.exists(os.path.join(master_dir, 'kiln.sock')), 30, 'the master')
        run(kiln_worker, 'create', worker_dir, '--master', f'127.0.0.1:{port}', '--name',
            'local-worker', '--password', password, '--force', stdout=subprocess.DEVNULL)
        worker_log = open(os.path.join(demo, 'worker.log'), 'a')
        worker = subprocess.Popen([kiln_worker, 'run', worker_dir], stdout=worker_log,
                                  stderr=subprocess.STDOUT)
        db = sqlite3.connect(os.path.join(master_dir, 'state.sqlite'), timeout=10)
        wait_for(lambda: db.execute('SELECT COUNT(*) FROM connected_workers').fetchone()[0], 30,
                 'the worker to connect')
        print(f'Kiln master in {master_dir} (workers connect to 127.0.0.1:{port}); '
              f'kiln-worker in {worker_dir}')
        print(f'Web UI: http://127.0.0.1:{args.www_port}/')
        out = run(kiln, 'force', master_dir, '--builder', 'demo', '--reason', 'demo',
                  capture_output=True, text=True).stdout
        bsid = int(out.split()[1])
        wait_for(lambda: db.execute('SELECT complete FROM buildsets WHERE id = ?',
                                    (bsid,)).fetchone()[0], 120, 'the demo build')
        build = db.execute(
            'SELECT b.id, b.number, b.results, b.state_string FROM builds b JOIN buildrequests r '
            'ON b.buildrequestid = r.id WHERE r.buildsetid = ? ORDER BY b.id DESC', (bsid,)).fetchone()
        print(f'build demo/{build[1]}: {RESULTS[build[2]]} ({build[3]})')
        for name, results, state in db.execute(
                'SELECT name, results, state_string FROM steps WHERE buildid = ? ORDER BY number',
                (build[0],)):
            print(f'  {name:20} {RESULTS[results] if results is not None else "-":10} {state}')
        if not args.once:
            print('running; `kiln force', master_dir, '--builder demo` forces another build; '
                  'Ctrl-C stops the master and the worker')
            try:
                master.wait()
            except KeyboardInterrupt:
                pass
        return 0 if build[2] == 0 else 1
    finally:
        for process in (worker, master):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == '__main__':
    sys.exit(main())
