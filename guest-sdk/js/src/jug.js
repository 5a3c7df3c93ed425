// The JavaScript SDK of jug-host: Jug's task model for scripts built into `jug:task`
// components by `jug-js build` (see ../README.md).
//
// A script defines its task functions at the top level, wrapped in `taskGenerator`, and exports
// `graph(args)`, the jugfile: inside it, calling a task generator declares a task and returns a
// `Task`, which can be passed to other task generators (also inside arrays and objects). The
// top level runs once, when the component is built (it is snapshotted), so every task function
// is known in the fresh instance each task runs in.

import { Tagged } from 'cborg';
import { graph as host, write } from './host.js';
import {
  CUSTOM_KEY_TAG,
  EncodeError,
  FILE_INPUT_TAG,
  KEY_EXEMPT_TAG,
  TASK_REF_TAG,
  decodeValue,
  encodeNormalized,
  normalize,
  toBytes,
} from './cbor.js';
import { mapStack } from './stack.js';

export { TASK_REF_TAG, KEY_EXEMPT_TAG, CUSTOM_KEY_TAG, FILE_INPUT_TAG, EncodeError };

/** This SDK's version; part of every component's declared code digest. */
export const VERSION = '0.1.0';

/** The function name of `identity` tasks (`<stem>.jug.identity`), as in the Rust SDK. */
export const IDENTITY = 'jug.identity';

// ---------------------------------------------------------------------------------------------
// State

/** Task functions by name: what `run` can call. Filled while the script's top level runs. */
const registry = new Map();
/** The names of registered functions, for `task(f, ...)`. */
const names = new Map();
/** Every task generator this SDK made, for `task(generator, ...)` and error messages. */
const generators = new WeakSet();

/** 'load' (the script's top level), 'build' (in graph()), 'run' (in a task), 'idle'. */
let phase = 'load';

/** Thrown by `bvalue`/`barrier` to stop the graph builder; `build` catches it. */
class BarrierStop {
  toString() {
    return 'the graph builder stopped at a barrier: a result it needs is not stored yet';
  }
}
const BARRIER = Object.freeze(new BarrierStop());

/** An error of this SDK's own, reported by its message alone. */
class JugError extends Error {
  constructor(message) {
    super(message);
    this.name = 'JugError';
  }
}

function hostMessage(e) {
  if (e && typeof e.payload === 'string') return e.payload;
  if (e && typeof e.message === 'string') return e.message;
  return String(e);
}

function hex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function checkName(name, what) {
  if (typeof name !== 'string' || name === '' || /[.\s]/.test(name)) {
    throw new JugError(
      `${what}: a task function's name must be a non-empty string without dots or spaces, ` +
        `not ${JSON.stringify(name)}`,
    );
  }
}

function register(name, fn) {
  const known = registry.get(name);
  if (known !== undefined && known !== fn) {
    throw new JugError(
      `two different task functions are named \`${name}\`; give one another name ` +
        `with taskGenerator('other_name', f)`,
    );
  }
  registry.set(name, fn);
  if (!names.has(fn)) names.set(fn, name);
}

function requireBuild(what) {
  if (phase === 'build') return;
  const where = {
    load: 'at the top level of the script',
    run: 'inside a task (a task is a function of its inputs alone)',
    idle: 'after graph() returned',
  }[phase];
  throw new JugError(`${what} was called ${where}: only graph() declares tasks`);
}

// ---------------------------------------------------------------------------------------------
// Tasks

/** A task declared in the graph. Pass it where its result should go. */
export class Task {
  /** @param {string} name  @param {Uint8Array} key */
  constructor(name, key) {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new JugError('the host returned a malformed key');
    }
    /** The task function's name (`stats.mean` for a task of another component). */
    this.name = name;
    /** The 32-byte key: a hash of the code, the function and the arguments. */
    this.key = key;
    Object.freeze(this);
  }

  /** The key in hex (Jug's `Task.hash()`). */
  hash() {
    return hex(this.key);
  }

  /** Element `i` of a list result (Jug's `t[i]`): a Tasklet. */
  index(i) {
    return new Tasklet(this, []).index(i);
  }

  /** The field `name` of an object result: a Tasklet. */
  field(name) {
    return new Tasklet(this, []).field(name);
  }

  /** The first `n` elements of a list result, one Tasklet each (Jug's `iteratetask`). */
  iterate(n) {
    return new Tasklet(this, []).iterate(n);
  }

  toString() {
    return `Task(${this.name}, ${hex(this.key).slice(0, 12)})`;
  }
}

