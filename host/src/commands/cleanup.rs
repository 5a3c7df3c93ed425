//! `jug-host cleanup`: remove what the current graph no longer uses, and stale locks — only
//! what it is sure about.
//!
//! Like Jug, the default removes stored results whose key is not a task of the graph as built
//! now (with their logs and failure marks), then the locks. Unlike Jug:
//! - only results known to be this graph's go; in a store shared by several graphs the others'
//!   results stay, and so do results nothing recorded, unless `--all-graphs` (see
//!   `jug_core::cleanup` for how "this graph's" is known);
//! - a graph that stopped at a barrier has undeclared tasks whose results look unused, so only
//!   expired locks are removed, and the command says why;
//! - only *expired* leases are removed: a live one belongs to a worker that is running right
//!   now, and removing it would let a second worker start the same task;
//! - `--dry-run` lists what would go and removes nothing.

use jug_core::cleanup::{self, Plan};
use jug_core::store::{Access, DEFAULT_LEASE, LockRecord, Store, new_owner_id};
use jug_core::{Graph, Key};

use crate::cli::CleanupArgs;
use crate::errors::Result;
use crate::exit_code::ExitCode;

pub fn run(args: CleanupArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let (mode, dry_run) = (&args.mode, args.dry_run);
    // A dry run writes nothing, not even a new store.
    let store = Store::open(&loaded.store, if dry_run { Access::ReadOnly } else { Access::ReadWrite })?;
    let verb = if dry_run { "Would remove" } else { "Removed" };
    if mode.failed_only {
        let mut failed: Vec<Key> = Vec::new();
        for key in store.list_failures()? {
            if args.all_graphs || is_ours(&store, &loaded.graph, &key)? {
                failed.push(key);
            }
        }
        failed.sort();
        for key in &failed {
            if dry_run {
                super::print(&format!("would remove the failure mark of key {}\n", key.to_hex()))?;
            } else {
                store.delete_failure(key)?;
            }
        }
        super::print(&format!("{verb} {} failure locks\n", failed.len()))?;
        return Ok(ExitCode::Ok);
    }
    let at_barrier = loaded.graph.at_barrier();
    if at_barrier && !mode.locks_only {
        eprintln!(
            "jug-host: the graph builder stopped at a barrier, so the tasks after it are not declared yet and \
             their results would look unused: removing expired locks only (run cleanup again once `execute` \
             has got past the barrier)"
        );
    }
    if !mode.locks_only && !at_barrier {
        let plan = cleanup::plan(&store, &loaded.graph, args.all_graphs)?;
        if dry_run {
            super::print(&listing(&plan))?;
        } else {
            cleanup::apply(&store, &plan)?;
        }
        super::print(&format!("{verb} {} objects\n", plan.results.len()))?;
        if plan.kept > 0 {
            eprintln!(
                "jug-host: kept {} unused result(s) that nothing ties to this graph (another graph's in a shared \
                 store, or unrecorded); `--all-graphs` removes them too",
                plan.kept
            );
        }
    }
    if !mode.keep_locks {
        let (removed, live) = if dry_run {
            expired_locks(&store)?
        } else {
            let record = LockRecord::for_this_process(&new_owner_id(), DEFAULT_LEASE);
            store.remove_expired_leases(&record, |_| true)?
        };
        super::print(&format!("{verb} {removed} locks\n"))?;
        if live > 0 {
            eprintln!("jug-host: kept {live} live lease(s): their workers are running (see `status`)");
        }
    }
    Ok(ExitCode::Ok)
}

/// Whether a failure mark is this graph's: a task of it, or a name of this graph's.
fn is_ours(store: &Store, graph: &Graph, key: &Key) -> Result<bool> {
    if graph.tasks().iter().any(|task| task.key == *key) {
        return Ok(true);
    }
    let prefix = format!("{}.", graph.stem);
    Ok(cleanup::failure_name(store, key)?.is_some_and(|name| name.starts_with(&prefix)))
}

/// One line per object a plan removes, for `--dry-run`.
fn listing(plan: &Plan) -> String {
    let mut out = String::new();
    for (key, name) in &plan.results {
        let name = name.as_deref().unwrap_or("unrecorded");
        out.push_str(&format!("would remove the result of key {} ({name})\n", key.to_hex()));
    }
    for key in &plan.logs {
        out.push_str(&format!("would remove the log of key {}\n", key.to_hex()));
    }
    for key in &plan.failures {
        out.push_str(&format!("would remove the failure mark of key {}\n", key.to_hex()));
    }
    for (trace, key) in &plan.traces {
        out.push_str(&format!("would remove the trace {} to key {}\n", trace.to_hex(), key.to_hex()));
    }
    for id in &plan.manifests {
        out.push_str(&format!("would remove the manifest {}/{}\n", id.name, id.batch));
    }
    out
}

/// Lists the expired leases (one line each) and counts them and the live ones, for
/// `--dry-run`.
fn expired_locks(store: &Store) -> Result<(usize, usize)> {
    let now = std::time::SystemTime::now();
    let (mut expired, mut live) = (0, 0);
    let mut leases: Vec<_> = store.leases()?.into_iter().filter_map(|(k, l)| Some((k, l?))).collect();
    leases.sort_by_key(|(key, _)| *key);
    for (name, lease) in leases {
        if lease.is_expired(now) {
            expired += 1;
            let (pid, host) = (lease.record.pid, &lease.record.host);
            super::print(&format!("would remove the expired lock of {name} (pid {pid} on {host})\n"))?;
        } else {
            live += 1;
        }
    }
    Ok((expired, live))
}
