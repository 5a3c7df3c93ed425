//! The workers: each takes a ready task of a batch this process holds, or leases a new
//! batch (a shard, see `store::leases`), and runs it. One lease and one re-check per batch,
//! not per task: that is what lets a store take thousands of tasks a second.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use super::{
    Batch, CACHE_LIMIT, Context, Event, Failure, FailureKind, Finished, MAX_BATCH, Phase, State, run,
};
use crate::failure::FailureRecord;
use crate::store::{CRASH_LIMIT, LockName, Locking, StoreError, Stored};
use crate::task_log::TaskLog;
use crate::{Key, trace};

/// What a worker found when it took a task.
pub(super) enum Outcome {
    /// `trace`: what it ran with; `reused_from`: the earlier key whose result was copied,
    /// when nothing ran.
    Stored {
        result: Arc<[u8]>,
        trace: Option<Key>,
        reused_from: Option<Key>,
    },
    AlreadyDone,
    InputUnusable(u32),
    Failed(Failure),
    /// Another worker marked it failed since this run started.
    MarkedFailed,
}

/// What a worker does next.
enum Work {
    /// `collided`: the task's shard was once held elsewhere, so its last holder may have
    /// marked it failed.
    Task {
        shard: u8,
        task: u32,
        collided: bool,
    },
    Lease(u8),
}

