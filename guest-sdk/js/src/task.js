// Tasks and tasklets: what declaring a task returns, to pass where its result (or a part of
// it) should go. They only hold a key, and a path into the result; arguments.js encodes them,
// limits.js sends a task's own limits (`withLimits`). A task's key may still be on its way:
// declarations go to the host in batches (batch.js), and reading the key of a task whose
// batch has not been sent sends it.

import { JugError } from './errors.js';
import { setLimits } from './limits.js';

function hex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The key of a task whose declaration waits in a batch (batch.js): `send` sends the batch,
 *  which settles this with `key`, or with `error` if the host refused it or one before it. */
export class Pending {
  constructor(send, generation, index) {
    this.send = send;
    /** Which batch (batch.js counts them), and the place in it. */
    this.generation = generation;
    this.index = index;
    this.key = null;
    this.error = null;
  }

  resolve() {
    if (this.key === null && this.error === null) this.send();
    if (this.error !== null) throw this.error;
    return this.key;
  }
}

function checkKey(key) {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new JugError('the host returned a malformed key');
  }
  return key;
}

/** The Pending of a task still waiting in a batch, or null (for batch.js). */
export let pendingOf;

/** A task declared in the graph. Pass it where its result should go. */
export class Task {
  /** A Uint8Array, or the Pending it will be. Private, so a frozen Task can still settle it. */
  #key;

  static {
    pendingOf = (task) => (task.#key instanceof Pending && task.#key.key === null ? task.#key : null);
  }

  /** @param {string} name  @param {Uint8Array} key */
  constructor(name, key) {
    /** The task function's name (`stats.mean` for a task of another component). */
    this.name = name;
    this.#key = key instanceof Pending ? key : checkKey(key);
    Object.freeze(this);
  }

  /** The 32-byte key: a hash of the code, the function and the arguments. */
  get key() {
    if (this.#key instanceof Pending) this.#key = checkKey(this.#key.resolve());
    return this.#key;
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

  /**
   * This task, with limits of its own in place of `jug-host execute`'s `--timeout`, `--fuel`
   * and `--max-memory`: `{ timeoutMs, fuel, maxMemory }` (milliseconds, instructions, bytes;
   * Numbers or BigInts). A limit left out keeps the command's. Not part of the key.
   * @param {{timeoutMs?: number|bigint, fuel?: number|bigint, maxMemory?: number|bigint}} limits
   * @returns {Task} this task
   */
  withLimits(limits) {
    return setLimits(this, limits);
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
