//! `jug-host cleanup`: remove what no task of the current graph uses, and stale locks.
//!
//! Like Jug, the default removes every stored result whose key is not a task of the graph
//! as built now (with its logs and failure marks), then the locks. Unlike Jug, only
//! *expired* leases are removed: a live one belongs to a worker that is running right now,
//! and removing it would let a second worker start the same task. A store shared by several
//! graphs loses the others' results to a default cleanup — as in Jug.

use std::collections::HashSet;

use jug_core::Key;
use jug_core::store::{Access, DEFAULT_LEASE, LockRecord, Store, new_owner_id};

use crate::cli::CleanupArgs;
use crate::exit_code;

pub fn run(args: CleanupArgs) -> anyhow::Result<i32> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let store = Store::open(&loaded.store, Access::ReadWrite)?;
    let mode = &args.mode;
    if mode.failed_only {
        let failed = store.list_failures()?;
        for key in &failed {
            store.delete_failure(key)?;
        }
        super::print(&format!("Removed {} failure locks\n", failed.len()))?;
        return Ok(exit_code::OK);
    }
    if !mode.locks_only {
        let used: HashSet<Key> = loaded.graph.tasks().iter().map(|t| t.key).collect();
        let unused = |keys: HashSet<Key>| keys.into_iter().filter(|k| !used.contains(k)).collect::<Vec<_>>();
        let results = unused(store.list_results()?);
        for key in &results {
            store.delete_result(key)?;
        }
        for key in unused(store.list_logs()?) {
            store.delete_log(&key)?;
        }
        for key in unused(store.list_failures()?) {
            store.delete_failure(&key)?;
        }
        store.sync()?;
        super::print(&format!("Removed {} objects\n", results.len()))?;
    }
    if !mode.keep_locks {
        let record = LockRecord::for_this_process(&new_owner_id(), DEFAULT_LEASE);
        let (removed, live) = store.remove_expired_leases(&record, |_| true)?;
        super::print(&format!("Removed {removed} locks\n"))?;
        if live > 0 {
            eprintln!("jug-host: kept {live} live lease(s): their workers are running (see `status`)");
        }
    }
    Ok(exit_code::OK)
}
