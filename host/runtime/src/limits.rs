//! What a task may use: wall time, fuel, memory, and the size of its input, result and output;
//! and what a graph builder may use: wall time, memory, output, and the size of the graph.
//!
//! Each limit that is hit is its own kind of failure, with a message that names the limit,
//! its value and the option that raises it, so a user never has to guess which wall a task
//! ran into. Fuel is the deterministic limit (the same task runs out at the same instruction
//! on every machine); the timeout is the practical one, and the only failure worth a retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jug_core::execute::{Failure, FailureKind};
use jug_core::graph::{GraphLimits, TaskLimits};
use wasmtime::{Engine, ResourceLimiter};

/// How often the timeout clock ticks: the resolution of `--timeout`.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What one guest-to-host call may copy beyond `--max-result`: the function name and such.
const HOSTCALL_SLACK: u64 = 1 << 20;

/// Limits for every task of a run, and for the graph builder (`build`, and `--max-log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall time per task (`--timeout`); none by default, like Jug.
    pub timeout: Option<Duration>,
    /// Instructions per task, counted deterministically (`--fuel`); none by default.
    pub fuel: Option<u64>,
    /// Bytes of linear memory a task may grow to (`--max-memory`); by default the 4 GiB a
    /// 32-bit guest can address.
    pub max_memory: Option<u64>,
    /// Bytes of result a task may return (`--max-result`).
    pub max_result: u64,
    /// Bytes a task, or the graph builder, may write to stdout, stderr and the log import
    /// together (`--max-log`).
    pub max_log: u64,
    /// Bytes of input a task may be given, its dependencies' results included (`--max-input`).
    pub max_input: u64,
    pub build: BuildLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: None,
            fuel: None,
            max_memory: None,
            max_result: 256 << 20,
            max_log: 16 << 20,
            max_input: jug_core::execute::DEFAULT_MAX_INPUT,
            build: BuildLimits::default(),
        }
    }
}

/// What a graph builder may use. A builder is code from wherever the graph came from, and it
/// runs in the host process before any task: an endless loop must end, and neither its memory
/// nor the graph it declares may take the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildLimits {
    /// Wall time (`--build-timeout`), not counting the compilation of libraries it names.
    pub timeout: Duration,
    /// Bytes of linear memory (`--build-max-memory`).
    pub max_memory: u64,
    /// Tasks and argument bytes of the graph (`--max-graph-tasks`, `--max-graph-bytes`).
    pub graph: GraphLimits,
}

impl Default for BuildLimits {
    fn default() -> Self {
        BuildLimits { timeout: Duration::from_secs(60), max_memory: 2 << 30, graph: GraphLimits::default() }
    }
}

impl Limits {
    /// The engine counts fuel and checks epochs always, whatever the limits: a graph may set
    /// limits per task, and one compiled form of each component (one cache entry) serves
    /// every combination. Measured: no difference on CPU-bound Rust tasks.
    pub(crate) fn configure(config: &mut wasmtime::Config) {
        config.consume_fuel(true);
        config.epoch_interruption(true);
    }

    /// These limits, with a task's own (`graph.set-limits`) in place of the command's.
    pub fn for_task(&self, task: &TaskLimits) -> Limits {
        Limits {
            timeout: task.timeout_ms.map(Duration::from_millis).or(self.timeout),
            fuel: task.fuel.or(self.fuel),
            max_memory: task.max_memory.or(self.max_memory),
            ..self.clone()
        }
    }

    /// Applies a task's limits to its fresh store.
    pub(crate) fn apply<T>(&self, store: &mut wasmtime::Store<T>) {
        let fuel = self.fuel.unwrap_or(UNLIMITED);
        store.set_fuel(fuel).expect("the engine counts fuel");
        store.set_epoch_deadline(self.timeout.map_or(UNLIMITED, ticks));
        store.epoch_deadline_trap();
        // wasmtime caps what one call may copy from guest to host (128 MiB by default): the
        // result is such a copy, so the cap follows --max-result, and overflowing it is
        // reported as that limit (see `failure`).
        hostcall_fuel(store, self.max_result);
    }

