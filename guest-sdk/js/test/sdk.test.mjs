// Unit tests of the SDK in Node, against a mock host (mock-host.js): `npm test`.
// The integration tests (tests/integration/javascript.rs) run real components.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const bundled = await esbuild.build({
  stdin: {
    contents: [
      "export * from 'jug';",
      "export * as host from 'jug:task/graph@0.1.0';",
      "export { encodeValue, decodeValue } from '../src/cbor.js';",
    ].join('\n'),
    resolveDir: here,
  },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  keepNames: true,
  write: false,
  alias: { jug: join(here, '..', 'src', 'jug.js') },
  plugins: [
    {
      name: 'mock-host',
      setup(build) {
        build.onResolve({ filter: /^jug:task\// }, () => ({ path: join(here, 'mock-host.js') }));
      },
    },
  ],
});
const scratch = mkdtempSync(join(tmpdir(), 'jug-sdk-test-'));
const file = join(scratch, 'sdk.mjs');
writeFileSync(file, bundled.outputFiles[0].text);
const jug = await import(pathToFileURL(file).href);
rmSync(scratch, { recursive: true, force: true });
const { host } = jug;

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const fromHex = (text) => new Uint8Array(Buffer.from(text, 'hex'));

// Task functions are registered while the script loads, before __entry.
const double = jug.taskGenerator(function double(x) {
  return 2 * x;
});
const add = jug.taskGenerator('add', (a, b) => a + b);
const fails = jug.taskGenerator(function fails() {
  throw new TypeError('nope');
});
let graphBody = () => {};
const entry = jug.__entry({ graph: (args) => graphBody(args), triple: (x) => 3 * x });

function build(body, args = []) {
  host.reset();
  graphBody = body;
  entry.build(args);
  return host.calls;
}

test('values encode as deterministic CBOR, as the Rust and Python SDKs do', () => {
  const cases = [
    [{ n: 1, got: { a: 1, b: [1.5, 2] } }, 'a2616e0163676f74a2616101616282f93e0002'],
    [null, 'f6'],
    [undefined, 'f6'],
    [[true, false], '82f5f4'],
    [-0, '00'],
    [2 ** 53, 'fa5a000000'],
    [0.1, 'fb3fb999999999999a'],
    [NaN, 'f97e00'],
    [2n ** 64n - 1n, '1bffffffffffffffff'],
    [-(2n ** 64n), '3bffffffffffffffff'],
    [new Uint8Array([1, 2]), '420102'],
    [{ b: 1, a: 2, aa: 3, c: undefined }, 'a361610261620162616103'],
    [new Map([['z', 1], ['__proto__', 2]]), 'a2617a01695f5f70726f746f5f5f02'],
  ];
  for (const [value, expected] of cases) assert.equal(hex(jug.encodeValue(value)), expected, String(value));
  assert.throws(() => jug.encodeValue(new Date(0)), /the value is a Date/);
  assert.throws(() => jug.encodeValue({ a: [new Float64Array(1)] }), /the value\.a\[0\] is a Float64Array/);
  assert.throws(() => jug.encodeValue(2n ** 64n), /beyond 64 bits/);
  assert.throws(() => jug.encodeValue(new Map([[1, 2]])), /key that is not a string/);
  const cyclic = [];
  cyclic.push(cyclic);
  assert.throws(() => jug.encodeValue(cyclic), /cycle/);
  assert.deepEqual(jug.decodeValue(fromHex('f94000')), 2);
  assert.deepEqual(jug.decodeValue(fromHex('1bffffffffffffffff')), 2n ** 64n - 1n);
  assert.deepEqual(jug.decodeValue(fromHex('c249010000000000000000')), 2n ** 64n);
});

