//! `jug-host invalidate`: remove the results of the selected tasks and of everything
//! downstream of them, and the traces that lead to them, so the next `execute` recomputes
//! exactly that.

use std::collections::HashSet;

use jug_core::store::{Access, Store};
use jug_core::{Counts, Key, trace};

use crate::cli::InvalidateArgs;
use crate::errors::Result;
use crate::exit_code::ExitCode;
use crate::table;

pub fn run(args: InvalidateArgs) -> Result<ExitCode> {
    let selector = match &args.invalid {
        Some(name) => jug_core::select::Selector::name(name)?,
        None => super::selector(&args.selection)?.expect("clap requires --name, --invalid or --pattern"),
    };
    let loaded = super::load(&args.graph, &args.builder)?;
    let graph = &loaded.graph;
    let chosen = super::select(graph, &selector)?;

    // Definition order is topological, so one forward pass finds every dependent.
    let mut invalid = vec![false; graph.len()];
    for &i in &chosen {
        invalid[i] = true;
    }
    for i in 0..graph.len() {
        if !invalid[i] && graph.task(i).dependencies.iter().any(|&d| invalid[d as usize]) {
            invalid[i] = true;
        }
    }

    let store = loaded.reader.get()?;
    let stored = store.list_results()?;
    let to_remove: Vec<usize> =
        (0..graph.len()).filter(|&i| invalid[i] && stored.contains(&graph.task(i).key)).collect();
    let mut removed = Counts::new();
    if !to_remove.is_empty() {
        let store = Store::open(&loaded.store, Access::ReadWrite)?;
        // Traces first (see `jug_core::trace`): each that leads to a result being removed goes
        // whole, with the other keys it leads to, or the next execute would copy the same
        // bytes back from an older key instead of computing them again.
        let keys: HashSet<Key> = to_remove.iter().map(|&i| graph.task(i).key).collect();
        let packs = trace::read_packs(&store)?;
        let packed = store.packed_entries()?;
        let in_packs = packed.iter().filter(|e| keys.contains(&e.key)).filter_map(|e| e.trace);
        let dropped: HashSet<Key> = packs
            .iter()
            .flat_map(|(_, e)| e)
            .filter(|(_, key)| keys.contains(key))
            .map(|(t, _)| *t)
            .chain(in_packs)
            .collect();
        trace::remove(&store, &packs, |t, _| dropped.contains(t))?;
        let dropped: Vec<Key> = dropped.into_iter().collect();
        let keys: Vec<Key> = to_remove.iter().map(|&i| graph.task(i).key).collect();
        store.delete_results(&keys, &dropped)?;
        for i in to_remove {
            *removed.entry(graph.name(i).to_owned()).or_default() += 1;
        }
        store.sync()?;
    }
    if removed.is_empty() {
        super::print("Tasks invalidated, but no results removed\n")?;
    } else {
        super::print(&table::summary(&[("Invalidated", &removed)], args.short, table::terminal_columns()))?;
    }
    Ok(ExitCode::Ok)
}
