// What a task's arguments may hold besides plain values, and how it is encoded: tasks and
// tasklets (references to results), and the wrappers `noHash`, `customHash` and `file`, which
// change how an argument goes into the task's key. Each becomes a CBOR tag the host resolves;
// a result (and what a wrapper holds) must be plain.

import { Tagged } from 'cborg';
import { graph as host } from './host.js';
import {
  CUSTOM_KEY_TAG,
  EncodeError,
  FILE_INPUT_TAG,
  KEY_EXEMPT_TAG,
  TASK_REF_TAG,
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
export const insideResult = plainOnly('a result');

/** Arguments may hold tasks, tasklets and wrappers anywhere; they become CBOR tags. */
export function templateSpecial(value, where, seen) {
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
