#!/usr/bin/env python3
"""jug-host vs Jug 2.7.0, measured side by side in the same run.

Sections (each prints a Markdown table):

- trivial: N independent trivial tasks — execute from an empty store, execute again when all
  is done (no-op), status — jug-host -j1/-j2 vs Jug; median of REPEATS.
- two-processes: two workers started together on one local store, 10,000 trivial tasks:
  two jug-host processes (-j1 each) vs two Jug processes.
- cpu: CPU-bound tasks, jug-host -j1 vs -j2 (the scaling of one process).
- s3: N trivial tasks against the S3 store in $JUG_BENCH_S3 (SeaweedFS from
  scripts/services/run): wall time and HTTP request counts of execute, no-op and status.
- slow-s3: N trivial tasks against the same S3 store through scripts/slow-link, which holds
  every request SLOW_LINK_MS as a distant endpoint would: execute from empty with -j1, -j2,
  -j8 (wall time and HTTP requests), how far a process's requests go out side by side.
- sdks: the Python and JavaScript guests: loading a component with an empty compiled-code
  cache vs a warm one, per-task cost of SDK_N trivial tasks in Rust, Python and JavaScript
  components vs Jug running the same jugfile natively, and Jug's primes example in each; and
  the same graph by two -j1 processes on one store, beside -j2 in one process; and, four
  times a repeat, how much of a second core the machine gives a second busy process
  (MACHINE_LOOP), the ceiling of those speed-ups at the time.
- scale: how the per-task cost holds up: 100,000 and 1,000,000 trivial tasks on the local
  store (execute from empty with -j2, then status; wall time and peak memory), and 100,000 on
  the S3 store (wall time and HTTP requests). One run each, whatever REPEATS says.
- grants: `status` of a one-task graph with a read-only `--dir` of GRANT_FILES small files,
  whose content digest goes into every key: with no tree cache (every file hashed), with the
  cache (one walk that only stats), and after touching every file (change times moved, so
  every file is read again); and without the grant, for the cost of everything else. Needs
  only --jug-host and --component: `scripts/bench.py --sections grants --jug-host … --component
  … --jug none`.

Both tools store results durably on the same disk: Jug fsyncs every result, jug-host syncs
results in batches. Stores go in fresh directories, deleted only at the end: on this
machine's journal-less ext4, creating files shortly after deleting many is slow, and that
would penalise whichever tool runs next.
"""

import argparse
import os
import re
import json
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Jug runs the Python examples as they are: the same graphs the components are built from.
JUGFILE = os.path.join(ROOT, 'examples', 'bench', 'bench.py')
PRIMES = os.path.join(ROOT, 'examples', 'primes', 'primes.py')
SLOW_LINK = os.path.join(ROOT, 'scripts', 'slow-link')
# What the slow-s3 section adds to every request: a few milliseconds, as from a machine to an
# S3 endpoint in its own region.
SLOW_LINK_MS = 5

SDK_N = 2000

# A CPU-bound CPython loop of ~0.6 s: run alone, then two at once, it measures how much of a
# second core this machine gives a second busy process at the moment (a VM's two vCPUs may
# share a physical core), the ceiling of any -j2 speed-up next to it.
MACHINE_LOOP = 'd = {}\nfor i in range(3_000_000):\n    d[i & 4095] = d.get(i & 1023, 0) + i\n'

GRANT_FILES = 100_000


# What the last `run` cost its process, from getrusage: CPU seconds (user + system), minor page
# faults, voluntary and involuntary context switches. Unlike wall time, these hardly move with
# the load other processes put on the machine.
last_usage = {}


