// What a task's arguments may hold besides plain values, and how it is encoded: tasks and
// tasklets (references to results), and the wrappers `noHash`, `customHash`, `file` and
// `directory`, which change how an argument goes into the task's key. Each becomes a CBOR tag
// the host resolves; a result (and what a wrapper holds) must be plain.

import { Tagged } from 'cborg';
import { graph as host } from './host.js';
import { batchIndex } from './batch.js';
import {
  BATCH_REF_TAG,
  CUSTOM_KEY_TAG,
  DIR_GRANT_TAG,
  EncodeError,
  FILE_INPUT_TAG,
  KEY_EXEMPT_TAG,
  TASK_REF_TAG,
  at,
  normalize,
  toBytes,
} from './cbor.js';
import { JugError, hostMessage } from './errors.js';
import { generators, requireBuild } from './state.js';
import { Task, Tasklet } from './task.js';

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

class Directory {
  constructor(path, guest, writable) {
    this.path = path;
    this.guest = guest;
    this.writable = writable;
    Object.freeze(this);
  }

  toString() {
    return `directory(${JSON.stringify(this.path)}, { guest: ${JSON.stringify(this.guest)}, writable: ${this.writable} })`;
  }
}

/**
 * A directory of the working directory granted to the task this is an argument of (the
 * per-task `jug-host --dir`): the task receives `guest`, the absolute path at which it sees the
 * directory (by default '/' and the path's last component: `directory('data/raw')` is at
 * '/raw'), read-only unless `writable`, when the task may write there too. The path, the guest
 * path and `writable` are all in the task's key. Only directories below the working directory
 * can be granted: jug-host refuses absolute paths, `..` and symbolic links that lead out when
 * the task runs (the task fails).
 * @param {string} path relative to the working directory
 * @param {{guest?: string, writable?: boolean}} [options]
 */
export function directory(path, options = {}) {
  if (typeof path !== 'string') throw new JugError(`directory(path): path must be a string, not ${describe(path)}`);
  const what = `directory(${JSON.stringify(path)})`;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new JugError(`${what}: options must be an object such as { guest: '/data', writable: true }`);
  }
  for (const name of Object.keys(options)) {
    if (name !== 'guest' && name !== 'writable') {
      throw new JugError(`${what}: there is no option \`${name}\`; the options are guest and writable`);
    }
  }
  let { guest, writable = false } = options;
  if (typeof writable !== 'boolean') {
    throw new JugError(`${what}: writable must be true or false, not ${describe(writable)}`);
  }
  if (guest === undefined) {
    const last = path.replace(/\/+$/, '').split('/').pop();
    if (last === '' || last === '.' || last === '..') {
      throw new JugError(`${what}: no guest path follows from this path; pass one, such as { guest: '/data' }`);
    }
    guest = `/${last}`;
  } else if (typeof guest !== 'string') {
    throw new JugError(`${what}: guest must be a string, not ${describe(guest)}`);
  }
  const problem = guestPathProblem(guest);
  if (problem !== undefined) throw new JugError(`${what}: the guest path ${JSON.stringify(guest)} ${problem}`);
  return new Directory(path, guest, writable);
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return `${typeof value} ${String(value)}`;
}

/** Why `guest` cannot be where a task sees a granted directory, or undefined if it can: it must
 *  be absolute, not '/' itself, without empty, `.` or `..` components, and not under /inputs
 *  (where the task's file() inputs are). */
export function guestPathProblem(guest) {
  if (!guest.startsWith('/')) return 'must be absolute (start with /)';
  if (guest === '/') return 'cannot be / itself';
  if (guest.includes('\0')) return 'cannot hold a NUL character';
  if (guest.slice(1).split('/').some((part) => part === '' || part === '.' || part === '..')) {
    return 'must not have empty, `.` or `..` components';
  }
  if (guest === '/inputs' || guest.startsWith('/inputs/')) {
    return 'must not be /inputs or under it (that is where file inputs are)';
  }
  return undefined;
}

function plainOnly(what) {
  return (value, lazyWhere) => {
    const where = () => at(lazyWhere);
    if (value instanceof Task || value instanceof Tasklet) {
      throw new EncodeError(`${where()} is ${value}: ${what} cannot hold a task`);
    }
    if (value instanceof Directory) {
      throw new EncodeError(`${where()} is ${value}: a directory grant is only a plain task argument, not in ${what}`);
    }
    if (value instanceof NoHash || value instanceof CustomHash || value instanceof InputFile) {
      throw new EncodeError(`${where()}: ${what} cannot hold noHash, customHash or file()`);
    }
    if (typeof value === 'function' && generators.has(value)) {
      throw new EncodeError(`${where()} is the task function ${value.taskName}, not a value`);
    }
    return undefined;
  };
}

const insideWrapper = plainOnly('noHash/customHash');
export const insideResult = plainOnly('a result');

/** A reference to `task`'s result (or the part `path` names): its key, or its place in the
 *  batch its declaration waits in, which the host turns into its key (batch.js). */
function reference(task, path) {
  const index = batchIndex(task);
  const [tag, target] = index >= 0 ? [BATCH_REF_TAG, index] : [TASK_REF_TAG, task.key];
  return new Tagged(tag, path.length === 0 ? target : [target, ...path]);
}

/** What templateSpecial has encoded so far: `grants`, directory grants (a declaration that
 *  holds one is sent at once, see batch.js). */
export const encoded = { grants: 0 };

/** Arguments may hold tasks, tasklets and wrappers anywhere; they become CBOR tags. */
export function templateSpecial(value, where, seen) {
  if (value instanceof Task) return reference(value, []);
  if (value instanceof Tasklet) return reference(value.task, value.path);
  if (value instanceof NoHash) {
    return new Tagged(KEY_EXEMPT_TAG, normalize(value.value, insideWrapper, () => `${at(where)} (noHash)`, seen));
  }
  if (value instanceof CustomHash) {
    const inner = normalize(value.value, insideWrapper, () => `${at(where)} (customHash)`, seen);
    return new Tagged(CUSTOM_KEY_TAG, [value.hash, inner]);
  }
  if (value instanceof InputFile) return new Tagged(FILE_INPUT_TAG, [value.path, value.digest]);
  // Deterministic: an array of exactly these three, in this order; all of it is keyed.
  if (value instanceof Directory) {
    encoded.grants++;
    return new Tagged(DIR_GRANT_TAG, [value.path, value.guest, value.writable]);
  }
  if (typeof value === 'function' && generators.has(value)) {
    throw new EncodeError(`${at(where)} is the task function ${value.taskName}; call it to declare a task`);
  }
  return undefined;
}
