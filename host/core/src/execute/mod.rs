//! The scheduler behind `execute`: Jug's loop, with N worker threads and group commit.
//!
//! Jug's rules, kept: tasks run in definition order as soon as every dependency has a result;
//! a task is locked, re-checked (another worker may have just finished it), run, stored and
//! unlocked; tasks held by other workers are waited for by polling the store
//! (`wait_cycle_time` × `nr_wait_cycles`, counted since the last progress); the first failure
//! stops the run unless `keep_going`.
//!
//! What is new: `jobs` threads share one graph, and results are made durable in batches — a
//! committer thread calls [`Store::sync`] once for every result stored since its last sync,
//! then releases their locks. A task counts as executed only once its batch is durable.
//! Locks are leases: a keeper thread renews ours every third of the lease period, and a task
//! whose holder stopped renewing is taken over (see `store::lock`). Waiting for tasks held
//! elsewhere polls with backoff, and wakes up when the first of their leases would expire.
//! A task whose lease was taken over [`CRASH_LIMIT`] times in a row has killed that many
//! workers (out of memory, say): it is marked failed, whatever `keep_failed` says, and
//! never given to another.
//!
//! Early cutoff (see `trace`): before running a task, its trace (code and input values) is
//! looked up in the store's traces, read the first time a task is about to run; a hit copies
//! the result an earlier key stored. Traces of what ran are recorded once their results are
//! durable, and written in packs by the committer.

mod reuse;
mod run;
mod waiting;

pub use run::run_task;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::early_exit::EarlyExit;
use crate::failure::FailureRecord;
pub use crate::failure::{Failure, FailureKind};
use crate::manifest::Manifest;
use crate::select::Selector;
use crate::store::{CRASH_LIMIT, LockRecord, Locking, Store, StoreError, Stored};
use crate::task_log::TaskLog;
use crate::trace::Traces;
use crate::{Counts, Graph, Key, trace};

/// Runs task functions. The runtime crate implements it with a fresh sandbox per call.
pub trait Runner: Sync {
    /// Runs `function` of `component` (the graph's own, or a library it declared tasks of) for
    /// `task` on `input` (its spliced argument array), with the working-directory files it
    /// reads mounted read-only and under its limits.
    fn run(
        &self,
        component: &crate::graph::ComponentRef,
        task: &crate::TaskSpec,
        function: &str,
        input: &[u8],
    ) -> Run;

    /// The largest input a task may be given (`--max-input`): its arguments with its
    /// dependencies' results spliced in. Larger inputs fail the task before they are built.
    fn max_input(&self) -> u64 {
        DEFAULT_MAX_INPUT
    }
}

/// What [`Runner::max_input`] allows unless the runner says otherwise: 1 GiB.
pub const DEFAULT_MAX_INPUT: u64 = 1 << 30;

/// What one run of a task produced.
pub struct Run {
    pub outcome: Result<Vec<u8>, Failure>,
    /// Everything the task wrote to stdout, stderr and the log import.
    pub log: Vec<u8>,
}

/// Knobs of one `execute`.
pub struct Options {
    pub jobs: usize,
    /// Only tasks whose names match run (Jug's `--name`/`--pattern`).
    pub selector: Option<Selector>,
    pub keep_going: bool,
    /// Leave a failure record, so the task is not retried until `cleanup --failed-only`.
    pub keep_failed: bool,
    pub early_exit: EarlyExit,
    pub wait_cycle_time: Duration,
    pub nr_wait_cycles: u32,
    /// This worker's lock owner id.
    pub owner: String,
    /// How long our locks stay ours without renewal (they are renewed every third of it).
    pub lease: Duration,
    /// Set from outside (a signal) to stop after the tasks in flight.
    pub stop: Arc<AtomicBool>,
}

