//! Running tasks ahead of the scheduler while the graph is still being built.
//!
//! `execute -j N` builds the graph on one thread, and until the builder returns, the other
//! N−1 cores have nothing to do: for a graph of many small Python or JavaScript tasks, whose
//! builder declares a task in 30–90 µs of interpreted code, that idle spell was the largest
//! part of what kept `-j2` from doubling the speed of `-j1` (issue 14, item 5). So while the
//! builder declares, the other threads run the tasks it has declared so far, and when the
//! scheduler comes to such a task, its run is already there.
//!
//! Nothing about the store changes: a run ahead holds no lease and writes nothing. Its result
//! is only a candidate, which the scheduler takes (through [`AheadRunner`]) in place of running
//! the task when it holds the task's lease like for any other run, and commits in the same
//! pack. So a result is still stored once, under a lease, by the process that held it; what
//! another worker may lose is only the CPU time of a run it never uses, on cores that were
//! idle anyway. A task is run ahead only when that run is exactly the one the scheduler would
//! make:
//! - it has no dependencies (its input is its template), is not compound, and takes no
//!   directory of the working directory;
//! - it cannot write anywhere (no writable grant: a trace shape, see `trace`), since a run
//!   without a lease must have no effect but its result;
//! - it is selected (`--name`), and the store held no result for it when the build started;
//! - its limits (`graph.set-limits`, which may come after the declaration) are the ones it ran
//!   under: a run under other limits is dropped and the task runs again.
//!
//! Only successful runs are kept (a failure is deterministic, and the scheduler's run reports
//! it the usual way, retrying a timeout once), at most [`MAX_HELD`] bytes of them. When the
//! build ends, runs in flight are interrupted at the next epoch tick (10 ms): a long task
//! started ahead never holds a core the scheduler needs, nor keeps the process alive.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use jug_core::Key;
use jug_core::execute::{Run, Runner};
use jug_core::graph::{ComponentRef, Graph, TaskLimits, TaskSpec};
use jug_core::select::Selector;

use crate::Program;

/// The most bytes (results and logs) of runs waiting for the scheduler: past it, no more
/// tasks are run ahead.
pub const MAX_HELD: usize = 64 << 20;

/// The tasks declared so far that may run ahead, and the runs waiting for the scheduler.
pub struct Ahead {
    state: Mutex<State>,
    /// Wakes the threads running ahead: a task was declared, the listing came, or the build
    /// ended.
    wake: Condvar,
    /// Set when the build ends: runs in flight stop at the next epoch tick.
    cancel: Arc<AtomicBool>,
    selector: Option<Selector>,
    /// Runs finished ahead, and how many of them the scheduler used.
    ran: AtomicUsize,
    used: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// Keys with a stored result when the build started; `None` until listed.
    stored: Option<HashSet<Key>>,
    queue: VecDeque<Candidate>,
    /// Successful runs, by key, with the limits and the input they ran with.
    finished: HashMap<Key, Finished>,
    held: usize,
    closed: bool,
}

struct Finished {
    limits: TaskLimits,
    input: Vec<u8>,
    run: Run,
}

/// The most declared tasks waiting to run ahead: a builder declares far faster than tasks
/// run, and a graph of a million tasks should not be copied while it is built. Past it, a
/// declared task is left to the scheduler.
const MAX_QUEUED: usize = 4096;

/// A task to run ahead: everything [`Runner::run`] needs, copied out of the builder.
struct Candidate {
    component: ComponentRef,
    spec: TaskSpec,
    function: String,
}

