//! Jug's seed example: test every number in 2..=N for primality (one task each), count the
//! primes (one task over all results) and format a sentence.
//!
//! `jug-host execute primes.wasm` uses N = 100; `jug-host execute primes.wasm -- 10000` sets N.

#[jug::task]
fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

#[jug::task]
fn count_primes(flags: Vec<bool>) -> u64 {
    flags.into_iter().filter(|&is_prime| is_prime).count() as u64
}

#[jug::task]
fn write_output(n: u64, limit: u64) -> String {
    format!("Found {n} primes <= {limit}.\n")
}

fn graph(args: &[String]) -> jug::Result {
    let limit: u64 = match args.first() {
        Some(word) => word.parse().map_err(|_| format!("expected a number N, got `{word}`"))?,
        None => 100,
    };
    let primes: Vec<_> = (2..=limit).map(is_prime).collect();
    write_output(count_primes(primes), limit);
    Ok(())
}

jug::export!(graph, [is_prime, count_primes, write_output]);
