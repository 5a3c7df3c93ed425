//! One look at the store, as the JSON document the page draws: what `status` reads (results,
//! failure marks, leases: a few listings), plus the failure records and a bounded number of
//! failed runs' logs, and the graph by name with its SVG drawing.

use std::time::{SystemTime, UNIX_EPOCH};

use jug_core::failure::{Failure, FailureRecord};
use jug_core::status::{self, State};
use jug_core::{Graph, Key};

use super::super::{Loaded, Observed, diagram};
use super::svg;
use crate::errors::Result;

/// Failed runs whose logs one refresh reads, at most: a task that failed without
/// `--keep-failed` has no mark, only its log, and a store can hold many such logs (an
/// invalidated graph's), so their cost is bounded rather than one read per task.
const MAX_LOGS_READ: usize = 50;

/// The order of the five columns, as in Jug's table.
const STATES: [(State, &str); 5] = [
    (State::Failed, "failed"),
    (State::Waiting, "waiting"),
    (State::Ready, "ready"),
    (State::Complete, "complete"),
    (State::Active, "active"),
];

/// The document `/api/status` serves.
pub fn read(loaded: &Loaded, graph_file: &str) -> Result<serde_json::Value> {
    let graph = &loaded.graph;
    let observed = Observed::read(loaded)?;
    let states = status::states(graph, &observed.snapshot);
    let now = SystemTime::now();

    // Per name, as `status` counts them (one pass over the tasks), in the table's order.
    let columns = status::columns(graph, &states);
    let per_name = |name: &str| columns.each_ref().map(|(_, counts)| counts.get(name).copied().unwrap_or(0));
    let totals = STATES.map(|(state, _)| states.iter().filter(|&&s| s == state).count() as u64);
    let row = |name: Option<&str>, counts: [u64; 5]| {
        let mut row = serde_json::Map::new();
        if let Some(name) = name {
            row.insert("name".into(), name.into());
        }
        for ((_, title), count) in STATES.iter().zip(counts) {
            row.insert((*title).into(), count.into());
        }
        row.insert("total".into(), counts.iter().sum::<u64>().into());
        serde_json::Value::Object(row)
    };
    let names: Vec<serde_json::Value> = graph.names().iter().map(|n| row(Some(n), per_name(n))).collect();

    let leases: Vec<serde_json::Value> = observed
        .leases
        .iter()
        .map(|(lock, lease)| match lease {
            Some(lease) => serde_json::json!({
                "lease": lock.to_string(),
                "host": lease.record.host,
                "pid": lease.record.pid,
                "expires_unix_ms": unix_ms(lease.expires()),
                "expired": lease.is_expired(now),
            }),
            // Listed but gone or unreadable by the time it was read: released meanwhile.
            None => serde_json::json!({ "lease": lock.to_string(), "expired": false }),
        })
        .collect();

    Ok(serde_json::json!({
        "graph": graph_file,
        // `Display` masks a URL's password; the page never sees it.
        "store": loaded.store.to_string(),
        "at_barrier": graph.at_barrier(),
        "updated_unix_ms": unix_ms(now),
        "totals": row(None, totals),
        "names": names,
        "failures": failures(loaded, &observed, &states)?,
        "leases": leases,
        "svg": svg::render(graph.names(), &diagram::name_edges(graph), per_name),
    }))
}

/// Tasks marked Failed (`execute --keep-failed`, or crashed workers), with their records,
/// then Ready tasks whose last run failed (their log says so), in definition order.
fn failures(loaded: &Loaded, observed: &Observed, states: &[State]) -> Result<Vec<serde_json::Value>> {
    let (graph, store) = (&loaded.graph, loaded.reader.get()?);
    let mut found = Vec::new();
    for (i, task) in graph.tasks().iter().enumerate() {
        if states[i] == State::Failed && observed.snapshot.failed.contains(&task.key) {
            let record = store.get_failure(&task.key)?;
            let record: Option<FailureRecord> = record.and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let failure = record.map(|r| r.failure);
            found.push(entry(graph, i, &task.key, failure.as_ref(), true));
        }
    }
    let logs = store.list_logs()?;
    let unmarked_with_log = graph
        .tasks()
        .iter()
        .enumerate()
        .filter(|(i, task)| states[*i] == State::Ready && logs.contains(&task.key))
        .take(MAX_LOGS_READ);
    for (i, task) in unmarked_with_log {
        if let Some(failure) = store.get_task_log(&task.key)?.and_then(|log| log.failure().cloned()) {
            found.push(entry(graph, i, &task.key, Some(&failure), false));
        }
    }
    Ok(found)
}

fn entry(graph: &Graph, i: usize, key: &Key, failure: Option<&Failure>, marked: bool) -> serde_json::Value {
    serde_json::json!({
        "name": graph.name(i),
        "key": key.to_hex(),
        "short": key.short(),
        "kind": failure.map(|f| f.kind.to_string()),
        "message": failure.map(|f| f.message.clone()),
        "marked": marked,
    })
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
