// The component's exports, `build` and `run`, for the entry module jug-js generates: they set
// the phase, call the script's graph or one task function, and turn what it returns or throws
// into what the host expects (CBOR bytes, or an error string).

import { EncodeError, decodeValue, encodeNormalized, normalize, toBytes } from './cbor.js';
import { BARRIER, JugError, buildMessage, errorLine, hostMessage, userFrames } from './errors.js';
import { generators, names, register, registry, state } from './state.js';
import { insideResult } from './arguments.js';
import { IDENTITY } from './generators.js';
import { flush, startBuild } from './batch.js';

/** Calls the script's code: `userFrames` (errors.js) cuts a stack at this frame, by its name. */
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
  state.phase = 'run';
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

function runBuild(graphFn, args) {
  state.phase = 'build';
  startBuild();
  try {
    try {
      const r = invokeTaskFunction(graphFn, [Array.from(args || [])]);
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
        throw new JugError('graph() returned a Promise: it must not be async');
      }
    } catch (e) {
      // At a barrier, what was declared before it is what execute runs first.
      if (e !== BARRIER) throw e;
    }
    flush(); // the declarations still waiting in a batch
  } catch (e) {
    throw buildMessage(e);
  } finally {
    state.phase = 'idle';
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
  state.phase = 'idle';
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
        state.phase = 'idle';
      }
    },
    /** The names of the task functions, and whether there is a graph (for jug-js). */
    functions: () => [...registry.keys()],
    hasGraph: graphFn !== null,
  };
}
