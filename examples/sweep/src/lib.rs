//! A parameter sweep in two stages, the showcase of a **dynamic graph** (Jug's `bvalue`): where
//! the second stage looks depends on what the first one found, so the builder cannot declare
//! it until a result is stored.
//!
//! 1. Score a coarse grid of `COARSE` points over `x` in [0, 4] (one task each), and pick the
//!    best point (one task over all of them).
//! 2. Read that best point back in the builder with [`jug::bvalue`], score `FINE` points
//!    between its two grid neighbours, and pick the best of those and of the coarse winner.
//! 3. Write a sentence about it.
//!
//! The score of `x` is the area under `g(t) = (2 - t²) / (1 + t⁴)` from 0 to `x`, computed by
//! Simpson's rule: it grows while `g` is positive and shrinks after, so its one maximum is at
//! `x = √2`. The sweep is not told that; the integration tests check that it gets there.
//!
//! `jug-host execute sweep.wasm` uses 16 coarse and 16 fine points;
//! `jug-host execute sweep.wasm -- 40 8` sets COARSE and FINE. One `execute` runs both stages:
//! it runs stage 1, builds the graph again (now past the `bvalue`) and runs stage 2.
//! Before stage 1 is done, `status` shows only its tasks and says that more follow.

/// The range swept.
const LO: f64 = 0.0;
const HI: f64 = 4.0;

/// Simpson's rule intervals per integral (even): a few microseconds of work per task.
const INTERVALS: u32 = 1000;

fn integrand(t: f64) -> f64 {
    (2.0 - t * t) / (1.0 + t * t * t * t)
}

/// Scores one grid point: returns `(x, score)`, so that [`best`] can tell where the best
/// score was. Only `+ - * /` are used, so the numbers are the same bits on every machine.
#[jug::task]
fn score(x: f64) -> (f64, f64) {
    let dt = x / INTERVALS as f64;
    let mut sum = integrand(0.0) + integrand(x);
    for i in 1..INTERVALS {
        let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += weight * integrand(dt * i as f64);
    }
    (x, sum * dt / 3.0)
}

/// The point with the highest score (the first of equal ones).
#[jug::task]
fn best(scores: Vec<(f64, f64)>) -> Result<(f64, f64), String> {
    scores
        .into_iter()
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
        .ok_or_else(|| "no points to compare".into())
}

#[jug::task]
fn report(coarse: (f64, f64), fine: (f64, f64), coarse_points: u64, fine_points: u64) -> String {
    format!(
        "Best x = {:.4} (score {:.6}): {coarse_points} points over [{LO}, {HI}] gave x = {:.4} \
         (score {:.6}), {fine_points} more around it refined it.\n",
        fine.0, fine.1, coarse.0, coarse.1
    )
}

/// The `i`th word after `--` as a number of points (at least 2), or `default`.
fn points(args: &[String], i: usize, default: u64) -> jug::Result<u64> {
    let Some(word) = args.get(i) else {
        return Ok(default);
    };
    match word.parse() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!("expected a number of points (2 or more), got `{word}`").into()),
    }
}

/// The jugfile: `args` are `[COARSE [FINE]]`.
fn graph(args: &[String]) -> jug::Result {
    let (coarse_points, fine_points) = (points(args, 0, 16)?, points(args, 1, 16)?);

    // Stage 1: a coarse grid, LO and HI included.
    let step = (HI - LO) / (coarse_points - 1) as f64;
    let coarse: Vec<_> = (0..coarse_points).map(|i| score(LO + step * i as f64)).collect();
    let coarse_best = best(coarse);

    // The dynamic part. Until `coarse_best` has a result, `bvalue` returns an error and `?`
    // stops the build here: the graph is stage 1 alone, and `execute` runs it, then calls this
    // function again. No `jug::barrier()` is needed: `bvalue` already stops the build until the
    // one result it reads is stored, and a barrier (every task declared so far has a result)
    // would wait for these same stage-1 tasks here.
    let (x, _) = jug::bvalue(&coarse_best)?;

    // Stage 2: the score has one maximum, so it lies between the coarse winner's neighbours.
    // The fine points are the centres of FINE equal cells there: none is a coarse point again.
    let (lo, hi) = ((x - step).max(LO), (x + step).min(HI));
    let fine = (0..fine_points).map(|k| score(lo + (hi - lo) * (k as f64 + 0.5) / fine_points as f64));
    let candidates: Vec<_> = std::iter::once(coarse_best).chain(fine).collect();
    report(coarse_best, best(candidates), coarse_points, fine_points);
    Ok(())
}

jug::export!(graph, [score, best, report]);
