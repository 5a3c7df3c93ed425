// jug-js's identity per task function (bin/function-digests.mjs), over bundles esbuild makes
// of small scripts: what changes a function's identity, and what does not.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

import { bundle, normalisedCode } from '../bin/bundle.mjs';
import { functionDigests } from '../bin/function-digests.mjs';

const SDK_ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'jug.js');

const SCRIPT = `import { taskGenerator } from 'jug';
import { scale } from './util.js';

const factor = 10;
const config = { offset: 1 };

function helper(x) { return x * factor; }

export const first = taskGenerator(function first(x) { return helper(x) + config.offset; });
export const second = taskGenerator(function second(x) { return helper(x) + 2; });
export const area = taskGenerator('area', (x) => scale(x, x));
export const alone = taskGenerator(function alone(x) { return x; });

export function graph(args) {
  const n = args.length > 0 ? Number(args[0]) : 3;
  for (let i = 0; i < n; i++) first(i);
  second(1);
  area(2);
  alone(3);
}
`;
const UTIL = 'export function scale(a, b) { return a * b; }\n';

async function digests(script, util = UTIL) {
  const dir = mkdtempSync(join(tmpdir(), 'jug-js-functions-'));
  writeFileSync(join(dir, 'graph.js'), script);
  writeFileSync(join(dir, 'util.js'), util);
  const result = await esbuild.build({
    entryPoints: [join(dir, 'graph.js')], bundle: true, format: 'esm', platform: 'neutral', write: false,
    keepNames: true, alias: { jug: SDK_ENTRY }, external: ['jug:task/*'], logLevel: 'silent',
  });
  return functionDigests(result.outputFiles[0].text, 'base');
}

async function changed(script, util) {
  const before = await digests(SCRIPT);
  const after = await digests(script ?? SCRIPT, util);
  return Object.keys(before).filter((name) => before[name] !== after[name]).sort();
}

test('every task function has one', async () => {
  assert.deepEqual(Object.keys(await digests(SCRIPT)).sort(), ['alone', 'area', 'first', 'second']);
});

test('editing a task changes that task only', async () => {
  assert.deepEqual(await changed(SCRIPT.replace('return x; }', 'return x + 0; }')), ['alone']);
});

test('a shared helper changes both callers, a constant what reads it', async () => {
  assert.deepEqual(await changed(SCRIPT.replace('x * factor', 'factor * x')), ['first', 'second']);
  assert.deepEqual(await changed(SCRIPT.replace('factor = 10', 'factor = 11')), ['first', 'second']);
  assert.deepEqual(await changed(SCRIPT.replace('offset: 1', 'offset: 2')), ['first']);
});

test('a statement that changes what a task reads counts', async () => {
  assert.deepEqual(await changed(SCRIPT.replace('function helper', 'config.offset = 5;\nfunction helper')), ['first']);
});

test('a local module counts for the tasks that reach it', async () => {
  assert.deepEqual(await changed(undefined, 'export function scale(a, b) { return b * a; }\n'), ['area']);
});

test('the graph builder and comments change nothing', async () => {
  assert.deepEqual(await changed(SCRIPT.replace(': 3;', ': 30;')), []);
  assert.deepEqual(await changed('// a comment\n' + SCRIPT.replace('alone(3);', 'alone(4);\n  second(2);')), []);
});

test('a direct eval counts the whole bundle', async () => {
  const dynamic = SCRIPT.replace('return x; }', 'return eval("x"); }');
  const before = await digests(dynamic);
  const after = await digests(dynamic.replace(': 3;', ': 30;'));
  assert.notEqual(before.alone, after.alone);
  assert.equal(before.first, after.first);
});

// Through jug-js's own bundling (bin/bundle.mjs): npm packages, CommonJS ones included, and
// the Node polyfills count for the tasks whose code reaches them, and only for those.
const PACKAGED = `import { taskGenerator } from 'jug';
import pad from 'left-pad';
import { EventEmitter } from 'events';

export const padded = taskGenerator(function padded(s) { return pad(s, 8); });
export const bytes = taskGenerator(function bytes(s) { return Buffer.from(s).length; });
export const emits = taskGenerator(function emits() { return new EventEmitter().listenerCount('x'); });
export const plain = taskGenerator(function plain(x) { return x + 1; });
export function graph() {}
`;

async function packagedDigests(padCode) {
  const dir = mkdtempSync(join(tmpdir(), 'jug-js-packages-'));
  mkdirSync(join(dir, 'node_modules', 'left-pad'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'left-pad', 'package.json'), '{"name": "left-pad", "version": "1.0.0"}');
  writeFileSync(join(dir, 'node_modules', 'left-pad', 'index.js'), padCode);
  writeFileSync(join(dir, 'graph.js'), PACKAGED);
  const bundled = await bundle(esbuild, join(dir, 'graph.js'), false);
  return { code: bundled.code, digests: functionDigests(normalisedCode(bundled, dir), 'base') };
}

test('an npm package counts for the tasks that reach it, polyfills too', async () => {
  const pad = 'module.exports = (s, n) => s.padStart(n);\n';
  const before = await packagedDigests(pad);
  const after = await packagedDigests(pad.replace('padStart(n)', 'padStart(n, " ")'));
  assert.deepEqual(Object.keys(before.digests).sort(), ['bytes', 'emits', 'padded', 'plain']);
  assert.deepEqual(Object.keys(before.digests).filter((n) => before.digests[n] !== after.digests[n]), ['padded']);
  // The polyfills are in the bundle (a change of their pinned version shows in its text), for
  // the free `Buffer` and for `import 'events'`.
  assert.match(before.code, /\/\/ .*node_modules\/buffer\/index\.js/);
  assert.match(before.code, /\/\/ .*node_modules\/events\/events\.js/);
  // Another version of the buffer polyfill, as far as the bundle shows: `bytes`, which uses
  // Buffer, and the tasks that reach a CommonJS module (esbuild initialises the injected globals
  // in each of those: left-pad, events), not `plain`.
  const edited = before.code.replace('K_MAX_LENGTH = 2147483647', 'K_MAX_LENGTH = 2147483646');
  assert.notEqual(edited, before.code);
  const [old, again] = [functionDigests(before.code, 'base'), functionDigests(edited, 'base')];
  assert.deepEqual(Object.keys(again).filter((n) => again[n] !== old[n]).sort(), ['bytes', 'emits', 'padded']);
});
