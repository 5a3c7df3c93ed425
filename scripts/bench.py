#!/usr/bin/env python3
"""jug-host vs Jug 2.7.0 on N independent trivial tasks, measured in the same run.

Shapes (Jug's baseline scenarios): execute from an empty store, execute again when everything
is done (no-op), and status when everything is done. Each is repeated and the median wall
time reported. Both tools store results durably on the same disk: Jug fsyncs every result,
jug-host syncs results in batches. Stores go in fresh directories and are deleted only at the
end: on this machine's journal-less ext4, creating files shortly after deleting many is slow,
and that would penalise whichever tool runs next.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

JUGFILE = '''\
import sys
from jug import TaskGenerator

@TaskGenerator
def double(x):
    return 2 * x

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
for i in range(n):
    double(i)
'''


def timed(command, cwd, expect):
    start = time.monotonic()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - start
    if done.returncode not in expect:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('n', nargs='?', type=int, default=10000)
    parser.add_argument('repeats', nargs='?', type=int, default=3)
    parser.add_argument('--jug-host', required=True)
    parser.add_argument('--component', required=True)
    parser.add_argument('--jug', required=True)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix='jug-bench-', dir=os.environ.get('BENCH_DIR'))
    shutil.copy(args.component, os.path.join(work, 'bench.wasm'))
    with open(os.path.join(work, 'jugbench.py'), 'w') as f:
        f.write(JUGFILE)
    n = str(args.n)
    times = {}

    def record(tool, shape, seconds):
        times.setdefault((tool, shape), []).append(seconds)

    for rep in range(args.repeats):
        for jobs in ('1', '2'):
            store = f'jh-{rep}-j{jobs}'
            record(f'jug-host -j{jobs}', 'execute from empty', timed(
                [args.jug_host, 'execute', 'bench.wasm', '-j', jobs, '--store', store, '--', n], work, {0}))
        store = f'jh-{rep}-j2'
        record('jug-host -j2', 'no-op execute', timed(
            [args.jug_host, 'execute', 'bench.wasm', '--store', store, '--', n], work, {0}))
        record('jug-host -j2', 'status', timed(
            [args.jug_host, 'status', 'bench.wasm', '--store', store, '--', n], work, {0}))
        jugdir = f'jug-{rep}.jugdata'
        record('Jug 2.7.0', 'execute from empty', timed(
            [args.jug, 'execute', '--will-cite', '--jugdir', jugdir, 'jugbench.py', n], work, {0}))
        record('Jug 2.7.0', 'no-op execute', timed(
            [args.jug, 'execute', '--will-cite', '--jugdir', jugdir, 'jugbench.py', n], work, {0}))
        record('Jug 2.7.0', 'status', timed(
            [args.jug, 'status', '--jugdir', jugdir, 'jugbench.py', n], work, {0}))
        print(f'repeat {rep + 1}/{args.repeats} done', file=sys.stderr)

    median = {k: statistics.median(v) for k, v in times.items()}
    print(f'\n{args.n} trivial tasks, median of {args.repeats} (wall seconds; ratio = Jug / jug-host)\n')
    print('| shape | Jug 2.7.0 | jug-host -j1 | jug-host -j2 | ratio (best jug-host) |')
    print('|---|---|---|---|---|')
    for shape in ('execute from empty', 'no-op execute', 'status'):
        jug = median[('Jug 2.7.0', shape)]
        j1 = median.get(('jug-host -j1', shape))
        j2 = median[('jug-host -j2', shape)]
        best = min(x for x in (j1, j2) if x is not None)
        j1_text = f'{j1:.3f}' if j1 is not None else '—'
        print(f'| {shape} | {jug:.3f} | {j1_text} | {j2:.3f} | {jug / best:.1f}× |')
    load = os.getloadavg()
    print(f'\nload average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; '
          f'machine: {os.cpu_count()} cores')
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
