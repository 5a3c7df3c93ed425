//! `jug-host verify`: run complete tasks again, in fresh sandboxes, and compare their results
//! with the stored ones — the audit of "the same code and inputs give the same bytes".
//!
//! Each task runs on its dependencies' stored results, as `execute` would run it. Only
//! complete tasks are verified (there is nothing to compare for the others): all of them
//! with `--all`, else a random sample (`--sample N`, default 20; `--seed` repeats one). The
//! store is only read: no locks, results or logs are written, and a damaged result is
//! reported, not removed. One line per task that differs or fails, then a summary; exit 0
//! when everything verified matched (also when nothing was complete), 8 otherwise.

use jug_core::verify::{self, DEFAULT_SAMPLE, Plan, Verdict};

use crate::cli::VerifyArgs;
use crate::errors::Result;
use crate::exit_code::ExitCode;

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let loaded = super::load_with(&args.graph, &args.builder, args.limits.limits())?;
    let store = loaded.reader.get()?;
    let graph = &loaded.graph;
    let sample = match args.all {
        true => None,
        false => {
            let size = args.sample.map_or(DEFAULT_SAMPLE, |n| usize::try_from(n).unwrap_or(usize::MAX));
            Some((size, args.seed.unwrap_or_else(clock_seed)))
        }
    };
    let plan = verify::plan(graph, &store.list_results()?, sample);
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let verdicts = verify::verify(graph, store, &loaded.program, &plan.chosen, jobs)?;

    let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
    let differ = count(|v| matches!(v, Verdict::Differ { .. }));
    let failed = count(|v| matches!(v, Verdict::Failed(_)));
    if args.json {
        super::print(&format!("{:#}\n", json(&loaded.graph, &plan, &verdicts, differ, failed)))?;
    } else {
        let mut out = String::new();
        for (&task, verdict) in plan.chosen.iter().zip(&verdicts) {
            let (name, key) = (graph.name(task), graph.task(task).key.short());
            match verdict {
                Verdict::Match => {}
                Verdict::Differ { stored, now } => out.push_str(&format!(
                    "MISMATCH {name} (key {key}): stored {} (blake3 {}), now {} (blake3 {})\n",
                    bytes(stored.len),
                    stored.short(),
                    bytes(now.len),
                    now.short()
                )),
                Verdict::Failed(message) => out.push_str(&format!("FAILED {name} (key {key}): {message}\n")),
            }
        }
        out.push_str(&summary(&plan, verdicts.len(), differ, failed));
        if graph.at_barrier() {
            out.push_str(
                "The graph builder stopped at a barrier: the tasks after it are not declared, so not verified.\n",
            );
        }
        super::print(&out)?;
    }
    Ok(if differ + failed == 0 { ExitCode::Ok } else { ExitCode::Mismatch })
}

fn bytes(n: usize) -> String {
    if n == 1 { "1 byte".to_owned() } else { format!("{n} bytes") }
}

/// `Verified 101 tasks: 101 match, 0 differ, 0 failed (101 complete, 0 not complete, skipped).`
fn summary(plan: &Plan, verified: usize, differ: usize, failed: usize) -> String {
    let matched = verified - differ - failed;
    let tasks = if verified == 1 { "task" } else { "tasks" };
    let chosen = match plan.seed {
        Some(seed) => format!("a random {verified} of {} complete, seed {seed}", plan.complete),
        None => format!("{} complete", plan.complete),
    };
    let mut skipped = format!("{} not complete", plan.not_complete);
    if plan.compound_unchecked > 0 {
        skipped.push_str(&format!(", {} compound without its sub-graph", plan.compound_unchecked));
    }
    format!(
        "Verified {verified} {tasks}: {matched} match, {differ} differ, {failed} failed ({chosen}, {skipped}, skipped).\n"
    )
}

fn json(
    graph: &jug_core::Graph,
    plan: &Plan,
    verdicts: &[Verdict],
    differ: usize,
    failed: usize,
) -> serde_json::Value {
    let tasks: Vec<serde_json::Value> = plan
        .chosen
        .iter()
        .zip(verdicts)
        .map(|(&task, verdict)| {
            let mut entry =
                serde_json::json!({ "name": graph.name(task), "key": graph.task(task).key.to_hex() });
            match verdict {
                Verdict::Match => entry["verdict"] = "match".into(),
                Verdict::Differ { stored, now } => {
                    entry["verdict"] = "differ".into();
                    entry["stored"] = serde_json::json!({ "bytes": stored.len, "blake3": stored.hex() });
                    entry["now"] = serde_json::json!({ "bytes": now.len, "blake3": now.hex() });
                }
                Verdict::Failed(message) => {
                    entry["verdict"] = "failed".into();
                    entry["message"] = message.clone().into();
                }
            }
            entry
        })
        .collect();
    serde_json::json!({
        "verified": verdicts.len(),
        "match": verdicts.len() - differ - failed,
        "differ": differ,
        "failed": failed,
        "complete": plan.complete,
        "not_complete": plan.not_complete,
        "compound_unchecked": plan.compound_unchecked,
        "seed": plan.seed,
        "at_barrier": graph.at_barrier(),
        "tasks": tasks,
    })
}

/// A seed for the sample when none is given: different on every run, printed so that a run
/// can be repeated with `--seed`.
fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // Small enough to type, varied enough for a sample.
    (now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
}
