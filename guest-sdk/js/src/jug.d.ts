// TypeScript declarations of the SDK's API (src/jug.js, `import { ... } from 'jug'`), for
// editors and `tsc --noEmit` over graph scripts (see "Types" in ../README.md). Each one is
// checked against the JavaScript it describes by test/types/ (node --test test/).
//
// A Task<T> stands for the result T of a task: wherever a task function takes a T, a
// Task<T> (or a Tasklet<T>, a part of one) may go instead, also inside arrays and objects,
// which is what Arg<T> spells out.

/** Types a task's result: a brand the runtime does not have (there is no such property). */
declare const result: unique symbol;

/** CBOR tags of what the host resolves in a task's arguments (see wit/task.wit). */
export const TASK_REF_TAG: 27253;
export const KEY_EXEMPT_TAG: 27254;
export const CUSTOM_KEY_TAG: 27255;
export const FILE_INPUT_TAG: 27256;
export const DIR_GRANT_TAG: 27257;

/** Why a value cannot be encoded as a task's argument or result. */
export class EncodeError extends Error {
  constructor(message: string);
}

/** What values cross between tasks: deterministic CBOR (see "Values" in the README). */
export type Plain =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Plain[]
  | { readonly [key: string]: Plain }
  | ReadonlyMap<string, Plain>;

/** Limits of a task's own (`withLimits`): milliseconds, instructions, bytes. A limit left out
 *  (or undefined, or null) keeps `jug-host execute`'s. */
export interface Limits {
  timeoutMs?: number | bigint | null;
  fuel?: number | bigint | null;
  maxMemory?: number | bigint | null;
}

/** The element type of a list result, for tasklets. */
type Element<T> = T extends readonly (infer E)[] ? E : unknown;
/** The type of field `K` of an object result, for tasklets. */
type Field<T, K extends string> = T extends object ? (K extends keyof T ? T[K] : unknown) : unknown;

/** A task declared in the graph: pass it where its result (a T) should go. */
export class Task<T = unknown> {
  /** Made by declaring a task (a task generator, `task`, `identity`, `compound`...). */
  constructor(name: string, key: Uint8Array);
  /** The task function's name (`stats.mean` for a task of another component). */
  readonly name: string;
  /** The 32-byte key: a hash of the code, the function and the arguments. */
  readonly key: Uint8Array;
  private readonly [result]?: T;
  /** The key in hex (Jug's `Task.hash()`). */
  hash(): string;
  /** Element `i` of a list result (Jug's `t[i]`). */
  index(i: number): Tasklet<Element<T>>;
  /** The field `name` of an object result. */
  field<K extends string>(name: K): Tasklet<Field<T, K>>;
  /** The first `n` elements of a list result, one Tasklet each (Jug's `iteratetask`). */
  iterate(n: number): Tasklet<Element<T>>[];
  /** This task, with limits of its own in place of execute's --timeout, --fuel and
   *  --max-memory; calling it again replaces all three. Not part of the key. */
  withLimits(limits: Limits): this;
  toString(): string;
}

/** A part of a task's result (Jug's tasklet): nothing is stored for it. */
export class Tasklet<T = unknown> {
  constructor(task: Task, path: readonly (string | number)[]);
  readonly task: Task;
  readonly path: readonly (string | number)[];
  private readonly [result]?: T;
  index(i: number): Tasklet<Element<T>>;
  field<K extends string>(name: K): Tasklet<Field<T, K>>;
  iterate(n: number): Tasklet<Element<T>>[];
  toString(): string;
}

/** A task's result, or a part of one. */
export type Ref<T = unknown> = Task<T> | Tasklet<T>;

/** Jug's `iteratetask(t, n)`: `t.iterate(n)`. */
export function iterateTask<T>(task: Ref<T>, n: number): Tasklet<Element<T>>[];

/** `noHash(value)`: the task gets `value`, its key ignores it. */
export interface NoHash<T> {
  readonly value: T;
}
/** `customHash(value, hash)`: the task gets `value`, its key depends on `hash`. */
export interface CustomHash<T> {
  readonly value: T;
  readonly hash: Uint8Array;
}
/** `file(path)`: the task gets the path at which it sees the file (a string). */
export interface InputFile {
  readonly path: string;
  readonly digest: Uint8Array;
}
/** `directory(path, options)`: the task gets the path at which it sees the directory. */
export interface Directory {
  readonly path: string;
  readonly guest: string;
  readonly writable: boolean;
}

/** What may go where a task function takes a T: the value, a task or tasklet whose result
 *  it is, a noHash/customHash of it, a file or directory where a path is expected, and
 *  arrays and objects whose parts are any of these. */
export type Arg<T> =
  | T
  | Ref<T>
  | NoHash<T>
  | CustomHash<T>
  | (string extends T ? InputFile | Directory : never)
  | Parts<T>;
type Parts<T> = T extends (...args: never[]) => unknown
  ? never
  : T extends object
    ? { [K in keyof T]: Arg<T[K]> }
    : never;
/** The arguments of a task function that takes `A`, when declaring a task of it. */
export type Args<A extends unknown[]> = { [K in keyof A]: Arg<A[K]> };

/** What declares tasks of a task function: calling it inside graph() returns a Task. */
export interface TaskFunction<A extends unknown[] = any[], R = unknown> {
  (...args: Args<A>): Task<R>;
  /** The name the task function is run under. */
  readonly taskName: string;
  /** The name its tasks are shown under (`stats.mean` for another component's). */
  readonly displayName: string;
  /** The `.wasm` file of another component that runs it, or null. */
  readonly component: string | null;
  /** The plain function (Jug's `f.f`), or null for another component's. */
  readonly f: ((...args: A) => R) | null;
}