test('the encoder of simple values writes the bytes cborg writes', async () => {
  const { encode, rfc8949EncodeOptions } = await import('cborg');
  const same = (v, what) => assert.equal(hex(jug.encodeValue(v)), hex(encode(v, rfc8949EncodeOptions)), what);
  const edges = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
  const ints = [...edges, ...edges.map((n) => -n), -24, -25, -256, -257, -(2 ** 32) - 1];
  const strings = ['', 'a', 'x'.repeat(23), 'y'.repeat(24), 'z'.repeat(256), 'é😀', '\uD800', 'ü'.repeat(40000)];
  for (const v of [...ints, ...strings, true, false, null, new Uint8Array(0), new Uint8Array(300).fill(9)]) {
    same(v, String(v).slice(0, 20));
    same([v, [v]], `[${String(v).slice(0, 20)}]`);
  }
  // Nested values at random (xorshift32); odd ones may hold what the simple encoder leaves to
  // cborg (floats, BigInts, objects), which then writes the whole value.
  let seed = 0x9e3779b9;
  const random = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed % n;
  };
  const value = (depth, mixed) => {
    switch (random(depth > 3 ? 4 : 6) + (mixed && random(4) === 0 ? 6 : 0)) {
      case 0: return ints[random(ints.length)];
      case 1: return strings[random(strings.length - 1)];
      case 2: return [true, false, null][random(3)];
      case 3: return new Uint8Array(random(300)).fill(random(256));
      case 4:
      case 5: return Array.from({ length: random(30) }, () => value(depth + 1, mixed));
      case 6: return [1.5, -0.25, 2 ** 53, 1e300][random(4)];
      case 7: return random(2) ? 2n ** 63n : -(2n ** 40n);
      default: return { k: value(depth + 1, mixed) };
    }
  };
  for (let i = 0; i < 3000; i++) same(value(0, i % 2 === 1), `value ${i}`);
});

test('tasks, tasklets and wrappers become the template tags', () => {
  const calls = build(() => {
    const t = double(1); // key ...01
    add(t, [t.index(2), t.field('x').index(0)]);
    add(jug.noHash(5), jug.customHash({ a: 1 }, 'v1'));
    add(jug.file('data.txt'), 0);
  });
  const key1 = `6b${'00'.repeat(29)}0001`;
  assert.deepEqual(calls[0], { kind: 'declare', fn: 'double', args: '8101' });
  assert.equal(calls[1].args, `82d96a755820${key1}82d96a75825820${key1}02d96a75835820${key1}617800`);
  assert.equal(calls[2].args, `82d96a7605d96a7782427631a1616101`);
  assert.equal(calls[3].args, `82d96a788268${hex(Buffer.from('data.txt'))}5820${'07'.repeat(32)}00`);
});

test('declarations reach the host in batches, in order, and a key is there when it is read', () => {
  const tasks = [];
  let batchesBeforeRead;
  build(() => {
    for (let i = 0; i < 200; i++) tasks.push(double(i));
    tasks.push(add(1, 2)); // the first `add`: sent at once, with the 7 doubles waiting
    tasks.push(double(1000)); // waits
    batchesBeforeRead = [...host.batches];
    assert.equal(tasks[201].hash(), `6b${'00'.repeat(29)}00ca`); // reading it sends its batch
  });
  assert.deepEqual(batchesBeforeRead, [1, 64, 64, 64, 8]);
  assert.deepEqual(host.batches, [1, 64, 64, 64, 8, 1]);
  assert.equal(host.calls.length, 202);
  tasks.forEach((t, i) => assert.equal(t.key[31] | (t.key[30] << 8), i + 1, `key of task ${i}`));
  assert.equal(host.calls[200].fn, 'add');

  // barrier() and the end of graph() send what waits.
  build(() => {
    double(1);
    double(2);
    jug.barrier();
    double(3);
  });
  assert.deepEqual(host.batches, [1, 1, 1]);
});

test('a task taking the result of one in the same batch refers to it by its place there', () => {
  const key1 = `6b${'00'.repeat(29)}0001`;
  build(() => {
    const a = double(1); // sent at once: its key is known
    const b = double(a); // waits, at place 0
    const c = double(b); // place 1
    add(c.index(2), b); // the first `add`: sent at once, with b and c
  });
  assert.deepEqual(host.batches, [1, 3]);
  assert.deepEqual(
    host.calls.map((c) => c.args),
    [
      '8101',
      `81d96a755820${key1}`, // [a]: by key
      '81d96a7a00', // [b]: tag 27258 around its place
      '82d96a7a820102d96a7a00', // [c[2], b]
    ],
  );
});

test('a refused declaration in a batch throws where the batch is sent; the ones after it are not declared', () => {
  let first, refused, after;
  build(() => {
    host.refuseArgs('8102'); // [2]
    first = double(1); // sent at once
    refused = double(2);
    after = double(3);
    assert.throws(() => after.key, /^JugError: cannot declare task double: the host says no$/);
    assert.throws(
      () => after.key,
      /^JugError: task double was not declared: it was sent with double, which was refused \(the host says no\)$/,
    );
  });
  assert.equal(first.key[31], 1);
  assert.throws(() => refused.key, /cannot declare task double: the host says no/);
  assert.deepEqual(host.batches, [1, 2]);
  assert.deepEqual(host.calls.map((c) => c.args), ['8101']);
});

