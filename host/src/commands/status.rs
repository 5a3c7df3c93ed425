//! `jug-host status`: Jug's table of task states, from one listing of the store.
//!
//! Locks are leases here. A task under a live lease is Active, as in Jug. A task under an
//! expired lease (its worker died or hung) is shown as Ready — the next `execute` takes it
//! over — and a line under the table counts such tasks and names the silent workers, which
//! is what someone looking at a stuck cluster needs to know.

use std::time::SystemTime;

use jug_core::status::{self, Snapshot};
use jug_core::store::{Access, Lease, Store};
use jug_core::{Graph, Key, table};

use crate::cli::StatusArgs;
use crate::exit_code;

pub fn run(args: StatusArgs) -> anyhow::Result<i32> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let store = Store::open(&loaded.store, Access::ReadOnly)?;
    let results = store.list_results()?;
    let now = SystemTime::now();
    let (live, expired): (Vec<_>, Vec<_>) =
        store.leases()?.into_iter().partition(|(_, lease)| lease.as_ref().is_none_or(|l| !l.is_expired(now)));
    let snapshot = Snapshot { results, locks: live.into_iter().map(|(key, _)| key).collect() };
    let states = status::states(&loaded.graph, &snapshot);
    if args.short {
        super::print(&format!("{}\n", status::short_line(&states)))?;
    } else {
        let columns = status::columns(&loaded.graph, &states);
        let groups: Vec<(&str, &table::Counts)> = columns.iter().map(|(t, c)| (*t, c)).collect();
        super::print(&table::summary(&groups, false, table::terminal_columns()))?;
    }
    if let Some(note) = expired_note(&loaded.graph, &snapshot, &expired) {
        super::print(&note)?;
    }
    let complete = states.iter().all(|s| *s == status::State::Complete);
    Ok(if complete { exit_code::OK } else { exit_code::NOT_DONE })
}

/// "2 tasks are under expired leases (…)", counting only unfinished tasks of this graph.
fn expired_note(graph: &Graph, snapshot: &Snapshot, expired: &[(Key, Option<Lease>)]) -> Option<String> {
    let mut owners: Vec<String> = Vec::new();
    let mut count = 0;
    for (key, lease) in expired {
        if snapshot.results.contains(key) || !graph.tasks().iter().any(|t| t.key == *key) {
            continue;
        }
        count += 1;
        if let Some(lease) = lease {
            let owner = format!("pid {} on {}", lease.record.pid, lease.record.host);
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
    }
    if count == 0 {
        return None;
    }
    let (tasks, leases, them) = match count {
        1 => ("1 task is".to_owned(), "an expired lease", "it"),
        n => (format!("{n} tasks are"), "expired leases", "them"),
    };
    let workers = if owners.len() == 1 { "worker" } else { "workers" };
    Some(format!(
        "{tasks} under {leases} (counted as Ready; silent {workers}: {}); the next execute takes {them} over.\n",
        owners.join(", ")
    ))
}
