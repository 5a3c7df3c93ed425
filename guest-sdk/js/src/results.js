// Graphs that depend on results: `bvalue` and `barrier` read what is stored while the graph is
// built, and `compound` declares a task whose result is that of a graph built on demand.
// Where a result is not stored yet, they throw BARRIER: the build stops there, `jug-host
// execute` runs what was declared, then builds again.

import { graph as host } from './host.js';
import { flush } from './batch.js';
import { EncodeError, decodeValue, encodeNormalized, normalize, toBytes } from './cbor.js';
import { BARRIER, JugError, hostMessage } from './errors.js';
import { checkName, requireBuild } from './state.js';
import { insideResult } from './arguments.js';
import { Task, Tasklet } from './task.js';

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
  flush(); // "declared so far" includes what waits in a batch
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
  flush(); // the host sees declarations in the order they were made
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
