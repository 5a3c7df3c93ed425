//! The scheduler behind `execute`: Jug's loop, with N worker threads and group commit.
//!
//! Jug's rules, kept: a task runs as soon as every dependency has a result, after a re-check
//! that no other worker just finished it; tasks held by other workers are waited for by
//! polling the store (`wait_cycle_time` × `nr_wait_cycles`, counted since the last progress);
//! the first failure stops the run unless `keep_going`.
//!
//! What is new: `jobs` threads share one graph, and work goes in **batches**. A worker takes
//! the lease of a shard of the key space (see `store::leases`), re-checks the shard's packs
//! once, runs its ready tasks (in definition order, [`MAX_BATCH`] at most or for a quarter of
//! the lease), and hands the batch to a committer thread, which writes it as one pack, makes
//! every pack of its round durable with one [`Store::sync`], and releases their leases (on a
//! network store, a round's packs and releases go out side by side: see `crate::fan_out`). A
//! task counts as executed only once its pack is durable (see `batch`, `commit`).
//! Leases are renewed by a keeper thread every third of the lease period, and a batch whose
//! holder stopped renewing is taken over (see `store::lock`). Waiting for tasks held
//! elsewhere polls with backoff, and wakes up when the first of their leases would expire.
//!
//! A worker that takes over an expired lease runs that shard one task at a time, committing
//! each, so that a task that kills its workers (out of memory, say) is the first ready task of
//! its shard for every next holder: after [`crate::store::CRASH_LIMIT`] takeovers in a row it is marked
//! failed, whatever `keep_failed` says, and never given to another.
//!
//! Early cutoff (see `trace`): before running a task, its trace (code and input values) is
//! looked up in the store's traces, read the first time a task is about to run; a hit copies
//! the result an earlier key stored. The trace a task ran with goes into its pack's index.

mod batch;
mod commit;
mod ready;
mod reuse;
mod run;
mod waiting;

pub use run::run_task;
pub use waiting::GaveUp;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::early_exit::EarlyExit;
pub use crate::failure::{Failure, FailureKind};
use crate::select::Selector;
use crate::store::{LockName, LockRecord, Store, StoreError};
use crate::trace::Traces;
use crate::{Counts, Graph, Key};

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
    /// We took over a batch lease whose holder let it expire; `first` names the task of it
    /// that runs first.
    TookOver {
        lease: LockName,
        first: String,
        from: LockRecord,
    },
    /// Another worker took over a batch lease of ours: we were too slow to renew.
    LeaseLost {
        lease: LockName,
    },
    /// Renewing our leases failed (the store is unreachable); they may expire.
    RenewalFailed {
        error: String,
    },
    /// The stop flag (a signal) was seen: no task starts from now on; the tasks running
    /// (their names) finish and are committed. Sent once per run.
    Stopping {
        in_flight: Vec<String>,
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
    /// Batch leases taken over from expired ones.
    pub taken_over: usize,
    /// Tasks whose result someone else stored while we ran them (after a takeover race).
    pub duplicates: usize,
    /// Why the run stopped starting tasks early (`JUG_MAX_TASKS` and friends).
    pub stopped_early: Option<String>,
    /// Selected tasks skipped because a failure record marks them failed.
    pub marked_failed: usize,
    /// Tasks not run because an earlier key's result was reused (counted in `loaded`).
    pub reused: usize,
    /// Why selected tasks were left unfinished when nothing stopped the run: what it gave up
    /// waiting for.
    pub gave_up: Option<GaveUp>,
}

