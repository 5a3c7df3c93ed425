// The prelude (src/prelude.js): while a script loads, the clock reads the tasks' fixed time and
// Math.random is a seeded generator; afterwards, the host's clock and randomness are back, also
// for the functions kept while loading.

import assert from 'node:assert/strict';
import { test } from 'node:test';

let instance = 0;
/** A fresh evaluation of the prelude, as at the start of a bundle; what it saw while loading. */
async function load(whileLoading = () => {}) {
  const prelude = await import(`../src/prelude.js?${instance++}`);
  const seen = whileLoading();
  prelude.endLoad();
  return { prelude, seen };
}

test('the clock reads the time tasks read while loading', async () => {
  const { prelude, seen } = await load(() => ({
    now: Date.now(),
    date: new Date().getTime(),
    text: Date(),
    given: new Date(5).getTime(),
    isDate: new Date() instanceof Date,
  }));
  assert.equal(prelude.LOAD_TIME_MS, 1_700_000_000_000);
  assert.equal(seen.now, prelude.LOAD_TIME_MS);
  assert.equal(seen.date, prelude.LOAD_TIME_MS);
  assert.equal(seen.text, new Date(prelude.LOAD_TIME_MS).toString());
  assert.equal(seen.given, 5);
  assert.ok(seen.isDate);
});

test('Math.random draws the same numbers in every load', async () => {
  const draw = () => Array.from({ length: 1000 }, () => Math.random());
  const { seen: first } = await load(draw);
  const { seen: second } = await load(draw);
  assert.deepEqual(first, second);
  assert.ok(first.every((x) => x >= 0 && x < 1));
  assert.equal(new Set(first).size, first.length);
  const mean = first.reduce((a, b) => a + b) / first.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('after loading, the host clock and randomness, also through kept functions', async () => {
  const hostRandom = Math.random;
  const HostDate = Date;
  let calls = 0;
  Math.random = () => ++calls / 10;
  try {
    const { seen: kept } = await load(() => ({ now: Date.now, random: Math.random, LoadDate: Date }));
    assert.equal(Date, HostDate);
    assert.equal(kept.random(), 0.1); // the host's Math.random of the moment
    assert.ok(Math.abs(kept.now() - HostDate.now()) < 5000);
    assert.ok(Math.abs(new kept.LoadDate().getTime() - HostDate.now()) < 5000);
    assert.ok(new HostDate() instanceof kept.LoadDate);
  } finally {
    Math.random = hostRandom;
  }
});
