//! examples/sweep, the README's dynamic graph: a coarse grid, `bvalue` of its best point, a
//! fine grid around that point, all in one `execute`.

use crate::util::ExitCode;
use crate::util::TestDir;

/// examples/sweep's score, recomputed here: the area under (2 - t²) / (1 + t⁴) from 0 to x by
/// Simpson's rule with 1000 intervals (only `+ - * /`, so the same bits as in the guest).
fn score(x: f64) -> (f64, f64) {
    let g = |t: f64| (2.0 - t * t) / (1.0 + t * t * t * t);
    let dt = x / 1000.0;
    let mut sum = g(0.0) + g(x);
    for i in 1..1000 {
        sum += if i % 2 == 1 { 4.0 } else { 2.0 } * g(dt * i as f64);
    }
    (x, sum * dt / 3.0)
}

/// The first of the highest scores.
fn best(points: impl IntoIterator<Item = (f64, f64)>) -> (f64, f64) {
    points.into_iter().reduce(|a, b| if b.1 > a.1 { b } else { a }).expect("points")
}

/// What `report` should say for `coarse` points over [0, 4], then `fine` points in the cells
/// between the coarse winner's neighbours, and the best x found.
fn expected_report(coarse: u64, fine: u64) -> (String, f64) {
    let step = 4.0 / (coarse - 1) as f64;
    let coarse_best = best((0..coarse).map(|i| score(step * i as f64)));
    let (lo, hi) = ((coarse_best.0 - step).max(0.0), (coarse_best.0 + step).min(4.0));
    let fine_points = (0..fine).map(|k| score(lo + (hi - lo) * (k as f64 + 0.5) / fine as f64));
    let overall = best(std::iter::once(coarse_best).chain(fine_points));
    let text = format!(
        "Best x = {:.4} (score {:.6}): {coarse} points over [0, 4] gave x = {:.4} (score {:.6}), \
         {fine} more around it refined it.\n",
        overall.0, overall.1, coarse_best.0, coarse_best.1
    );
    (text, overall.0)
}

#[test]
fn the_sweep_refines_its_best_point_in_one_execute() {
    let dir = TestDir::with_guest("sweep", "sweep.wasm");
    let words = ["16"];

    // Before anything runs, the builder stops at `bvalue`: only stage 1 is declared (16 scores
    // and their `best`), and the graph is not done.
    let status =
        dir.jug(&["status", "sweep.wasm", "--short"]).arg_words(&words).run().expect_code(ExitCode::NotDone);
    assert_eq!(
        status.stdout,
        "17 tasks waiting to be run, 0 failed, 0 complete, (none active).\n\
         The graph builder stopped at a barrier: more tasks follow once these are complete.\n"
    );
    dir.jug(&["check", "sweep.wasm"]).arg_words(&words).run().expect_code(ExitCode::NotDone);

    // One execute runs both stages: 16 + 1, then 16 fine scores, their `best` and `report`.
    let run =
        dir.jug(&["execute", "sweep.wasm", "--short"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  35 tasks\nLoaded:  0 tasks\n** Total: 35 tasks.\n", "{}", run.stderr);
    dir.jug(&["check", "sweep.wasm"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    let status =
        dir.jug(&["status", "sweep.wasm", "--short"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (35 tasks).\n");

    let (text, x) = expected_report(16, 16);
    // The fine cells are 2 × 4/15 / 16 wide: the best one is the one holding the true maximum
    // at √2, or its neighbour.
    assert!((x - 2f64.sqrt()).abs() < 1.0 / 15.0, "best x {x}");
    let value = dir.jug(&["value", "sweep.wasm", "report"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, format!("{}\n", serde_json::to_string(&text).unwrap()));
    assert_eq!(
        text,
        "Best x = 1.4167 (score 1.572816): 16 points over [0, 4] gave x = 1.3333 (score 1.570765), \
         16 more around it refined it.\n"
    );

    let again =
        dir.jug(&["execute", "sweep.wasm", "--short"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  35 tasks\n** Total: 35 tasks.\n");
}
