//! What `cleanup` may remove from a store: only what it is sure belongs to the graph being
//! cleaned up and is no longer used by it.
//!
//! A store can be shared: several graphs in one bucket, one Redis database, one directory. A
//! result has no name on it (a key is a hash), so "not used by this graph" does not mean
//! "this graph's": it may be another graph's, and removing it would throw away someone else's
//! work. What does carry names are the manifests `execute` writes for every batch of results
//! it stores (`manifests/<task name>/<batch>`, listing each result's key), the logs and the
//! failure records. So:
//!
//! - A task name is **this graph's** when it starts with the graph's name, its file stem, and
//!   a dot (`primes.` for `primes.wasm`), as every task the graph declares itself does (tasks
//!   of a library it uses, `stats.describe`, are named after the library and may be shared
//!   with other graphs: they count as another graph's).
//! - A result no task of the current graph uses is removed only when a manifest records its
//!   key under a name of this graph's, and no manifest records it under another graph's name.
//!   Anything else — another graph's result, or one nothing recorded (written before jug-host
//!   kept manifests, or by a worker that died between storing a batch and recording it) — is
//!   kept and counted; `--all-graphs` removes it too (Jug's cleanup: everything the current
//!   graph does not use).
//! - A log or failure record goes with its result; one without a result (a failed run) goes
//!   when its own record names a task of this graph and no manifest gives the key to another.
//! - Manifests of this graph's names are pruned as `status --explain` allows (those that
//!   record a task of the graph as built now, and the newest of each name, stay); other
//!   graphs' manifests are left alone.
//! - Traces (early cutoff, see `trace`) that lead to a result that is gone or going are of use
//!   to no graph, whoever wrote them: they go.
//! - A graph that stopped at a barrier has tasks nobody has declared yet, whose results would
//!   look unused: nothing but expired locks is removed then (the caller says why).

use std::collections::{HashMap, HashSet};

use crate::failure::FailureRecord;
use crate::manifest::{Manifest, ManifestId};
use crate::store::{Store, StoreError};
use crate::{Graph, Key};

/// What a cleanup would remove, and how much it keeps that it is unsure about.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Results to remove, with the name a manifest records for them (none with
    /// `--all-graphs` when nothing recorded one).
    pub results: Vec<(Key, Option<String>)>,
    pub logs: Vec<Key>,
    pub failures: Vec<Key>,
    pub manifests: Vec<ManifestId>,
    /// Traces (see `trace`) that lead to a result that is gone or going: (trace, key).
    pub traces: Vec<(Key, Key)>,
    /// Results no task of the graph uses, kept because nothing ties them to this graph.
    pub kept: usize,
}

/// Works out what cleaning up `graph`'s unused objects removes (nothing is removed here).
/// `all_graphs` removes whatever the graph does not use, whoever wrote it.
pub fn plan(store: &Store, graph: &Graph, all_graphs: bool) -> Result<Plan, StoreError> {
    let prefix = format!("{}.", graph.stem);
    let ours = |name: &str| all_graphs || name.starts_with(&prefix);
    // A compound task's record of libraries is stored as a result under its own key.
    let used: HashSet<Key> = graph.tasks().iter().map(|t| t.key).chain(graph.record_keys()).collect();
    let ids = store.list_manifests()?;

    // Who recorded each key: names of this graph's, and of others'.
    let mut recorded: HashMap<Key, String> = HashMap::new();
    let mut theirs: HashSet<Key> = HashSet::new();
    let mut manifests: HashMap<&ManifestId, Manifest> = HashMap::new();
    // Packs name each result's task too.
    for entry in store.packed_entries()? {
        if ours(&entry.name) {
            recorded.entry(entry.key).or_insert(entry.name);
        } else {
            theirs.insert(entry.key);
        }
    }
    for id in &ids {
        let Some(manifest) = store.get_manifest(id)?.and_then(|bytes| Manifest::from_json(&bytes).ok())
        else {
            continue;
        };
        for task in &manifest.tasks {
            if ours(&task.name) {
                recorded.entry(task.key).or_insert_with(|| task.name.clone());
            } else {
                theirs.insert(task.key);
            }
        }
        manifests.insert(id, manifest);
    }
    let removable = |key: &Key| all_graphs || (recorded.contains_key(key) && !theirs.contains(key));

    let mut plan = Plan::default();
    let stored = store.list_results()?;
    for key in stored.iter().filter(|key| !used.contains(key)) {
        if removable(key) {
            plan.results.push((*key, recorded.get(key).cloned()));
        } else {
            plan.kept += 1;
        }
    }
    plan.results.sort();
    let removed: HashSet<Key> = plan.results.iter().map(|(key, _)| *key).collect();
    // A log or failure record without a result says whose it is itself.
    let goes =
        |key: &Key, name: Option<String>| !theirs.contains(key) && name.is_some_and(|name| ours(&name));
    for key in store.list_logs()?.into_iter().filter(|key| !used.contains(key)) {
        let name = || store.get_task_log(&key).map(|log| log.and_then(|log| log.record).map(|r| r.name));
        if removed.contains(&key) || (!stored.contains(&key) && goes(&key, name()?)) {
            plan.logs.push(key);
        }
    }
    for key in store.list_failures()?.into_iter().filter(|key| !used.contains(key)) {
        if removed.contains(&key) || (!stored.contains(&key) && goes(&key, failure_name(store, &key)?)) {
            plan.failures.push(key);
        }
    }
    plan.logs.sort();
    plan.failures.sort();
    // A trace is of use to no graph once its result is gone, whoever stored it.
    let packs = crate::trace::read_packs(store)?;
    let dangling = |key: &Key| removed.contains(key) || !stored.contains(key);
    plan.traces = packs.iter().flat_map(|(_, e)| e).filter(|(_, key)| dangling(key)).copied().collect();
    plan.traces.sort();
    plan.traces.dedup();

    // Manifests: prune this graph's names only (see the module docs).
    let names: HashSet<&str> = graph.names().iter().map(String::as_str).collect();
    // Listed oldest first within a name: the last one of a name is its newest.
    let newest: HashMap<&str, &ManifestId> = ids.iter().map(|id| (id.name.as_str(), id)).collect();
    for id in &ids {
        let keep = if !ours(&id.name) {
            true
        } else if !names.contains(id.name.as_str()) {
            false
        } else if newest.get(id.name.as_str()) == Some(&id) {
            true
        } else {
            // Unreadable or gone: nothing `--explain` can use.
            manifests.get(id).is_some_and(|m| m.tasks.iter().any(|task| used.contains(&task.key)))
        };
        if !keep {
            plan.manifests.push(id.clone());
        }
    }
    Ok(plan)
}

