// The benchmark graphs of examples/bench in JavaScript (src/lib.rs is the Rust original).
// After `--`:
//
// - `N` (default 1,000): N independent tasks that do almost nothing, so what is measured is
//   jug-host and the SDK's per-task cost (a fresh instance of a 13 MB component per task);
// - `cpu N M`: N independent tasks that each burn about M million multiply-adds.
//
//   jug-js build bench.js && jug-host execute bench.wasm -- 10000

import { taskGenerator } from 'jug';

const double = taskGenerator(function double(x) {
  return 2 * x;
});

const burn = taskGenerator(function burn(seed, millions) {
  let x = seed | 0;
  for (let i = 0; i < millions * 1_000_000; i++) {
    x = (Math.imul(x, 1664525) + 1013904223 + i) | 0;
  }
  return x;
});

function count(args, i, fallback) {
  const word = args[i];
  if (word === undefined) return fallback;
  if (!/^\d+$/.test(word)) throw new Error(`expected a count, got \`${word}\``);
  return Number(word);
}

export function graph(args) {
  if (args[0] === 'cpu') {
    const millions = count(args, 2, 500);
    for (let seed = 0; seed < count(args, 1, 8); seed++) burn(seed, millions);
    return;
  }
  for (let i = 0; i < count(args, 0, 1000); i++) double(i);
}