    /// After [`Limits::apply`], for a run ahead of the scheduler (see `ahead`): the run is also
    /// interrupted at the first epoch tick after `cancel` is set. The timeout still holds.
    pub(crate) fn cancel_with<T>(&self, store: &mut wasmtime::Store<T>, cancel: Arc<AtomicBool>) {
        let deadline = self.timeout.map(|timeout| Instant::now() + timeout);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            let past = deadline.is_some_and(|deadline| Instant::now() >= deadline);
            Ok(match cancel.load(Ordering::Relaxed) || past {
                true => wasmtime::UpdateDeadline::Interrupt,
                false => wasmtime::UpdateDeadline::Continue(1),
            })
        });
    }

    /// Applies the graph builder's limits to its fresh store: no fuel (it may declare millions
    /// of tasks), and its own wall time. The clock stops while the host compiles a library
    /// the builder named (`paused`: nanoseconds, counted by the caller), which can take a
    /// while the first time and is not the builder's doing.
    pub(crate) fn apply_build<T>(&self, store: &mut wasmtime::Store<T>, paused: Arc<AtomicU64>) {
        store.set_fuel(UNLIMITED).expect("the engine counts fuel");
        let timeout = self.build.timeout;
        let (started, paused_before) = (Instant::now(), paused.load(Ordering::Relaxed));
        store.set_epoch_deadline(ticks(timeout));
        store.epoch_deadline_callback(move |_| {
            let paused = Duration::from_nanos(paused.load(Ordering::Relaxed).saturating_sub(paused_before));
            let spent = started.elapsed().saturating_sub(paused);
            Ok(match timeout.checked_sub(spent) {
                Some(left) if !left.is_zero() => wasmtime::UpdateDeadline::Continue(ticks(left)),
                _ => wasmtime::UpdateDeadline::Interrupt,
            })
        });
        // What one call may copy in: a task's arguments, which the graph limits bound anyway.
        hostcall_fuel(store, self.build.graph.max_bytes.max(self.max_result));
    }

    /// Why the graph builder was stopped, if it hit one of its limits: a message to follow
    /// "the graph builder of FILE".
    pub(crate) fn build_failure(
        &self,
        trap: &wasmtime::Error,
        memory_wanted: Option<usize>,
    ) -> Option<String> {
        if let Some(wanted) = memory_wanted {
            return Some(format!(
                "tried to grow its memory to {}, past the --build-max-memory limit of {}; raise it with --build-max-memory",
                bytes(wanted as u64),
                bytes(self.build.max_memory)
            ));
        }
        match trap.downcast_ref::<wasmtime::Trap>()? {
            wasmtime::Trap::Interrupt => Some(format!(
                "ran longer than the --build-timeout of {}; raise it with --build-timeout",
                seconds(self.build.timeout)
            )),
            _ => None,
        }
    }

    /// What hitting a limit is called, if `trap` (or the memory limiter's note) says one was
    /// hit.
    pub(crate) fn failure(&self, trap: &wasmtime::Error, memory_wanted: Option<usize>) -> Option<Failure> {
        if let Some(wanted) = memory_wanted {
            let limit = self.max_memory.unwrap_or(u64::MAX);
            let message = format!(
                "tried to grow its memory to {}, past the --max-memory limit of {}; raise it with --max-memory",
                bytes(wanted as u64),
                bytes(limit)
            );
            return Some(Failure { kind: FailureKind::Memory, message });
        }
        if format!("{trap:#}").contains("fuel allocated for hostcalls has been exhausted") {
            return Some(self.result_too_large("more than"));
        }
        let (kind, message) = match trap.downcast_ref::<wasmtime::Trap>()? {
            wasmtime::Trap::OutOfFuel => (
                FailureKind::Fuel,
                format!(
                    "used up its fuel ({} instructions, --fuel); raise it with --fuel",
                    self.fuel.unwrap_or_default()
                ),
            ),
            wasmtime::Trap::Interrupt => (
                FailureKind::Timeout,
                format!(
                    "ran longer than the --timeout of {}; raise it with --timeout",
                    seconds(self.timeout.unwrap_or_default())
                ),
            ),
            _ => return None,
        };
        Some(Failure { kind, message })
    }

    /// A result over `--max-result`, as a failure.
    pub(crate) fn check_result(&self, result: &[u8]) -> Result<(), Failure> {
        if result.len() as u64 <= self.max_result {
            return Ok(());
        }
        Err(self.result_too_large(&bytes(result.len() as u64)))
    }

    fn result_too_large(&self, size: &str) -> Failure {
        let message = format!(
            "returned a result of {size}, more than the --max-result limit of {}; raise it with --max-result",
            bytes(self.max_result)
        );
        Failure { kind: FailureKind::OutputTooLarge, message }
    }

    /// Output that filled the `--max-log` buffer, as a failure: what the task wrote after
    /// that is lost, so its run is not trusted.
    pub(crate) fn check_output(&self, written: u64) -> Result<(), Failure> {
        match self.output_over_limit(written) {
            None => Ok(()),
            Some(message) => Err(Failure { kind: FailureKind::OutputTooLarge, message }),
        }
    }

    /// What writing `written` bytes of output (stdout, stderr and the log import together)
    /// is called, if it is over `--max-log`.
    pub(crate) fn output_over_limit(&self, written: u64) -> Option<String> {
        (written > self.max_log).then(|| {
            format!(
                "wrote more than the --max-log limit of {} to stdout, stderr and the log; raise it with --max-log",
                bytes(self.max_log)
            )
        })
    }
}

/// Store settings that mean "no limit" (the store adds them to the current epoch or fuel).
const UNLIMITED: u64 = u64::MAX / 2;

/// Epoch ticks in `duration`, at least one.
fn ticks(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1)).unwrap_or(UNLIMITED)
}

/// Lets one guest-to-host call copy `limit` bytes, and some to spare for names and such.
fn hostcall_fuel<T>(store: &mut wasmtime::Store<T>, limit: u64) {
    let copy = limit.saturating_add(HOSTCALL_SLACK);
    store.set_hostcall_fuel(usize::try_from(copy).unwrap_or(usize::MAX / 2));
}

/// Refuses memory growth past the limit, and notes it, so the trap that follows is reported
/// as a memory limit rather than as whatever the guest's allocator does next.
#[derive(Debug, Default)]
pub(crate) struct MemoryLimiter {
    pub max: Option<u64>,
    pub exceeded: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.max {
            Some(max) if desired as u64 > max => {
                self.exceeded = Some(desired);
                wasmtime::bail!("memory limit exceeded")
            }
            _ => Ok(true),
        }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] while the program lives, so that a
/// store's epoch deadline is a wall-clock timeout.
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, stopped) = (engine.clone(), stop.clone());
        let ticker = std::thread::Builder::new().name("jug-epoch".into());
        ticker
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch thread");
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub use jug_core::failure::bytes;

fn seconds(d: Duration) -> String {
    let shown = format!("{:.3}", d.as_secs_f64());
    format!("{}s", shown.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_secs(2)), "2s");
    }
}
