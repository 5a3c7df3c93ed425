// The SDK's errors, and what a thrown value becomes in what the host shows: the one-line
// message of a failed task or build, and the stack of a failed task (in its log), mapped back
// to the script's own lines.

import { mapStack } from './stack.js';

/** Thrown by `bvalue`/`barrier` to stop the graph builder; `build` catches it. */
class BarrierStop {
  toString() {
    return 'the graph builder stopped at a barrier: a result it needs is not stored yet';
  }
}
export const BARRIER = Object.freeze(new BarrierStop());

/** An error of this SDK's own, reported by its message alone. */
export class JugError extends Error {
  constructor(message) {
    super(message);
    this.name = 'JugError';
  }
}

export function hostMessage(e) {
  if (e && typeof e.payload === 'string') return e.payload;
  if (e && typeof e.message === 'string') return e.message;
  return String(e);
}

/** The one-line message of a thrown value. */
export function errorLine(e) {
  if (typeof e === 'string') return e;
  if (e instanceof JugError) return e.message;
  if (e instanceof Error || (e && typeof e.message === 'string')) {
    return `${e.name || 'Error'}: ${e.message}`;
  }
  try {
    return String(e);
  } catch {
    return 'a value that cannot be shown was thrown';
  }
}

/** Frames of `e.stack` above the SDK's own `invokeTaskFunction` (runtime.js). */
export function userFrames(e) {
  if (!e || typeof e.stack !== 'string') return [];
  const frames = [];
  for (const line of e.stack.split('\n')) {
    const frame = mapStack(line); // with the name the function has in the source
    if (/^invokeTaskFunction@/.test(frame)) break;
    if (frame.trim()) frames.push(frameText(frame));
  }
  return frames;
}

export function buildMessage(e) {
  if (typeof e === 'string') return e;
  if (e instanceof JugError) return e.message;
  if (e instanceof Error && e.constructor === Error) return e.message;
  const line = errorLine(e);
  const frames = userFrames(e);
  return frames.length ? `${line}, at ${frames[0]}` : line;
}

/** `name@file:line:column` as `name (file:line:column)`, with the script's own lines. */
function frameText(frame) {
  const m = /^(.*)@(.*:\d+:\d+)$/.exec(frame);
  if (!m) return frame;
  return m[1] ? `${m[1]} (${m[2]})` : m[2];
}
