// Values as deterministic CBOR (RFC 8949 §4.2.1), the one value format of jug-host.
//
// What crosses the boundary, and how JavaScript values map to it:
//
//   null, undefined        null (undefined as an array element or a result; an object
//                          property whose value is undefined is left out, as JSON does)
//   true, false            booleans
//   Number                 a safe integer (|n| < 2^53, -0 included, which becomes 0) is a
//                          CBOR integer; anything else (1.5, 1e300, 2**60, NaN, ±Infinity)
//                          the shortest float that keeps the value
//   BigInt                 a CBOR integer (64 bits at most)
//   string                 a text string
//   Uint8Array             a byte string
//   Array                  an array
//   plain object, Map      a map with text keys (bytewise order); Maps must have string keys
//
// Decoding gives the same types back, except that integers come back as Numbers when they
// are safe and as BigInts beyond, maps as plain objects, and floats holding an integer (2.0
// from another language) as that integer: JavaScript cannot tell 2.0 from 2, so a JS task
// that passes such a value on writes it as the integer 2.

import { Tagged, encode, decode, rfc8949EncodeOptions } from 'cborg';

/** The tag of a reference to another task's result: 32-byte key, or [key, step...]. */
export const TASK_REF_TAG = 27253;
/** Jug's NoHash: the task gets the value, its key ignores it. */
export const KEY_EXEMPT_TAG = 27254;
/** Jug's CustomHash: [hash bytes, value]; the key hashes the bytes. */
export const CUSTOM_KEY_TAG = 27255;
/** A file input: [path, blake3 digest]. */
export const FILE_INPUT_TAG = 27256;
/** A directory grant for one task: [host path, guest path, writable]; all of it is keyed. */
export const DIR_GRANT_TAG = 27257;
/** A reference to a task whose declaration waits in the same batch (batch.js): its index in
 *  the batch, or [index, step...]. The host puts the task's key in its place. */
export const BATCH_REF_TAG = 27258;

const U64_MAX = (1n << 64n) - 1n;
const NEG_U64_MIN = -(1n << 64n);

// Integral Numbers as integers (-0 too: in JavaScript it comes from integer arithmetic as
// often as not, `-x` for x = 0, and JSON writes it as 0), other Numbers as the shortest float.
const ENCODE_OPTIONS = rfc8949EncodeOptions;

function bignum(negative) {
  return (decodeInner) => {
    const bytes = decodeInner();
    let n = 0n;
    for (const b of bytes) n = (n << 8n) | BigInt(b);
    return negative ? -1n - n : n;
  };
}

const DECODE_OPTIONS = {
  // Results of Rust tasks may hold 128-bit integers as bignums (tags 2 and 3).
  tags: { 2: bignum(false), 3: bignum(true) },
};

/** Encodes a value that has been through `normalize` (or `template`). */
export function encodeNormalized(value) {
  const out = [];
  return writeSimple(value, out) ? new Uint8Array(out) : encode(value, ENCODE_OPTIONS);
}

const UTF8 = new TextEncoder();

/** Appends a CBOR head to the byte array `out`: major type and argument (a safe integer). */
export function writeHead(out, major, n) {
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000) out.push(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  else {
    const high = Math.floor(n / 0x100000000);
    const low = n >>> 0;
    out.push(m | 27, 0, (high >> 16) & 0xff, (high >> 8) & 0xff, high & 0xff);
    out.push(low >>> 24, (low >> 16) & 0xff, (low >> 8) & 0xff, low & 0xff);
  }
}

/** Appends the bytes of `b` to the byte array `out`. */
export function writeBytes(out, b) {
  for (let i = 0; i < b.length; i++) out.push(b[i]);
}

/**
 * Writes what task arguments mostly are (safe integers, strings, booleans, null, byte strings,
 * arrays, tags) as cborg would, and returns false at anything else (floats, BigInts, Maps),
 * which cborg then writes. Without a JIT, cborg's general path (tokens first, then bytes) cost
 * more than the rest of declaring a task; the unit tests hold the two to the same bytes.
 */
