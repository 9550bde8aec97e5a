#!/usr/bin/python3
"""Authorization matrix: roles x actions x builders, over REST, JSON-RPC and /ws, against
a real kiln master (users file, argon2id passwords) and a real kiln-worker.

Users: alice (group kiln-admins), bob (kiln-devs), carol (kiln-releasers) and anonymous.
Builders: runtests, release, and secret (visible to admins only). Rules (first match decides):

  any      admins (default_deny = false: others fall through to the next rules)
  force    release: releasers; runtests: devs
  stop     runtests: devs; release: the build's owner (default_deny = false: falls through)
  rebuild  runtests: devs
  cancel   runtests: devs
  anything else (workers, schedulers, shutdown, and the cells above not granted): admins

For every (user, action, builder) cell the JSON-RPC answer must be 200 when the rule grants
it, 404 when the user may not see the builder, 403 otherwise, and the state read back as
alice must show that the action happened exactly when it was allowed. Reads: every list,
entity, count, nested path and live stream shows the hidden builder to alice only. The last
check shuts the master down through the API (allowed for alice only) and sees the process exit.

Usage: /usr/bin/python3 test_authz.py --kiln build/dev/app/kiln --kiln-worker .../kiln-worker
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
from refmaster import log  # noqa: E402
from test_api import Api, WebSocket, basic, check, wait_for  # noqa: E402


CONFIG = r'''
local k = require "kiln"
local sleepy = { k.shell{ name = "work", command = k.interpolate("sleep %(prop:sleep)s") } }
return {
  title = "authorization matrix",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@,
    auth = k.auth.users_file("users.txt"),
    authz = {
      roles = { k.roles.from_groups{ prefix = "kiln-" }, k.roles.from_owner{ role = "owner" } },
      rules = {
        k.allow.any_control{ role = "admins", default_deny = false },
        k.allow.force{ builder = "release", role = "releasers" },
        k.allow.force{ builder = "runtests", role = "devs" },
        k.allow.stop{ builder = "runtests", role = "devs" },
        k.allow.stop{ builder = "release", role = "owner", default_deny = false },
        k.allow.rebuild{ builder = "runtests", role = "devs" },
        k.allow.cancel{ builder = "runtests", role = "devs" },
        k.allow.any_control{ role = "admins" },
      },
      view = { { builder = "secret", roles = { "admins" } } },
    } },
  workers = { k.worker{ name = "w1", password = "@PASSWORD@", max_builds = 3 } },
  builders = {
    k.builder{ name = "runtests", workers = { "w1" }, steps = sleepy },
    k.builder{ name = "release", workers = { "w1" }, steps = sleepy },
    k.builder{ name = "secret", workers = { "w1" }, steps = sleepy },
  },
  schedulers = {
    k.force{ name = "force", builders = { "runtests", "release", "secret" }, parameters = {
      k.string_parameter{ name = "sleep", label = "Sleep seconds", default = "0" } } },
  },
}
'''

USERS = {'alice': 'kiln-admins', 'bob': 'kiln-devs', 'carol': 'kiln-releasers'}
BUILDERS = ('runtests', 'release', 'secret')
CANCELLED = 6


def granted(user, action, builder):
    """What the rules in CONFIG grant (the owner rule is checked separately)."""
    if user == 'alice':
        return True
    if action == 'force':
        return (user, builder) in (('bob', 'runtests'), ('carol', 'release'))
    if action in ('stop', 'rebuild', 'cancel'):
        return (user, builder) == ('bob', 'runtests')
    return False


def visible(user, builder):
    return builder != 'secret' or user == 'alice'


def expected_status(user, action, builder):
    if not visible(user, builder):
        return 404
    return 200 if granted(user, action, builder) else 403


class Matrix:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-authz-')
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.kiln_worker = args.kiln_worker
        self.worker = None
        self.keep = args.keep
        self.cells = 0

    # -- set-up
    def start(self):
        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master failed: {out}')
        for user, group in USERS.items():
            done = subprocess.run([m.kiln, 'user', 'add', m.dir, user, '--group', group],
                                  input=f'{user}-pw\n', text=True, capture_output=True,
                                  timeout=60)
            check(done.returncode == 0, f'kiln user add {user}: {done.stdout}{done.stderr}')
        m.port, self.www_port = rm.free_ports(2)
        m.write_config(text=CONFIG.replace('@PORT@', str(m.port))
                       .replace('@WWW@', str(self.www_port)).replace('@PASSWORD@', tm.PASSWORD))
        m.start()
        wait_for('the web server', lambda: rm.port_open(self.www_port), 30)
        self.api = Api(self.www_port)
        self.worker = tm.Worker('kiln', 'w1', os.path.join(self.root, 'w1'), self.kiln_worker)
        self.worker.create(m.port)
        self.worker.start()
        m.wait_connected(['w1'], [self.worker])
        self.builderid = {b['name']: b['builderid'] for b in self.read('alice', 'builders')['builders']}
        check(set(self.builderid) == set(BUILDERS), f'builders: {self.builderid}')

    def stop(self):
        if self.worker:
            self.worker.stop()
        self.master.stop()
        if self.keep:
            log(f'kept {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- HTTP
    @staticmethod
    def headers(user, extra=None):
        headers = dict(extra or {})
        if user != 'anonymous':
            headers['Authorization'] = basic(user, f'{user}-pw')
        return headers

    def get(self, user, path):
        status, _, body = self.api.request('GET', '/api/v2/' + path,
                                           headers=self.headers(user, {'Accept': 'application/json'}))
        return status, (json.loads(body) if body.startswith('{') else body)

    def read(self, user, path):
        status, body = self.get(user, path)
        check(status == 200, f'{user} GET {path}: {status} {str(body)[:300]}')
        return body

    def rpc(self, user, path, method, params):
        body = json.dumps({'jsonrpc': '2.0', 'method': method, 'id': 1, 'params': params})
        status, _, text = self.api.request('POST', '/api/v2/' + path, body,
                                           self.headers(user, {'Content-Type': 'application/json'}))
        return status, (json.loads(text) if text else None)

    def expect(self, user, action, builder, status, reply):
        want = expected_status(user, action, builder)
        check(status == want, f'{user} {action} {builder}: {status} (wanted {want}) {reply}')
        self.cells += 1

    # -- state, always read as alice (who sees everything)
    def buildsets_total(self):
        return self.read('alice', 'buildsets?limit=1')['meta']['total']

    def force(self, user, builder, sleep='0'):
        return self.rpc(user, 'forceschedulers/force', 'force',
                        {'builderNames': [builder], 'sleep': sleep})

    def running_build(self, builder, after_buildid=0):
        def found():
            builds = self.read('alice', f'builders/{self.builderid[builder]}/builds'
                               f'?complete=false&buildid__gt={after_buildid}')['builds']
            return builds[0] if builds else None
        return wait_for(f'a running {builder} build', found, 60)

    def build(self, buildid):
        return self.read('alice', f'builds/{buildid}')['builds'][0]

    def wait_complete(self, buildid):
        return wait_for(f'build {buildid} to finish',
                        lambda: self.build(buildid) if self.build(buildid)['complete'] else None, 60)

    def set_paused(self, paused):
        status, reply = self.rpc('alice', 'workers/1', 'pause' if paused else 'unpause', {})
        check(status == 200, f'alice pauses/unpauses w1: {status} {reply}')
        wait_for('the worker state', lambda: self.read('alice', 'workers/1')['workers'][0]['paused'] == paused, 30)

    # -- the matrix
    def check_force(self):
        self.set_paused(True)  # requests stay pending: nothing runs while forcing
        for builder in BUILDERS:
            for user in ('anonymous', 'bob', 'carol', 'alice'):
                before = self.buildsets_total()
                status, reply = self.force(user, builder)
                self.expect(user, 'force', builder, status, reply)
                after = self.buildsets_total()
                check(after == before + (1 if status == 200 else 0),
                      f'{user} force {builder}: buildsets {before} -> {after}')
        return 'force: 12 cells'

    def check_cancel(self):
        # The requests the force cells left pending (the worker is paused): one per allowed cell.
        try:
            for builder in BUILDERS:
                pending = self.read('alice', f'buildrequests?builderid={self.builderid[builder]}'
                                    '&complete=false')['buildrequests']
                check(pending, f'no pending request of {builder}')
                target = pending[0]['buildrequestid']
                for user in ('anonymous', 'carol', 'bob', 'alice'):
                    status, reply = self.rpc(user, f'buildrequests/{target}', 'cancel',
                                             {'reason': 'matrix'})
                    self.expect(user, 'cancel', builder, status, reply)
                    request = self.read('alice', f'buildrequests/{target}')['buildrequests'][0]
                    if status == 200:
                        check(request['complete'] and request['results'] == CANCELLED,
                              f'{user} cancelled {target} but it is {request}')
                        break  # cancelled: the next users would find it complete
                    check(not request['complete'], f'{user} was refused yet {target} is {request}')
        finally:
            # Cancel the rest as alice so that nothing runs when the worker comes back.
            for request in self.read('alice', 'buildrequests?complete=false')['buildrequests']:
                status, reply = self.rpc('alice', f'buildrequests/{request["buildrequestid"]}',
                                         'cancel', {})
                check(status == 200, f'alice cancels: {status} {reply}')
            self.set_paused(False)
        return 'cancel: every builder, refused cells leave the request pending'

    def check_stop_and_rebuild(self):
        last = 0
        for builder in BUILDERS:
            for user in ('anonymous', 'carol', 'bob', 'alice'):
                status, reply = self.force('alice', builder, sleep='300')
                check(status == 200, f'alice force {builder}: {status} {reply}')
                build = self.running_build(builder, last)
                last = max(last, build['buildid'])
                status, reply = self.rpc(user, f'builds/{build["buildid"]}', 'stop', {'reason': 'matrix'})
                self.expect(user, 'stop', builder, status, reply)
                if status == 200:
                    done = self.wait_complete(build['buildid'])
                    check(done['results'] == CANCELLED, f'{user} stopped: {done}')
                else:
                    check(not self.build(build['buildid'])['complete'],
                          f'{user} was refused yet build {build["buildid"]} stopped')
                    status, reply = self.rpc('alice', f'builds/{build["buildid"]}', 'stop', {})
                    check(status == 200, f'alice stop: {status} {reply}')
                    self.wait_complete(build['buildid'])
                # Rebuild the finished build (it slept 300 s: stopped, so it is complete).
                before = self.buildsets_total()
                status, reply = self.rpc(user, f'builds/{build["buildid"]}', 'rebuild', {})
                self.expect(user, 'rebuild', builder, status, reply)
                check(self.buildsets_total() == before + (1 if status == 200 else 0),
                      f'{user} rebuild {builder}: buildsets {before} -> {self.buildsets_total()}')
                if status == 200:
                    rebuilt = self.running_build(builder, last)
                    last = max(last, rebuilt['buildid'])
                    status, reply = self.rpc('alice', f'builds/{rebuilt["buildid"]}', 'stop', {})
                    check(status == 200, f'alice stops the rebuild: {status} {reply}')
                    self.wait_complete(rebuilt['buildid'])
        return 'stop and rebuild: 24 cells'

    def check_owner(self):
        """carol may stop release builds she forced, not alice's."""
        status, reply = self.force('carol', 'release', sleep='300')
        check(status == 200, f'carol force release: {status} {reply}')
        own = self.running_build('release')
        check(self.read('alice', f'builds/{own["buildid"]}/properties')['properties'][0]['owner'][0] == 'carol',
              'the build is owned by carol')
        status, reply = self.rpc('bob', f'builds/{own["buildid"]}', 'stop', {})
        check(status == 403, f'bob stops carol\'s release build: {status} {reply}')
        status, reply = self.rpc('carol', f'builds/{own["buildid"]}', 'stop', {})
        check(status == 200, f'carol stops her own release build: {status} {reply}')
        check(self.wait_complete(own['buildid'])['results'] == CANCELLED, 'owner stop cancelled it')
        return 'owner: carol stops her release build, bob may not'

    def check_admin_actions(self):
        scheduler = [s for s in self.read('alice', 'schedulers')['schedulers'] if s['name'] == 'force'][0]
        sid = scheduler['schedulerid']
        for user in ('anonymous', 'bob', 'carol'):
            for path, method, params in (('workers/1', 'pause', {}), ('workers/1', 'stop', {}),
                                         ('workers/1', 'kill', {}),
                                         (f'schedulers/{sid}', 'enable', {'enabled': False}),
                                         ('masters/1', 'shutdown', {})):
                status, reply = self.rpc(user, path, method, params)
                check(status == 403, f'{user} {method} {path}: {status} {reply}')
                self.cells += 1
        worker = self.read('alice', 'workers/1')['workers'][0]
        check(not worker['paused'] and worker['connected_to'], f'refused actions changed w1: {worker}')
        check(self.read('alice', f'schedulers/{sid}')['schedulers'][0]['enabled'], 'scheduler disabled')
        check(self.master.alive(), 'the master went down')
        status, reply = self.rpc('alice', f'schedulers/{sid}', 'enable', {'enabled': False})
        check(status == 200 and not self.read('alice', f'schedulers/{sid}')['schedulers'][0]['enabled'],
              f'alice disables the scheduler: {status} {reply}')
        self.rpc('alice', f'schedulers/{sid}', 'enable', {'enabled': True})
        return 'workers, schedulers, shutdown: admins only (15 refusals)'

    def check_reads(self):
        secret_id = self.builderid['secret']
        status, reply = self.force('alice', 'secret')
        check(status == 200, f'alice force secret: {status} {reply}')
        brid = reply['result'][1][str(secret_id)]
        secret_build = wait_for('the secret build', lambda: [
            b for b in self.read('alice', f'buildrequests/{brid}/builds')['builds'] if b['complete']], 60)[0]
        bid = secret_build['buildid']
        step = [s for s in self.read('alice', f'builds/{bid}/steps')['steps'] if s['name'] == 'work'][0]
        log_ = self.read('alice', f'steps/{step["stepid"]}/logs')['logs']
        check(log_, f'the secret build has no log: {step}')
        request = self.read('alice', f'buildrequests?builderid={secret_id}&limit=1')['buildrequests'][0]
        hidden_paths = [f'builders/{secret_id}', 'builders/secret', f'builds/{bid}',
                        f'builders/{secret_id}/builds/{secret_build["number"]}',
                        f'steps/{step["stepid"]}', f'buildrequests/{request["buildrequestid"]}',
                        f'buildsets/{request["buildsetid"]}', f'builds/{bid}/properties']
        hidden_paths += [f'logs/{log_[0]["logid"]}', f'logs/{log_[0]["logid"]}/contents',
                         f'logs/{log_[0]["logid"]}/raw']
        totals = {}
        for user in ('alice', 'bob', 'carol', 'anonymous'):
            names = [b['name'] for b in self.read(user, 'builders')['builders']]
            check(('secret' in names) == (user == 'alice'), f'{user} builders: {names}')
            for path in ('builds', 'buildrequests'):
                body = self.read(user, path + '?limit=1000')
                ids = [item['builderid'] for item in body[path]]
                check((secret_id in ids) == (user == 'alice'), f'{user} {path}: secret ids {ids}')
                totals[(user, path)] = body['meta']['total']
                check(body['meta']['total'] == len(body[path]), f'{user} {path}: total {body["meta"]}')
            body = self.read(user, 'buildsets?limit=1000')
            bsids = [item['bsid'] for item in body['buildsets']]
            check((request['buildsetid'] in bsids) == (user == 'alice'), f'{user} buildsets: {bsids}')
            totals[(user, 'buildsets')] = body['meta']['total']
            check(body['meta']['total'] == len(bsids), f'{user} buildsets: total {body["meta"]}')
            page = self.read(user, 'buildsets?order=bsid&limit=2&offset=1')['buildsets']
            check([b['bsid'] for b in page] == sorted(bsids)[1:3],
                  f'{user} buildsets page: {[b["bsid"] for b in page]} of {bsids}')
            for path in hidden_paths:
                status, body = self.get(user, path)
                want = 200 if user == 'alice' else 404
                check(status == want, f'{user} GET {path}: {status} (wanted {want})')
            # Collections under a hidden parent are empty, as under one that does not exist.
            for path in (f'builders/{secret_id}/builds', f'buildrequests?builderid={secret_id}',
                         f'builders/{secret_id}/workers', f'builds/{bid}/steps',
                         f'steps/{step["stepid"]}/logs'):
                status, body = self.get(user, path)
                items = body[next(k for k in body if k != 'meta')] if status == 200 else []
                check(bool(items) == (user == 'alice'), f'{user} GET {path}: {status} {str(body)[:200]}')
        for path in ('builds', 'buildrequests', 'buildsets'):
            check(totals[('bob', path)] < totals[('alice', path)], f'{path}: bob sees as much as alice')
            check(totals[('bob', path)] == totals[('anonymous', path)], f'{path}: bob and anonymous differ')
        return f'reads: {len(hidden_paths)} entity paths x 4 users, lists and totals'

    def check_live(self):
        """/ws per user: only alice gets the secret builder's events."""
        sockets = {}
        for user in ('alice', 'bob', 'anonymous'):
            ws = WebSocket(self.www_port, self.headers(user))
            check(ws.status == 101, f'{user} /ws: {ws.status}')
            ws.send({'cmd': 'startConsuming', 'path': 'builds/*/*', '_id': 1})
            check(ws.receive()['code'] == 200, f'{user} subscribe')
            ws.send({'cmd': 'startConsuming', 'path': 'buildsets/*/new', '_id': 2})
            check(ws.receive()['code'] == 200, f'{user} subscribe to buildsets')
            sockets[user] = ws
        status, reply = self.force('alice', 'secret')
        check(status == 200, f'alice force secret: {status} {reply}')
        secret_bsid = reply['result'][0]
        status, reply = self.force('alice', 'runtests')
        check(status == 200, f'alice force runtests: {status} {reply}')
        runtests_bsid = reply['result'][0]
        seen = {}
        for user, ws in sockets.items():
            builders = set()
            finished = set()
            buildsets = set()
            while finished != ({self.builderid['secret'], self.builderid['runtests']} if user == 'alice'
                               else {self.builderid['runtests']}):
                frame = ws.receive()
                if frame['k'].startswith('buildsets/'):
                    buildsets.add(frame['m']['bsid'])
                    continue
                builders.add(frame['m']['builderid'])
                if frame['k'].endswith('/finished'):
                    finished.add(frame['m']['builderid'])
                check(user == 'alice' or frame['m']['builderid'] != self.builderid['secret'],
                      f'{user} saw a secret event: {frame["k"]}')
            want = {secret_bsid, runtests_bsid} if user == 'alice' else {runtests_bsid}
            check(buildsets == want, f'{user} buildset events {buildsets}, wanted {want}')
            seen[user] = sorted(builders)
            ws.close()
        return f'/ws: events by user {seen}'

    def check_shutdown(self):
        status, reply = self.rpc('alice', 'masters/1', 'shutdown', {})
        check(status == 200, f'alice shutdown: {status} {reply}')
        wait_for('the master to exit', lambda: not self.master.alive(), 60)
        return 'alice shuts the master down; it exits'


def main():
    args = rm.parse_test_args()
    matrix = Matrix(args)
    parts = [(name, getattr(Matrix, f'check_{name}'))
             for name in ('force', 'cancel', 'stop_and_rebuild', 'owner', 'admin_actions',
                          'reads', 'live', 'shutdown')]
    code = rm.run_sections(matrix, parts, args.v)
    print(f'{matrix.cells} matrix cells checked')
    return code

if __name__ == '__main__':
    sys.exit(main())
