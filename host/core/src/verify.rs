//! `verify`: run tasks that have stored results again, and compare the bytes.
//!
//! A key promises that a task's code and inputs determine its result: the sandbox gives a
//! task nothing but its inputs, fixes its clock, seeds its randomness from its key and
//! canonicalizes NaNs. `verify` audits that promise. It re-runs a complete task on its
//! dependencies' *stored* results, exactly as `execute` would ([`run_task`]), and compares
//! the result with the stored one, byte for byte. It reads the store and never writes to it:
//! no locks, no results, no logs, and a damaged result is reported, not removed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::execute::{Runner, run_task};
use crate::store::{Store, StoreError, Stored};
use crate::{Graph, Key};

/// How many complete tasks `verify` re-runs when not told otherwise.
pub const DEFAULT_SAMPLE: usize = 20;

/// The size and blake3 hash of a result, to tell two results apart in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub len: usize,
    pub blake3: [u8; 32],
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest { len: bytes.len(), blake3: *blake3::hash(bytes).as_bytes() }
    }

    /// The hash as 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        Key(self.blake3).to_hex()
    }

    /// The first 12 hex digits of the hash.
    pub fn short(&self) -> String {
        Key(self.blake3).short()
    }
}

/// What running a task again found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The same bytes as the stored result.
    Match,
    /// A valid result, but not the stored one.
    Differ { stored: Digest, now: Digest },
    /// The task failed this time, or could not be run again (a damaged result, an input
    /// without a stored result).
    Failed(String),
}

/// Which tasks to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The tasks to run again, in definition order.
    pub chosen: Vec<usize>,
    /// Tasks with a stored result.
    pub complete: usize,
    /// Tasks without one: there is nothing to compare, so they are skipped.
    pub not_complete: usize,
    /// Complete compound tasks whose sub-graph was not declared (the builder found the
    /// compound's result stored): no code produces their result in this graph, so they are
    /// not checked.
    pub compound_unchecked: usize,
    /// The seed of the random sample, when only some of the complete tasks were chosen.
    pub seed: Option<u64>,
}

/// Picks the tasks to verify: the complete ones (`results` lists the stored keys), all of
/// them, or `sample = Some((n, seed))` of them at random — the same `n` for the same seed,
/// graph and results. Either way in definition order.
pub fn plan(graph: &Graph, results: &HashSet<Key>, sample: Option<(usize, u64)>) -> Plan {
    let complete: Vec<usize> = (0..graph.len()).filter(|&i| results.contains(&graph.task(i).key)).collect();
    let (mut candidates, compound_unchecked): (Vec<usize>, Vec<usize>) = complete.iter().partition(|&&i| {
        let task = graph.task(i);
        !(task.compound && task.dependencies.is_empty())
    });
    let mut seed = None;
    if let Some((n, s)) = sample
        && n < candidates.len()
    {
        // A partial Fisher–Yates shuffle: the first n places get a uniform random sample.
        let mut random = fastrand::Rng::with_seed(s);
        for place in 0..n {
            let pick = random.usize(place..candidates.len());
            candidates.swap(place, pick);
        }
        candidates.truncate(n);
        candidates.sort_unstable();
        seed = Some(s);
    }
    Plan {
        chosen: candidates,
        complete: complete.len(),
        not_complete: graph.len() - complete.len(),
        compound_unchecked: compound_unchecked.len(),
        seed,
    }
}

