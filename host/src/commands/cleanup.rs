//! `jug-host cleanup`: remove what no task of the current graph uses, and stale locks.
//!
//! Like Jug, the default removes every stored result whose key is not a task of the graph
//! as built now (with its logs and failure marks), then the locks. Unlike Jug, only
//! *expired* leases are removed: a live one belongs to a worker that is running right now,
//! and removing it would let a second worker start the same task. A store shared by several
//! graphs loses the others' results to a default cleanup — as in Jug.
//!
//! Manifests (what went into earlier runs' keys, for `status --explain`) are pruned, not
//! wiped: for a task name of the graph, cleanup keeps those that record a task of the graph
//! (a result it keeps, or one invalidated since) and the newest (the last run, which tells
//! what changed since), and removes the rest; those of names the graph no longer has go, unless
//! the graph stopped at a barrier (the names past it are not declared yet).

use std::collections::{HashMap, HashSet};

use jug_core::manifest::{Manifest, ManifestId};
use jug_core::store::{Access, DEFAULT_LEASE, LockRecord, Store, new_owner_id};
use jug_core::{Graph, Key};

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
        prune_manifests(&store, &loaded.graph, &used)?;
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

/// Removes the manifests no `status --explain` of this graph needs (see the module's docs).
fn prune_manifests(store: &Store, graph: &Graph, used: &HashSet<Key>) -> anyhow::Result<()> {
    let names: HashSet<&str> = graph.names().iter().map(String::as_str).collect();
    let ids = store.list_manifests()?;
    // Listed oldest first within a name: the last one of a name is its newest.
    let newest: HashMap<&str, &ManifestId> = ids.iter().map(|id| (id.name.as_str(), id)).collect();
    for id in &ids {
        let keep = if !names.contains(id.name.as_str()) {
            graph.at_barrier()
        } else if newest.get(id.name.as_str()) == Some(&id) {
            true
        } else {
            match store.get_manifest(id)? {
                None => continue,
                Some(bytes) => Manifest::from_json(&bytes)
                    .is_ok_and(|manifest| manifest.tasks.iter().any(|task| used.contains(&task.key))),
            }
        };
        if !keep {
            store.delete_manifest(id)?;
        }
    }
    Ok(())
}