test('mapreduce declares the Rust SDK task structure', () => {
  const calls = build(() => {
    const squares = jug.mapreduce.map(double, Array.from({ length: 10 }, (_, i) => i), 3);
    assert.equal(squares.length, 10);
    assert.ok(jug.mapreduce.reduce(add, squares, 2));
    assert.equal(jug.mapreduce.reduce(add, [], 2), null);
    jug.mapreduce.currymap(add, [[1, 2], [3, 4], [5, 6]], 2);
    jug.mapreduce.map(double, [1, 2], 1);
  });
  const count = (fn) => calls.filter((c) => c.fn === fn).length;
  assert.equal(count('double.map'), 4);
  assert.equal(count('add.reduce'), 5 + 3 + 2 + 1);
  assert.equal(count('add.map'), 2);
  assert.equal(count('double'), 2);
  assert.match(calls.find((c) => c.fn === 'add.map').args, /f5$/); // [items, true]
});

test('run calls task functions, their batch variants and identity', () => {
  const run = (fn, value) => jug.decodeValue(entry.run(fn, jug.encodeValue(value)));
  assert.equal(run('double', [21]), 42);
  assert.equal(run('triple', [5]), 15); // an exported plain function
  assert.deepEqual(run('double.map', [[1, 2, 3]]), [2, 4, 6]);
  assert.deepEqual(run('add.map', [[[1, 2], [3, 4]], true]), [3, 7]);
  assert.equal(run('add.reduce', [[1, 2, 3, 4]]), 10);
  assert.equal(hex(entry.run('jug.identity', fromHex('81f94000'))), 'f94000'); // bytes kept
  assert.throws(() => entry.run('fails', jug.encodeValue([])), (e) => e === 'TypeError: nope');
  assert.throws(() => entry.run('nosuch', jug.encodeValue([])), (e) => typeof e === 'string' && /no task function `nosuch`/.test(e));
});

test('barriers stop the build; errors are strings', () => {
  host.reset();
  const t = [];
  graphBody = () => {
    t.push(double(1));
    jug.bvalue(t[0]);
    double(2);
  };
  entry.build([]); // stops at bvalue: returns normally
  assert.equal(host.calls.length, 1);
  host.results.set(hex(t[0].key), fromHex('182a'));
  t.length = 0;
  host.calls.length = 0;
  entry.build([]);
  assert.equal(host.calls.length, 2);

  host.setComplete(false);
  assert.doesNotThrow(() => build(() => { double(1); jug.barrier(); double(2); }));
  assert.throws(() => build(() => double(() => 1)), (e) => typeof e === 'string' && /argument 1 of double is a function/.test(e));
  assert.throws(() => build(() => { throw new Error('plain'); }), (e) => e === 'plain');
  assert.throws(() => build(() => jug.task('refused')), (e) => typeof e === 'string' && /not a task function/.test(e));
  assert.throws(() => double(1), /only graph\(\) declares tasks/);
});

test('components declare through declare-in and name their tasks after the file', () => {
  const calls = build(() => {
    const stats = jug.component('lib/stats.wasm');
    const t = stats.mean([1, 2]);
    assert.equal(t.name, 'stats.mean');
    stats.task('echo')(t);
    jug.mapreduce.map(stats.double, [1, 2, 3], 2);
  });
  assert.deepEqual(calls.map((c) => [c.kind, c.component, c.fn]), [
    ['declare-in', 'lib/stats.wasm', 'mean'],
    ['declare-in', 'lib/stats.wasm', 'echo'],
    ['declare-in', 'lib/stats.wasm', 'double.map'],
    ['declare-in', 'lib/stats.wasm', 'double.map'],
  ]);
});

test('withLimits sends u64 BigInts (undefined keeps the command line\'s) and returns the task', () => {
  let t;
  const calls = build(() => {
    t = double(1);
    assert.equal(t.withLimits({ timeoutMs: 200 }), t);
    t.withLimits({ fuel: 1e9, maxMemory: 2n << 30n, timeoutMs: undefined });
    t.withLimits({ fuel: 0, maxMemory: null });
    t.withLimits({});
  });
  const key = hex(t.key);
  assert.deepEqual(calls.slice(1), [
    { kind: 'set-limits', key, limits: { timeoutMs: 200n, fuel: undefined, maxMemory: undefined } },
    { kind: 'set-limits', key, limits: { timeoutMs: undefined, fuel: 1000000000n, maxMemory: 2147483648n } },
    { kind: 'set-limits', key, limits: { timeoutMs: undefined, fuel: 0n, maxMemory: undefined } },
    { kind: 'set-limits', key, limits: { timeoutMs: undefined, fuel: undefined, maxMemory: undefined } },
  ]);
});

