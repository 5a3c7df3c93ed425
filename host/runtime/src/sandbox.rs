//! What a task instance can see, and the host side of the `log` import (`graph_imports` has
//! the `graph` imports).
//!
//! Every instance gets an empty WASI context: no preopened directories, no environment, no
//! arguments, no stdin, no network. What it can still call is made deterministic, because a
//! stored result must be a function of code and inputs alone:
//! - the wall clock always reads 2023-11-14T22:13:20Z, and the monotonic clock advances 1 µs
//!   per reading;
//! - randomness (secure and insecure, and the hash seed Rust's `HashMap` uses) comes from a
//!   ChaCha12 generator seeded with a digest of the task's key: the same task sees the same bytes
//!   everywhere, and with every version of jug-host and of `rand` (the generator is named, not
//!   `StdRng`, which may change between `rand` versions), different tasks see different bytes.
//!
//! stdout, stderr and the log import are captured into the task's log, up to `--max-log` in
//! all; memory grows up to `--max-memory` (see `limits`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chacha20::ChaCha12Rng;
use jug_core::{GraphBuilder, Key};
use rand::SeedableRng;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::jug::task::log;

/// Seconds since the Unix epoch on every task's wall clock.
const FIXED_WALL_CLOCK_SECS: u64 = 1_700_000_000;

/// What a task gets when it calls a graph function.
pub(crate) const ONLY_WHILE_BUILDING: &str =
    "graph functions can only be called while building the graph, not inside a task";

/// Where the builder's `declare-in` finds library components: the program's loader, behind a
/// trait so that the sandbox need not know how components are loaded.
pub trait Libraries: Send + Sync {
    /// The library `name` (a path below the graph's directory), loaded on first use.
    fn library(&self, name: &str) -> Result<jug_core::graph::ComponentRef, String>;
}

/// What an instance is doing: declaring the graph, or running one task.
pub enum Phase {
    // Boxed: a sandbox is created per task, almost always in the small `Run` phase.
    Build {
        builder: Box<GraphBuilder>,
        first_error: Option<jug_core::graph::DeclareError>,
        /// Stored results, for `value` and `barrier`.
        results: std::sync::Arc<dyn jug_core::results::Results>,
        /// A store error while answering `value` or `barrier`: it ends the build.
        store_error: Option<String>,
        /// Where `declare-in` finds the libraries it names.
        components: std::sync::Arc<dyn Libraries>,
        /// What the graph may grant its tasks (see `policy`); a refusal ends the build.
        grants: Box<crate::policy::Checker>,
        /// Where tasks declared so far go to be run ahead of the scheduler (see `ahead`).
        ahead: Option<std::sync::Arc<crate::ahead::Ahead>>,
    },
    Run,
}

/// The host state of one instance.
pub struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub phase: Phase,
    /// Lines written with the `log` import (while running; a builder's go to stderr), as much
    /// of them as fits in `--max-log`.
    pub log_lines: Vec<u8>,
    /// Bytes written with the `log` import, kept or not.
    logged: u64,
    max_log: u64,
    pub output: MemoryOutputPipe,
    pub(crate) memory: crate::limits::MemoryLimiter,
}

impl Sandbox {
    /// A fresh sandbox whose randomness derives from `seed` (a task key, or the code
    /// identity while building).
    /// The sandbox of a graph builder: task limits do not apply, except on its output; its
    /// memory has a limit of its own.
    pub fn new(seed: &Key, phase: Phase, limits: &crate::Limits) -> Sandbox {
        let mut sandbox = Sandbox::with_files(seed, phase, None, limits, &[])
            .expect("a sandbox without files always builds");
        sandbox.memory.max = Some(limits.build.max_memory);
        sandbox
    }