/// Things worth telling the user while the run goes on.
#[derive(Debug, Clone)]
pub enum Event {
    TaskFailed {
        name: String,
        key: Key,
        failure: Failure,
    },
    DamagedResult {
        name: String,
        key: Key,
        reason: &'static str,
    },
    Waiting {
        seconds: f64,
        held_elsewhere: usize,
    },
    /// Results made durable so far in this run, of the tasks it set out to run.
    Progress {
        done: usize,
        to_run: usize,
    },
    /// We took over a task whose holder let its lease expire.
    TookOver {
        name: String,
        key: Key,
        from: LockRecord,
    },
    /// Another worker took over a task of ours: we were too slow to renew.
    LeaseLost {
        name: String,
        key: Key,
    },
    /// Renewing our leases failed (the store is unreachable); they may expire.
    RenewalFailed {
        error: String,
    },
}

/// What `execute` did.
#[derive(Debug, Default)]
pub struct Report {
    pub executed: Counts,
    pub loaded: Counts,
    pub failed: Vec<(String, Key, Failure)>,
    /// Some tasks could not run (held elsewhere, or behind a failure) when the run ended.
    pub unfinished: usize,
    pub interrupted: bool,
    /// Tasks taken over from expired leases.
    pub taken_over: usize,
    /// Tasks whose result someone else stored while we ran them (after a takeover race).
    pub duplicates: usize,
    /// Why the run stopped starting tasks early (`JUG_MAX_TASKS` and friends).
    pub stopped_early: Option<String>,
    /// Selected tasks skipped because a failure record marks them failed.
    pub marked_failed: usize,
    /// Tasks not run because an earlier key's result was reused (counted in `loaded`).
    pub reused: usize,
}

/// Runs every selected task of `graph` that has no stored result.
pub fn execute(
    graph: &Graph,
    store: &Store,
    runner: &dyn Runner,
    options: &Options,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<Report, StoreError> {
    let results = store.list_results()?;
    let marked_failed = store.list_failures()?;
    let shared = Shared::new(graph, options, &results, &marked_failed);
    let lock_record = LockRecord::for_this_process(&options.owner, options.lease);
    let context = Context { graph, store, runner, options, on_event, shared: &shared, lock_record };

    let fatal = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..options.jobs.max(1)).map(|_| scope.spawn(|| context.worker())).collect();
        let committer = scope.spawn(|| context.committer());
        scope.spawn(|| context.keep_leases());
        let waited = context.coordinate();
        let mut fatal = waited.err();
        for handle in workers {
            if let Err(e) = handle.join().expect("worker thread panicked") {
                fatal.get_or_insert(e);
            }
        }
        if let Err(e) = committer.join().expect("committer thread panicked") {
            fatal.get_or_insert(e);
        }
        fatal
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    let state = shared.lock();
    waiting::reap_expired_leases(graph, store, &state, &context.lock_record)?;
    Ok(Report {
        executed: state.executed.clone(),
        loaded: state.loaded.clone(),
        failed: state.failed.clone(),
        unfinished: state.unfinished(graph),
        interrupted: options.stop.load(Ordering::SeqCst),
        taken_over: state.taken_over,
        duplicates: state.duplicates,
        stopped_early: state.stopped_early.clone(),
        marked_failed: state.marked_failed,
        reused: state.reused,
    })
}

/// Where a task stands inside this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not selected by --name/--pattern: never run here.
    Excluded,
    /// Needs running; queued once its dependencies are done.
    Todo,
    Running,
    /// Locked by another worker when we tried.
    HeldElsewhere,
    Failed,
    Done,
}