impl Ahead {
    /// Nothing declared yet; `selector` is `execute`'s `--name`/`--pattern`.
    pub fn new(selector: Option<Selector>) -> Arc<Ahead> {
        Arc::new(Ahead {
            state: Mutex::default(),
            wake: Condvar::new(),
            cancel: Arc::default(),
            selector,
            ran: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The store's results as listed when the build started (or `None` if it could not be
    /// listed: then nothing runs ahead, and `execute` reports the store's error itself).
    pub fn listed(&self, stored: Option<HashSet<Key>>) {
        let mut state = self.lock();
        match stored {
            Some(stored) => state.stored = Some(stored),
            None => state.closed = true,
        }
        self.wake.notify_all();
    }

    /// The builder declared task `index` of `graph` (the graph so far).
    pub(crate) fn declared(&self, graph: &Graph, index: usize) {
        let spec = graph.task(index);
        let runs_alone = spec.dependencies.is_empty() && !spec.compound && spec.dirs.is_empty();
        let may_write = spec.shape.is_none();
        let selected = self.selector.as_ref().is_none_or(|s| s.matches(graph.name(index)));
        if !runs_alone || may_write || !selected {
            return;
        }
        let mut state = self.lock();
        // Checked before copying anything: past the cap, declaring costs the builder nothing.
        if !state.closed && state.queue.len() < MAX_QUEUED {
            state.queue.push_back(Candidate {
                component: graph.component(index).clone(),
                spec: spec.clone(),
                function: graph.function(index).to_owned(),
            });
            // A thread waits only for an empty queue (see `next`, which wakes the next one).
            if state.queue.len() == 1 {
                self.wake.notify_one();
            }
        }
    }

    /// The builder set a task's limits: a task still waiting to run ahead runs under them.
    /// (One usually sets them right after declaring, long before a thread gets to it.)
    pub(crate) fn limits_set(&self, key: &Key, limits: TaskLimits) {
        let mut state = self.lock();
        if let Some(waiting) = state.queue.iter_mut().rev().find(|c| c.spec.key == *key) {
            waiting.spec.limits = limits;
        }
    }

    /// The build is over: no task starts ahead from now on, and runs in flight stop.
    pub fn close(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        let mut state = self.lock();
        state.closed = true;
        state.queue.clear();
        self.wake.notify_all();
    }

    /// One thread's work until the build ends: run declared tasks, keep what succeeded.
    pub fn work(&self, program: &Program) {
        while let Some(candidate) = self.next() {
            let Candidate { component, spec, function } = candidate;
            let Some(run) = program.run_ahead(&component, &spec, &function, &self.cancel) else {
                continue;
            };
            let Ok(result) = &run.outcome else { continue };
            let size = result.len() + run.log.len() + spec.template.len();
            let mut state = self.lock();
            if state.held + size > MAX_HELD {
                // Enough waits for the scheduler; what is past it runs there.
                state.closed = true;
                state.queue.clear();
                return;
            }
            state.held += size;
            let finished = Finished { limits: spec.limits, input: spec.template, run };
            state.finished.insert(spec.key, finished);
            self.ran.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The next task to run ahead, once the store is listed; `None` when the build is over.
    fn next(&self) -> Option<Candidate> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            let State { stored, queue, .. } = &mut *state;
            if let Some(stored) = stored
                && let Some(candidate) = queue.pop_front()
            {
                if stored.contains(&candidate.spec.key) {
                    continue;
                }
                if !queue.is_empty() {
                    self.wake.notify_one();
                }
                return Some(candidate);
            }
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The run of `task` made ahead, if there is one made on `input` under the limits the
    /// task has now. (The input, not only the key: an argument wrapped in `NoHash` is in the
    /// input but not in the key.)
    fn take(&self, task: &TaskSpec, input: &[u8]) -> Option<Run> {
        let mut state = self.lock();
        let Finished { limits, input: ran_on, run } = state.finished.remove(&task.key)?;
        state.held -= run.outcome.as_ref().map_or(0, Vec::len) + run.log.len() + ran_on.len();
        (limits == task.limits && ran_on == input).then(|| {
            self.used.fetch_add(1, Ordering::Relaxed);
            run
        })
    }

    /// The listing taken before the build, handed to the scheduler once the build is over.
    pub fn listing(&self) -> Option<HashSet<Key>> {
        self.lock().stored.take()
    }

    /// Runs finished ahead, and how many of them the scheduler used.
    pub fn counts(&self) -> (usize, usize) {
        (self.ran.load(Ordering::Relaxed), self.used.load(Ordering::Relaxed))
    }
}

/// The program as the scheduler's runner: a task run ahead is taken, any other runs now.
pub struct AheadRunner<'a> {
    pub program: &'a Program,
    pub ahead: &'a Ahead,
}

impl Runner for AheadRunner<'_> {
    fn run(&self, component: &ComponentRef, task: &TaskSpec, function: &str, input: &[u8]) -> Run {
        if let Some(run) = self.ahead.take(task, input) {
            return run;
        }
        self.program.run(component, task, function, input)
    }

    fn max_input(&self) -> u64 {
        self.program.max_input()
    }
}
