//! Waiting for other workers, and keeping our leases: the coordinator thread, which polls the
//! store for tasks held elsewhere with backoff until nothing more can happen, and the lease
//! keeper, which renews our leases while the run lasts.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use super::{Context, EXPIRY_MARGIN, Event, FIRST_LOOK, Phase, State};
use crate::error_line;
use crate::store::{LockName, LockRecord, Store, StoreError, shard_of};
use crate::{Graph, Key};

impl Context<'_> {
    /// Waits until nothing more can happen, polling the store for tasks held elsewhere.
    ///
    /// Jug sleeps `wait_cycle_time` between looks and gives up after `nr_wait_cycles` of them
    /// without progress. We keep that budget (`nr_wait_cycles × wait_cycle_time` of idleness)
    /// but look sooner: the first look comes after [`FIRST_LOOK`], each next one twice as late
    /// up to `wait_cycle_time`, and never later than just after the first lease we saw would
    /// expire — so a dead worker's tasks are taken over promptly.
    pub(super) fn coordinate(&self) -> Result<(), StoreError> {
        let cycle = self.options.wait_cycle_time;
        let budget = cycle.mul_f64(f64::from(self.options.nr_wait_cycles));
        // Idleness counts from the first wait after the last progress; retrying held tasks
        // in between is not progress.
        let mut idle_since: Option<Instant> = None;
        let mut progress_seen = 0;
        let mut pause = cycle.min(FIRST_LOOK);
        let mut told_stop = false;
        let mut state = self.shared.lock();
        loop {
            if state.progress != progress_seen {
                progress_seen = state.progress;
                idle_since = None;
                pause = cycle.min(FIRST_LOOK);
            }
            if self.options.stop.load(Ordering::SeqCst) {
                state.stopping = true;
                if !std::mem::replace(&mut told_stop, true) {
                    let in_flight = self.running_names(&state);
                    drop(state);
                    (self.on_event)(Event::Stopping { in_flight });
                    state = self.shared.lock();
                    continue;
                }
            }
            let idle = state.ready.is_empty() && state.running == 0;
            if state.stopping && state.running == 0 {
                break;
            }
            if idle && !self.worth_waiting(&state) {
                // Nothing another worker does can help: what is left waits on failures.
                state.gave_up = self.gave_up(&state);
                break;
            }
            if !idle {
                // Wake up now and then to notice a stop request.
                state = self
                    .shared
                    .idle
                    .wait_timeout(state, Duration::from_millis(200))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            let waited = idle_since.get_or_insert_with(Instant::now).elapsed();
            if waited >= budget {
                state.gave_up = self.gave_up(&state);
                break;
            }
            let until_expiry = state
                .next_expiry
                .map(|e| e.duration_since(SystemTime::now()).unwrap_or_default() + EXPIRY_MARGIN);
            let sleep = pause.min(until_expiry.unwrap_or(Duration::MAX)).min(budget - waited);
            let held_elsewhere = state.phase.iter().filter(|&&p| p == Phase::HeldElsewhere).count();
            let progress_before = state.progress;
            drop(state);
            (self.on_event)(Event::Waiting { seconds: sleep.as_secs_f64(), held_elsewhere });
            self.sleep_unless_stopped(sleep);
            let results = self.store.list_results()?;
            state = self.shared.lock();
            self.refresh(&mut state, &results);
            if state.progress == progress_before {
                pause = (pause * 2).min(cycle);
            }
            self.shared.wake_all();
        }
        state.finished = true;
        self.shared.wake_all();
        if let Some(e) = state.fatal.take() {
            return Err(e);
        }
        Ok(())
    }

    /// Renews our leases every third of the lease period until the run ends, so that two
    /// renewals can fail (a slow store) before anyone may take our tasks.
    pub(super) fn keep_leases(&self) {
        let period = self.options.lease / 3;
        let mut state = self.shared.lock();
        while !state.finished {
            state = self.shared.keeper.wait_timeout(state, period).unwrap_or_else(|p| p.into_inner()).0;
            if state.finished {
                break;
            }
            drop(state);
            match self.store.renew_leases() {
                Ok(lost) => {
                    for lease in lost {
                        // Its commit re-checks the shard, so duplicates are counted.
                        let mut guard = self.shared.lock();
                        let state = &mut *guard;
                        if let LockName::Shard(shard) = lease {
                            let batches = state
                                .batches
                                .iter_mut()
                                .chain(state.closed.iter_mut().map(|(s, b)| (&*s, b)));
                            for (_, batch) in batches.filter(|(s, _)| **s == shard) {
                                batch.lost = true;
                            }
                        }
                        drop(guard);
                        (self.on_event)(Event::LeaseLost { lease });
                    }
                }
                Err(e) => (self.on_event)(Event::RenewalFailed { error: error_line(&e) }),
            }
            state = self.shared.lock();
        }
    }

    /// Whether a task that could still run here is blocked by something another worker may
    /// finish: a task it holds, or a task this run does not select.
    fn worth_waiting(&self, state: &State) -> bool {
        let blocked_by_others = |i: usize| matches!(state.phase[i], Phase::HeldElsewhere | Phase::Excluded);
        state.phase.iter().enumerate().any(|(i, &phase)| match phase {
            Phase::HeldElsewhere => true,
            Phase::Todo => self.graph.task(i).dependencies.iter().any(|&d| blocked_by_others(d as usize)),
            _ => false,
        })
    }

    /// The names of the tasks running now.
    fn running_names(&self, state: &State) -> Vec<String> {
        let running = (0..self.graph.len()).filter(|&i| state.phase[i] == Phase::Running);
        running.map(|i| self.graph.name(i).to_owned()).collect()
    }

    /// What the run leaves unfinished although nothing stopped it, and on what each task
    /// waits; None when every selected task is done (or failed, which was reported then).
    fn gave_up(&self, state: &State) -> Option<GaveUp> {
        let mut gave_up = GaveUp::default();
        let mut blocker = vec![Blocker::Nothing; self.graph.len()];
        for i in 0..self.graph.len() {
            let name = || self.graph.name(i).to_owned();
            blocker[i] = match state.phase[i] {
                Phase::Done => Blocker::Nothing,
                Phase::Excluded => Blocker::Excluded,
                Phase::Failed => Blocker::Failed,
                Phase::HeldElsewhere => {
                    let holder = state.holders.get(&shard_of(&self.graph.task(i).key)).cloned();
                    gave_up.held.push((name(), holder));
                    Blocker::Held
                }
                Phase::Todo | Phase::Running => {
                    // Dependencies come before their dependents in a graph.
                    let deps = &self.graph.task(i).dependencies;
                    let worst = deps.iter().map(|&d| blocker[d as usize]).max().unwrap_or(Blocker::Nothing);
                    match worst {
                        Blocker::Failed => gave_up.behind_failed += 1,
                        Blocker::Held => gave_up.behind_held += 1,
                        Blocker::Excluded => gave_up.behind_excluded += 1,
                        Blocker::Nothing => {}
                    }
                    let excluded =
                        deps.iter().map(|&d| d as usize).filter(|&d| state.phase[d] == Phase::Excluded);
                    for d in excluded {
                        push_new(&mut gave_up.excluded, self.graph.name(d));
                    }
                    for d in deps.iter().map(|&d| d as usize).filter(|&d| state.phase[d] == Phase::Failed) {
                        push_new(&mut gave_up.failed, self.graph.name(d));
                    }
                    worst
                }
            };
        }
        let blocked =
            gave_up.held.len() + gave_up.behind_held + gave_up.behind_excluded + gave_up.behind_failed;
        (blocked > 0).then_some(gave_up)
    }

    /// Takes in results other workers stored meanwhile, and retries tasks they held.
    fn refresh(&self, state: &mut State, results: &std::collections::HashSet<Key>) {
        state.next_expiry = None;
        for i in 0..self.graph.len() {
            let phase = state.phase[i];
            if matches!(phase, Phase::Done | Phase::Running | Phase::Failed) {
                continue;
            }
            if results.contains(&self.graph.task(i).key) {
                if phase != Phase::Excluded {
                    *state.loaded.entry(self.graph.name(i).to_owned()).or_default() += 1;
                    state.counted_loaded[i] = true;
                }
                self.shared.complete(state, i as u32);
            } else if phase == Phase::HeldElsewhere {
                state.phase[i] = Phase::Todo;
                if state.missing_deps[i] == 0 {
                    state.ready.push(i as u32);
                }
            }
        }
    }

    fn sleep_unless_stopped(&self, total: Duration) {
        let deadline = std::time::Instant::now() + total;
        while !self.options.stop.load(Ordering::SeqCst) {
            let now = std::time::Instant::now();
            if now >= deadline {
                return;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
        }
    }
}

/// What a run gave up on: the selected tasks it left without a result although nothing stopped
/// it (no signal, no failure without `keep_going`, no early exit), by what each waited for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GaveUp {
    /// Tasks another worker held at the last look: the name, and that worker's lock record
    /// (None when the lock changed hands too fast to read).
    pub held: Vec<(String, Option<LockRecord>)>,
    /// Tasks that need (directly or not) the result of a held task.
    pub behind_held: usize,
    /// Tasks that need the result of a task this run does not select (`--name`/`--pattern`)
    /// and no other worker stored, and the names of those tasks.
    pub behind_excluded: usize,
    pub excluded: Vec<String>,
    /// Tasks that need the result of a task that failed (here, or marked failed by an earlier
    /// `--keep-failed` run), and the names of those tasks.
    pub behind_failed: usize,
    pub failed: Vec<String>,
}

/// What keeps a task from running, worst last: a failure outlasts any wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Blocker {
    Nothing,
    Excluded,
    Held,
    Failed,
}

fn push_new(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

/// Removes the leftover leases of shards whose holders died after committing their batch and
/// before releasing the lease (`kill -9` between the two), like any expired lease, when every
/// task of ours in the shard is done. One listing of the locks; nothing else is read unless
/// there are some.
pub(super) fn reap_expired_leases(
    graph: &Graph,
    store: &Store,
    state: &State,
    record: &LockRecord,
) -> Result<(), StoreError> {
    let mut unfinished = [false; 256];
    let mut done: std::collections::HashSet<Key> = std::collections::HashSet::new();
    for i in 0..graph.len() {
        let key = graph.task(i).key;
        match state.phase[i] {
            Phase::Done => {
                done.insert(key);
            }
            Phase::Excluded => {}
            _ => unfinished[shard_of(&key) as usize] = true,
        }
    }
    store
        .remove_expired_leases(record, |lease| match lease {
            LockName::Shard(shard) => !unfinished[*shard as usize] && done.iter().any(|k| lease.covers(k)),
            LockName::Task(key) => done.contains(key),
        })
        .map(drop)
}
