// Limits for one task, in place of `jug-host execute`'s `--timeout`, `--fuel` and
// `--max-memory` for it: a task known to be long, or one that must never be.
//
//   const fit = train(data).withLimits({ timeoutMs: 3_600_000 });   // an hour, whatever --timeout says
//   probe(x).withLimits({ fuel: 1e9, maxMemory: 512n << 20n });
//
// `timeoutMs` is wall time in milliseconds, `fuel` instructions (counted the same on every
// machine), `maxMemory` bytes; each a non-negative integer Number or a BigInt, and `undefined`
// (or a missing property, or `null`) keeps the command line's limit. Calling it again on the
// same task replaces all three. Limits are not part of the key: they decide whether a task
// finishes, not what it returns.

import { graph as host } from './host.js';
import { JugError, hostMessage } from './errors.js';
import { state } from './state.js';

const U64_MAX = 2n ** 64n - 1n;

/** The limits a task may have: option name -> [least value, unit]. */
const LIMITS = {
  timeoutMs: [1n, 'milliseconds'],
  fuel: [0n, 'instructions'],
  maxMemory: [1n, 'bytes'],
};

function u64(limits, name, where) {
  const value = limits[name];
  if (value === undefined || value === null) return undefined; // componentize-js: option none
  const [least, unit] = LIMITS[name];
  let big;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
  else if (typeof value === 'number' && Number.isInteger(value)) {
    throw new JugError(`${where}: ${name} ${value} is beyond the safe integers; write it as a BigInt`);
  } else {
    throw new JugError(`${where}: ${name} is a whole number of ${unit} (a Number or a BigInt), not ${String(value)}`);
  }
  if (big < least || big > U64_MAX) {
    throw new JugError(`${where}: ${name} is from ${least} to 2^64 - 1 ${unit}, not ${String(value)}`);
  }
  return big; // u64 crosses as a BigInt (a Number would be converted; a BigInt is exact)
}

/** Gives `task` limits of its own (graph.set-limits); `Task.withLimits` calls it. */
export function setLimits(task, limits) {
  const where = `${task}.withLimits()`;
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw new JugError(`${where}: pass an object such as { timeoutMs: 60000, fuel: 1e9, maxMemory: 2 ** 31 }`);
  }
  for (const name of Object.keys(limits)) {
    if (!Object.prototype.hasOwnProperty.call(LIMITS, name)) {
      throw new JugError(
        `${where}: there is no limit \`${name}\`; the limits are timeoutMs (wall time in ` +
          'milliseconds), fuel (instructions) and maxMemory (bytes)',
      );
    }
  }
  const record = {
    timeoutMs: u64(limits, 'timeoutMs', where),
    fuel: u64(limits, 'fuel', where),
    maxMemory: u64(limits, 'maxMemory', where),
  };
  if (state.phase !== 'build') {
    throw new JugError(`${where} was called outside graph(): limits are set while the graph is built`);
  }
  try {
    host.setLimits(task.key, record);
  } catch (e) {
    throw new JugError(`cannot set the limits of task ${task.name}: ${hostMessage(e)}`);
  }
  return task;
}