impl Context<'_> {
    pub(super) fn worker(&self) -> Result<(), StoreError> {
        // One lock a task: the guard that files a task's outcome picks the next work too. Every
        // acquisition is a chance to find the lock taken, and a thread that sleeps on it leaves
        // its core idle until the holder wakes it (tens of µs to milliseconds in a VM).
        let mut state = self.shared.lock();
        loop {
            let work = loop {
                if state.finished || state.stopping {
                    return Ok(());
                }
                if !state.ready.is_empty()
                    && let Some(reason) = self.options.early_exit.reason(state.started)
                {
                    state.stopped_early = Some(reason);
                    state.stopping = true;
                    self.shared.wake_all();
                    return Ok(());
                }
                if let Some(work) = self.next_work(&mut state) {
                    break work;
                }
                state = self.shared.work.wait(state).unwrap_or_else(|p| p.into_inner());
            };
            drop(state);
            state = match work {
                Work::Lease(shard) => {
                    self.lease(shard)?;
                    self.shared.lock()
                }
                Work::Task { shard, task, collided } => self.run_in_batch(shard, task, collided),
            };
        }
    }

    /// A task of an open batch of ours, else a shard to lease; marks what it picks.
    fn next_work(&self, state: &mut State) -> Option<Work> {
        let budget = self.options.lease / 4;
        let open: Vec<u8> = state
            .batches
            .iter()
            .filter(|(shard, b)| {
                let one_at_a_time = b.careful && (b.running > 0 || !b.done.is_empty());
                state.ready.has(**shard)
                    && b.taken < MAX_BATCH
                    && b.opened.elapsed() < budget
                    && !one_at_a_time
            })
            .map(|(shard, _)| *shard)
            .collect();
        if let Some(&shard) = open.iter().min_by_key(|&&s| state.ready.first_of(s)) {
            let task = state.ready.pop(shard).expect("the shard has ready tasks");
            if state.phase[task as usize] != Phase::Todo {
                return self.next_work(state);
            }
            state.phase[task as usize] = Phase::Running;
            state.running += 1;
            state.started += 1;
            let batch = state.batches.get_mut(&shard).expect("open");
            batch.running += 1;
            batch.taken += 1;
            return Some(Work::Task { shard, task, collided: state.collided[task as usize] });
        }
        self.close_batches(state);
        let busy = |s: u8| {
            state.batches.contains_key(&s) || state.acquiring.contains(&s) || state.committing.contains(&s)
        };
        let shard = if state.collisions > 0 {
            let mut random = std::mem::replace(&mut state.random, fastrand::Rng::with_seed(0));
            let shard = state.ready.random_shard(&mut random, |s| !busy(s));
            state.random = random;
            shard
        } else {
            state.ready.first_shard(|s| !busy(s))
        }?;
        state.acquiring.insert(shard);
        state.running += 1;
        Some(Work::Lease(shard))
    }

    /// Hands the batches that can take no more, and run nothing, to the committer.
    pub(super) fn close_batches(&self, state: &mut State) {
        let budget = self.options.lease / 4;
        let closing: Vec<u8> = state
            .batches
            .iter()
            .filter(|(shard, b)| {
                b.running == 0
                    && (state.stopping
                        || state.finished
                        || !state.ready.has(**shard)
                        || b.taken >= MAX_BATCH
                        || b.opened.elapsed() >= budget
                        || (b.careful && !b.done.is_empty()))
            })
            .map(|(shard, _)| *shard)
            .collect();
        // Woken only when it waits for work: a committer waiting for its next round's time
        // takes these batches then anyway, and each wake-up took a core from a running task
        // (at -j2 on two cores, ~400 preemptions of a worker per 2,000 tasks).
        if !closing.is_empty() && state.committer_idle {
            self.shared.commit.notify_one();
        }
        for shard in closing {
            let batch = state.batches.remove(&shard).expect("listed");
            state.committing.insert(shard);
            state.closed.push((shard, batch));
        }
    }

    /// Leases a shard for a batch: held elsewhere, its ready tasks wait; ours, its packs are
    /// re-checked and a batch opens.
    fn lease(&self, shard: u8) -> Result<(), StoreError> {
        let name = LockName::Shard(shard);
        let outcome = self.store.try_lock(&name, &self.lock_record).and_then(|locking| {
            if let Locking::Acquired { .. } = locking {
                self.store.refresh_shard(shard).inspect_err(|_| {
                    let _ = self.store.unlock(&name);
                })?;
            }
            Ok(locking)
        });
        let mut state = self.shared.lock();
        state.acquiring.remove(&shard);
        state.running -= 1;
        let locking = match outcome {
            Ok(locking) => locking,
            Err(e) => {
                state.stopping = true;
                state.fatal.get_or_insert(e);
                self.shared.wake_all();
                return Ok(());
            }
        };
        match locking {
            Locking::Held(lease) => {
                tracing::debug!(?lease, "shard {shard:02x} held elsewhere");
                for task in state.ready.take_shard(shard) {
                    state.phase[task as usize] = Phase::HeldElsewhere;
                    state.collided[task as usize] = true;
                }
                state.collisions += 1;
                match lease {
                    Some(lease) => {
                        let expires = lease.expires();
                        state.next_expiry = Some(state.next_expiry.map_or(expires, |e| e.min(expires)));
                        state.holders.insert(shard, lease.record);
                    }
                    // Changed hands too fast to read: whoever we saw before holds it no more.
                    None => drop(state.holders.remove(&shard)),
                }
                if state.ready.is_empty() && state.running == 0 {
                    self.shared.idle.notify_one();
                }
            }
            Locking::Acquired { took_over } => {
                // Tasks another worker stored before we got the lease: loaded, not run.
                let known: Vec<u32> = state.ready.take_shard(shard).into_iter().collect();
                for task in known {
                    let key = self.graph.task(task as usize).key;
                    if self.store.has_result(&key).unwrap_or(false) {
                        let name = self.graph.name(task as usize).to_owned();
                        *state.loaded.entry(name).or_default() += 1;
                        state.counted_loaded[task as usize] = true;
                        self.shared.complete(&mut state, task);
                    } else {
                        state.ready.push(task);
                    }
                }
                let careful = took_over.is_some();
                if let Some(lease) = took_over {
                    state.taken_over += 1;
                    let crashed = lease.record.takeovers.saturating_add(1);
                    let first = state.ready.first_of(shard);
                    let first_name = first.map_or("", |t| self.graph.name(t as usize)).to_owned();
                    (self.on_event)(Event::TookOver { lease: name, first: first_name, from: lease.record });
                    if crashed >= CRASH_LIMIT
                        && let Some(task) = first
                    {
                        state.ready.pop(shard);
                        drop(state);
                        let outcome = self.crashed_workers(task, crashed);
                        let mut state = self.shared.lock();
                        self.apply(&mut state, shard, task, outcome);
                        state.batches.insert(shard, Batch::new(true));
                        self.close_batches(&mut state);
                        self.wake_for(&state, shard);
                        return Ok(());
                    }
                }
                state.batches.insert(shard, Batch::new(careful));
                self.close_batches(&mut state);
                self.wake_for(&state, shard);
            }
        }
        Ok(())
    }

    /// Wakes as many idle workers as the new batch of `shard` has tasks for, besides the
    /// worker that leased it.
    fn wake_for(&self, state: &State, shard: u8) {
        for _ in 1..state.ready.len_of(shard).min(self.options.jobs) {
            self.shared.work.notify_one();
        }
    }

    /// Runs one task of an open batch and files what came of it; returns the lock it filed
    /// it under.
    fn run_in_batch(&self, shard: u8, task: u32, collided: bool) -> MutexGuard<'_, State> {
        let outcome = self.attempt(task, collided);
        let mut state = self.shared.lock();
        state.running -= 1;
        if let Some(batch) = state.batches.get_mut(&shard) {
            batch.running -= 1;
        }
        let ready_before = state.ready.len();
        match outcome {
            Ok(outcome) => self.apply(&mut state, shard, task, outcome),
            Err(e) => {
                state.phase[task as usize] = Phase::Todo;
                state.stopping = true;
                state.fatal.get_or_insert(e);
            }
        }
        self.close_batches(&mut state);
        // Wake only who has something new to do: thread switches, not tasks, were the cost
        // of tiny tasks.
        if state.stopping {
            self.shared.wake_all();
            return state;
        }
        for _ in ready_before..state.ready.len().min(ready_before + self.options.jobs) {
            self.shared.work.notify_one();
        }
        if state.ready.is_empty() && state.running == 0 {
            self.shared.idle.notify_one();
        }
        state
    }

    fn apply(&self, state: &mut State, shard: u8, task: u32, outcome: Outcome) {
        let name = self.graph.name(task as usize);
        match outcome {
            Outcome::Stored { result, trace, reused_from } => {
                if state.cache_bytes + result.len() <= CACHE_LIMIT {
                    state.cache_bytes += result.len();
                    state.cache.insert(task, result.clone());
                }
                state.pending.insert(task, result);
                let batch = state.batches.get_mut(&shard).expect("a task runs in an open batch");
                batch.done.push(Finished { task, trace, reused_from });
                self.shared.complete(state, task);
            }
            Outcome::AlreadyDone => {
                *state.loaded.entry(name.to_owned()).or_default() += 1;
                state.counted_loaded[task as usize] = true;
                self.shared.complete(state, task);
            }
            Outcome::InputUnusable(dep) => {
                state.phase[task as usize] = Phase::Todo;
                self.shared.redo(state, dep, self.graph.name(dep as usize));
                if state.missing_deps[task as usize] == 0 {
                    state.ready.push(task);
                }
            }
            Outcome::MarkedFailed => {
                state.phase[task as usize] = Phase::Failed;
                state.marked_failed += 1;
            }
            Outcome::Failed(failure) => {
                state.phase[task as usize] = Phase::Failed;
                let key = self.graph.task(task as usize).key;
                (self.on_event)(Event::TaskFailed { name: name.to_owned(), key, failure: failure.clone() });
                state.failed.push((name.to_owned(), key, failure));
                if !self.options.keep_going {
                    state.stopping = true;
                }
            }
        }
    }

    /// Re-check → gather inputs → run, under the batch's lease. The result goes to the
    /// batch, to be committed in its pack.
    fn attempt(&self, task: u32, collided: bool) -> Result<Outcome, StoreError> {
        let spec = self.graph.task(task as usize);
        // The shard's packs were listed when its lease was taken: no request here.
        if self.store.has_result(&spec.key)? {
            return Ok(Outcome::AlreadyDone);
        }
        // Its last holder may have marked it failed before releasing it: one more request,
        // for tasks we collided on only.
        if collided && self.store.get_failure(&spec.key)?.is_some() {
            return Ok(Outcome::MarkedFailed);
        }
        let mut inputs: HashMap<Key, Arc<[u8]>> = HashMap::with_capacity(spec.dependencies.len());
        for &dep in &spec.dependencies {
            match self.input(dep)? {
                Some(value) => inputs.insert(self.graph.task(dep as usize).key, value),
                None => return Ok(Outcome::InputUnusable(dep)),
            };
        }
        let input = match run::input(self.graph, self.runner.max_input(), task as usize, &inputs) {
            Ok(input) => input,
            Err(failure) => return self.failed(task, failure, &[], self.options.keep_failed),
        };
        let trace = spec.shape.map(|shape| trace::trace(&shape, &input));
        if let Some(trace) = trace
            && let Some(outcome) = self.reuse(task, trace)?
        {
            return Ok(outcome);
        }
        let run = run::run_input(self.graph, self.runner, task as usize, &input);
        let (log, name) = (run.log, self.graph.name(task as usize));
        match run.outcome {
            Ok(result) => {
                if let Some((key, record)) = self.graph.compound_record(task as usize) {
                    self.put_record(&key, &record)?;
                }
                if !log.is_empty() {
                    self.store.put_log(&spec.key, &TaskLog::encode(name, None, &self.options.owner, &log))?;
                }
                Ok(Outcome::Stored { result: result.into(), trace, reused_from: None })
            }
            Err(failure) => self.failed(task, failure, &log, self.options.keep_failed),
        }
    }

    /// Stores the log of a failed run, and with `mark`, the failure record.
    fn failed(&self, task: u32, failure: Failure, log: &[u8], mark: bool) -> Result<Outcome, StoreError> {
        let (key, name) = (self.graph.task(task as usize).key, self.graph.name(task as usize));
        self.store.put_log(&key, &TaskLog::encode(name, Some(&failure), &self.options.owner, log))?;
        if mark {
            let record = FailureRecord {
                name: name.to_owned(),
                failure: failure.clone(),
                owner: self.options.owner.clone(),
                failed_unix_ms: crate::clock::unix_ms_now(),
            };
            self.store.put_failure(&key, &record.to_json())?;
        }
        Ok(Outcome::Failed(failure))
    }

    /// The first ready task of a shard whose lease was taken over from `crashed` dead
    /// workers in a row: marked failed, not run. The mark is made whatever `--keep-failed`
    /// says, or the next worker to start would run the task and die of it too.
    fn crashed_workers(&self, task: u32, crashed: u32) -> Outcome {
        let message = format!(
            "the {crashed} workers that ran it in a row died before finishing it (out of memory, or \
             killed by a signal); it is marked failed and given to no other worker until `cleanup --failed-only`"
        );
        let failure = Failure { kind: FailureKind::CrashedWorkers, message };
        self.failed(task, failure.clone(), &[], true).unwrap_or(Outcome::Failed(failure))
    }

    /// Stores a compound task's record of libraries (see `compound`) before its result, so
    /// that a result is never found without it; one left by a build that used other libraries
    /// is replaced.
    fn put_record(&self, key: &Key, record: &[u8]) -> Result<(), StoreError> {
        if !self.store.put_result(key, record)?
            && !matches!(self.store.get_result(key)?, Stored::Present(stored) if stored == record)
        {
            self.store.delete_result(key)?;
            self.store.put_result(key, record)?;
        }
        Ok(())
    }

    /// A dependency's result: from the cache, a batch not committed yet, or the store;
    /// `None` if it is gone or damaged (reported, removed, and recomputed before this task
    /// runs again).
    fn input(&self, dep: u32) -> Result<Option<Arc<[u8]>>, StoreError> {
        {
            let state = self.shared.lock();
            if let Some(value) = state.cache.get(&dep).or_else(|| state.pending.get(&dep)) {
                return Ok(Some(value.clone()));
            }
        }
        let key = self.graph.task(dep as usize).key;
        match self.store.get_result(&key)? {
            Stored::Present(bytes) => {
                let value: Arc<[u8]> = bytes.into();
                let mut state = self.shared.lock();
                if state.cache_bytes + value.len() <= CACHE_LIMIT {
                    state.cache_bytes += value.len();
                    state.cache.insert(dep, value.clone());
                }
                Ok(Some(value))
            }
            Stored::Damaged(damaged) => {
                let name = self.graph.name(dep as usize).to_owned();
                (self.on_event)(Event::DamagedResult { name, key, reason: damaged.reason });
                self.store.delete_result(&key)?;
                Ok(None)
            }
            Stored::Missing => Ok(None),
        }
    }
}
