#!/usr/bin/python3
"""Schedulers end to end: a real kiln master and a real kiln-worker, driven through the HTTP API.

Checked (PASS/FAIL lines, then "N passed, N failed"):

  rows       /api/v2/schedulers lists every configured scheduler (force too) with ids,
             enabled, and this master; masters/1/schedulers and schedulers/N agree.
  trigger    a parent build's k.trigger (wait_for_finish) triggers a triggerable scheduler with
             two builders: the children run with the parent as parent_buildid, the properties
             the step set and the parent's sourcestamp; the step waits, links each request and
             each child build ("<result>: <builder> #<n>" -> <url>#/builders/<id>/builds/<n>)
             and takes the worst result (a failing child fails the step and the parent).
  stop       stopping a parent that waits for a slow child cancels the child.
  periodic   a k.periodic with a 2 s period builds at start and then every period.
  disable    `enable` = false on the periodic scheduler: no buildset while disabled; enabled
             again, it builds again.
  collapse   three forced requests queued behind a running build of one builder: one build
             serves them (the newest request), the two older ones complete SKIPPED and
             /buildrequests/N/builds shows the build that covered them.

Usage: /usr/bin/python3 test_schedulers.py --kiln build/dev/app/kiln --kiln-worker build/dev/app/kiln-worker
"""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'refmaster'))
import refmaster as rm  # noqa: E402  (test_master and test_api are importable then)
import test_master as tm  # noqa: E402
import test_api as ta  # noqa: E402
from refmaster import Failure, check, log  # noqa: E402
from test_api import wait_for  # noqa: E402  (polls every 0.2 s)

PERIODIC_REASON = "The Periodic scheduler named 'tick' triggered this build"


def config(port, www):
    return f'''
local k = require "kiln"
return {{
  url = "http://127.0.0.1:{www}/",
  protocols = {{ worker = {{ port = {port} }} }},
  www = {{ port = {www} }},
  workers = {{ k.worker{{ name = "kw", password = "{tm.PASSWORD}", max_builds = 6 }} }},
  builders = {{
    k.builder{{ name = "parent", workers = {{"kw"}}, steps = {{
      k.shell{{ name = "prepare", command = "echo preparing" }},
      k.trigger{{ scheduler_names = {{"children"}}, wait_for_finish = true,
                 set_properties = {{ from_parent = k.interpolate("parent-%(prop:buildnumber)s") }},
                 copy_properties = {{"owner"}} }},
    }} }},
    k.builder{{ name = "child-ok", workers = {{"kw"}}, steps = {{
      k.shell{{ name = "work", command = k.interpolate("echo child of %(prop:from_parent)s") }} }} }},
    k.builder{{ name = "child-fail", workers = {{"kw"}}, steps = {{
      k.shell{{ name = "work", command = "exit 1" }} }} }},
    k.builder{{ name = "waiter", workers = {{"kw"}}, steps = {{
      k.trigger{{ scheduler_names = {{"slow"}}, wait_for_finish = true }} }} }},
    k.builder{{ name = "child-slow", workers = {{"kw"}}, steps = {{
      k.shell{{ name = "sleep", command = "sleep 60" }} }} }},
    k.builder{{ name = "ticker", workers = {{"kw"}}, collapse_requests = false, steps = {{
      k.shell{{ name = "tick", command = "echo tick" }} }} }},
    k.builder{{ name = "queue", workers = {{"kw"}}, steps = {{
      k.shell{{ name = "sleep", command = "sleep 4" }} }} }},
  }},
  schedulers = {{
    k.force{{ name = "force", builders = {{ "parent", "waiter", "queue" }} }},
    k.triggerable{{ name = "children", builders = {{ "child-ok", "child-fail" }} }},
    k.triggerable{{ name = "slow", builders = {{ "child-slow" }} }},
    k.periodic{{ name = "tick", builders = {{ "ticker" }}, period = 2 }},
  }},
}}
'''