/** A part of a task's result (Jug's tasklet): nothing is stored for it. */
export class Tasklet {
  constructor(task, path) {
    this.task = task;
    this.path = path;
    Object.freeze(this);
  }

  index(i) {
    if (!Number.isSafeInteger(i) || i < 0) {
      throw new JugError(`index(${String(i)}): an index is a non-negative integer`);
    }
    return new Tasklet(this.task, [...this.path, i]);
  }

  field(name) {
    if (typeof name !== 'string') throw new JugError(`field(${String(name)}): a field name is a string`);
    return new Tasklet(this.task, [...this.path, name]);
  }

  iterate(n) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new JugError(`iterate(${String(n)}): a count is a non-negative integer`);
    }
    return Array.from({ length: n }, (_, i) => this.index(i));
  }

  toString() {
    const steps = this.path.map((s) => `[${JSON.stringify(s)}]`).join('');
    return `Tasklet(${this.task.name}, ${hex(this.task.key).slice(0, 12)})${steps}`;
  }
}

/** Jug's `iteratetask(t, n)`: `t.iterate(n)`. */
export function iterateTask(task, n) {
  if (!(task instanceof Task || task instanceof Tasklet)) {
    throw new JugError('iterateTask(t, n): t must be a Task or a Tasklet');
  }
  return task.iterate(n);
}

class NoHash {
  constructor(value) {
    this.value = value;
  }
}

class CustomHash {
  constructor(value, hash) {
    this.value = value;
    this.hash = hash;
  }
}

class InputFile {
  constructor(path, digest) {
    this.path = path;
    this.digest = digest;
    Object.freeze(this);
  }
}

/** Jug's NoHash: the task gets `value`, but its key ignores it (a thread count, say). */
export function noHash(value) {
  return new NoHash(value);
}

/** Jug's CustomHash: the task gets `value`; its key depends on `hash` (string or bytes). */
export function customHash(value, hash) {
  let bytes;
  if (typeof hash === 'string') bytes = utf8(hash);
  else if (hash instanceof Uint8Array) bytes = hash;
  else throw new JugError('customHash(value, hash): hash must be a string or a Uint8Array');
  return new CustomHash(value, bytes);
}

function utf8(text) {
  if (typeof TextEncoder === 'function') return new TextEncoder().encode(text);
  const bytes = unescape(encodeURIComponent(text));
  return Uint8Array.from(bytes, (c) => c.charCodeAt(0));
}

/** A file of the working directory as an input: its content digest goes into the key. */
export function file(path) {
  requireBuild(`file(${JSON.stringify(path)})`);
  if (typeof path !== 'string') throw new JugError('file(path): path must be a string');
  let digest;
  try {
    digest = toBytes(host.inputFile(path));
  } catch (e) {
    throw new JugError(hostMessage(e));
  }
  return new InputFile(path, digest);
}

function plainOnly(what) {
  return (value, where) => {
    if (value instanceof Task || value instanceof Tasklet) {
      throw new EncodeError(`${where} is ${value}: ${what} cannot hold a task`);
    }
    if (value instanceof NoHash || value instanceof CustomHash || value instanceof InputFile) {
      throw new EncodeError(`${where}: ${what} cannot hold noHash, customHash or file()`);
    }
    if (typeof value === 'function' && generators.has(value)) {
      throw new EncodeError(`${where} is the task function ${value.taskName}, not a value`);
    }
    return undefined;
  };
}

const insideWrapper = plainOnly('noHash/customHash');
const insideResult = plainOnly('a result');

/** Arguments may hold tasks, tasklets and wrappers anywhere; they become CBOR tags. */
function templateSpecial(value, where, seen) {
  if (value instanceof Task) return new Tagged(TASK_REF_TAG, value.key);
  if (value instanceof Tasklet) {
    if (value.path.length === 0) return new Tagged(TASK_REF_TAG, value.task.key);
    return new Tagged(TASK_REF_TAG, [value.task.key, ...value.path]);
  }
  if (value instanceof NoHash) {
    return new Tagged(KEY_EXEMPT_TAG, normalize(value.value, insideWrapper, `${where} (noHash)`, seen));
  }
  if (value instanceof CustomHash) {
    const inner = normalize(value.value, insideWrapper, `${where} (customHash)`, seen);
    return new Tagged(CUSTOM_KEY_TAG, [value.hash, inner]);
  }
  if (value instanceof InputFile) return new Tagged(FILE_INPUT_TAG, [value.path, value.digest]);
  if (typeof value === 'function' && generators.has(value)) {
    throw new EncodeError(`${where} is the task function ${value.taskName}; call it to declare a task`);
  }
  return undefined;
}