function writeSimple(value, out) {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) return false;
      if (value >= 0) writeHead(out, 0, value);
      else writeHead(out, 1, -1 - value);
      return true;
    case 'string': {
      const b = UTF8.encode(value);
      writeHead(out, 3, b.length);
      writeBytes(out, b);
      return true;
    }
    case 'boolean':
      out.push(value ? 0xf5 : 0xf4);
      return true;
    case 'object':
      if (value === null) {
        out.push(0xf6);
        return true;
      }
      if (value instanceof Uint8Array) {
        writeHead(out, 2, value.length);
        writeBytes(out, value);
        return true;
      }
      if (Array.isArray(value)) {
        writeHead(out, 4, value.length);
        for (let i = 0; i < value.length; i++) if (!writeSimple(value[i], out)) return false;
        return true;
      }
      if (value instanceof Tagged) {
        writeHead(out, 6, value.tag);
        return writeSimple(value.value, out);
      }
      return false;
    default:
      return false;
  }
}

/** Encodes a plain value (a task's result, the arguments of a compound task). */
export function encodeValue(value) {
  return encodeNormalized(normalize(value));
}

/** Decodes one CBOR item. */
export function decodeValue(bytes) {
  return decode(toBytes(bytes), DECODE_OPTIONS);
}

/** A list<u8> from the host: a Uint8Array, or an array of numbers in some versions.
 *  `new Uint8Array(array)` copies natively; `Uint8Array.from` is self-hosted JavaScript that
 *  steps an iterator, which without a JIT cost ~100 µs per 32-byte key: more than the rest of
 *  declaring a task together. */
export function toBytes(bytes) {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

/** Why a value cannot be encoded. */
export class EncodeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'EncodeError';
  }
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = value.constructor && value.constructor.name;
  return name ? `a ${name}` : 'an object';
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Where a value is, for an error message: a string, or a function that makes it. Paths are
 *  made only when an error needs one, since building a string per element in an interpreter
 *  (the component runs JavaScript without a JIT) was most of what declaring a task cost. */
export function at(where) {
  return typeof where === 'function' ? where() : where;
}

/**
 * Turns a JavaScript value into what `encodeNormalized` writes, checking every part.
 * `special(value, where, seen)` may claim objects and functions first (task references,
 * wrappers): it returns the replacement, or `undefined` to let the value through to the
 * ordinary rules. `where` is a string or a function returning one (see `at`).
 */
export function normalize(value, special = null, where = 'the value', seen = null) {
  switch (typeof value) {
    case 'undefined':
      return null;
    case 'boolean':
    case 'string':
    case 'number':
      return value;
    case 'bigint':
      if (value > U64_MAX || value < NEG_U64_MIN) {
        throw new EncodeError(`${at(where)} is an integer beyond 64 bits (${value})`);
      }
      return value;
    default:
      break;
  }
  if (special) {
    const replaced = special(value, where, seen);
    if (replaced !== undefined) return replaced;
  }
  if (typeof value !== 'object') {
    throw new EncodeError(`${at(where)} is ${describe(value)}, which has no CBOR form`);
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return value;
  if (seen === null) seen = new Set();
  if (seen.has(value)) throw new EncodeError(`${at(where)} refers to itself (a cycle)`);
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const out = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        out[i] = normalize(value[i], special, () => `${at(where)}[${i}]`, seen);
      }
      return out;
    }
    if (value instanceof Map) {
      const out = new Map();
      for (const [k, v] of value) {
        if (typeof k !== 'string') {
          throw new EncodeError(`${at(where)} is a Map with a key that is not a string (${String(k)})`);
        }
        if (v !== undefined) out.set(k, normalize(v, special, () => `${at(where)}[${JSON.stringify(k)}]`, seen));
      }
      return out;
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      throw new EncodeError(
        `${at(where)} is ${describe(value)}: only Uint8Array is a byte string (use Array.from(x) ` +
          'for a list of numbers, or new Uint8Array(x.buffer) for its bytes)',
      );
    }
    if (!isPlainObject(value)) {
      throw new EncodeError(
        `${at(where)} is ${describe(value)}: only null, booleans, numbers, BigInts, strings, ` +
          'Uint8Arrays, arrays, plain objects and Maps can be arguments and results',
      );
    }
    // A Map, so that a key like "__proto__" is an ordinary key.
    const out = new Map();
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v !== undefined) out.set(k, normalize(v, special, () => `${at(where)}.${k}`, seen));
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