class SchedulerTest:
    def __init__(self, args):
        self.root = tempfile.mkdtemp(prefix='kiln-schedulers-')
        self.args = args
        self.master = tm.KilnMaster(args.kiln, self.root)
        self.workers = []
        self.api = None

    def start(self):
        m = self.master
        os.makedirs(m.mark_dir)
        rc, out = m.cli('create-master', m.dir)
        check(rc == 0, f'create-master: {out}')
        m.port, self.www = rm.free_ports(2)
        m.write_config(text=config(m.port, self.www))
        m.start()
        self.api = ta.Api(self.www)
        wait_for('the web server', lambda: rm.port_open(self.www), 30)
        w = tm.Worker('kiln', 'kw', os.path.join(self.root, 'kw'), self.args.kiln_worker)
        w.create(m.port)
        w.start()
        self.workers.append(w)
        m.wait_connected(['kw'], self.workers)

    def stop(self):
        for w in self.workers:
            w.stop()
        self.master.stop()
        if self.args.keep:
            log(f'kept {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def force(self, builder):
        status, reply = self.api.rpc('forceschedulers/force', 'force', {'builderNames': [builder]})
        check(status == 200, f'force {builder}: {status} {reply}')
        bsid, requests = reply['result']
        return bsid, list(requests.values())[0]

    def builder_id(self, name):
        return self.api.data(f'builders/{name}')['builders'][0]['builderid']

    def build_of(self, brid, complete=True, timeout=120):
        def found():
            builds = self.api.data(f'buildrequests/{brid}/builds')['builds']
            if builds and (builds[0]['complete'] or not complete):
                return builds[0]
            return None
        return wait_for(f'the build of request {brid}', found, timeout)

    def buildsets_by_reason(self, reason):
        return [b for b in self.api.data('buildsets')['buildsets'] if b['reason'] == reason]

    def scheduler(self, name):
        for s in self.api.data('schedulers')['schedulers']:
            if s['name'] == name:
                return s
        raise Failure(f'no scheduler {name}')


def rows(t):
    listed = t.api.data('schedulers')['schedulers']
    names = [s['name'] for s in listed]
    check(names == ['force', 'children', 'slow', 'tick'], f'names: {names}')
    check(all(s['enabled'] and s['master']['masterid'] == 1 for s in listed), f'{listed}')
    check(sorted(s['schedulerid'] for s in listed) == [1, 2, 3, 4], f'ids: {listed}')
    on_master = t.api.data('masters/1/schedulers')['schedulers']
    check(len(on_master) == 4, f'masters/1/schedulers: {on_master}')
    one = t.api.data('schedulers/2')['schedulers'][0]
    check(one['name'] == 'children' and one['master']['active'] is True, f'{one}')
    return '4 schedulers with ids, enabled, on master 1'


def trigger(t):
    bsid, brid = t.force('parent')
    parent = t.build_of(brid)
    check(parent['results'] == 2, f'parent should fail with its failing child: {parent}')
    steps = t.api.data(f'builds/{parent["buildid"]}/steps')['steps']
    step = next(s for s in steps if s['name'] == 'trigger')
    check(step['results'] == 2, f'trigger step: {step}')
    check(step['state_string'].startswith('triggered children, 1 success, 1 failure'),
          f'trigger summary: {step["state_string"]}')
    children = [b for b in t.api.data('buildsets')['buildsets']
                if b['parent_buildid'] == parent['buildid']]
    check(len(children) == 1, f'child buildsets: {children}')
    child_bs = children[0]
    check(child_bs['parent_relationship'] == 'Triggered from' and child_bs['complete']
          and child_bs['results'] == 2, f'child buildset: {child_bs}')
    props = t.api.data(f'buildsets/{child_bs["bsid"]}/properties')['properties'][0]
    check(props['from_parent'] == [f'parent-{parent["number"]}', 'Trigger'] and
          props['scheduler'] == ['children', 'Scheduler'], f'child properties: {props}')
    requests = t.api.data(f'buildrequests?buildsetid={child_bs["bsid"]}')['buildrequests']
    check(len(requests) == 2 and all(r['waited_for'] for r in requests), f'{requests}')
    urls = {u['name']: u['url'] for u in step['urls']}
    base = f'http://127.0.0.1:{t.www}/#/'
    for r in requests:
        check(urls.get(f'children #{r["buildrequestid"]}') ==
              f'{base}buildrequests/{r["buildrequestid"]}', f'request url missing: {urls}')
    for builder, result in (('child-ok', 'success'), ('child-fail', 'failure')):
        bid = t.builder_id(builder)
        child = t.api.data(f'builders/{bid}/builds')['builds'][0]
        name = f'{result}: {builder} #{child["number"]}'
        check(urls.get(name) == f'{base}builders/{bid}/builds/{child["number"]}',
              f'{name} missing from {urls}')
    ok_build = t.api.data(f'builders/{t.builder_id("child-ok")}/builds')['builds'][0]
    text = t.api.data(f'builds/{ok_build["buildid"]}/steps/work/logs/stdio/contents')[
        'logchunks'][0]['content']
    check(f'child of parent-{parent["number"]}' in text, f'child log: {text}')
    return f'parent failed with children success+failure, {len(urls)} links'


def stop(t):
    _, brid = t.force('waiter')
    waiter = t.build_of(brid, complete=False)
    slow_id = t.builder_id('child-slow')
    wait_for('the slow child running',
             lambda: t.api.data(f'builders/{slow_id}/builds?complete=false')['builds'], 60)
    status, reply = t.api.rpc(f'builds/{waiter["buildid"]}', 'stop', {'reason': 'enough'})
    check(status == 200, f'stop: {status} {reply}')
    waiter = t.build_of(brid, timeout=60)
    check(waiter['results'] == 6, f'stopped parent: {waiter}')
    child = wait_for('the child to end',
                     lambda: [b for b in t.api.data(f'builders/{slow_id}/builds')['builds']
                              if b['complete']], 60)[0]
    check(child['results'] == 6, f'the child should be cancelled too: {child}')
    return 'parent and child CANCELLED'


def periodic(t):
    wait_for('periodic buildsets', lambda: len(t.buildsets_by_reason(PERIODIC_REASON)) >= 3, 30)
    sets = t.buildsets_by_reason(PERIODIC_REASON)
    times = sorted(b['submitted_at'] for b in sets)
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(all(1 <= g <= 4 for g in gaps), f'gaps between runs: {gaps}')
    return f'{len(sets)} buildsets, gaps {gaps} s'


def disable(t):
    tick = t.scheduler('tick')
    status, reply = t.api.rpc(f'schedulers/{tick["schedulerid"]}', 'enable', {'enabled': False})
    check(status == 200 and reply['result'] is None, f'disable: {status} {reply}')
    check(t.scheduler('tick')['enabled'] is False, 'still enabled')
    rm.sleep(1)
    before = len(t.buildsets_by_reason(PERIODIC_REASON))
    rm.sleep(6)
    after = len(t.buildsets_by_reason(PERIODIC_REASON))
    check(after == before, f'{after - before} buildset(s) while disabled')
    status, reply = t.api.rpc(f'schedulers/{tick["schedulerid"]}', 'enable', {'enabled': True})
    check(status == 200, f'enable: {status} {reply}')
    wait_for('a periodic buildset after enabling',
             lambda: len(t.buildsets_by_reason(PERIODIC_REASON)) > after, 10)
    status, _ = t.api.rpc(f'schedulers/{tick["schedulerid"]}', 'enable', {'enabled': False})
    check(status == 200, 'disable again')
    return f'no buildset in 6 s while disabled ({before} before), builds again when enabled'


def collapse(t):
    _, first = t.force('queue')
    t.build_of(first, complete=False)
    queued = [t.force('queue')[1] for _ in range(3)]
    newest = max(queued)
    build = t.build_of(newest, timeout=60)
    check(build['results'] == 0 and build['buildrequestid'] == newest, f'{build}')
    for brid in queued:
        if brid == newest:
            continue
        request = t.api.data(f'buildrequests/{brid}')['buildrequests'][0]
        check(request['complete'] and request['results'] == 3, f'collapsed: {request}')
        covering = t.api.data(f'buildrequests/{brid}/builds')['builds']
        check([b['buildid'] for b in covering] == [build['buildid']],
              f'request {brid} covered by {covering}')
    queue_builds = t.api.data(f'builders/{t.builder_id("queue")}/builds')['builds']
    check(len(queue_builds) == 2, f'builds of queue: {len(queue_builds)}')
    return f'3 queued requests, 1 build (request {newest}), 2 SKIPPED and covered'


SECTIONS = [
    ('rows', rows),
    ('trigger', trigger),
    ('stop', stop),
    ('periodic', periodic),
    ('disable', disable),
    ('collapse', collapse),
]


def main():
    return rm.main_with_sections(SchedulerTest, SECTIONS)


if __name__ == '__main__':
    sys.exit(main())
