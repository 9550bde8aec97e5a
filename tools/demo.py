#!/usr/bin/python3
"""The README's run command, until Kiln's own master lands (issue #3): starts the reference
Buildbot 3.7 master on 127.0.0.1, connects kiln-worker to it, runs the `smoke` build (shell,
uploads, downloads, file-system commands) and prints each step's result. With --keep it keeps
both running until Ctrl-C."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'integration', 'refmaster'))
import refmaster as rm  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('kiln_worker', help='path to the kiln-worker binary')
    parser.add_argument('--builder', default='smoke')
    parser.add_argument('--keep', action='store_true', help='keep running until Ctrl-C')
    args = parser.parse_args()
    worker = rm.make_worker('kiln', kiln_binary=os.path.abspath(args.kiln_worker))
    with rm.RefMaster(label='demo-master') as master:
        basedir = os.path.join(master.tmp, 'kiln-worker')
        with rm.WorkerRun(master, worker, basedir):
            print(f'kiln-worker connected to the Buildbot 3.7 master at 127.0.0.1:{master.msgpack_port}')
            build = master.run_build(args.builder)
            print(build.summary())
            if args.keep:
                print('running; Ctrl-C stops the master and the worker')
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    pass
            result = build.result_name() if callable(build.result_name) else build.result_name
            return 0 if str(result).lower() == 'success' else 1


if __name__ == '__main__':
    sys.exit(main())
