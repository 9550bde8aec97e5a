#!/usr/bin/python3
"""REST API v2 conformance and control, against a real kiln master and a real Buildbot worker.

A `kiln` master (temp dir, SQLite) with the scenario of ../../../../shared/specs/rest-api.md §14:
builder `runtests` (tags ci, linux) whose steps write stdout and stderr and sleep and exit as the
force form says, one Buildbot 3.7 worker (`worker1`, max_builds 1), force scheduler `force` with
string parameters `exitcode` and `sleep`. Driven only through HTTP:

  control    JSON-RPC force by builderid and by builderNames (success, failure), a long build
             stopped, a queued request cancelled, a rebuild, worker pause/unpause; each checked
             through the REST API (results, state strings, request and buildset states) and the
             JSON-RPC error envelopes (content type, parse error, batch, missing key, unknown
             path, unsupported action, bad form value).
  shapes     for every captured Buildbot 3.7 response in specs/samples/ of a resource Kiln
             records, the same request against Kiln gives the same shape: status, envelope
             keys, meta keys, and for the first item its keys and the JSON type of every value
             both sides have non-null. Differences allowed are listed in ALLOWED_DIFFERENCES
             (each one is in docs/compatibility.md).
  errors     the captured 4xx answers of GETs (unknown parameter, bad filter value, bad limit,
             filter on an entity, unknown order field, trailing slash, unknown path) give the
             same status and message.
  streams    log contents by line range and the raw download match the stored lines.

Usage: /usr/bin/python3 test_api.py --kiln build/dev/app/kiln [--keep] [-v]
"""
import base64
import json
import socket
import struct
import subprocess
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'refmaster'))
import refmaster as rm  # noqa: E402  (test_master is importable then)
import test_master as tm  # noqa: E402
from refmaster import HOST, Failure, check, log  # noqa: E402

SAMPLES = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..', 'shared', 'specs', 'samples'))

CONFIG = r'''
local k = require "kiln"
return {
  title = "API conformance",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@ },
  workers = { k.worker{ name = "worker1", password = "@PASSWORD@", max_builds = 1 } },
  builders = {
    k.builder{ name = "runtests", workers = { "worker1" }, tags = { "ci", "linux" },
      steps = {
        k.shell{ name = "setup", command = "echo preparing; echo warning: none 1>&2; echo done" },
        k.shell{ name = "test",
                 command = k.interpolate("echo testing; sleep %(prop:sleep)s; exit %(prop:exitcode)s") },
      } },
  },
  schedulers = {
    k.force{ name = "force", builders = { "runtests" }, parameters = {
      k.string_parameter{ name = "exitcode", label = "Exit code", default = "0" },
      k.string_parameter{ name = "sleep", label = "Sleep seconds", default = "0" },
    } },
  },
}
'''

# Fields Kiln does not (yet) have, by resource type: (key path, why). Each is in
# docs/compatibility.md.
ALLOWED_DIFFERENCES = {
}


class Api:
    def __init__(self, port):
        self.base = f'http://{HOST}:{port}'

    def request(self, method, path, body=None, headers=None):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def get(self, path, accept_json=True):
        headers = {'Accept': 'application/json'} if accept_json else {}
        status, headers, body = self.request('GET', path, headers=headers)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        return status, headers, body, parsed

    def data(self, path):
        status, _, body, parsed = self.get('/api/v2/' + path)
        check(status == 200, f'GET {path}: {status} {body[:300]}')
        return parsed

    def rpc(self, path, method, params, rpc_id=1, content_type='application/json', raw=None):
        body = raw if raw is not None else json.dumps(
            {'jsonrpc': '2.0', 'method': method, 'id': rpc_id, 'params': params})
        status, headers, text = self.request('POST', '/api/v2/' + path, body,
                                             {'Content-Type': content_type})
        return status, json.loads(text) if text else None


def wait_for(what, predicate, timeout=60):
    return rm.wait_for(what, predicate, timeout, interval=0.2)