/// Runs every selected task of `graph` that has no stored result.
pub fn execute(
    graph: &Graph,
    store: &Store,
    runner: &dyn Runner,
    options: &Options,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<Report, StoreError> {
    execute_listed(graph, store, runner, options, on_event, store.list_results()?)
}

/// [`execute`], given the store's results as listed a moment ago (by `execute`'s caller, while
/// the graph was built). A result stored since is found when its shard is leased, like one
/// stored while this run goes on.
pub fn execute_listed(
    graph: &Graph,
    store: &Store,
    runner: &dyn Runner,
    options: &Options,
    on_event: &(dyn Fn(Event) + Sync),
    results: HashSet<Key>,
) -> Result<Report, StoreError> {
    let marked_failed = store.list_failures()?;
    let shared = Shared::new(graph, options, &results, &marked_failed);
    let lock_record = LockRecord::for_this_process(&options.owner, options.lease);
    let context = Context { graph, store, runner, options, on_event, shared: &shared, lock_record };

    let fatal = std::thread::scope(|scope| {
        // Named, so that `top -H` and `perf` tell the threads apart.
        let spawn = |name: &str| std::thread::Builder::new().name(format!("jug-{name}"));
        let workers: Vec<_> = (0..options.jobs.max(1))
            .map(|_| spawn("worker").spawn_scoped(scope, || context.worker()).expect("spawn a worker thread"))
            .collect();
        let committer =
            spawn("commit").spawn_scoped(scope, || context.committer()).expect("spawn the committer thread");
        spawn("leases").spawn_scoped(scope, || context.keep_leases()).expect("spawn the lease keeper thread");
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
    // Advice for readers (see `store::index`): a failure costs them requests, not results.
    if let Err(e) = store.consolidate(false) {
        tracing::warn!("cannot consolidate the pack indexes: {e}");
    }
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
        gave_up: state.gave_up.clone(),
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
    /// Its shard's lease was held by another worker when we tried.
    HeldElsewhere,
    Failed,
    Done,
}

/// The tasks one shard lease of ours covers while it is open (see `batch`).
struct Batch {
    /// Tasks of it running now, and taken so far.
    running: usize,
    taken: usize,
    /// Stored here, to commit in its pack.
    done: Vec<Finished>,
    /// When the lease was taken (or last committed under): a batch younger than half a lease
    /// cannot have been taken over, so its commit need not re-check the shard.
    opened: Instant,
    /// Taken over from a holder that died: one task at a time, each committed (see the
    /// module docs).
    careful: bool,
    /// A renewal found the lease taken over: its commit re-checks for duplicates.
    lost: bool,
}

impl Batch {
    fn new(careful: bool) -> Batch {
        Batch { running: 0, taken: 0, done: Vec::new(), opened: Instant::now(), careful, lost: false }
    }
}

/// A task whose result waits in a batch for its pack.
struct Finished {
    task: u32,
    trace: Option<Key>,
    /// The earlier key whose result was copied, when nothing ran (early cutoff).
    reused_from: Option<Key>,
}

struct State {
    phase: Vec<Phase>,
    /// Tasks found held by another worker at least once: that worker may have marked them
    /// failed since (see `attempt`).
    collided: Vec<bool>,
    /// Dependencies without a result, per task.
    missing_deps: Vec<u32>,
    ready: ready::Ready,
    running: usize,
    /// Open batches, by shard; shards being leased; closed batches waiting for the committer
    /// (their leases still ours), with their shards.
    batches: HashMap<u8, Batch>,
    acquiring: HashSet<u8>,
    closed: Vec<(u8, Batch)>,
    committing: HashSet<u8>,
    /// The committer waits for a batch to close (rather than for its next round's time).
    committer_idle: bool,
    /// Results of tasks done here whose packs are not written yet.
    pending: HashMap<u32, Arc<[u8]>>,
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
    /// Leases found held by others: from then on, new batches start at random shards.
    collisions: usize,
    /// Tasks this process started, for `JUG_MAX_TASKS`.
    started: u64,
    stopped_early: Option<String>,
    marked_failed: usize,
    /// Tasks this run set out to run, and how many of them are durably done.
    to_run: usize,
    committed: usize,
    /// When the first lease of a task held elsewhere expires, as far as we saw.
    next_expiry: Option<SystemTime>,
    /// Who held each shard we found held elsewhere, at the last try (for `gave_up`).
    holders: HashMap<u8, LockRecord>,
    gave_up: Option<GaveUp>,
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

/// The first look at the store after running out of work; later looks back off from here
/// (100, 200, 400 ms...). Short, because the usual reason to wait is another worker finishing
/// its last batch, which takes a fraction of a second: at 500 ms, two processes sharing a
/// small graph spent most of their time in this wait. Three looks in the first second cost a
/// few listings, once per idle spell.
const FIRST_LOOK: Duration = Duration::from_millis(100);

/// How long after a lease's expiry to look, so the expiry has surely passed.
const EXPIRY_MARGIN: Duration = Duration::from_millis(100);

/// Results cached for dependents, at most this many bytes in all.
const CACHE_LIMIT: usize = 256 << 20;

/// The most tasks one batch takes: a pack's index of this many entries is ~200 KB.
pub const MAX_BATCH: usize = 2048;

struct Shared {
    state: Mutex<State>,
    /// Wakes workers: a task became ready, a shard came free, or the run is ending.
    work: Condvar,
    /// Wakes the coordinator: the workers may have run out of work.
    idle: Condvar,
    /// Wakes the committer: a batch closed, or the run is ending.
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
        let mut ready = ready::Ready::new(graph);
        for i in (0..n as u32).filter(|&i| phase[i as usize] == Phase::Todo && missing_deps[i as usize] == 0)
        {
            ready.push(i);
        }
        Shared {
            state: Mutex::new(State {
                phase,
                collided: vec![false; n],
                missing_deps,
                ready,
                running: 0,
                batches: HashMap::new(),
                acquiring: HashSet::new(),
                closed: Vec::new(),
                committing: HashSet::new(),
                committer_idle: false,
                pending: HashMap::new(),
                reused: 0,
                cache: HashMap::new(),
                cache_bytes: 0,
                executed: Counts::new(),
                loaded,
                counted_loaded,
                failed: Vec::new(),
                taken_over: 0,
                duplicates: 0,
                collisions: 0,
                started: 0,
                stopped_early: None,
                marked_failed,
                to_run,
                committed: 0,
                next_expiry: None,
                holders: HashMap::new(),
                gave_up: None,
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
                state.ready.push(d);
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
        let missing = &state.missing_deps;
        state.ready.retain(|t| missing[t as usize] == 0);
        if state.missing_deps[task as usize] == 0 {
            state.ready.push(task);
        }
    }
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

#[cfg(test)]
mod tests;