struct State {
    phase: Vec<Phase>,
    /// Tasks found held by another worker at least once: that worker may have marked them
    /// failed since (see `attempt_locked`).
    collided: Vec<bool>,
    /// Dependencies without a result, per task.
    missing_deps: Vec<u32>,
    ready: VecDeque<u32>,
    running: usize,
    /// Stored but not yet durable: (task, whether we hold its lock).
    uncommitted: Vec<u32>,
    /// Of the uncommitted tasks: the traces to record once they are durable, and which of
    /// them reused another key's result rather than ran.
    traces: HashMap<u32, Key>,
    reused_from: HashMap<u32, Key>,
    reused: usize,
    /// Results produced or read here, so dependents need not read them back.
    cache: HashMap<u32, Arc<[u8]>>,
    cache_bytes: usize,
    executed: Counts,
    loaded: Counts,
    /// Which tasks `loaded` counts, so a result found damaged later is not counted twice.
    counted_loaded: Vec<bool>,
    failed: Vec<(String, Key, Failure)>,
    taken_over: usize,
    duplicates: usize,
    /// Tasks this process started, for `JUG_MAX_TASKS`.
    started: u64,
    stopped_early: Option<String>,
    marked_failed: usize,
    /// Tasks this run set out to run, and how many of them are durably done.
    to_run: usize,
    committed: usize,
    /// When the first lease of a task held elsewhere expires, as far as we saw.
    next_expiry: Option<SystemTime>,
    /// Seeded from the owner id, for collision jumps.
    random: fastrand::Rng,
    stopping: bool,
    finished: bool,
    progress: u64,
    fatal: Option<StoreError>,
}

impl State {
    fn unfinished(&self, graph: &Graph) -> usize {
        (0..graph.len()).filter(|&i| !matches!(self.phase[i], Phase::Done | Phase::Excluded)).count()
    }
}

/// The shortest time between two group commits while results keep coming.
const COMMIT_INTERVAL: Duration = Duration::from_millis(20);

/// The first look at the store after running out of work; later looks back off from here.
const FIRST_LOOK: Duration = Duration::from_millis(500);

/// How long after a lease's expiry to look, so the expiry has surely passed.
const EXPIRY_MARGIN: Duration = Duration::from_millis(100);

/// Results cached for dependents, at most this many bytes in all.
const CACHE_LIMIT: usize = 256 << 20;

struct Shared {
    state: Mutex<State>,
    /// Wakes workers: a task became ready, or the run is ending.
    work: Condvar,
    /// Wakes the coordinator: the workers may have run out of work.
    idle: Condvar,
    /// Wakes the committer: the first result of a batch was stored, or the run is ending.
    commit: Condvar,
    /// Wakes the lease keeper at the end of the run.
    keeper: Condvar,
    dependents: Vec<Vec<u32>>,
    /// The store's traces, listed the first time a task is about to run (see `trace`).
    known_traces: Mutex<Option<Arc<Traces>>>,
}

