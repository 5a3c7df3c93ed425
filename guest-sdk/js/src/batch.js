// Declarations go to the host in batches (graph.declare-many), not in one call each.
//
// Why: componentize-js keeps every buffer the script passes to the host in a list until
// `build` returns, and searches that list from its start each time it frees one. With one call
// per task, a build of n tasks takes time in n² (40,000 tasks: 8 s, most of it in that search;
// BENCHMARKS.md). One call per batch keeps the list short.
//
// A declaration waits until BATCH of them do, or until the builder needs an answer from the
// host: the key of a task still waiting (Task's `key` getter), `bvalue`, `barrier`,
// `compound`, or the end of graph() (`flush`). A task that takes the result of one waiting in
// the same batch refers to it by its place in the batch (`batchIndex`, BATCH_REF_TAG), so a
// chain of tasks, each taking the one before, is batched too.
//
// A declaration that can fail because of how it was called is sent at once, with whatever
// waits before it, so that its error is thrown where it was made: the first one of each task
// function (its name, its component) and any that grants a directory. The host refuses the
// others only when the graph outgrows its limits (which ends the build anyway) or for a
// reference to a task that was never declared (a Task made by hand); that error is thrown
// where the batch is sent, naming the task.

import { graph as host } from './host.js';
import { toBytes, writeBytes, writeHead } from './cbor.js';
import { JugError, hostMessage } from './errors.js';
import { Pending, Task, pendingOf } from './task.js';

/** Declarations per call. Small enough that tasks reach `jug-host execute`'s idle cores soon
 *  after they are declared (it runs tasks while the graph is built), large enough that the
 *  calls cost nothing next to the declarations. */
const BATCH = 64;

/** Declarations not sent yet: {prefix, template, displayName, pending}. */
let waiting = [];
/** Batches sent so far: a Pending of an earlier batch is settled, or failed. */
let generation = 0;
/** Per task function declared in this build (`component\0function`): the CBOR that starts its
 *  calls, `[function,` or `[component, function,`. */
let prefixes = new Map();

/** Forgets what a previous build left (a build that failed leaves declarations unsent). */
export function startBuild() {
  waiting = [];
  generation++;
  prefixes = new Map();
}

/** Which batch is being filled: a template encoded while it changed must be encoded again,
 *  since the places it refers to by are gone. */
export function batchGeneration() {
  return generation;
}

/** The place of `task` in the batch being filled, or -1 if it is not waiting there. */
export function batchIndex(task) {
  const pending = pendingOf(task);
  return pending !== null && pending.generation === generation && pending.error === null ? pending.index : -1;
}

/**
 * Declares `fnName(args)` (of `component`, or of this component if null), `template` being its
 * encoded arguments; `grants` says whether they grant a directory. Returns its Task.
 */
export function declare(component, fnName, displayName, template, grants) {
  const id = component === null ? fnName : `${component}\0${fnName}`;
  let prefix = prefixes.get(id);
  const first = prefix === undefined;
  if (first) {
    prefix = callPrefix(component, fnName);
    prefixes.set(id, prefix);
  }
  const pending = new Pending(flush, generation, waiting.length);
  waiting.push({ prefix, template, displayName, pending });
  if (first || grants || waiting.length >= BATCH) flush();
  return new Task(displayName, pending);
}

/** Sends every waiting declaration. Throws the error of the first the host refuses; those
 *  after it are not declared (they may refer to it by its place in the batch), and reading
 *  their keys throws too. */
export function flush() {
  if (waiting.length === 0) return;
  const batch = waiting;
  waiting = [];
  generation++;
  let keys;
  let failure = null;
  try {
    keys = toBytes(host.declareMany(encodeCalls(batch)));
  } catch (e) {
    const payload = e?.payload;
    keys = payload?.declared === undefined ? new Uint8Array(0) : toBytes(payload.declared);
    failure = typeof payload?.message === 'string' ? payload.message : hostMessage(e);
  }
  const made = Math.min(batch.length, Math.floor(keys.length / 32));
  for (let i = 0; i < made; i++) batch[i].pending.key = keys.subarray(32 * i, 32 * i + 32);
  if (failure === null && made === batch.length) return;
  if (failure === null) failure = `the host returned ${made} keys for ${batch.length} declarations`;
  const refused = batch[made];
  refused.pending.error = new JugError(`cannot declare task ${refused.displayName}: ${failure}`);
  for (const { displayName, pending } of batch.slice(made + 1)) {
    pending.error = new JugError(
      `task ${displayName} was not declared: it was sent with ${refused.displayName}, which was refused (${failure})`,
    );
  }
  throw refused.pending.error;
}

const UTF8 = new TextEncoder();

/** The CBOR that starts a call: `[function,` or `[component, function,`. */
function callPrefix(component, fnName) {
  const out = [];
  writeHead(out, 4, component === null ? 2 : 3);
  for (const name of component === null ? [fnName] : [component, fnName]) {
    const bytes = UTF8.encode(name);
    writeHead(out, 3, bytes.length);
    writeBytes(out, bytes);
  }
  return out;
}

/** The `calls` of declare-many: `[[function, args] or [component, function, args], ...]`,
 *  `args` a byte string. */
function encodeCalls(batch) {
  const out = [];
  writeHead(out, 4, batch.length);
  for (const { prefix, template } of batch) {
    writeBytes(out, prefix);
    writeHead(out, 2, template.length);
    writeBytes(out, template);
  }
  return new Uint8Array(out);
}