/// The task name a failure record gives; `None` if it has none or is unreadable.
pub fn failure_name(store: &Store, key: &Key) -> Result<Option<String>, StoreError> {
    let record = store.get_failure(key)?;
    Ok(record.and_then(|bytes| serde_json::from_slice::<FailureRecord>(&bytes).ok()).map(|r| r.name))
}

/// Removes what `plan` lists, results first (a log or manifest left by an interrupted
/// cleanup is harmless; a result whose manifest went first would be kept forever).
pub fn apply(store: &Store, plan: &Plan) -> Result<(), StoreError> {
    let results: Vec<Key> = plan.results.iter().map(|(key, _)| *key).collect();
    store.delete_results(&results, &[])?;
    // Reclaims the space of removed packed results, and consolidates the pack indexes.
    let compaction = store.compact()?;
    tracing::info!("compaction: {compaction:?}");
    for key in &plan.logs {
        store.delete_log(key)?;
    }
    for key in &plan.failures {
        store.delete_failure(key)?;
    }
    for id in &plan.manifests {
        store.delete_manifest(id)?;
    }
    if !plan.traces.is_empty() {
        let goes: HashSet<&(Key, Key)> = plan.traces.iter().collect();
        crate::trace::remove(store, &crate::trace::read_packs(store)?, |t, k| goes.contains(&(*t, *k)))?;
    }
    store.sync()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GraphBuilder;
    use crate::store::{Access, StoreLocation};

    /// A graph `stem` of tasks `f(i)` for each i.
    fn graph(stem: &str, values: &[u8]) -> Graph {
        let mut builder = GraphBuilder::new(stem, Key([7; 32]));
        for &i in values {
            builder.declare("f", vec![0x81, i]).unwrap();
        }
        builder.finish()
    }

    /// Stores every task's result, with the manifest `execute` would write.
    fn run(store: &Store, graph: &Graph) {
        let tasks: Vec<u32> = (0..graph.len() as u32).collect();
        for task in graph.tasks() {
            store.put_result(&task.key, &[0x01]).unwrap();
        }
        // A batch of its own, as each run has (two runs can share a millisecond).
        static BATCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let sequence = BATCH.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        for manifest in Manifest::for_batch(graph, &tasks, "test:1:x", sequence) {
            store.put_manifest(&manifest.id(), &manifest.to_json()).unwrap();
        }
    }

    #[test]
    fn other_graphs_and_unrecorded_results_are_kept() {
        let store = Store::open(&StoreLocation::Memory, Access::ReadWrite).unwrap();
        let (old, new, other) = (graph("a", &[1, 2]), graph("a", &[2, 3]), graph("b", &[4]));
        run(&store, &old);
        run(&store, &new);
        run(&store, &other);
        let unrecorded = Key([9; 32]);
        store.put_result(&unrecorded, &[0x02]).unwrap();

        let plan = plan(&store, &new, false).unwrap();
        // a.f(1) is the old version's; b.f(4) and the unrecorded one are not known to be ours.
        assert_eq!(plan.results, [(old.task(0).key, Some("a.f".to_owned()))]);
        assert_eq!(plan.kept, 2);
        assert!(plan.manifests.iter().all(|id| id.name == "a.f"), "{:?}", plan.manifests);

        let everything = super::plan(&store, &new, true).unwrap();
        assert_eq!(everything.results.len(), 3);
        assert_eq!(everything.kept, 0);
        apply(&store, &plan).unwrap();
        assert!(store.has_result(&other.task(0).key).unwrap() && store.has_result(&unrecorded).unwrap());
        assert!(!store.has_result(&old.task(0).key).unwrap());
    }

    #[test]
    fn a_key_another_graph_recorded_is_kept() {
        // The same component under two names (a copy, or a library): same keys, two names.
        let store = Store::open(&StoreLocation::Memory, Access::ReadWrite).unwrap();
        run(&store, &graph("a", &[1]));
        run(&store, &graph("copy", &[1]));
        let plan = plan(&store, &graph("a", &[2]), false).unwrap();
        assert_eq!((plan.results.len(), plan.kept), (0, 1));
    }
}
