// What the SDK knows and is doing, shared by its modules: the task functions the component
// can run, and the phase it is in, which decides what a script may call. Task functions are
// registered while the script's top level runs, which happens once, before the snapshot: a
// task runs in a fresh copy of it, so only what is registered by then can run.

import { JugError } from './errors.js';

/** Task functions by name: what `run` can call. Filled while the script's top level runs. */
export const registry = new Map();
/** The names of registered functions, for `task(f, ...)`. */
export const names = new Map();
/** Every task generator this SDK made, for `task(generator, ...)` and error messages. */
export const generators = new WeakSet();

/** `state.phase`: 'load' (the script's top level), 'build' (in graph()), 'run' (in a task),
 *  'idle'. A property, since the runtime (runtime.js) sets it and a module cannot assign
 *  another's `let`. */
export const state = { phase: 'load' };

export function checkName(name, what) {
  if (typeof name !== 'string' || name === '' || /[.\s]/.test(name)) {
    throw new JugError(
      `${what}: a task function's name must be a non-empty string without dots or spaces, ` +
        `not ${JSON.stringify(name)}`,
    );
  }
}

export function register(name, fn) {
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

export function requireBuild(what) {
  if (state.phase === 'build') return;
  const where = {
    load: 'at the top level of the script',
    run: 'inside a task (a task is a function of its inputs alone)',
    idle: 'after graph() returned',
  }[state.phase];
  throw new JugError(`${what} was called ${where}: only graph() declares tasks`);
}