def json_type(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'int'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'list'
    return 'object'


def compare_shape(name, want, got, path='', problems=None):
    """Keys and types of `want` (Buildbot) and `got` (Kiln); lists by their first element."""
    problems = [] if problems is None else problems
    if isinstance(want, dict) and isinstance(got, dict):
        # Property maps and worker info hold data (what was set, what the worker reported),
        # not schema; keys starting with _sample are the capture's notes.
        if 'properties' in path or 'workerinfo' in path:
            return problems
        want = {k: v for k, v in want.items() if not k.startswith('_sample')}
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if missing:
            problems.append(f'{name}{path}: Kiln lacks keys {missing}')
        if extra:
            problems.append(f'{name}{path}: Kiln has extra keys {extra}')
        for key in sorted(set(want) & set(got)):
            compare_shape(name, want[key], got[key], f'{path}.{key}', problems)
    elif isinstance(want, list) and isinstance(got, list):
        if want and got:
            compare_shape(name, want[0], got[0], path + '[0]', problems)
    elif want is not None and got is not None and json_type(want) != json_type(got):
        problems.append(f'{name}{path}: type {json_type(got)} where Buildbot has '
                        f'{json_type(want)}')
    return problems


def load_sample(file):
    with open(os.path.join(SAMPLES, file)) as f:
        return json.load(f)


class Scenario:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-api-')
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.worker = None
        self.api = None
        self.keep = args.keep

    def start(self):
        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master failed: {out}')
        m.port, self.www_port = rm.free_ports(2)
        text = (CONFIG.replace('@PORT@', str(m.port)).replace('@WWW@', str(self.www_port))
                .replace('@PASSWORD@', tm.PASSWORD))
        m.write_config(text=text)
        m.start()
        self.api = Api(self.www_port)
        wait_for('the web server', lambda: rm.port_open(self.www_port), 30)
        self.worker = tm.Worker('stock', 'worker1', os.path.join(self.root, 'worker1'), None)
        self.worker.create(m.port)
        self.worker.start()
        m.wait_connected(['worker1'], [self.worker])

    def stop(self):
        if self.worker:
            self.worker.stop()
        self.master.stop()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            log(f'kept {self.root}')

    def build(self, buildid, complete=True):
        def ready():
            _, _, _, body = self.api.get(f'/api/v2/builds/{buildid}')
            if body and body.get('builds'):
                b = body['builds'][0]
                return b if (b['complete'] or not complete) else None
            return None
        return wait_for(f'build {buildid}', ready, 120)


def section_control(sc):
    api = sc.api
    status, reply = api.rpc('forceschedulers/force', 'force', {
        'builderid': '1', 'username': 'alice <alice@example.com>',
        'reason': 'verify passing build', 'exitcode': '0', 'sleep': '0',
        'branch': '', 'revision': '', 'repository': '', 'project': ''})
    check(status == 200, f'force: {status} {reply}')
    check(reply['jsonrpc'] == '2.0' and reply['id'] == 1, f'envelope: {reply}')
    bsid, requests = reply['result']
    check(bsid == 1 and requests == {'1': 1}, f'force result: {reply["result"]}')
    b1 = sc.build(1)
    check(b1['results'] == 0, f'build 1: {b1}')

    status, reply = api.rpc('forceschedulers/force', 'force', {
        'builderNames': ['runtests'], 'reason': 'verify failing build', 'exitcode': '1',
        'sleep': '0'}, rpc_id='two')
    check(status == 200 and reply['id'] == 'two', f'force 2: {status} {reply}')
    b2 = sc.build(2)
    check(b2['results'] == 2, f'build 2 should fail: {b2}')
    props = api.data('builds/2?property=*')['builds'][0]['properties']
    check(props.get('owner', [None])[0] == 'anonymous' or props.get('owner'), f'owner: {props}')
    check(props['exitcode'] == ['1', 'Force Build Form'], f'exitcode property: {props}')

    # A long build, stopped; a request queued behind it (max_builds 1), cancelled.
    status, reply = api.rpc('forceschedulers/force', 'force',
                            {'builderid': 1, 'exitcode': '0', 'sleep': '60'})
    check(status == 200, f'force 3: {reply}')
    wait_for('build 3 running', lambda: api.data('builds?complete=false')['builds'], 60)
    status, reply = api.rpc('forceschedulers/force', 'force',
                            {'builderid': 1, 'exitcode': '0', 'sleep': '0'})
    check(status == 200, f'force 4: {reply}')
    queued = reply['result'][1]['1']
    status, reply = api.rpc(f'buildrequests/{queued}', 'cancel', {'reason': 'not needed'})
    check(status == 200 and reply['result'] is None, f'cancel: {status} {reply}')
    br = api.data(f'buildrequests/{queued}')['buildrequests'][0]
    check(br['complete'] and br['results'] == 6, f'cancelled request: {br}')
    status, reply = api.rpc('builds/3', 'stop', {'reason': 'enough'})
    check(status == 200 and reply['result'] is None, f'stop: {status} {reply}')
    b3 = sc.build(3)
    check(b3['results'] == 6, f'stopped build 3 should be CANCELLED: {b3}')

    status, reply = api.rpc('builds/2', 'rebuild', {})
    check(status == 200 and len(reply['result']) == 2, f'rebuild: {status} {reply}')
    b4 = sc.build(4)
    check(b4['results'] == 2, f'the rebuild of a failing build fails too: {b4}')
    bs = api.data(f'buildsets/{reply["result"][0]}')['buildsets'][0]
    check(bs['reason'] == 'rebuild' and bs['complete'], f'rebuild buildset: {bs}')

    # Scheduler rows: enable false, then true (samples POST_schedulers_1__enable_*). Kiln
    # refuses to force through a disabled force scheduler (docs/compatibility.md).
    status, reply = api.rpc('schedulers/1', 'enable', {'enabled': False}, rpc_id=10)
    check(status == 200 and reply == {'id': 10, 'jsonrpc': '2.0', 'result': None},
          f'enable false: {status} {reply}')
    sched = api.data('schedulers/1')['schedulers'][0]
    check(sched['name'] == 'force' and sched['enabled'] is False, f'disabled: {sched}')
    status, reply = api.rpc('forceschedulers/force', 'force', {'builderid': 1})
    check(status == 409 and 'disabled' in reply['error']['message'], f'force when disabled: '
          f'{status} {reply}')
    status, reply = api.rpc('schedulers/1', 'enable', {'enabled': True}, rpc_id=11)
    check(status == 200 and reply['result'] is None, f'enable true: {status} {reply}')
    check(api.data('schedulers/1')['schedulers'][0]['enabled'] is True, 'enabled again')
    status, reply = api.rpc('schedulers/1', 'enable', {'enabled': 'yes'})
    check(status == 400, f'enable with a non-boolean: {status} {reply}')
    status, reply = api.rpc('schedulers/99', 'enable', {'enabled': True})
    check(status == 404, f'enable an unknown scheduler: {status} {reply}')

    for action, paused in (('pause', True), ('unpause', False)):
        status, reply = api.rpc('workers/worker1', action, {'reason': 'test'})
        check(status == 200, f'{action}: {status} {reply}')
        w = api.data('workers/worker1')['workers'][0]
        check(w['paused'] is paused, f'after {action}: {w}')

    # JSON-RPC error envelopes (samples ERR_POST_*).
    status, reply = api.rpc('builds/1', 'stop', {}, content_type='application/x-www-form-urlencoded')
    check(status == 400 and reply['error']['code'] == -32600 and 'id' not in reply,
          f'wrong content type: {status} {reply}')
    status, reply = api.rpc('builds/1', 'stop', {}, raw='{not json')
    check(status == 400 and reply['error']['code'] == -32700, f'parse error: {status} {reply}')
    status, reply = api.rpc('builds/1', 'stop', {}, raw='[]')
    check(status == 400 and reply['error']['message'] ==
          'JSONRPC batch requests are not supported', f'batch: {status} {reply}')
    status, reply = api.rpc('builds/1', 'stop', {}, raw='{"jsonrpc":"2.0","method":"stop","params":{}}')
    check(status == 400 and reply['error']['message'] == "missing key 'id'", f'missing id: {reply}')
    status, reply = api.rpc('nosuch/1', 'stop', {})
    check(status == 404 and reply['error']['message'] == 'Invalid path: nosuch/1', f'{reply}')
    status, reply = api.rpc('builds/1', 'explode', {})
    check(status == 501 and reply['error']['code'] == -32601, f'unsupported: {status} {reply}')
    status, reply = api.rpc('builds', 'stop', {})
    check(status == 501, f'action on a collection: {status} {reply}')
    return 'force x2, stop, cancel, rebuild, enable/disable, pause/unpause, 7 error envelopes'


# (sample file, Kiln path or None for the sample's own path)
SHAPE_SAMPLES = [
    ('GET_api_v2.json', None),
    ('GET_builders.json', None),
    ('GET_builders_1.json', None),
    ('GET_builders_runtests.json', None),
    ('GET_builders_1_buildrequests__order--buildrequestid_limit-3.json', None),
    ('GET_builders_1_builds_2.json', None),
    ('GET_builders_1_builds_2_properties.json', None),
    ('GET_builders_1_builds_2_steps_test.json', None),
    ('GET_builders_1_builds_2_steps_test_logs_stdio.json', None),
    ('GET_builders_1_forceschedulers.json', None),
    ('GET_builders_1_masters.json', None),
    ('GET_builders_1_workers.json', None),
    ('GET_builders_runtests_builds_4.json', None),
    ('GET_buildrequests.json', None),
    ('GET_buildrequests_1.json', None),
    ('GET_buildrequests_1_builds.json', None),
    ('GET_buildrequests_2__property-star.json', None),
    ('GET_buildrequests__property-owner_claimed-true_field-buildrequestid_field-claimed_field-properties.json', None),
    ('GET_builds.json', None),
    ('GET_builds_1.json', None),
    ('GET_builds_1__field-buildid_field-results.json', None),
    ('GET_builds_1_properties__limit-1.json', None),
    ('GET_builds_1_steps__limit-2_meta_total_is_full_count.json', None),
    ('GET_builds_2__property-star.json', None),
    ('GET_builds_2_properties.json', None),
    ('GET_builds_2_property_list.json', None),
    ('GET_builds_2_steps.json', None),
    ('GET_builds__filters_ops.json', None),
    ('GET_builds__property-owner_property-reason_complete-true_order--number_limit-2.json', None),
    ('GET_buildsets.json', None),
    ('GET_buildsets_1.json', None),
    ('GET_buildsets_1_properties.json', None),
    ('GET_buildsets_1_properties_list.json', None),
    ('GET_forceschedulers.json', None),
    ('GET_forceschedulers_force.json', None),
    ('GET_logs_8.json', '/api/v2/builds/2/steps/test/logs/stdio'),
    ('GET_logs_8_contents.json', '/api/v2/builds/2/steps/test/logs/stdio/contents'),
    ('GET_logs_8_contents__offset-2_limit-3.json',
     '/api/v2/builds/2/steps/test/logs/stdio/contents?offset=1&limit=1'),
    ('GET_masters.json', None),
    ('GET_masters_1.json', None),
    ('GET_masters_1_builders.json', None),
    ('GET_masters_1_schedulers.json', None),
    ('GET_schedulers.json', None),
    ('GET_schedulers_1.json', None),
    ('GET_sourcestamps.json', None),
    ('GET_steps_7.json', '/api/v2/builds/2/steps/test'),
    ('GET_steps_7_logs.json', '/api/v2/builds/2/steps/test/logs'),
    ('GET_workers.json', None),
    ('GET_workers_1.json', None),
    ('GET_workers_worker1.json', None),
    ('GET_workers_1_builds.json', None),
    ('QUIRK_GET_builds__unknown_field_with_operator_ignored.json', None),
    ('QUIRK_GET_builds__unknown_operator_ignored.json', None),
]

ERROR_SAMPLES = ['ERR_GET_filter_on_entity.json', 'ERR_GET_filter_unselected_field.json',
                 'ERR_GET_invalid_filter_value.json', 'ERR_GET_invalid_limit.json',
                 'ERR_GET_invalid_path.json', 'ERR_GET_order_unknown_field.json',
                 'ERR_GET_trailing_slash.json', 'ERR_GET_unrecognized_param.json']


def sample_request(file):
    index = {e['file']: e for e in load_sample('_index.json')}
    return index[file]


def section_shapes(sc):
    problems, compared = [], 0
    for file, path in SHAPE_SAMPLES:
        entry = sample_request(file)
        want = load_sample(file)
        status, _, body, got = sc.api.get(path or entry['request']['path'])
        if status != entry['status']:
            problems.append(f'{file}: status {status} (Buildbot {entry["status"]}): {body[:200]}')
            continue
        compare_shape(file, want, got, '', problems)
        compared += 1
    problems = [p for p in problems
                if not any(p.startswith(f) and why for f, why in ALLOWED_DIFFERENCES.items())]
    check(not problems, '\n'.join(problems))
    return f'{compared} captured responses have the same shape'


def section_errors(sc):
    problems = []
    for file in ERROR_SAMPLES:
        entry = sample_request(file)
        want = load_sample(file)
        status, headers, body, got = sc.api.get(entry['request']['path'])
        if status != entry['status'] or got != want:
            problems.append(f'{file}: {status} {body!r}, Buildbot: {entry["status"]} {want!r}')
        if not headers.get('Content-Type', '').startswith('text/plain'):
            problems.append(f'{file}: content type {headers.get("Content-Type")}')
    check(not problems, '\n'.join(problems))
    return f'{len(ERROR_SAMPLES)} error answers identical'


def section_streams(sc):
    api = sc.api
    log_entity = api.data('builds/1/steps/setup/logs/stdio')['logs'][0]
    logid = log_entity['logid']
    lines = api.data(f'logs/{logid}/contents')['logchunks'][0]['content'].split('\n')[:-1]
    # stdout and stderr are separate pipes: their relative order is not fixed.
    check(sorted(l for l in lines if l[0] in 'oe') == ['ewarning: none', 'odone', 'opreparing']
          and lines[0].startswith('h') and lines[-1].startswith('h'), f'stdio lines: {lines}')
    check(len(lines) == log_entity['num_lines'], f'{len(lines)} lines, num_lines says '
          f'{log_entity["num_lines"]}')
    middle = api.data(f'logs/{logid}/contents?offset=1&limit=2')['logchunks'][0]
    check(middle['firstline'] == 1 and middle['content'].split('\n')[:-1] == lines[1:3],
          f'range: {middle}')
    status, headers, raw = api.request('GET', f'/api/v2/logs/{logid}/raw')
    check(status == 200 and raw == '\n'.join(l[1:] for l in lines),
          f'raw: {status} {raw!r}')
    check(headers.get('Content-Disposition') == 'attachment; filename=stdio',
          f'raw headers: {headers}')
    status, headers, body, _ = api.get('/api/v2/builds', accept_json=False)
    check(status == 200 and body.startswith('{\n  "builds": [') and
          headers['Content-Type'].startswith('text/plain'), f'pretty: {body[:60]!r}')
    status, headers, body = api.request('HEAD', '/api/v2/builds')
    check(status == 200 and body == '' and int(headers['Content-Length']) > 0, 'HEAD')
    return f'contents, ranges, raw ({len(raw)} bytes), pretty, HEAD'


AUTH_CONFIG = r'''
local k = require "kiln"
return {
  title = "API conformance",
  url = "http://127.0.0.1:@WWW@/",
  protocols = { worker = { port = @PORT@ } },
  www = { port = @WWW@,
    auth = k.auth.users_file("users.txt"),
    authz = {
      roles = { k.roles.from_groups{ prefix = "kiln-" } },
      rules = { k.allow.force{ builder = "*", role = "admins" },
                k.allow.any_control{ role = "admins" } },
      view = { { builder = "secret", roles = { "admins" } } },
    } },
  workers = { k.worker{ name = "worker1", password = "@PASSWORD@", max_builds = 1 } },
  builders = {
    k.builder{ name = "runtests", workers = { "worker1" }, tags = { "ci", "linux" },
      steps = { k.shell{ name = "setup", command = "echo preparing" } } },
    k.builder{ name = "secret", workers = { "worker1" },
      steps = { k.shell{ name = "hush", command = "echo classified" } } },
  },
  schedulers = { k.force{ name = "force", builders = { "runtests", "secret" } } },
}
'''


class WebSocket:
    """A minimal RFC 6455 client (text frames) for /ws, on the standard library."""

    def __init__(self, port, headers=None):
        self.sock = socket.create_connection((HOST, port), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = ''.join(f'{k}: {v}\r\n' for k, v in (headers or {}).items())
        self.sock.sendall((f'GET /ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n'
                           f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
                           f'Sec-WebSocket-Version: 13\r\n{extra}\r\n').encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise Failure(f'/ws handshake: connection closed after {head!r}')
            head += chunk
        self.status = int(head.split(b' ', 2)[1])

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        else:
            header += bytes([0x80 | 126]) + struct.pack('>H', len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        data = b''
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise Failure('/ws closed')
            data += chunk
        return data

    def receive(self, timeout=20):
        self.sock.settimeout(timeout)
        first, second = self._read(2)
        length = second & 0x7f
        if length == 126:
            length, = struct.unpack('>H', self._read(2))
        elif length == 127:
            length, = struct.unpack('>Q', self._read(8))
        payload = self._read(length)
        if first & 0x0f == 8:
            raise Failure('/ws closed by the server')
        return json.loads(payload)

    def close(self):
        self.sock.close()


def basic(user, password):
    return 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()


def section_live(sc):
    """/ws through the real server: subscribe, a forced build's events arrive in order."""
    ws = WebSocket(sc.www_port)
    check(ws.status == 101, f'/ws upgrade: {ws.status}')
    ws.send({'cmd': 'ping', '_id': 0})
    check(ws.receive() == {'msg': 'pong', 'code': 200, '_id': 0}, 'ping')
    ws.send({'cmd': 'startConsuming', 'path': 'builds/*/*', '_id': 1})
    check(ws.receive() == {'msg': 'OK', 'code': 200, '_id': 1}, 'startConsuming')
    status, reply = sc.api.rpc('forceschedulers/force', 'force', {'builderid': 1, 'sleep': '0'})
    check(status == 200, f'force: {reply}')
    seen = []
    while not seen or seen[-1][1] != 'finished':
        frame = ws.receive()
        seen.append(tuple(frame['k'].split('/')[1:]))
        check(frame['m']['builderid'] == 1, f'event payload: {frame}')
    ws.close()
    kinds = [kind for _, kind in seen]
    check('new' in kinds and kinds[-1] == 'finished', f'events: {seen}')
    return f'{len(seen)} build events ({", ".join(kinds)})'


def section_authz(sc):
    """Users, roles and rules: anonymous and wrong-role requests are refused and change
    nothing; a hidden builder is absent for those who may not see it, in lists, counts and
    live events."""
    m = sc.master
    for user, group in (('alice', 'kiln-admins'), ('bob', 'kiln-devs')):
        # The password is read from stdin, never from the command line.
        done = subprocess.run([m.kiln, 'user', 'add', m.dir, user, '--group', group],
                              input=f'{user}-pw\n', text=True, capture_output=True, timeout=60)
        rc, out = done.returncode, done.stdout + done.stderr
        check(rc == 0, f'kiln user add {user}: {out}')
    text = (AUTH_CONFIG.replace('@PORT@', str(m.port)).replace('@WWW@', str(sc.www_port))
            .replace('@PASSWORD@', tm.PASSWORD))
    m.write_config(text=text)
    rc, out = m.cli('reconfig', m.dir)
    check(rc == 0, f'reconfig: {out}')
    api = sc.api
    alice = {'Authorization': basic('alice', 'alice-pw')}
    bob = {'Authorization': basic('bob', 'bob-pw')}

    def builds_count(headers):
        status, _, body = api.request('GET', '/api/v2/builds', headers=dict(headers, Accept='application/json'))
        check(status == 200, f'GET builds: {status} {body}')
        return json.loads(body)['meta']['total']

    def force(headers, builder):
        body = json.dumps({'jsonrpc': '2.0', 'method': 'force', 'id': 1,
                           'params': {'builderNames': [builder]}})
        status, _, text = api.request('POST', '/api/v2/forceschedulers/force', body,
                                      dict(headers, **{'Content-Type': 'application/json'}))
        return status, json.loads(text)

    before = builds_count(alice)
    ws = WebSocket(sc.www_port)  # anonymous: may not see 'secret'
    ws.send({'cmd': 'startConsuming', 'path': 'builds/*/*', '_id': 1})
    check(ws.receive()['code'] == 200, 'anonymous subscribe')
    status, reply = force({}, 'runtests')
    check(status == 403 and "you need to have role 'admins'" in reply['error']['message'],
          f'anonymous force: {status} {reply}')
    status, reply = force(bob, 'runtests')
    check(status == 403, f'bob (no admin role) force: {status} {reply}')
    status, _, body = api.request('GET', '/api/v2/builders', headers={'Authorization': basic('alice', 'wrong')})
    check(status == 401, f'wrong password: {status} {body}')
    check(builds_count(alice) == before, 'refused forces created nothing')

    status, reply = force(alice, 'secret')
    check(status == 200, f'alice forces secret: {status} {reply}')
    secret_build = wait_for('the secret build', lambda: [
        b for b in json.loads(api.request('GET', '/api/v2/builds?complete=true',
                                          headers=dict(alice, Accept='application/json'))[2])['builds']
        if b['builderid'] == 2], 60)[0]
    status, reply = force(alice, 'runtests')
    check(status == 200, f'alice forces runtests: {status} {reply}')
    frame = ws.receive()
    check(frame['m']['builderid'] == 1, f'anonymous saw an event of a hidden builder: {frame}')
    ws.close()

    names = [b['name'] for b in api.data('builders')['builders']]
    check('secret' not in names and 'runtests' in names, f'anonymous builders: {names}')
    status, _, _ = api.request('GET', f'/api/v2/builds/{secret_build["buildid"]}')
    check(status == 404, f'anonymous reads the secret build: {status}')
    check(builds_count(bob) == builds_count(alice) - 1, 'bob counts one build less than alice')
    status, _, body = api.request('GET', f'/api/v2/builds/{secret_build["buildid"]}',
                                  headers=alice)
    check(status == 200, f'alice reads the secret build: {status} {body[:200]}')

    # Login sets a session cookie; a cross-site POST with it is refused (CSRF).
    import http.client
    connection = http.client.HTTPConnection(HOST, sc.www_port, timeout=20)
    connection.request('GET', '/auth/login?redirect=/builders', headers=alice)
    answer = connection.getresponse()
    status, headers = answer.status, dict(answer.getheaders())
    answer.read()
    connection.close()
    check(headers.get('Location', '').endswith('#/builders'), f'login redirect: {headers}')
    check(status == 302 and 'Set-Cookie' in headers, f'login: {status} {headers}')
    cookie = headers.get('Set-Cookie', '').split(';')[0]
    body = json.dumps({'jsonrpc': '2.0', 'method': 'force', 'id': 1, 'params': {'builderNames': ['runtests']}})
    status, _, text = api.request('POST', '/api/v2/forceschedulers/force', body,
                                  {'Content-Type': 'application/json', 'Cookie': cookie,
                                   'Origin': 'http://evil.example', 'Host': f'{HOST}:{sc.www_port}'})
    check(status in (400, 403), f'cross-site POST with the session cookie: {status} {text}')
    return 'anonymous/bob refused (403), bad password 401, hidden builder absent (list, entity, ' \
           'count, /ws), alice allowed, cross-site POST refused'


SECTIONS = [('control', section_control), ('shapes', section_shapes),
            ('errors', section_errors), ('streams', section_streams), ('live', section_live),
            ('authz', section_authz)]


def main():
    return rm.main_with_sections(Scenario, SECTIONS, with_worker=False)

if __name__ == '__main__':
    sys.exit(main())