test('withLimits refuses what is not a limit', () => {
  const refused = (limits, pattern) =>
    assert.throws(() => build(() => double(1).withLimits(limits)), (e) => typeof e === 'string' && pattern.test(e));
  refused({ timeout: 3 }, /there is no limit `timeout`; the limits are timeoutMs/);
  refused({ timeoutMs: 0 }, /timeoutMs is from 1 to 2\^64 - 1 milliseconds, not 0/);
  refused({ timeoutMs: 1.5 }, /timeoutMs is a whole number of milliseconds/);
  refused({ timeoutMs: '1s' }, /timeoutMs is a whole number/);
  refused({ fuel: -1 }, /fuel is from 0 to/);
  refused({ fuel: 2n ** 64n }, /fuel is from 0 to/);
  refused({ maxMemory: 2 ** 60 }, /maxMemory \d+ is beyond the safe integers; write it as a BigInt/);
  refused(undefined, /pass an object such as/);
  const unknown = new jug.Task('elsewhere', new Uint8Array(32).fill(0xee));
  assert.throws(
    () => build(() => unknown.withLimits({ fuel: 1 })),
    (e) => e === 'cannot set the limits of task elsewhere: no task has this key',
  );
  assert.throws(() => unknown.withLimits({ fuel: 1 }), /outside graph\(\)/);
});

test('directory() is tag 27257 around [path, guest, writable], all in the key', () => {
  const calls = build(() => {
    add(jug.directory('data'), 0);
    add(jug.directory('runs/out/', { writable: true }), [jug.directory('a/b', { guest: '/work/b', writable: false })]);
  });
  const text = (s) => `${(0x60 + s.length).toString(16)}${hex(Buffer.from(s))}`;
  assert.equal(calls[0].args, `82d96a7983${text('data')}${text('/data')}f400`);
  assert.equal(
    calls[1].args,
    `82d96a7983${text('runs/out/')}${text('/out')}f581d96a7983${text('a/b')}${text('/work/b')}f4`,
  );
  assert.equal(jug.DIR_GRANT_TAG, 27257);
  // Pure: no host call, so it may be made anywhere (the top level included).
  assert.equal(String(jug.directory('data')), 'directory("data", { guest: "/data", writable: false })');
});

test('directory() refuses bad guest paths and options, and wrappers around it', () => {
  const refused = (f, pattern) => assert.throws(f, (e) => e instanceof Error && pattern.test(e.message));
  for (const [guest, problem] of [
    ['data', /must be absolute/],
    ['/', /cannot be \/ itself/],
    ['/a/../b', /`\.\.`/],
    ['/a/./b', /`\.`/],
    ['//inputs', /empty/],
    ['/data/', /empty/],
    ['/inputs', /\/inputs/],
    ['/inputs/x', /\/inputs/],
    ['/a\0b', /NUL/],
  ]) {
    const prefix = `directory("data"): the guest path ${JSON.stringify(guest)} `;
    refused(() => jug.directory('data', { guest }), { test: (m) => m.startsWith(prefix) && problem.test(m) });
  }
  assert.equal(jug.directory('data', { guest: '/inputsx' }).guest, '/inputsx');
  for (const path of ['.', '..', '/', '', 'a/..']) refused(() => jug.directory(path), /no guest path follows from this path/);
  refused(() => jug.directory('data', { writable: 1 }), /writable must be true or false, not number 1/);
  refused(() => jug.directory('data', { guest: 3 }), /guest must be a string, not number 3/);
  refused(() => jug.directory('data', { readOnly: true }), /there is no option `readOnly`; the options are guest and writable/);
  refused(() => jug.directory('data', '/data'), /options must be an object/);
  refused(() => jug.directory(undefined), /path must be a string, not undefined/);
  const d = jug.directory('data');
  for (const wrapped of [jug.noHash([d]), jug.customHash({ d }, 'h')]) {
    assert.throws(
      () => build(() => add(wrapped, 0)),
      (e) => typeof e === 'string' && /is directory\("data".*: a directory grant is only a plain task argument/.test(e),
    );
  }
});
