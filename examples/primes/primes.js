// Jug's seed example in JavaScript: test every number in 2..=N for primality (one task each),
// count the primes (one task over all results) and format a sentence. The same graph as
// src/lib.rs, so `jug-host status primes.wasm` shows the same table.
//
//   jug-js build primes.js && jug-host execute primes.wasm      # N = 100
//   jug-host execute primes.wasm -- 10000                        # N = 10,000

import { taskGenerator } from 'jug';

const is_prime = taskGenerator(function is_prime(n) {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) {
    if (n % d === 0) return false;
  }
  return true;
});

const count_primes = taskGenerator(function count_primes(flags) {
  return flags.filter((isPrime) => isPrime).length;
});

const write_output = taskGenerator(function write_output(n, limit) {
  return `Found ${n} primes <= ${limit}.\n`;
});

/** The jugfile: runs when jug-host builds the graph; `args` are the words after `--`. */
export function graph(args) {
  let limit = 100;
  if (args.length > 0) {
    if (!/^\d+$/.test(args[0])) throw new Error(`expected a number N, got \`${args[0]}\``);
    limit = Number(args[0]);
  }
  const primes = [];
  for (let n = 2; n <= limit; n++) primes.push(is_prime(n));
  write_output(count_primes(primes), limit);
}
