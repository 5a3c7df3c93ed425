// A graph script in TypeScript that uses the whole public API of the SDK, checked with
// `tsc --strict` against src/jug.d.ts (test/types.test.mjs). Lines marked @ts-expect-error
// are mistakes the declarations must reject: tsc fails if one is accepted.

import {
  CUSTOM_KEY_TAG,
  DIR_GRANT_TAG,
  EncodeError,
  FILE_INPUT_TAG,
  IDENTITY,
  KEY_EXEMPT_TAG,
  TASK_REF_TAG,
  Task,
  TaskGenerator,
  Tasklet,
  VERSION,
  barrier,
  bvalue,
  component,
  compound,
  customHash,
  directory,
  file,
  identity,
  iterateTask,
  log,
  mapreduce,
  noHash,
  task,
  taskGenerator,
  type Arg,
  type ComponentTask,
  type Graph,
  type Limits,
  type Plain,
  type Ref,
} from 'jug';
// The package's own name resolves through package.json's `exports` (its types condition).
import type { Task as ExportedTask } from 'jug-js';

const isPrime = taskGenerator(function is_prime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n >= 2;
});
const countTrue = taskGenerator('count_true', (flags: boolean[]) => flags.filter(Boolean).length);
const report = TaskGenerator(function report(count: number, limit: number, note: string): string {
  return `${count} primes <= ${limit}${note}\n`;
});
const stats = taskGenerator(function stats(xs: number[]): { mean: number; sizes: number[] } {
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, sizes: [xs.length] };
});
const add = taskGenerator(function add(a: number, b: number): number {
  return a + b;
});
const pair = taskGenerator(function pair(a: number, b: string): [number, string] {
  return [a, b];
});
const readIn = taskGenerator(function read_in(dir: string, name: string): string {
  return `${dir}/${name}`;
});
const config = taskGenerator(function configured(options: { threads: number; label: string }) {
  return options.label.repeat(options.threads);
});

/** An exported plain function: `task(f, ...)` declares tasks of it too. */
export function double(x: number): number {
  return 2 * x;
}

export const graph: Graph = (args) => {
  const limit = args.length ? Number(args[0]) : 100;
  const flags: Task<boolean>[] = [];
  for (let n = 2; n <= limit; n++) flags.push(isPrime(n));
  const count: Task<number> = countTrue(flags);
  const text: Task<string> = report(count, limit, '');
  const self: ExportedTask<string> = text;
  log.info('declared', text.name, self.hash(), text.key.length, text.toString());
  log.debug(1, 2n, null);
  log.warn('w');
  log.error(new Error('e'));

  // Tasks where values go, also inside arrays and objects; tasklets of results.
  const summary = stats([count, 3, add(1, 2)]);
  const mean: Tasklet<number> = summary.field('mean');
  const firstSize: Tasklet<number> = summary.field('sizes').index(0);
  const parts: Tasklet<number | string>[] = pair(1, 'a').iterate(2);
  const alsoParts = iterateTask(pair(2, 'b'), 2);
  add(mean, firstSize);
  config({ threads: noHash(4), label: customHash('x', 'label-v1') });
  config(noHash({ threads: 1, label: 'y' }));
  add(customHash(1, new Uint8Array([1, 2])), 2);
  readIn(directory('data', { guest: '/data', writable: false }), 'in.txt');
  readIn(file('input.txt'), directory('out', { writable: true }).guest);
  report(alsoParts[0] as Tasklet<number>, 1, parts[1] as Ref<string>);

  // task(), identity, another component's tasks.
  const doubled: Task<number> = task(double, add(1, 1));
  const viaGenerator: Task<number> = task(add, doubled, 3);
  const same: Task<number> = identity(viaGenerator);
  const literal: Task<string> = identity('text');
  const lib = component<{ mean: ComponentTask<[number[]], number> }>('stats.wasm');
  const libMean: Task<number> = lib.mean([1, 2, same]);
  const untyped = component('other.wasm');
  untyped.anything(1, 'two', libMean);
  untyped.task<[string], number>('length')(literal);
  log.info(lib.path, lib.mean.taskName, lib.mean.displayName, lib.mean.component, lib.mean.f);

  // Limits: Numbers or BigInts; the task comes back.
  const limits: Limits = { timeoutMs: 60_000, fuel: 10n ** 12n, maxMemory: null };
  const limited: Task<number> = add(1, 2).withLimits(limits).withLimits({});

  // mapreduce: map, currymap, reduce, mapreduce.
  const mapped: Ref<boolean>[] = mapreduce.map(isPrime, [1, 2, limited], 4);
  const curried: Ref<number>[] = mapreduce.currymap(add, [[1, 2], [limited, 4]], 0);
  const total: Task<number> | null = mapreduce.reduce(add, curried, 8);
  const viaFunction: Ref<number>[] = mapreduce.map(double, [1, 2], 2);
  const folded: Task<number> | null = mapreduce.mapreduce(add, double, [1, 2, 3], 4, 8);
  log.info(mapped.length, total, viaFunction.length, folded);

  // Results while building, and compound tasks.
  barrier();
  const known: number = bvalue(count);
  const part: number = bvalue(summary.field('mean'));
  const built: Task<string> = compound('chapter', { limit, names: ['a', 'b'] }, () => report(known, part, ''));
  log.info(built.name, isPrime.taskName, isPrime.displayName, isPrime.component, isPrime.f(7));

  // The constants.
  const tags: number[] = [TASK_REF_TAG, KEY_EXEMPT_TAG, CUSTOM_KEY_TAG, FILE_INPUT_TAG, DIR_GRANT_TAG];
  const names: string[] = [IDENTITY, VERSION];
  const error: Error = new EncodeError('not plain');
  const plain: Plain = { a: [1, 2n, 'x', new Uint8Array(1), null, true], m: new Map([['k', 1]]) };
  const arg: Arg<number[]> = [1, count, noHash(2)];
  log.info(tags, names, error, plain, arg, Task.name, Tasklet.name);

  // Mistakes the declarations catch.
  // @ts-expect-error a Task<string> where a number goes
  add(text, 1);
  // @ts-expect-error too few arguments
  add(1);
  // @ts-expect-error a tasklet of a number is not a string
  report(count, 1, summary.field('mean'));
  // @ts-expect-error the limit is spelled timeoutMs
  add(1, 2).withLimits({ timeout: 5 });
  // @ts-expect-error limits are Numbers or BigInts
  add(1, 2).withLimits({ fuel: '1e9' });
  // @ts-expect-error directory options are guest and writable
  directory('data', { mode: 'rw' });
  // @ts-expect-error a compound's arguments are plain values, not tasks
  compound('c', { t: count }, () => count);
  // @ts-expect-error compound builds a Task
  compound('c', [], () => 1);
  // @ts-expect-error mapreduce's steps are required
  mapreduce.map(isPrime, [1, 2]);
  // @ts-expect-error bvalue of a number, not of a Task
  bvalue(3);
  // @ts-expect-error a file input is a path, not a number
  add(file('input.txt'), 1);
  // @ts-expect-error customHash hashes a string or bytes
  customHash(1, 2);
  // @ts-expect-error the plain function takes plain values
  isPrime.f(count);
  // @ts-expect-error a task generator's result is a Task, not its value
  const notANumber: number = isPrime(3);
  log.info(notANumber);
};
