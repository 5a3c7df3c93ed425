//! The wasmtime engine every component of a process runs on.
//!
//! Determinism is a property of the engine configuration, so it lives here and is named in
//! [`jug_core::key::HOST_SEMANTICS`]: NaNs are canonicalized and relaxed SIMD is deterministic,
//! so the same task gives the same bytes on every machine.
//!
//! Instances come from the pooling allocator: a fresh instance per task costs tens of
//! microseconds because memory slots are reused and initialized copy-on-write.

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
        .table_keep_resident(1 << 20);
    // Between tasks, reset a memory slot in place instead of returning its pages to the kernel
    // and faulting them in again: for tiny tasks the faults cost more than the task, and in
    // a process running tasks on several threads every `madvise` also interrupts the others.
    // With Linux's PAGEMAP_SCAN (6.7+) only the pages a task wrote are copied back, so the
    // budget can cover a Python or JavaScript snapshot's working set (measured: ~15-25% less
    // time per Python task); without it every kept byte is memset, so keep 1.5 MiB, a Rust
    // guest's stack, data and first heap pages.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes).linear_memory_keep_resident(8 << 20);
    } else {
        pool.linear_memory_keep_resident(3 << 19);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))
}
