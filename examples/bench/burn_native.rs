//! `burn` of src/lib.rs as a plain native program, for the benchmark that compares the same
//! CPU-bound work in a wasm task and natively: `burn_native N M` runs N burns of M million
//! multiply-adds one after another, as `jug-host execute bench.wasm -j 1 -- cpu N M` does.
//! scripts/bench compiles it with `rustc -C opt-level=3`; the loop must stay the task's.

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

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("a count")).collect();
    let (tasks, millions) = (args.first().copied().unwrap_or(8), args.get(1).copied().unwrap_or(400));
    let mut all = 0u64;
    for seed in 0..tasks {
        all ^= burn(seed, millions);
    }
    println!("{all}");
}
