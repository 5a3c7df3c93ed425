//! The overhead benchmark: N independent tasks that do almost nothing, so what is measured is
//! jug-host itself (graph building, sandboxing, storing results). N comes after `--`
//! (default 1,000).

#[jug::task]
fn double(x: u64) -> u64 {
    2 * x
}

fn graph(args: &[String]) -> jug::Result {
    let n: u64 = match args.first() {
        Some(word) => word.parse().map_err(|_| format!("expected a task count N, got `{word}`"))?,
        None => 1000,
    };
    for i in 0..n {
        double(i);
    }
    Ok(())
}

jug::export!(graph, [double]);
