#!/usr/bin/python3
"""Writes spec/application.spec.json: what a running Kiln master serves at
GET /api/v2/application.spec (every REST path pattern with its resource type and fields).

It starts a throwaway master (temp dir, SQLite, web server and worker port on 127.0.0.1, no
worker), reads the spec, stops the master and removes the temp dir. The UI's TypeScript types
are generated from the file (web/scripts/gen-types.mjs), so spec/ is the contract between
src/www/ and web/.

Usage: tools/gen_spec.py [--kiln build/dev/app/kiln] [--check]
  --check   do not write; exit 1 when spec/application.spec.json differs from the master's
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, 'spec', 'application.spec.json')

CONFIG = r'''
local k = require "kiln"
return {
  title = "spec",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = { k.worker{ name = "w", password = "unused" } },
  builders = { k.builder{ name = "b", workers = { "w" }, steps = { k.shell{ command = "true" } } } },
  schedulers = { k.force{ name = "force", builders = { "b" } } },
}
'''


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(('127.0.0.1', 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def fetch_spec(kiln):
    root = tempfile.mkdtemp(prefix='kiln-spec-')
    master_dir = os.path.join(root, 'master')
    env = dict(os.environ, KILN_WORKER_BIND='127.0.0.1', KILN_WWW_BIND='127.0.0.1')
    process = None
    try:
        subprocess.run([kiln, 'create-master', master_dir], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        port, www = free_ports(2)
        with open(os.path.join(master_dir, 'master.lua'), 'w') as f:
            f.write(CONFIG.replace('@PORT@', str(port)).replace('@WWW@', str(www)))
        log = open(os.path.join(root, 'kiln.log'), 'w')
        process = subprocess.Popen([kiln, 'start', master_dir, '--foreground'], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        url = f'http://127.0.0.1:{www}/api/v2/application.spec'
        while True:
            try:
                request = urllib.request.Request(url, headers={'Accept': 'application/json'})
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.loads(response.read())
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    with open(os.path.join(root, 'kiln.log')) as f:
                        sys.stderr.write(f.read()[-3000:])
                    raise SystemExit('gen_spec: the master did not serve application.spec')
                time.sleep(0.2)
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--kiln', default=os.path.join(ROOT, 'build', 'dev', 'app', 'kiln'))
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()
    text = json.dumps(fetch_spec(os.path.abspath(args.kiln)), indent=2, sort_keys=True) + '\n'
    if args.check:
        current = open(SPEC).read() if os.path.exists(SPEC) else ''
        if current != text:
            print('gen_spec: spec/application.spec.json is out of date; run tools/gen_spec.py',
                  file=sys.stderr)
            return 1
        print('gen_spec: spec/application.spec.json is current')
        return 0
    os.makedirs(os.path.dirname(SPEC), exist_ok=True)
    with open(SPEC, 'w') as f:
        f.write(text)
    print(f'gen_spec: wrote {os.path.relpath(SPEC, ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