function declareTask(component, fnName, displayName, args) {
  requireBuild(`${displayName}(…)`);
  let template;
  try {
    template = encodeNormalized(
      args.map((arg, i) => normalize(arg, templateSpecial, `argument ${i + 1} of ${displayName}`)),
    );
  } catch (e) {
    throw e instanceof EncodeError ? new JugError(e.message) : e;
  }
  let key;
  try {
    key =
      component === null
        ? host.declare(fnName, template)
        : host.declareIn(component, fnName, template);
  } catch (e) {
    throw new JugError(`cannot declare task ${displayName}: ${hostMessage(e)}`);
  }
  return new Task(displayName, toBytes(key));
}

function makeGenerator(name, fn, component, displayName) {
  const generator = function (...args) {
    return declareTask(component, name, displayName, args);
  };
  Object.defineProperty(generator, 'name', { value: name });
  Object.defineProperty(generator, 'length', { value: fn ? fn.length : 0 });
  Object.defineProperties(generator, {
    /** The name the task function is run under. */
    taskName: { value: name, enumerable: true },
    /** The plain function, to call it directly (Jug's `f.f`). */
    f: { value: fn },
    /** The `.wasm` file of another component that runs it, or null. */
    component: { value: component },
    displayName: { value: displayName },
  });
  generators.add(generator);
  return generator;
}

/**
 * Jug's TaskGenerator: `taskGenerator(function name(...) {...})` or
 * `taskGenerator('name', f)`. Call it at the top level of the script; calling what it returns
 * inside graph() declares a task and returns its Task.
 */
export function taskGenerator(nameOrFunction, fn) {
  let name;
  if (typeof nameOrFunction === 'string') {
    name = nameOrFunction;
    if (typeof fn !== 'function') {
      throw new JugError(`taskGenerator(${JSON.stringify(name)}, f): f must be a function`);
    }
  } else {
    fn = nameOrFunction;
    if (typeof fn !== 'function') throw new JugError('taskGenerator(f): f must be a function');
    if (generators.has(fn)) return fn;
    name = fn.name;
    if (!name) {
      throw new JugError(
        'taskGenerator(f): f has no name; write taskGenerator(function name(...) {...}) ' +
          "or taskGenerator('name', f)",
      );
    }
  }
  if (generators.has(fn)) fn = fn.f;
  checkName(name, 'taskGenerator');
  if (phase !== 'load') {
    throw new JugError(
      `taskGenerator(${name}) was called after the script was loaded; call it at the top ` +
        'level, so that the task function exists in the instances tasks run in',
    );
  }
  register(name, fn);
  return makeGenerator(name, fn, null, name);
}

/** Alias of `taskGenerator`, with Jug's spelling. */
export const TaskGenerator = taskGenerator;

/** What a task generator or registered function `f` declares: {name, component, displayName}. */
function target(f, what) {
  if (typeof f === 'function' && generators.has(f)) {
    return { name: f.taskName, component: f.component, displayName: f.displayName };
  }
  if (typeof f === 'function' && names.has(f)) {
    const name = names.get(f);
    return { name, component: null, displayName: name };
  }
  throw new JugError(
    `${what}: ${typeof f === 'function' ? `the function ${f.name || '(anonymous)'}` : String(f)} ` +
      'is not a task function: wrap it with taskGenerator at the top level of the script ' +
      '(or export it)',
  );
}

/** Jug's `Task(f, *args)`: declares `f(...args)`; `f` is a task generator or task function. */
export function task(f, ...args) {
  const { name, component, displayName } = target(f, 'task(f, ...)');
  return declareTask(component, name, displayName, args);
}

/** Jug's `identity`: a task whose result is its argument (hashed once). */
export function identity(value) {
  return declareTask(null, IDENTITY, IDENTITY, [value]);
}

