//! The wasmtime engine every component of a process runs on.
//!
//! Determinism is a property of the engine configuration, so it lives here and is named in
//! [`jug_core::key::HOST_SEMANTICS`]: NaNs are canonicalized and relaxed SIMD is deterministic,
//! so the same task gives the same bytes on every machine.
//!
//! Instances come from the pooling allocator: a fresh instance per task costs tens of
//! microseconds because memory slots are reused and initialized copy-on-write. Its slots are
//! fixed in number, so more tasks at once than slots (`-j 300`) wait for one ([`Slots`]).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::LoadError;

/// The largest linear memory a task may grow to (the wasm32 maximum).
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Builds the engine.
pub fn new_engine() -> Result<Engine, LoadError> {
    let mut config = Config::new();
    crate::Limits::configure(&mut config);
    config.cranelift_nan_canonicalization(true);
    config.relaxed_simd_deterministic(true);

    let mut pool = PoolingAllocationConfig::default();
    // Slots are address space, not memory: generous counts cost nothing until used.
    pool.total_component_instances(256)
        .total_core_instances(2048)
        .total_memories(512)
        .total_tables(1024)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instances_per_component(64)
        // Interpreted guests (Python, JS) have large function tables.
        .table_elements(200_000)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(1 << 20)
        .table_keep_resident(1 << 20)
        // Stacks are for async fibers, which no task uses; the pool would make 1,000 of them,
        // a guard page each, at every start (~6% of loading a Python component).
        .total_stacks(1);
    // Between tasks, reset a memory slot in place instead of returning its pages to the kernel
    // and faulting them in again: for tiny tasks the faults cost more than the task, and in
    // a process running tasks on several threads every `madvise` and every copy-on-write fault
    // is a TLB shootdown that interrupts the other threads (issue 14: JavaScript tasks got
    // slower with `-j2`). With Linux's PAGEMAP_SCAN (6.7+) only the pages a task wrote are
    // copied back, so the budget can cover a Python or JavaScript snapshot's working set: 8 MiB
    // holds the ~1-3 MiB a trivial task of either dirties, and a task that dirties more has the
    // rest released. That this works at all for an interpreter's heap, written in hundreds of
    // separate places, takes the patched scan in `vendor/wasmtime-48.0.8` (see
    // `vendor/README.md`): wasmtime 48.0.8 stopped after 32 separate regions and released the
    // rest, ~150 faults per Python task. Without PAGEMAP_SCAN every kept byte is memset, so
    // keep 1.5 MiB, a Rust guest's stack, data and first heap pages.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes).linear_memory_keep_resident(8 << 20);
    } else {
        pool.linear_memory_keep_resident(3 << 19);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))
}

/// Linear memories larger than this are not prefaulted: an interpreter's image is ~8-12 MiB,
/// and a guest that starts with a huge memory would pay for pages it may never touch.
const MAX_PREFAULT_BYTES: usize = 32 << 20;

/// Write-faults every page of a new instance's linear memories now, before its code runs.
///
/// A memory starts as a copy-on-write mapping of the component's image, and the kernel maps
/// image pages read-only ahead of their use (fault-around, up to 16 at a time). The first
/// write to such a page replaces it, and the stale mapping must then be flushed from every
/// CPU running the process: with other threads running tasks meanwhile (`ahead`), every
/// flush is an inter-processor interrupt, ~13 µs to send on the benchmark VM. The builder of
/// a Python graph of 2,000 tasks allocates through ~800 such pages of CPython's image, and
/// took 70 ms beside the threads running ahead instead of 51 ms alone, the difference all in
/// sending those interrupts (issue 14). Populated for writing before anything is mapped
/// read-only, the pages are copied without any flush: a few milliseconds for CPython's 12 MB.
///
/// Only for a long instance that shares the process with busy threads (the graph builder
/// under `execute -j N`): a short task's slot would copy every populated page back at its
/// reset. Best effort: a kernel without `MADV_POPULATE_WRITE` (before 5.14) only loses the
/// gain. Returns how many bytes were populated.
pub(crate) fn prefault_for_writing<T>(store: &mut wasmtime::Store<T>) -> usize {
    let mut populated = 0;
    #[cfg(target_os = "linux")]
    for memory in store.linear_memories() {
        let (base, len) = (memory.data_ptr(&*store), memory.data_size(&*store));
        if len > 0 && len <= MAX_PREFAULT_BYTES && populate_for_writing(base as usize, len) {
            populated += len;
        }
    }
    populated
}

/// `MADV_POPULATE_WRITE` over `len` bytes at `base`, a piece on each of rayon's threads when
/// they are many: the builder waits for it, and meanwhile the other cores have nothing to do
/// (CPython's 12 MB: a median 4.8 ms on one core of the benchmark VM, 2.8 ms on two).
/// Whether every piece was populated.
#[cfg(target_os = "linux")]
fn populate_for_writing(base: usize, len: usize) -> bool {
    use crate::pieces::{PIECE, worth_splitting};
    use rayon::prelude::*;
    let populate = |at: usize, len: usize| {
        // SAFETY: the range is part of a memory's accessible part, mapped read-write;
        // populating it only breaks copy-on-write: the bytes the guest sees are unchanged.
        unsafe { libc::madvise((base + at) as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) == 0 }
    };
    match worth_splitting(len) {
        true => {
            (0..len.div_ceil(PIECE)).into_par_iter().all(|i| populate(i * PIECE, PIECE.min(len - i * PIECE)))
        }
        false => populate(0, len),
    }
}

/// Waiting for the pooling allocator's slots. Running out of them (instances, memories,
/// tables: which one depends on the components) is no fault of a task, so an instantiation
/// that finds the pool full waits until another instance is dropped and tries again, rather
/// than failing the task.
#[derive(Default)]
pub(crate) struct Slots {
    /// Instances dropped so far: a waiter tries again once it moves.
    dropped: Mutex<u64>,
    changed: Condvar,
}

/// How long a waiter waits for news before it tries again anyway.
const RECHECK: Duration = Duration::from_millis(100);

impl Slots {
    /// Calls `instantiate` until it succeeds or fails for another reason than a full pool.
    pub(crate) fn instantiate<T>(
        &self,
        mut instantiate: impl FnMut() -> wasmtime::Result<T>,
    ) -> wasmtime::Result<T> {
        loop {
            let seen = *self.dropped.lock().unwrap_or_else(|e| e.into_inner());
            match instantiate() {
                Err(e) if pool_full(&e) => {
                    tracing::debug!("waiting for a sandbox slot: {e:#}");
                    let dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = self.changed.wait_timeout_while(dropped, RECHECK, |dropped| *dropped == seen);
                }
                other => return other,
            }
        }
    }

    /// An instance (its store) was dropped: its slots are free again.
    pub(crate) fn dropped(&self) {
        *self.dropped.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_all();
    }
}

fn pool_full(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| cause.is::<wasmtime::PoolConcurrencyLimitError>())
}
