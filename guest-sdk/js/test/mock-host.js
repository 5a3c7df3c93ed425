// A stand-in for jug-host's side of wit/task.wit, for the SDK's unit tests in Node.
import { decode } from 'cborg';

export const calls = [];
/** The number of declarations in each declare-many call. */
export const batches = [];
export const results = new Map(); // key hex -> CBOR bytes
export let complete = true;
let refusedArgs = null; // declarations with these arguments (hex) are refused

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function keyFor(n) {
  const key = new Uint8Array(32);
  key[0] = 0x6b;
  key[31] = n & 0xff;
  key[30] = (n >> 8) & 0xff;
  return key;
}

export function reset() {
  calls.length = 0;
  batches.length = 0;
  refusedArgs = null;
  results.clear();
  complete = true;
}

export function setComplete(value) {
  complete = value;
}

export function refuseArgs(hexArgs) {
  refusedArgs = hexArgs;
}

export function declare(fn, args) {
  if (fn === 'refused' || hex(args) === refusedArgs) throw Object.assign(new Error('refused'), { payload: 'the host says no' });
  calls.push({ kind: 'declare', fn, args: hex(args) });
  return keyFor(calls.length);
}

export function declareIn(component, fn, args) {
  calls.push({ kind: 'declare-in', component, fn, args: hex(args) });
  return keyFor(calls.length);
}

export function declareMany(bytes) {
  const many = decode(bytes);
  batches.push(many.length);
  const keys = [];
  for (const call of many) {
    try {
      keys.push(call.length === 2 ? declare(call[0], call[1]) : declareIn(call[0], call[1], call[2]));
    } catch (e) {
      const declared = new Uint8Array(32 * keys.length);
      keys.forEach((key, i) => declared.set(key, 32 * i));
      throw Object.assign(new Error('declare-many'), { payload: { declared, message: e.payload } });
    }
  }
  const out = new Uint8Array(32 * keys.length);
  keys.forEach((key, i) => out.set(key, 32 * i));
  return out;
}

export function setLimits(key, limits) {
  if (key[0] === 0xee) throw Object.assign(new Error('unknown'), { payload: 'no task has this key' });
  calls.push({ kind: 'set-limits', key: hex(key), limits });
  return undefined;
}

export function value(key) {
  return results.get(hex(key));
}

export function barrier() {
  return complete;
}

export function inputFile(path) {
  return new Uint8Array(32).fill(7);
}

export function compound(name, args) {
  calls.push({ kind: 'compound', fn: name, args: hex(args) });
  return [keyFor(1000), false];
}

export function declareCompound(key, inner) {
  calls.push({ kind: 'declare-compound', inner: inner === undefined ? null : hex(inner) });
  return key;
}

export const lines = [];
export function write(level, message) {
  lines.push(`[${level}] ${message}`);
}
