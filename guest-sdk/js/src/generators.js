// Task generators, and the other ways to declare a task: `task(f, ...args)`, `identity` and
// the task functions of another component. Every declaration goes through `declareTask`, which
// encodes the arguments and hands them to batch.js, which asks the host for the task's key.

import { batchGeneration, declare } from './batch.js';
import { EncodeError, encodeNormalized, normalize } from './cbor.js';
import { JugError } from './errors.js';
import { checkName, generators, names, register, requireBuild, state } from './state.js';
import { encoded, templateSpecial } from './arguments.js';

/** The function name of `identity` tasks (`<stem>.jug.identity`), as in the Rust SDK. */
export const IDENTITY = 'jug.identity';

export function declareTask(component, fnName, displayName, args) {
  if (state.phase !== 'build') requireBuild(`${displayName}(…)`);
  const grantsBefore = encoded.grants;
  let template;
  let generation;
  // Again if a batch was sent meanwhile (an argument's getter that declares tasks): the
  // places in it that the template refers to by are gone.
  do {
    generation = batchGeneration();
    try {
      const normalized = new Array(args.length);
      for (let i = 0; i < args.length; i++) {
        normalized[i] = normalize(args[i], templateSpecial, () => `argument ${i + 1} of ${displayName}`);
      }
      template = encodeNormalized(normalized);
    } catch (e) {
      throw e instanceof EncodeError ? new JugError(e.message) : e;
    }
  } while (batchGeneration() !== generation);
  return declare(component, fnName, displayName, template, encoded.grants !== grantsBefore);
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
  if (state.phase !== 'load') {
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
export function target(f, what) {
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