/**
 * Tasks of another component (a library of task functions, possibly in another language):
 * `const stats = component('stats.wasm'); stats.mean(xs)` or `stats.task('mean')(xs)`.
 * The path is relative to the directory of this component's `.wasm` file.
 */
export function component(path) {
  if (typeof path !== 'string' || path === '') {
    throw new JugError('component(path): path must be the path of a .wasm file');
  }
  const stem = path.replace(/^.*[\\/]/, '').replace(/\.wasm$/, '');
  const made = new Map();
  const taskOf = (name) => {
    checkName(name, `component(${JSON.stringify(path)}).task`);
    if (!made.has(name)) made.set(name, makeGenerator(name, null, path, `${stem}.${name}`));
    return made.get(name);
  };
  const base = { path, task: taskOf };
  return new Proxy(base, {
    get(object, property) {
      if (property in object) return object[property];
      if (typeof property !== 'string' || property === 'then' || property === 'toJSON') {
        return undefined;
      }
      return taskOf(property);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Graphs that depend on results

/** Jug's `bvalue`: the result of a task (or tasklet) declared earlier, once it is stored;
 *  until then it stops the graph builder here (execute runs what is declared, then builds
 *  again). */
export function bvalue(t) {
  requireBuild('bvalue()');
  if (!(t instanceof Task || t instanceof Tasklet)) throw new JugError('bvalue(t): t must be a Task');
  const whole = t instanceof Tasklet ? t.task : t;
  const bytes = host.value(whole.key);
  if (bytes === undefined || bytes === null) throw BARRIER;
  let value = decodeValue(bytes);
  if (t instanceof Tasklet) {
    for (const step of t.path) {
      const there =
        typeof step === 'number'
          ? Array.isArray(value) && step < value.length
          : value !== null &&
            typeof value === 'object' &&
            !Array.isArray(value) &&
            Object.prototype.hasOwnProperty.call(value, step);
      if (!there) throw new JugError(`bvalue(${t}): the result has no [${JSON.stringify(step)}]`);
      value = value[step];
    }
  }
  return value;
}

/** Jug's `barrier()`: stops the graph builder here unless every task declared so far has a
 *  result. */
export function barrier() {
  requireBuild('barrier()');
  if (!host.barrier()) throw BARRIER;
}

/**
 * Jug's compound tasks: a task named `name`, keyed by `name` and `args` (plain values), whose
 * result is that of the Task `build()` returns; once that is stored, `build` is not called.
 */
export function compound(name, args, build) {
  requireBuild(`compound(${JSON.stringify(name)})`);
  checkName(name, 'compound');
  let template;
  try {
    template = encodeNormalized(normalize(args, insideResult, `the arguments of compound ${name}`));
  } catch (e) {
    throw e instanceof EncodeError ? new JugError(e.message) : e;
  }
  let key, stored;
  try {
    [key, stored] = host.compound(name, template);
  } catch (e) {
    throw new JugError(`cannot declare compound task ${name}: ${hostMessage(e)}`);
  }
  let inner;
  if (!stored) {
    const final = build();
    if (!(final instanceof Task)) {
      throw new JugError(`compound ${name}: the function must return the Task whose result it is`);
    }
    inner = final.key;
  }
  let declared;
  try {
    declared = host.declareCompound(toBytes(key), inner);
  } catch (e) {
    throw new JugError(`cannot declare compound task ${name}: ${hostMessage(e)}`);
  }
  return new Task(name, toBytes(declared));
}

// ---------------------------------------------------------------------------------------------
// mapreduce

function step(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new JugError(`${what} must be a non-negative integer, not ${String(value)}`);
  }
  return value;
}

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function mapImpl(f, inputs, mapStep, curry, what) {
  const t = target(f, what);
  const items = Array.from(inputs);
  step(mapStep, `${what}: mapStep`);
  if (curry) {
    items.forEach((args, i) => {
      if (!Array.isArray(args)) throw new JugError(`${what}: input ${i} is not an array of arguments`);
    });
  }
  if (mapStep <= 1) {
    return items.map((x) => declareTask(t.component, t.name, t.displayName, curry ? x : [x]));
  }
  const out = [];
  for (const chunk of chunks(items, mapStep)) {
    const args = curry ? [chunk, true] : [chunk];
    const block = declareTask(t.component, `${t.name}.map`, `${t.displayName}.map`, args);
    for (let i = 0; i < chunk.length; i++) out.push(block.index(i));
  }
  return out;
}

function reduceImpl(f, inputs, reduceStep, what) {
  const t = target(f, what);
  const size = Math.max(step(reduceStep, `${what}: reduceStep`), 2);
  const declare = (chunk) =>
    declareTask(t.component, `${t.name}.reduce`, `${t.displayName}.reduce`, [chunk]);
  let level = chunks(Array.from(inputs), size).map(declare);
  while (level.length > 1) level = chunks(level, size).map(declare);
  return level.length ? level[0] : null;
}

/**
 * Jug's `jug.mapreduce`, with the task structure of the Rust SDK: `map` declares one
 * `<name>.map` task per `mapStep` inputs and returns one Tasklet per input; `reduce` folds,
 * `reduceStep` values per `<name>.reduce` task, level by level; `mapreduce` is `reduce` over
 * `map`. The steps are required (Jug's defaults are 4 and 8).
 */
export const mapreduce = Object.freeze({
  /** `f(x)` for every input, `mapStep` per task; a step of 0 or 1 declares plain tasks. */
  map(f, inputs, mapStep) {
    return mapImpl(f, inputs, mapStep, false, 'mapreduce.map(f, inputs, mapStep)');
  },
  /** `f(...args)` for every array of arguments (Jug's `currymap`). */
  currymap(f, inputs, mapStep) {
    return mapImpl(f, inputs, mapStep, true, 'mapreduce.currymap(f, inputs, mapStep)');
  },
  /** Folds the inputs in order with `f(acc, x)` (associative); null for no inputs. */
  reduce(f, inputs, reduceStep) {
    return reduceImpl(f, inputs, reduceStep, 'mapreduce.reduce(f, inputs, reduceStep)');
  },
  /** `reduce(reducer, map(mapper, inputs, mapStep), reduceStep)`. */
  mapreduce(reducer, mapper, inputs, mapStep, reduceStep) {
    const mapped = mapImpl(mapper, inputs, mapStep, false, 'mapreduce.mapreduce: the map');
    return reduceImpl(reducer, mapped, reduceStep, 'mapreduce.mapreduce: the reduce');
  },
});

// ---------------------------------------------------------------------------------------------
// Logging

function logger(level) {
  return (...parts) => write(level, parts.map((p) => (typeof p === 'string' ? p : String(p))).join(' '));
}

/** Lines for the host's log (its terminal during build, the task's log in the store during
 *  a task). `console.log`/`console.error` are captured too. */
export const log = Object.freeze({
  debug: logger('debug'),
  info: logger('info'),
  warn: logger('warn'),
  error: logger('error'),
});

// ---------------------------------------------------------------------------------------------
// The component's exports (used by the entry module jug-js generates)

/** The one-line message of a thrown value. */
function errorLine(e) {
  if (typeof e === 'string') return e;
  if (e instanceof JugError) return e.message;
  if (e instanceof Error || (e && typeof e.message === 'string')) {
    return `${e.name || 'Error'}: ${e.message}`;
  }
  try {
    return String(e);
  } catch {
    return 'a value that cannot be shown was thrown';
  }
}

/** Frames of `e.stack` above the SDK's own `invokeTaskFunction`. */
function userFrames(e) {
  if (!e || typeof e.stack !== 'string') return [];
  const frames = [];
  for (const line of e.stack.split('\n')) {
    const frame = mapStack(line); // with the name the function has in the source
    if (/^invokeTaskFunction@/.test(frame)) break;
    if (frame.trim()) frames.push(frameText(frame));
  }
  return frames;
}

function invokeTaskFunction(fn, args) {
  return fn(...args);
}

function unknownFunction(name) {
  const known = [...registry.keys()].sort();
  return `this component has no task function \`${name}\` (it has: ${known.join(', ') || 'none'})`;
}

/** The function `run` calls for a task function name, batch variants included. */
function resolve(name) {
  if (registry.has(name)) {
    const fn = registry.get(name);
    return (args) => invokeTaskFunction(fn, args);
  }
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? registry.get(name.slice(0, dot)) : undefined;
  if (base === undefined) return null;
  const variant = name.slice(dot + 1);
  if (variant === 'map') {
    return ([items, curry]) => {
      if (!Array.isArray(items)) throw new JugError(`${name}: expected a list of inputs`);
      return items.map((item) => invokeTaskFunction(base, curry ? item : [item]));
    };
  }
  if (variant === 'reduce') {
    return ([items]) => {
      if (!Array.isArray(items) || items.length === 0) throw new JugError(`${name}: nothing to reduce`);
      let acc = items[0];
      for (let i = 1; i < items.length; i++) acc = invokeTaskFunction(base, [acc, items[i]]);
      return acc;
    };
  }
  return null;
}

function runTask(name, input) {
  phase = 'run';
  const bytes = toBytes(input);
  if (name === IDENTITY) {
    // The argument, byte for byte (decoding would turn 2.0 into 2).
    if (bytes[0] !== 0x81) throw `cannot decode the arguments of \`${IDENTITY}\`: expected one argument`;
    return bytes.subarray(1);
  }
  const call = resolve(name);
  if (call === null) throw unknownFunction(name);
  let args;
  try {
    args = decodeValue(bytes);
  } catch (e) {
    throw `cannot decode the arguments of \`${name}\`: ${hostMessage(e)}`;
  }
  if (!Array.isArray(args)) throw `cannot decode the arguments of \`${name}\`: not an array`;
  let result;
  try {
    result = call(args);
  } catch (e) {
    const frames = userFrames(e);
    console.error([errorLine(e), ...frames.map((f) => `    at ${f}`)].join('\n'));
    throw errorLine(e);
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    throw `${name} returned a Promise: task functions must not be async`;
  }
  try {
    return encodeNormalized(normalize(result, insideResult, `the result of ${name}`));
  } catch (e) {
    throw e instanceof EncodeError ? e.message : `cannot encode the result of ${name}: ${hostMessage(e)}`;
  }
}

function buildMessage(e) {
  if (typeof e === 'string') return e;
  if (e instanceof JugError) return e.message;
  if (e instanceof Error && e.constructor === Error) return e.message;
  const line = errorLine(e);
  const frames = userFrames(e);
  return frames.length ? `${line}, at ${frames[0]}` : line;
}

/** `name@file:line:column` as `name (file:line:column)`, with the script's own lines. */
function frameText(frame) {
  const m = /^(.*)@(.*:\d+:\d+)$/.exec(frame);
  if (!m) return frame;
  return m[1] ? `${m[1]} (${m[2]})` : m[2];
}

function runBuild(graphFn, args) {
  phase = 'build';
  try {
    const r = invokeTaskFunction(graphFn, [Array.from(args || [])]);
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
      throw new JugError('graph() returned a Promise: it must not be async');
    }
  } catch (e) {
    if (e === BARRIER) return;
    throw buildMessage(e);
  } finally {
    phase = 'idle';
  }
}

/** Registers the functions a script exports, so `task(f, ...)` works on them too. */
function registerExports(script) {
  for (const [name, value] of Object.entries(script)) {
    if (name === 'graph' || name === 'default') continue;
    if (typeof value !== 'function' || generators.has(value) || names.has(value)) continue;
    if (registry.has(name) || /[.\s]/.test(name)) continue;
    if (/^class\b/.test(Function.prototype.toString.call(value))) continue;
    register(name, value);
  }
}

/**
 * The component's `build` and `run`, for the entry module `jug-js build` generates:
 * `export const { build, run } = __entry(script)`. Not part of the API.
 */
export function __entry(script) {
  const graphFn =
    typeof script.graph === 'function'
      ? script.graph
      : typeof script.default === 'function'
        ? script.default
        : null;
  if (graphFn !== null && generators.has(graphFn)) {
    throw new JugError('the graph builder is a task generator; export a plain function graph(args)');
  }
  registerExports(script);
  phase = 'idle';
  return {
    build(args) {
      try {
        // A script without a graph is a library of task functions for other graphs
        // (`component('lib.wasm')`): it declares nothing of its own.
        if (graphFn !== null) runBuild(graphFn, args);
      } catch (e) {
        throw typeof e === 'string' ? e : errorLine(e);
      }
    },
    run(name, input) {
      try {
        return runTask(name, input);
      } catch (e) {
        throw typeof e === 'string' ? e : errorLine(e);
      } finally {
        phase = 'idle';
      }
    },
    /** The names of the task functions, and whether there is a graph (for jug-js). */
    functions: () => [...registry.keys()],
    hasGraph: graphFn !== null,
  };
}