/** A task function of this script, made by `taskGenerator`. */
export interface TaskGenerator<A extends unknown[] = any[], R = unknown> extends TaskFunction<A, R> {
  readonly component: null;
  readonly f: (...args: A) => R;
}

/** A task function of another component (`component('stats.wasm').mean`). */
export interface ComponentTask<A extends unknown[] = any[], R = unknown> extends TaskFunction<A, R> {
  readonly component: string;
  readonly f: null;
}

/**
 * Jug's TaskGenerator: `taskGenerator(function name(...) {...})` or `taskGenerator('name', f)`,
 * at the top level of the script; calling what it returns inside graph() declares a task.
 */
export function taskGenerator<A extends unknown[], R>(f: ((...args: A) => R) | TaskGenerator<A, R>): TaskGenerator<A, R>;
export function taskGenerator<A extends unknown[], R>(name: string, f: ((...args: A) => R) | TaskGenerator<A, R>): TaskGenerator<A, R>;
/** Alias of `taskGenerator`, with Jug's spelling. */
export const TaskGenerator: typeof taskGenerator;

/** Jug's `Task(f, *args)`: a task of a task generator, or of a function the script exports. */
export function task<A extends unknown[], R>(f: TaskFunction<A, R>, ...args: Args<A>): Task<R>;
export function task<A extends unknown[], R>(f: (...args: A) => R, ...args: Args<A>): Task<R>;

/** The function name of `identity` tasks. */
export const IDENTITY: 'jug.identity';
/** Jug's `identity`: a task whose result is its argument. */
export function identity<T>(value: Arg<T>): Task<T>;

/** The tasks of another component (Rust, Python or JavaScript), relative to this component's
 *  directory: `stats.mean(xs)` or `stats.task('mean')(xs)`. Name the functions' types with
 *  `component<{ mean: ComponentTask<[number[]], number> }>('stats.wasm')`. */
export function component<Tasks extends object = { readonly [name: string]: ComponentTask }>(
  path: string,
): ComponentTasks & Tasks;
export interface ComponentTasks {
  readonly path: string;
  task<A extends unknown[] = any[], R = unknown>(name: string): ComponentTask<A, R>;
}

/** Jug's NoHash: the task gets `value`, but its key ignores it. */
export function noHash<T>(value: T): NoHash<T>;
/** Jug's CustomHash: the task gets `value`; its key depends on `hash`. */
export function customHash<T>(value: T, hash: string | Uint8Array): CustomHash<T>;
/** A file of the working directory as an input; its content digest goes into the key. */
export function file(path: string): InputFile;
/** A directory below the working directory granted to the task it is an argument of, at
 *  `guest` (default: '/' and its last component), read-only unless `writable`. */
export function directory(path: string, options?: { guest?: string; writable?: boolean }): Directory;

/** Jug's `bvalue`: the result of a task declared earlier, once stored (until then the graph
 *  builder stops here and `execute` builds again later). */
export function bvalue<T>(t: Ref<T>): T;
/** Jug's `barrier()`: stops the graph builder here until every task so far has a result. */
export function barrier(): void;
/** Jug's compound tasks: a task named `name`, keyed by `name` and `args`, whose result is that
 *  of the Task `build()` returns (not called once that result is stored). */
export function compound<R>(name: string, args: Plain, build: () => Task<R>): Task<R>;

/** A task function, or a function the script exports, taking `A` and returning `R`. */
type Callee<A extends unknown[], R> = TaskFunction<A, R> | ((...args: A) => R);

/** Jug's `jug.mapreduce`, with `<name>.map` and `<name>.reduce` tasks; the steps are required
 *  (a map step of 0 or 1 declares plain tasks). */
export const mapreduce: {
  /** `f(x)` for every input, `mapStep` inputs per task: one Task or Tasklet per input. */
  map<T, R>(f: Callee<[T], R>, inputs: Iterable<Arg<T>>, mapStep: number): Ref<R>[];
  /** `f(...args)` for every array of arguments (Jug's `currymap`). */
  currymap<A extends unknown[], R>(f: Callee<A, R>, inputs: Iterable<Args<A>>, mapStep: number): Ref<R>[];
  /** Folds the inputs in order with `f(acc, x)`, `reduceStep` per task; null for none. */
  reduce<T>(f: Callee<[T, T], T>, inputs: Iterable<Arg<T>>, reduceStep: number): Task<T> | null;
  /** `reduce(reducer, map(mapper, inputs, mapStep), reduceStep)`. */
  mapreduce<T, R>(
    reducer: Callee<[R, R], R>,
    mapper: Callee<[T], R>,
    inputs: Iterable<Arg<T>>,
    mapStep: number,
    reduceStep: number,
  ): Task<R> | null;
};

/** Lines for jug-host's log (the terminal while building, the task's log while it runs). */
export const log: {
  readonly debug: (...parts: unknown[]) => void;
  readonly info: (...parts: unknown[]) => void;
  readonly warn: (...parts: unknown[]) => void;
  readonly error: (...parts: unknown[]) => void;
};

/** The graph builder a script exports as `graph` (or default): `args` are the words after
 *  `--` on jug-host's command line. It must not be async. */
export type Graph = (args: string[]) => void;

/** The component's build and run, for the entry module jug-js generates. Not part of the API. */
export function __entry(script: Record<string, unknown>): {
  build(args: readonly string[]): void;
  run(name: string, input: Uint8Array): Uint8Array;
  functions(): string[];
  readonly hasGraph: boolean;
};

/** This SDK's version; part of every component's declared code digest. */
export const VERSION: string;

// Only what is exported above is the module's (a declaration file exports everything else too).
export {};