def run(command, cwd, env=None, ok=(0,)):
    """Runs a command to completion; returns (seconds, stderr). Its usage is in `last_usage`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=env)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last_usage.update(
        cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        faults=after.ru_minflt - before.ru_minflt,
        voluntary=after.ru_nvcsw - before.ru_nvcsw,
        involuntary=after.ru_nivcsw - before.ru_nivcsw,
    )
    if done.returncode not in ok:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return elapsed, done.stderr


def run_peak(command, cwd, env=None):
    """Runs a command to completion; returns (seconds, peak resident memory in MB, stderr)."""
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{err}")
    return elapsed, usage.ru_maxrss / 1024, err


def together(commands, cwd):
    """Starts commands at once; returns the seconds until the last one ends."""
    start = time.monotonic()
    procs = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in commands]
    for proc, command in zip(procs, commands):
        _, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"{' '.join(command)} exited {proc.returncode}:\n{err}")
    return time.monotonic() - start


class Bench:
    def __init__(self, args, work):
        self.args, self.work, self.times = args, work, {}

    def jh(self, *words):
        return [self.args.jug_host, *words]

    def jug(self, *words):
        return [self.args.jug, *words]

    def record(self, row, column, seconds):
        self.times.setdefault((row, column), []).append(seconds)

    def median(self, row, column):
        return statistics.median(self.times[(row, column)])

    def trivial(self, rep):
        n = str(self.args.n)
        for jobs in ('1', '2'):
            store = f'jh-{rep}-j{jobs}'
            self.record('execute from empty', f'jug-host -j{jobs}', run(
                self.jh('execute', 'bench.wasm', '-j', jobs, '--store', store, '--', n), self.work)[0])
        store = f'jh-{rep}-j2'
        self.record('no-op execute', 'jug-host -j2',
                    run(self.jh('execute', 'bench.wasm', '--store', store, '--', n), self.work)[0])
        self.record('status', 'jug-host -j2',
                    run(self.jh('status', 'bench.wasm', '--store', store, '--', n), self.work)[0])
        jugdir = f'jug-{rep}.jugdata'
        for shape in ('execute from empty', 'no-op execute'):
            self.record(shape, 'Jug 2.7.0', run(
                self.jug('execute', '--will-cite', '--jugdir', jugdir, 'jugbench.py', n), self.work)[0])
        self.record('status', 'Jug 2.7.0', run(self.jug('status', '--jugdir', jugdir, 'jugbench.py', n),
                                                self.work)[0])

    def two_processes(self, rep):
        n = '10000'
        store = f'jh2-{rep}'
        self.record('2 processes, 10k tasks', 'jug-host', together(
            [self.jh('execute', 'bench.wasm', '-j', '1', '--store', store, '--', n)] * 2, self.work))
        jugdir = f'jug2-{rep}.jugdata'
        self.record('2 processes, 10k tasks', 'Jug 2.7.0', together(
            [self.jug('execute', '--will-cite', '--jugdir', jugdir, 'jugbench.py', n)] * 2, self.work))

    def cpu(self, rep):
        graph = ['--', 'cpu', '8', '400']
        for jobs in ('1', '2'):
            self.record('8 CPU-bound tasks', f'-j{jobs}', run(
                self.jh('execute', 'bench.wasm', '-j', jobs, '--store', f'cpu-{rep}-j{jobs}', *graph),
                self.work)[0])
        if self.args.burn_native:
            self.record('8 CPU-bound tasks', 'native', run([self.args.burn_native, '8', '400'], self.work)[0])

    def s3(self, rep):
        n = str(self.args.n)
        store = f"{os.environ['JUG_BENCH_S3']}/bench-{os.getpid()}-{rep}"
        env = dict(os.environ, RUST_LOG='info')
        for shape, words in (('execute from empty', ('execute', '-j', '2')), ('no-op execute', ('execute',)),
                             ('status', ('status',))):
            seconds, err = run(self.jh(*words, 'bench.wasm', '--store', store, '--', n), self.work, env)
            self.record(shape, 'seconds', seconds)
            requests = re.search(r'(\d+) requests to', err)
            self.record(shape, 'HTTP requests', int(requests.group(1)) if requests else float('nan'))


    def slow_s3(self, rep):
        target = int(os.environ['AWS_ENDPOINT'].rsplit(':', 1)[1])
        with socket.socket() as probe:  # a free port for the relay
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        relay = subprocess.Popen([SLOW_LINK, str(port), str(target), str(SLOW_LINK_MS)], stdout=subprocess.PIPE,
                                 text=True)
        try:
            relay.stdout.readline()  # 'ready'
            env = dict(os.environ, RUST_LOG='info', AWS_ENDPOINT=f'http://127.0.0.1:{port}')
            for jobs in ('1', '2', '8'):
                store = f"{os.environ['JUG_BENCH_S3']}/slow-{os.getpid()}-{rep}-j{jobs}"
                seconds, err = run(self.jh('execute', '-j', jobs, 'bench.wasm', '--store', store, '--',
                                           str(self.args.n)), self.work, env)
                requests = re.search(r'(\d+) requests to', err)
                self.record(f'execute from empty, -j{jobs}', 'seconds', seconds)
                self.record(f'execute from empty, -j{jobs}', 'HTTP requests',
                            int(requests.group(1)) if requests else float('nan'))
        finally:
            relay.terminate()
            relay.wait()

    def scale(self, rep):
        if rep > 0:
            return
        env = dict(os.environ, RUST_LOG='info')
        for n in (100_000, 1_000_000):
            store = f'scale-{n}'
            for shape, words in (('execute from empty, -j2', ('execute', '-j', '2')), ('status', ('status',))):
                seconds, peak, _ = run_peak(self.jh(*words, 'bench.wasm', '--store', store, '--', str(n)), self.work)
                self.record(f'{n:,} tasks, local: {shape}', 'seconds', seconds)
                self.record(f'{n:,} tasks, local: {shape}', 'µs per task', 1e6 * seconds / n)
                self.record(f'{n:,} tasks, local: {shape}', 'peak MB', round(peak))
        if 'JUG_BENCH_S3' in os.environ:
            n = 100_000
            store = f"{os.environ['JUG_BENCH_S3']}/scale-{os.getpid()}"
            for shape, words in (('execute from empty, -j2', ('execute', '-j', '2')), ('status', ('status',))):
                seconds, peak, err = run_peak(self.jh(*words, 'bench.wasm', '--store', store, '--', str(n)),
                                              self.work, env)
                requests = re.search(r'(\d+) requests to', err)
                row = f'{n:,} tasks, S3: {shape}'
                self.record(row, 'seconds', seconds)
                self.record(row, 'µs per task', 1e6 * seconds / n)
                self.record(row, 'peak MB', round(peak))
                self.record(row, 'HTTP requests', int(requests.group(1)) if requests else float('nan'))

    def machine(self):
        """Throughput of two CPython loops at once over one alone: 2.00 is two whole cores."""
        loop = [sys.executable, '-c', MACHINE_LOOP]
        before = run(loop, self.work)[0]
        two = together([loop, loop], self.work)
        one = (before + run(loop, self.work)[0]) / 2  # alone just before and just after
        return 2 * one / two

    def sdks(self, rep):
        self.record('machine', 'two loops', self.machine())
        guests = {'Rust': 'bench.wasm', 'Python': 'bench_py.wasm', 'JavaScript': 'bench_js.wasm'}
        primes = {'Rust': 'primes_rs.wasm', 'Python': 'primes_py.wasm', 'JavaScript': 'primes_js.wasm'}
        for language in ('Python', 'JavaScript'):
            cache = os.path.join(self.work, f'cache-{rep}-{language}')
            env = dict(os.environ, JUG_CACHE_DIR=cache)
            for shape in ('load, empty cache', 'load, warm cache'):
                # status of a graph with one task: load the component, build, list the store; it
                # exits 1 because the task is not done
                status = self.jh('status', guests[language], '--store', f'load-{rep}', '--', '1')
                self.record(shape, language, run(status, self.work, env, ok=(1,))[0])
        n = str(SDK_N)
        for language, component in guests.items():
            store = f'sdk-{rep}-{language}'
            for jobs in ('1', '2'):
                self.record(f'{n} trivial tasks, -j{jobs}', language, run(
                    self.jh('execute', component, '-j', jobs, '--store', f'{store}-j{jobs}', '--', n), self.work)[0])
                for counter, value in last_usage.items():
                    self.record(f'{counter}, -j{jobs}', language, value)
            # The same graph done by two -j1 processes started together on one store (leases
            # share the tasks out): how far two threads of one process are from two processes.
            self.record(f'{n} trivial tasks, 2 processes -j1', language, together(
                [self.jh('execute', component, '-j', '1', '--store', f'{store}-2p', '--', n)] * 2, self.work))
            self.record('primes (101 tasks), -j1', language, run(
                self.jh('execute', primes[language], '-j', '1', '--store', store + '-primes'),
                self.work)[0])
            self.record('machine', 'two loops', self.machine())
        self.record(f'{n} trivial tasks, -j1', 'Jug 2.7.0', run(
            self.jug('execute', '--will-cite', '--jugdir', f'jug-sdk-{rep}.jugdata', 'jugbench.py', n), self.work)[0])
        self.record('primes (101 tasks), -j1', 'Jug 2.7.0', run(
            self.jug('execute', '--will-cite', '--jugdir', f'jug-primes-{rep}.jugdata', 'primes.py'), self.work)[0])

    def grants(self, rep):
        tree = os.path.join(self.work, 'grant-tree')
        if not os.path.isdir(tree):
            make_tree(tree, GRANT_FILES)
            # Older than the tree cache's racy window, so that the first walk may cache them.
            time.sleep(3.5)
        cache = os.path.join(self.work, 'grant-cache')
        env = dict(os.environ, JUG_CACHE_DIR=cache)

        def status(*grant):
            # exits 1: the task is never run
            return run(self.jh('status', 'bench.wasm', '--store', 'grant-store', *grant, '--', '1'), self.work, env,
                       ok=(1,))[0]
        status()  # the compiled component cached first: every row loads it alike
        self.record('no grant', 'seconds', status())
        shutil.rmtree(os.path.join(cache, 'trees'), ignore_errors=True)
        granted = ('--dir', 'grant-tree:/data')
        self.record('read-only grant, no tree cache', 'seconds', status(*granted))
        self.record('read-only grant, cached', 'seconds', status(*granted))
        for directory, _, files in os.walk(tree):
            for name in files:
                os.utime(os.path.join(directory, name))
        self.record('read-only grant, every file touched', 'seconds', status(*granted))
        # Let the touched files age past the racy window too, or the next repeat's cached row
        # would hash them all again.
        time.sleep(3.5)


def make_tree(root, files, per_directory=100):
    """`files` files of about 100 bytes, `per_directory` to a directory."""
    for i in range(files):
        directory = os.path.join(root, f'd{i // per_directory:05}')
        if i % per_directory == 0:
            os.makedirs(directory)
        with open(os.path.join(directory, f'f{i:06}.txt'), 'w') as f:
            f.write(f'{i}\n' * 16)


def table(bench, title, rows, columns, ratio=None):
    print(f'\n{title}\n')
    print('| | ' + ' | '.join(columns) + (f' | {ratio[0]}' if ratio else '') + ' |')
    print('|---' * (len(columns) + 1 + bool(ratio)) + '|')
    for row in rows:
        cells = [bench.median(row, c) for c in columns]
        text = [f'{x:.3f}' if isinstance(x, float) else str(x) for x in cells]
        if ratio:
            text.append(f'{ratio[1](row):.2f}×')
        print(f'| {row} | ' + ' | '.join(text) + ' |')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('n', nargs='?', type=int, default=10000)
    parser.add_argument('repeats', nargs='?', type=int, default=3)
    parser.add_argument('--jug-host', required=True)
    parser.add_argument('--component', required=True)
    parser.add_argument('--jug', required=True)
    parser.add_argument('--sections', default='trivial,two-processes,cpu,s3,slow-s3,scale,sdks,grants')
    parser.add_argument('--sdk-components', nargs=4, metavar=('BENCH_PY', 'BENCH_JS', 'PRIMES_PY', 'PRIMES_JS'),
                        help='the Python and JavaScript builds of examples/bench and examples/primes')
    parser.add_argument('--primes-rust', help='the Rust build of examples/primes')
    parser.add_argument('--burn-native', help='examples/bench/burn_native.rs built natively (the wasm-vs-native row)')
    args = parser.parse_args()
    sections = args.sections.split(',')

    work = tempfile.mkdtemp(prefix='jug-bench-', dir=os.environ.get('BENCH_DIR'))
    shutil.copy(args.component, os.path.join(work, 'bench.wasm'))
    shutil.copy(JUGFILE, os.path.join(work, 'jugbench.py'))
    if 'sdks' in sections:
        shutil.copy(PRIMES, os.path.join(work, 'primes.py'))
        names = ('bench_py.wasm', 'bench_js.wasm', 'primes_py.wasm', 'primes_js.wasm')
        for path, name in zip(args.sdk_components, names):
            shutil.copy(path, os.path.join(work, name))
        shutil.copy(args.primes_rust, os.path.join(work, 'primes_rs.wasm'))
    bench = Bench(args, work)
    for rep in range(args.repeats):
        for section in sections:
            getattr(bench, section.replace('-', '_'))(rep)
        print(f'repeat {rep + 1}/{args.repeats} done', file=sys.stderr)

    m = bench.median

    def best_jug_host(row):
        return min(m(row, column) for column in ('jug-host -j1', 'jug-host -j2') if (row, column) in bench.times)
    print(f'\nmedians of {args.repeats} runs, wall seconds')
    if 'trivial' in sections:
        table(bench, f'{args.n} trivial tasks (ratio: Jug / best jug-host)',
              ['execute from empty', 'no-op execute', 'status'], ['Jug 2.7.0', 'jug-host -j2'],
              ('ratio', lambda r: m(r, 'Jug 2.7.0') / best_jug_host(r)))
        print(f"\n(jug-host -j1, execute from empty: {m('execute from empty', 'jug-host -j1'):.3f})")
    if 'two-processes' in sections:
        table(bench, 'two workers started together on one local store (ratio: Jug / jug-host)',
              ['2 processes, 10k tasks'], ['Jug 2.7.0', 'jug-host'],
              ('ratio', lambda r: m(r, 'Jug 2.7.0') / m(r, 'jug-host')))
    if 'cpu' in sections:
        table(bench, 'CPU-bound tasks in one process (speed-up: -j1 / -j2)', ['8 CPU-bound tasks'], ['-j1', '-j2'],
              ('speed-up', lambda r: m(r, '-j1') / m(r, '-j2')))
        if args.burn_native:
            table(bench, 'the same CPU-bound work in wasm tasks (-j1) and as a native program (ratio: wasm / native)',
                  ['8 CPU-bound tasks'], ['-j1', 'native'], ('ratio', lambda r: m(r, '-j1') / m(r, 'native')))
    if 's3' in sections:
        table(bench, f"{args.n} trivial tasks on S3 ({os.environ.get('AWS_ENDPOINT', 'AWS')})",
              ['execute from empty', 'no-op execute', 'status'], ['seconds', 'HTTP requests'])
    if 'slow-s3' in sections:
        table(bench, f'{args.n} trivial tasks on S3 through {SLOW_LINK_MS} ms a request (scripts/slow-link)',
              [f'execute from empty, -j{jobs}' for jobs in (1, 2, 8)], ['seconds', 'HTTP requests'])
    if 'sdks' in sections:
        languages = ['Jug 2.7.0', 'Rust', 'Python', 'JavaScript']
        table(bench, 'loading a Python / JavaScript component: compiling it vs the compiled-code cache',
              ['load, empty cache', 'load, warm cache'], ['Python', 'JavaScript'])
        rows = [f'{SDK_N} trivial tasks, -j1', 'primes (101 tasks), -j1']
        table(bench, 'one process, whole command (ratio: Jug / Python component)', rows, languages,
              ('ratio', lambda r: m(r, 'Jug 2.7.0') / m(r, 'Python')))
        table(bench, 'the same process using both cores (-j2; Jug has one thread)', [f'{SDK_N} trivial tasks, -j2'],
              languages[1:])
        print('\nspeed-up of -j2 over -j1 (ratio of the medians): ' + ', '.join(
            f"{lang} {m(rows[0], lang) / m(f'{SDK_N} trivial tasks, -j2', lang):.2f}×" for lang in languages[1:]))
        loops = bench.times[('machine', 'two loops')]
        print(f"\nwhat this machine gave a second busy process, between the rows above (two CPython loops at "
              f"once over one; 2.00× is two whole cores): median {statistics.median(loops):.2f}×, "
              f"{min(loops):.2f}–{max(loops):.2f}× over {len(loops)} tries")
        print('\nspeed-up of two -j1 processes on one store over one -j1 process: ' + ', '.join(
            f"{lang} {m(rows[0], lang) / m(f'{SDK_N} trivial tasks, 2 processes -j1', lang):.2f}×"
            for lang in languages[1:]))
        print(f'\nper task, {SDK_N} trivial tasks (ms): ' + ', '.join(
            f'{lang} {1000 * m(rows[0], lang) / SDK_N:.3f}' for lang in languages))
        print(f'\nper task, {SDK_N} trivial tasks, whole command (getrusage; medians): CPU ms (user + system), '
              'minor page faults, voluntary / involuntary context switches\n')
        print('| | ' + ' | '.join(f'{lang} -j{jobs}' for lang in languages[1:] for jobs in (1, 2)) + ' |')
        print('|---' * (2 * len(languages[1:]) + 1) + '|')
        for counter, scale, form in (('cpu', 1000, '{:.3f}'), ('faults', 1, '{:.1f}'), ('voluntary', 1, '{:.2f}'),
                                     ('involuntary', 1, '{:.2f}')):
            cells = [form.format(scale * m(f'{counter}, -j{jobs}', lang) / SDK_N)
                     for lang in languages[1:] for jobs in (1, 2)]
            print(f'| {counter} | ' + ' | '.join(cells) + ' |')
    if 'scale' in sections:
        rows = [r for (r, c) in bench.times if c == 'seconds' and ('tasks, local' in r or 'tasks, S3' in r)]
        table(bench, 'at scale (one run)', sorted(set(rows), key=rows.index),
              ['seconds', 'µs per task', 'peak MB'])
        s3_rows = [r for r in dict.fromkeys(rows) if 'S3' in r]
        if s3_rows:
            table(bench, 'at scale on S3: requests', s3_rows, ['HTTP requests'])
    if 'grants' in sections:
        table(bench, f'status of one task with a read-only --dir of {GRANT_FILES:,} files', [
            'no grant', 'read-only grant, no tree cache', 'read-only grant, cached',
            'read-only grant, every file touched'], ['seconds'])
    if os.environ.get('BENCH_RAW'):  # every run's figure, in order, for a closer look
        with open(os.environ['BENCH_RAW'], 'w') as f:
            json.dump([[row, column, values] for (row, column), values in bench.times.items()], f, indent=1)
    load = os.getloadavg()
    print(f'\nload average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; '
          f'machine: {os.cpu_count()} cores')
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