impl Shared {
    fn new(
        graph: &Graph,
        options: &Options,
        results: &std::collections::HashSet<Key>,
        failed: &std::collections::HashSet<Key>,
    ) -> Shared {
        let n = graph.len();
        let mut phase = vec![Phase::Todo; n];
        let mut loaded = Counts::new();
        let mut counted_loaded = vec![false; n];
        let mut marked_failed = 0;
        for (i, task) in graph.tasks().iter().enumerate() {
            let selected = options.selector.as_ref().is_none_or(|s| s.matches(graph.name(i)));
            if results.contains(&task.key) {
                phase[i] = Phase::Done;
                if selected {
                    *loaded.entry(graph.name(i).to_owned()).or_default() += 1;
                    counted_loaded[i] = true;
                }
            } else if !selected {
                phase[i] = Phase::Excluded;
            } else if failed.contains(&task.key) {
                phase[i] = Phase::Failed;
                marked_failed += 1;
            }
        }
        let to_run = phase.iter().filter(|&&p| p == Phase::Todo).count();
        let missing_deps: Vec<u32> = graph
            .tasks()
            .iter()
            .map(|t| t.dependencies.iter().filter(|&&d| phase[d as usize] != Phase::Done).count() as u32)
            .collect();
        let ready = (0..n as u32)
            .filter(|&i| phase[i as usize] == Phase::Todo && missing_deps[i as usize] == 0)
            .collect();
        Shared {
            state: Mutex::new(State {
                phase,
                collided: vec![false; n],
                missing_deps,
                ready,
                running: 0,
                uncommitted: Vec::new(),
                traces: HashMap::new(),
                reused_from: HashMap::new(),
                reused: 0,
                cache: HashMap::new(),
                cache_bytes: 0,
                executed: Counts::new(),
                loaded,
                counted_loaded,
                failed: Vec::new(),
                taken_over: 0,
                duplicates: 0,
                started: 0,
                stopped_early: None,
                marked_failed,
                to_run,
                committed: 0,
                next_expiry: None,
                random: fastrand::Rng::with_seed(u64::from_le_bytes(
                    blake3::hash(options.owner.as_bytes()).as_bytes()[..8].try_into().unwrap(),
                )),
                stopping: false,
                finished: false,
                progress: 0,
                fatal: None,
            }),
            work: Condvar::new(),
            idle: Condvar::new(),
            commit: Condvar::new(),
            keeper: Condvar::new(),
            dependents: graph.dependents(),
            known_traces: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes every thread, for changes that concern them all (shutdown, a refresh).
    fn wake_all(&self) {
        self.work.notify_all();
        self.idle.notify_all();
        self.commit.notify_all();
        self.keeper.notify_all();
    }

    /// Marks a task done and queues the dependents it was the last missing input of.
    fn complete(&self, state: &mut State, task: u32) {
        state.phase[task as usize] = Phase::Done;
        state.progress += 1;
        for &d in &self.dependents[task as usize] {
            let missing = &mut state.missing_deps[d as usize];
            *missing -= 1;
            if *missing == 0 && state.phase[d as usize] == Phase::Todo {
                state.ready.push_back(d);
            }
        }
    }

    /// A result we counted as done turned out unusable: it must be computed again, before
    /// the dependents that need it.
    fn redo(&self, state: &mut State, task: u32, name: &str) {
        if state.phase[task as usize] != Phase::Done {
            return;
        }
        if std::mem::take(&mut state.counted_loaded[task as usize])
            && let Some(count) = state.loaded.get_mut(name)
        {
            *count -= 1;
        }
        state.phase[task as usize] = Phase::Todo;
        state.cache.remove(&task);
        for &d in &self.dependents[task as usize] {
            state.missing_deps[d as usize] += 1;
        }
        state.ready.retain(|&t| state.missing_deps[t as usize] == 0);
        if state.missing_deps[task as usize] == 0 {
            state.ready.push_front(task);
        }
    }
}

/// What a worker found when it took a task.
enum Outcome {
    /// `duplicate`: someone else stored the same result meanwhile; `trace`: to record once
    /// durable; `reused_from`: the earlier key whose result was copied, when nothing ran.
    Stored {
        result: Arc<[u8]>,
        duplicate: bool,
        trace: Option<Key>,
        reused_from: Option<Key>,
    },
    AlreadyDone,
    /// With the time its holder's lease expires, if we could read it.
    HeldElsewhere(Option<SystemTime>),
    InputUnusable(u32),
    Failed(Failure),
    /// Another worker marked it failed since this run started.
    MarkedFailed,
}

struct Context<'a> {
    graph: &'a Graph,
    store: &'a Store,
    runner: &'a dyn Runner,
    options: &'a Options,
    on_event: &'a (dyn Fn(Event) + Sync),
    shared: &'a Shared,
    lock_record: LockRecord,
}

impl Context<'_> {
    fn worker(&self) -> Result<(), StoreError> {
        loop {
            let task = {
                let mut state = self.shared.lock();
                loop {
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
                    if let Some(task) = state.ready.pop_front() {
                        if state.phase[task as usize] != Phase::Todo {
                            continue;
                        }
                        state.phase[task as usize] = Phase::Running;
                        state.running += 1;
                        state.started += 1;
                        break task;
                    }
                    state = self.shared.work.wait(state).unwrap_or_else(|p| p.into_inner());
                }
            };
            let outcome = self.attempt(task);
            let mut state = self.shared.lock();
            state.running -= 1;
            let (ready_before, uncommitted_before) = (state.ready.len(), state.uncommitted.len());
            match outcome {
                Ok(outcome) => self.apply(&mut state, task, outcome),
                Err(e) => {
                    state.phase[task as usize] = Phase::Todo;
                    state.stopping = true;
                    state.fatal.get_or_insert(e);
                }
            }
            // Wake only who has something new to do: thread switches, not tasks, were the
            // cost of tiny tasks.
            if state.stopping {
                self.shared.wake_all();
                continue;
            }
            for _ in ready_before..state.ready.len().min(ready_before + self.options.jobs) {
                self.shared.work.notify_one();
            }
            if uncommitted_before == 0 && !state.uncommitted.is_empty() {
                self.shared.commit.notify_one();
            }
            if state.ready.is_empty() && state.running == 0 {
                self.shared.idle.notify_one();
            }
        }
    }