/// Runs each of `tasks` again on `jobs` threads and compares with its stored result; the
/// verdicts come back in the order of `tasks`. A store that cannot be read stops it.
pub fn verify(
    graph: &Graph,
    store: &Store,
    runner: &dyn Runner,
    tasks: &[usize],
    jobs: usize,
) -> Result<Vec<Verdict>, StoreError> {
    let verdicts: Mutex<Vec<Option<Verdict>>> = Mutex::new(vec![None; tasks.len()]);
    let next = AtomicUsize::new(0);
    let error: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tasks.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let place = next.fetch_add(1, Ordering::SeqCst);
                    if place >= tasks.len() || error.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                        break;
                    }
                    match verify_task(graph, store, runner, tasks[place]) {
                        Ok(verdict) => {
                            verdicts.lock().unwrap_or_else(|e| e.into_inner())[place] = Some(verdict)
                        }
                        Err(e) => {
                            error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let verdicts = verdicts.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(verdicts.into_iter().map(|v| v.expect("every task was verified")).collect())
}

/// Runs one complete task again on its dependencies' stored results.
pub fn verify_task(
    graph: &Graph,
    store: &Store,
    runner: &dyn Runner,
    task: usize,
) -> Result<Verdict, StoreError> {
    let key = graph.task(task).key;
    let stored = match store.get_result(&key)? {
        Stored::Present(bytes) => bytes,
        Stored::Missing => {
            return Ok(Verdict::Failed("its stored result was removed while verify ran".into()));
        }
        Stored::Damaged(damaged) => {
            return Ok(Verdict::Failed(format!(
                "the stored result is damaged ({}); the next execute removes and recomputes it",
                damaged.reason
            )));
        }
    };
    let mut inputs: HashMap<Key, Arc<[u8]>> = HashMap::new();
    for &dep in &graph.task(task).dependencies {
        let (dep, dep_key) = (dep as usize, graph.task(dep as usize).key);
        let problem = match store.get_result(&dep_key)? {
            Stored::Present(bytes) => {
                inputs.insert(dep_key, bytes.into());
                continue;
            }
            Stored::Missing => "has no stored result".to_owned(),
            Stored::Damaged(damaged) => format!("has a damaged stored result ({})", damaged.reason),
        };
        return Ok(Verdict::Failed(format!(
            "cannot run it again: its input {} (key {}) {problem}",
            graph.name(dep),
            dep_key.short()
        )));
    }
    Ok(match run_task(graph, runner, task, &inputs).outcome {
        Ok(now) if now == stored => Verdict::Match,
        Ok(now) => Verdict::Differ { stored: Digest::of(&stored), now: Digest::of(&now) },
        Err(failure) => Verdict::Failed(failure.message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GraphBuilder;

    /// `n` tasks `t.f(i)`, for i < 256.
    fn graph(n: u8) -> Graph {
        let mut builder = GraphBuilder::new("t", Key([7; 32]));
        for i in 0..n {
            let template = if i < 24 { vec![0x81, i] } else { vec![0x81, 0x18, i] };
            builder.declare("f", template).unwrap();
        }
        builder.finish()
    }

    #[test]
    fn plans_complete_tasks_all_or_a_reproducible_sample() {
        let graph = graph(50);
        let results: HashSet<Key> = (0..40).map(|i| graph.task(i).key).collect();
        let all = plan(&graph, &results, None);
        assert_eq!(all.chosen, (0..40).collect::<Vec<_>>());
        assert_eq!((all.complete, all.not_complete, all.seed), (40, 10, None));

        let sample = plan(&graph, &results, Some((5, 42)));
        assert_eq!(sample.chosen.len(), 5);
        assert!(sample.chosen.windows(2).all(|w| w[0] < w[1]) && sample.chosen.iter().all(|&i| i < 40));
        assert_eq!(sample.seed, Some(42));
        assert_eq!(plan(&graph, &results, Some((5, 42))), sample);
        assert_ne!(plan(&graph, &results, Some((5, 43))).chosen, sample.chosen);

        // A sample as large as the complete tasks is all of them.
        assert_eq!(plan(&graph, &results, Some((40, 1))), all);
        assert_eq!(plan(&graph, &results, Some((1000, 1))), all);
    }

    #[test]
    fn digests_show_size_and_hash() {
        let digest = Digest::of(b"\xf5");
        assert_eq!(digest.len, 1);
        assert_eq!(digest.hex(), blake3::hash(b"\xf5").to_hex().as_str());
        assert_eq!(digest.short(), digest.hex()[..12]);
    }
}
