//! The benchmark graphs. After `--`:
//!
//! - `N` (default 1,000): N independent tasks that do almost nothing, so what is measured is
//!   jug-host itself (graph building, sandboxing, storing results);
//! - `cpu N M`: N independent tasks that each burn M million steps of a multiply-add chain
//!   (~1.7 ms a million on the benchmark VM), to measure how `-j` scales on CPU-bound work.

#[jug::task]
fn double(x: u64) -> u64 {
    2 * x
}

#[jug::task]
fn burn(seed: u64, millions: u64) -> u64 {
    let mut x = seed;
    for i in 0..millions * 1_000_000 {
        // A xorshift before the multiply makes each step depend on the last in a way no
        // compiler can fold or run ahead, with nothing kept in memory: `black_box` kept `x` in
        // a register natively but stored it to linear memory at every step in wasm, so the two
        // builds ran different instructions (BENCHMARKS.md, stop 28).
        x = (x ^ (x >> 29)).wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    x
}

fn count(args: &[String], i: usize, default: u64) -> jug::Result<u64> {
    match args.get(i) {
        Some(word) => Ok(word.parse().map_err(|_| format!("expected a count, got `{word}`"))?),
        None => Ok(default),
    }
}

fn graph(args: &[String]) -> jug::Result {
    if args.first().map(String::as_str) == Some("cpu") {
        let millions = count(args, 2, 500)?;
        for seed in 0..count(args, 1, 8)? {
            burn(seed, millions);
        }
        return Ok(());
    }
    for i in 0..count(args, 0, 1000)? {
        double(i);
    }
    Ok(())
}

jug::export!(graph, [double, burn]);