    fn apply(&self, state: &mut State, task: u32, outcome: Outcome) {
        let name = self.graph.name(task as usize);
        match outcome {
            Outcome::Stored { result, duplicate, trace, reused_from } => {
                state.duplicates += usize::from(duplicate);
                if let Some(trace) = trace {
                    state.traces.insert(task, trace);
                }
                if let Some(source) = reused_from {
                    state.reused_from.insert(task, source);
                }
                if state.cache_bytes + result.len() <= CACHE_LIMIT {
                    state.cache_bytes += result.len();
                    state.cache.insert(task, result);
                }
                state.uncommitted.push(task);
                self.shared.complete(state, task);
            }
            Outcome::AlreadyDone => {
                *state.loaded.entry(name.to_owned()).or_default() += 1;
                state.counted_loaded[task as usize] = true;
                self.shared.complete(state, task);
            }
            Outcome::HeldElsewhere(expires) => {
                state.phase[task as usize] = Phase::HeldElsewhere;
                state.collided[task as usize] = true;
                // Workers started together walk the tasks in the same order and would keep
                // colliding; after a collision, jump to a random place in the queue.
                if state.ready.len() > 1 {
                    let jump = state.random.usize(..state.ready.len());
                    state.ready.rotate_left(jump);
                }
                if let Some(expires) = expires {
                    state.next_expiry = Some(state.next_expiry.map_or(expires, |e| e.min(expires)));
                }
            }
            Outcome::InputUnusable(dep) => {
                state.phase[task as usize] = Phase::Todo;
                self.shared.redo(state, dep, self.graph.name(dep as usize));
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

    /// Lock → re-check → gather inputs → run → store. The lock is kept on success (the
    /// committer releases it once the result is durable) and released otherwise.
    fn attempt(&self, task: u32) -> Result<Outcome, StoreError> {
        let spec = self.graph.task(task as usize);
        match self.store.try_lock(&spec.key, &self.lock_record)? {
            Locking::Held(lease) => {
                tracing::debug!(?lease, "held elsewhere");
                return Ok(Outcome::HeldElsewhere(lease.map(|l| l.expires())));
            }
            Locking::Acquired { took_over: None } => {}
            Locking::Acquired { took_over: Some(lease) } => {
                self.shared.lock().taken_over += 1;
                let name = self.graph.name(task as usize).to_owned();
                let crashed = lease.record.takeovers.saturating_add(1);
                (self.on_event)(Event::TookOver { name, key: spec.key, from: lease.record });
                if crashed >= CRASH_LIMIT {
                    let outcome = self.crashed_workers(task, crashed);
                    self.store.unlock(&spec.key)?;
                    return outcome;
                }
            }
        }
        let outcome = self.attempt_locked(task);
        if !matches!(outcome, Ok(Outcome::Stored { .. })) {
            self.store.unlock(&spec.key)?;
        }
        outcome
    }

    fn attempt_locked(&self, task: u32) -> Result<Outcome, StoreError> {
        let spec = self.graph.task(task as usize);
        if self.store.has_result(&spec.key)? {
            return Ok(Outcome::AlreadyDone);
        }
        // Its last holder may have marked it failed before releasing it: one more request,
        // for tasks we collided on only.
        let collided = self.shared.lock().collided[task as usize];
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
        let owner = &self.options.owner;
        match run.outcome {
            Ok(result) => {
                if let Some((key, record)) = self.graph.compound_record(task as usize) {
                    self.put_record(&key, &record)?;
                }
                let duplicate = !self.store.put_result(&spec.key, &result)?;
                if !log.is_empty() {
                    self.store.put_log(&spec.key, &TaskLog::encode(name, None, owner, &log))?;
                }
                Ok(Outcome::Stored { result: result.into(), duplicate, trace, reused_from: None })
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

    /// A task taken over from `crashed` dead workers in a row: marked failed, not run. The
    /// mark is made whatever `--keep-failed` says, or the next worker to start would run the
    /// task and die of it too.
    fn crashed_workers(&self, task: u32, crashed: u32) -> Result<Outcome, StoreError> {
        let message = format!(
            "the {crashed} workers that ran it in a row died before finishing it (out of memory, or \
             killed by a signal); it is marked failed and given to no other worker until `cleanup --failed-only`"
        );
        let failure = Failure { kind: FailureKind::CrashedWorkers, message };
        self.failed(task, failure, &[], true)
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

    /// A dependency's result, from the cache or the store; `None` if it is gone or damaged
    /// (reported, removed, and recomputed before this task runs again).
    fn input(&self, dep: u32) -> Result<Option<Arc<[u8]>>, StoreError> {
        if let Some(value) = self.shared.lock().cache.get(&dep) {
            return Ok(Some(value.clone()));
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

    /// Syncs what the workers stored, in batches, then releases those locks, records the
    /// batch's manifests (see `manifest`) and counts them.
    /// Syncs are at least [`COMMIT_INTERVAL`] apart while tasks keep finishing, so a batch
    /// holds everything stored in that time and costs one sync.
    fn committer(&self) -> Result<(), StoreError> {
        let mut next_sync = std::time::Instant::now();
        let mut sequence = 0;
        let mut traces = reuse::PendingTraces::default();
        loop {
            let batch = {
                let mut state = self.shared.lock();
                loop {
                    let now = std::time::Instant::now();
                    if state.finished || (!state.uncommitted.is_empty() && now >= next_sync) {
                        break;
                    }
                    let timeout =
                        if state.uncommitted.is_empty() { Duration::from_secs(1) } else { next_sync - now };
                    state =
                        self.shared.commit.wait_timeout(state, timeout).unwrap_or_else(|p| p.into_inner()).0;
                }
                if state.uncommitted.is_empty() {
                    drop(state);
                    traces.flush(self.store, &self.options.owner, true);
                    return Ok(());
                }
                std::mem::take(&mut state.uncommitted)
            };
            let synced = self.store.sync();
            next_sync = std::time::Instant::now() + COMMIT_INTERVAL;
            for &task in &batch {
                self.store.unlock(&self.graph.task(task as usize).key)?;
            }
            synced?;
            // Traces lead to durable results only. Advice too: a lost one costs a run.
            {
                let mut state = self.shared.lock();
                let key = |task: u32| self.graph.task(task as usize).key;
                let durable =
                    batch.iter().filter_map(|&task| state.traces.remove(&task).map(|t| (t, key(task))));
                traces.entries.extend(durable);
            }
            traces.flush(self.store, &self.options.owner, false);
            // What went into these keys, for `status --explain`: one object per task name in
            // the batch, never one per task. Advice only, so a failed write is no failure.
            for manifest in Manifest::for_batch(self.graph, &batch, &self.options.owner, sequence) {
                if let Err(e) = self.store.put_manifest(&manifest.id(), &manifest.to_json()) {
                    tracing::warn!("cannot record the manifest of {}: {e}", manifest.id().name);
                }
            }
            sequence += 1;
            let mut state = self.shared.lock();
            for &task in &batch {
                let name = self.graph.name(task as usize).to_owned();
                if state.reused_from.remove(&task).is_some() {
                    state.reused += 1;
                    state.counted_loaded[task as usize] = true;
                    *state.loaded.entry(name).or_default() += 1;
                } else {
                    *state.executed.entry(name).or_default() += 1;
                }
            }
            state.committed += batch.len();
            (self.on_event)(Event::Progress { done: state.committed, to_run: state.to_run });
        }
    }
}

#[cfg(test)]
mod tests;