    /// [`Sandbox::new`], with a task's input files mounted read-only (see `files`).
    pub fn with_files(
        seed: &Key,
        phase: Phase,
        files: Option<&crate::files::Mounted>,
        limits: &crate::Limits,
        grants: &[crate::Grant],
    ) -> Result<Sandbox, String> {
        // One byte over the limit: output of exactly `--max-log` bytes is kept, and a full pipe
        // means the task wrote more.
        let output =
            MemoryOutputPipe::new(usize::try_from(limits.max_log.saturating_add(1)).unwrap_or(usize::MAX));
        let randomness = Randomness::new(seed);
        let mut wasi = WasiCtxBuilder::new();
        if let Some(mounted) = files {
            for file in &mounted.files {
                let guest = file.guest_dir();
                let host = mounted.root.path().join(guest.trim_start_matches('/'));
                wasi.preopened_dir(&host, &guest, wasmtime_wasi::FsPerms::ReadOnly)
                    .map_err(|e| format!("cannot mount input {}: {e}", file.path))?;
            }
        }
        for grant in grants {
            let perms = if grant.writable {
                wasmtime_wasi::FsPerms::ReadWrite
            } else {
                wasmtime_wasi::FsPerms::ReadOnly
            };
            // The handle opened once, not the path again (see `grants`).
            wasi.preopened_dir(grant.preopen_path()?, &grant.guest, perms)
                .map_err(|e| format!("cannot mount {} at {}: {e}", grant.host.display(), grant.guest))?;
        }
        let wasi = wasi
            .stdout(output.clone())
            .stderr(output.clone())
            .wall_clock(FixedClock)
            .monotonic_clock(VirtualClock::default())
            .secure_random(randomness.secure)
            .insecure_random(randomness.insecure)
            .insecure_random_seed(randomness.insecure_seed)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let memory = crate::limits::MemoryLimiter { max: limits.max_memory, exceeded: None };
        Ok(Sandbox {
            wasi,
            table: ResourceTable::new(),
            phase,
            log_lines: Vec::new(),
            logged: 0,
            max_log: limits.max_log,
            output,
            memory,
        })
    }

    /// Captured stdout/stderr followed by `log` lines, and how many bytes the instance wrote
    /// to them in all (more than was kept if it went over `--max-log`).
    pub fn take_log(&mut self) -> (Vec<u8>, u64) {
        let mut log = self.output.contents().to_vec();
        let written = (log.len() as u64).saturating_add(self.logged);
        log.append(&mut self.log_lines);
        (log, written)
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl log::Host for Sandbox {
    fn write(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        let line = format!("[{level}] {message}\n");
        // Counted against --max-log (with stdout and stderr, see `take_log`): past it, nothing
        // more is kept or shown, and the run or build fails for it.
        let room = usize::try_from((self.max_log + 1).saturating_sub(self.logged)).unwrap_or(usize::MAX);
        self.logged = self.logged.saturating_add(line.len() as u64);
        match self.phase {
            // While building, the user is watching the terminal: whole lines only, and guest
            // text never reaches it raw.
            Phase::Build { .. } if line.len() <= room => {
                eprintln!("[{level}] {}", jug_core::text::one_line(&message))
            }
            Phase::Build { .. } => {}
            Phase::Run => self.log_lines.extend_from_slice(&line.as_bytes()[..line.len().min(room)]),
        }
    }
}

/// What a task's WASI randomness derives from its key.
struct Randomness {
    secure: ChaCha12Rng,
    insecure: ChaCha12Rng,
    /// The seed of the guest's hash maps (`insecure-seed`).
    insecure_seed: u128,
}

impl Randomness {
    fn new(seed: &Key) -> Randomness {
        let seed = blake3::derive_key("jug-host 2026-11 task randomness", &seed.0);
        let insecure_seed = u128::from_le_bytes(seed[..16].try_into().expect("16 bytes"));
        let mut insecure = seed;
        insecure[0] ^= 1;
        Randomness {
            secure: ChaCha12Rng::from_seed(seed),
            insecure: ChaCha12Rng::from_seed(insecure),
            insecure_seed,
        }
    }
}

struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(FIXED_WALL_CLOCK_SECS)
    }
}

/// Starts at zero and advances one microsecond per reading: time "passes" only as the task
/// looks at it, identically on every run.
#[derive(Default)]
struct VirtualClock(AtomicU64);

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.0.fetch_add(1_000, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    fn first_bytes(mut rng: impl Rng) -> String {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A stored result may depend on the random bytes its task read: they must not change
    /// with a new jug-host or `rand`. Pinned for one key; a change here changes results, so
    /// it needs a new host-semantics version.
    #[test]
    fn task_randomness_is_pinned() {
        let randomness = Randomness::new(&Key([7; 32]));
        assert_eq!(first_bytes(randomness.secure), "1a0ca1aaa17d03148bc445bcd8f40a56");
        assert_eq!(first_bytes(randomness.insecure), "6ed15ffb346a21d554f8d84747f4b6c7");
        assert_eq!(randomness.insecure_seed, 0x1de2bd08e45489d83ee8baa7e403d820);
    }

    /// Naming the generator changed no result: it is what `StdRng` was.
    #[test]
    fn the_named_generator_is_what_std_rng_was() {
        let seed = blake3::derive_key("jug-host 2026-11 task randomness", &[7; 32]);
        let named = first_bytes(ChaCha12Rng::from_seed(seed));
        assert_eq!(named, first_bytes(rand::rngs::StdRng::from_seed(seed)));
    }
}
