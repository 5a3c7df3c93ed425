//! `jug-host status --explain NAME`: why a task has no result. It compares the task as
//! declared now with the manifests of earlier runs of its name (see `jug_core::manifest`),
//! and reads its failure mark or log. One listing of the manifests, then only those of the
//! names asked about.

use std::collections::{HashMap, HashSet};

use jug_core::failure::{Failure, FailureRecord};
use jug_core::manifest::{self, Change, Entry, Granted, Manifest};
use jug_core::select::Selector;
use jug_core::{Graph, Key};

use crate::errors::Result;
use crate::exit_code::ExitCode;

/// `status --explain NAME`: one line per selected task, `<name> <key>: <why>`; exit 0 iff
/// every one of them is complete.
pub fn explain(loaded: &super::Loaded, selector: &Selector) -> Result<ExitCode> {
    let graph = &loaded.graph;
    let chosen = super::select(graph, selector)?;
    let store = loaded.reader.get()?;
    let results = store.list_results()?;
    let missing: Vec<usize> =
        chosen.iter().copied().filter(|&i| !results.contains(&graph.task(i).key)).collect();

    // Earlier runs of the names asked about, oldest first, with when they were stored.
    let mut earlier: HashMap<String, Vec<(u64, Entry)>> = HashMap::new();
    let (mut failed, mut logs) = (HashSet::new(), HashSet::new());
    if !missing.is_empty() {
        let names: HashSet<&str> = missing.iter().map(|&i| graph.name(i)).collect();
        for id in store.list_manifests()?.into_iter().filter(|id| names.contains(id.name.as_str())) {
            let Some(bytes) = store.get_manifest(&id)? else { continue };
            match Manifest::from_json(&bytes) {
                Ok(manifest) => {
                    let runs = earlier.entry(id.name.clone()).or_default();
                    runs.extend(manifest.tasks.into_iter().map(|entry| (manifest.stored_unix_ms, entry)));
                }
                Err(e) => tracing::warn!("skipping the unreadable manifest {}/{}: {e}", id.name, id.batch),
            }
        }
        failed = store.list_failures()?;
    }
    // A complete task's log says whether its result was reused rather than computed.
    if !chosen.is_empty() {
        logs = store.list_logs()?;
    }

    let mut out = String::new();
    for &i in &chosen {
        let key = graph.task(i).key;
        let why = if results.contains(&key) {
            match logs.contains(&key) {
                true => complete(store, &key)?,
                false => "complete".to_owned(),
            }
        } else {
            let runs = earlier.get(graph.name(i)).map(Vec::as_slice).unwrap_or_default();
            let ran_last = runs.iter().filter(|(_, e)| e.key == key).map(|(ms, _)| *ms).max();
            match last_failure(store, &key, failed.contains(&key), logs.contains(&key))? {
                Some((failure, _, true)) => format!(
                    "failed in the last run: {} (marked failed: execute skips it until `cleanup --failed-only`)",
                    failure_line(&failure)
                ),
                Some((failure, at, false)) if ran_last.is_none_or(|ran| at >= ran) => {
                    format!("failed in the last run: {}", failure_line(&failure))
                }
                _ => {
                    let runs: Vec<&Entry> = runs.iter().map(|(_, e)| e).collect();
                    describe(graph, i, manifest::compare(&Entry::of(graph, i), &runs))
                }
            }
        };
        let name = jug_core::text::one_line(graph.name(i));
        out.push_str(&format!("{name} {}: {why}\n", key.short()));
    }
    super::print(&out)?;
    Ok(if missing.is_empty() { ExitCode::Ok } else { ExitCode::NotDone })
}

/// `complete`, and where the result came from if it was reused from another key (early
/// cutoff, see `jug_core::trace`).
fn complete(store: &jug_core::store::Store, key: &Key) -> Result<String> {
    let reused = store.get_task_log(key)?.and_then(|log| log.record).and_then(|record| record.reused_from);
    Ok(match reused {
        Some(source) => format!(
            "complete (reused the result of key {}: the same code on the same input values)",
            jug_core::text::one_line(source.get(..12).unwrap_or(&source))
        ),
        None => "complete".to_owned(),
    })
}

/// How a task's last run failed, if it did: from its failure mark (`true`) or its log, with
/// when.
fn last_failure(
    store: &jug_core::store::Store,
    key: &Key,
    marked: bool,
    logged: bool,
) -> Result<Option<(Failure, u64, bool)>> {
    if marked
        && let Some(bytes) = store.get_failure(key)?
        && let Ok(record) = serde_json::from_slice::<FailureRecord>(&bytes)
    {
        return Ok(Some((record.failure, record.failed_unix_ms, true)));
    }
    if logged
        && let Some(log) = store.get_task_log(key)?
        && let Some(record) = log.record
        && let Some(failure) = record.failure
    {
        return Ok(Some((failure, record.ran_unix_ms, false)));
    }
    Ok(None)
}

/// `trap: boom at 1`: the first line of the message.
fn failure_line(failure: &Failure) -> String {
    let message = failure.message.lines().next().unwrap_or("");
    format!("{}: {}", failure.kind, jug_core::text::one_line(message))
}

/// The sentence for what [`manifest::compare`] found about task `i`.
fn describe(graph: &Graph, i: usize, change: Option<Change>) -> String {
    let name = graph.name(i);
    match change {
        None => format!("never run: no result and no earlier run of {name} on record"),
        Some(Change::SameTask) => "its result was removed (invalidated or cleaned up)".to_owned(),
        // With an identity per function, the change is that function's own.
        Some(Change::Code { was }) => format!(
            "the code of {} changed: stored results of {name} were computed by code {}, now {}",
            match graph.component(i).functions.contains_key(graph.function(i)) {
                true => name,
                false => &graph.component(i).stem,
            },
            was.short(),
            graph.code_of(i).short()
        ),
        Some(Change::Arguments) => "its arguments changed".to_owned(),
        Some(Change::Inputs(positions)) => {
            let spec = graph.task(i);
            let input = |j: usize| {
                let dep = spec.dependencies[j] as usize;
                let dep_key = graph.task(dep).key;
                let argument = spec
                    .references
                    .iter()
                    .find(|r| r.key == dep_key)
                    .and_then(|r| manifest::argument_at(&spec.template, r.start));
                match argument {
                    Some(n) => format!("{} (argument {})", graph.name(dep), n + 1),
                    None => graph.name(dep).to_owned(),
                }
            };
            let more = match positions.len() {
                0 | 1 => String::new(),
                2 => ", and 1 more input".to_owned(),
                n => format!(", and {} more inputs", n - 1),
            };
            let first = positions.first().map(|&j| input(j)).unwrap_or_default();
            format!("an input changed: {first} has a new key{more}")
        }
        Some(Change::Grant { guest, was, now }) => match (was, now) {
            (Some(Granted::Content(_)), Some(Granted::Content(_))) => {
                format!("the content of the granted directory {guest} changed")
            }
            (None, Some(_)) => {
                format!("the directory {guest} is granted now, and was not in earlier runs of {name}")
            }
            (Some(_), None) => {
                format!("the directory {guest} was granted in earlier runs of {name}, and is not now")
            }
            (Some(Granted::Writable), _) => {
                format!("the directory {guest} is granted read-only now, read-write before")
            }
            _ => format!("the directory {guest} is granted read-write now, read-only before"),
        },
        Some(Change::Environment) => "its environment changed: same code, function, arguments and inputs, \
                                      but another key (read-write directory grants or the jug-host version)"
            .to_owned(),
    }
}
