// Jug's `jug.mapreduce`: a task function over many inputs, and a fold over many results, in
// fewer, bigger tasks (`<name>.map`, `<name>.reduce`), which runtime.js runs with the plain
// task function. The task structure is that of the Rust and Python SDKs.

import { JugError } from './errors.js';
import { declareTask, target } from './generators.js';

function step(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new JugError(`${what} must be a non-negative integer, not ${String(value)}`);
  }
  return value;
}

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function mapImpl(f, inputs, mapStep, curry, what) {
  const t = target(f, what);
  const items = Array.from(inputs);
  step(mapStep, `${what}: mapStep`);
  if (curry) {
    items.forEach((args, i) => {
      if (!Array.isArray(args)) throw new JugError(`${what}: input ${i} is not an array of arguments`);
    });
  }
  if (mapStep <= 1) {
    return items.map((x) => declareTask(t.component, t.name, t.displayName, curry ? x : [x]));
  }
  const out = [];
  for (const chunk of chunks(items, mapStep)) {
    const args = curry ? [chunk, true] : [chunk];
    const block = declareTask(t.component, `${t.name}.map`, `${t.displayName}.map`, args);
    for (let i = 0; i < chunk.length; i++) out.push(block.index(i));
  }
  return out;
}

function reduceImpl(f, inputs, reduceStep, what) {
  const t = target(f, what);
  const size = Math.max(step(reduceStep, `${what}: reduceStep`), 2);
  const declare = (chunk) =>
    declareTask(t.component, `${t.name}.reduce`, `${t.displayName}.reduce`, [chunk]);
  let level = chunks(Array.from(inputs), size).map(declare);
  while (level.length > 1) level = chunks(level, size).map(declare);
  return level.length ? level[0] : null;
}

/**
 * Jug's `jug.mapreduce`, with the task structure of the Rust SDK: `map` declares one
 * `<name>.map` task per `mapStep` inputs and returns one Tasklet per input; `reduce` folds,
 * `reduceStep` values per `<name>.reduce` task, level by level; `mapreduce` is `reduce` over
 * `map`. The steps are required (Jug's defaults are 4 and 8).
 */
export const mapreduce = Object.freeze({
  /** `f(x)` for every input, `mapStep` per task; a step of 0 or 1 declares plain tasks. */
  map(f, inputs, mapStep) {
    return mapImpl(f, inputs, mapStep, false, 'mapreduce.map(f, inputs, mapStep)');
  },
  /** `f(...args)` for every array of arguments (Jug's `currymap`). */
  currymap(f, inputs, mapStep) {
    return mapImpl(f, inputs, mapStep, true, 'mapreduce.currymap(f, inputs, mapStep)');
  },
  /** Folds the inputs in order with `f(acc, x)` (associative); null for no inputs. */
  reduce(f, inputs, reduceStep) {
    return reduceImpl(f, inputs, reduceStep, 'mapreduce.reduce(f, inputs, reduceStep)');
  },
  /** `reduce(reducer, map(mapper, inputs, mapStep), reduceStep)`. */
  mapreduce(reducer, mapper, inputs, mapStep, reduceStep) {
    const mapped = mapImpl(mapper, inputs, mapStep, false, 'mapreduce.mapreduce: the map');
    return reduceImpl(reducer, mapped, reduceStep, 'mapreduce.mapreduce: the reduce');
  },
});
