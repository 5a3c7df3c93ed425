// The first module of every bundle (jug-js imports it first in the entry module, so it runs
// before the SDK, the script and every package they import).
//
// The top level of a script, and of each package it imports, runs once: while the component
// is snapshotted. A dependency that reads the clock or draws a random number while loading
// (lodash, mathjs through seedrandom) would freeze whatever it got into the component, where
// no code digest shows it. While loading, it gets the same values in every build instead:
// - the clock (`Date.now()`, `new Date()`, `Date()`) reads the time every task reads: jug-host
//   fixes the wall clock of tasks at 2023-11-14T22:13:20Z;
// - `Math.random()` draws from sfc32 with a fixed seed.
// `endLoad()` (called by the entry module once every import has run) hands both back: tasks
// see the host's clock and its `Math.random`, which the host seeds from each task's key, also
// through the functions packages kept while loading (lodash keeps `Date.now`, `Math.random`).

/** The time tasks read, in ms since the epoch (`FIXED_WALL_CLOCK_SECS` in jug-host's sandbox). */
export const LOAD_TIME_MS = 1_700_000_000_000;

let loading = true;

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 32 random bits per call. */
function sfc32(a, b, c, d) {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

// Any fixed seed does; these are the first 128 bits of the fractional part of pi.
const next = sfc32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344);
for (let i = 0; i < 15; i++) next(); // sfc32's recommended warm-up

const hostRandom = Math.random;
/** 53 random bits, as Math.random gives, while loading; the host's afterwards. */
function random() {
  if (!loading) return hostRandom();
  return ((next() >>> 5) * 2 ** 26 + (next() >>> 6)) / 2 ** 53;
}

const HostDate = globalThis.Date;
const hostNow = HostDate.now;
function now() {
  return loading ? LOAD_TIME_MS : hostNow.call(HostDate);
}
// A Proxy rather than a subclass, so that `x instanceof Date`, `Date.prototype` and subclasses
// of a Date kept while loading work as with the host's Date.
const LoadDate = new Proxy(HostDate, {
  construct(target, args, newTarget) {
    return Reflect.construct(target, loading && args.length === 0 ? [LOAD_TIME_MS] : args, newTarget);
  },
  apply(target, self, args) {
    return loading ? new HostDate(LOAD_TIME_MS).toString() : Reflect.apply(target, self, args);
  },
  get(target, property, receiver) {
    return property === 'now' ? now : Reflect.get(target, property, receiver);
  },
});

Math.random = random;
globalThis.Date = LoadDate;

/** The script has loaded: tasks see the host's clock and randomness from here on. */
export function endLoad() {
  loading = false;
  if (Math.random === random) Math.random = hostRandom;
  if (globalThis.Date === LoadDate) globalThis.Date = HostDate;
}
