//! `jug-host status`: Jug's table of task states, from one listing of the store.
//!
//! Locks are leases here. A task under a live lease is Active, as in Jug. A task under an
//! expired lease (its worker died or hung) is shown as Ready — the next `execute` takes it
//! over — and a line under the table counts such tasks and names the silent workers, which
//! is what someone looking at a stuck cluster needs to know. `--json` gives the same for
//! scripts. `--explain NAME` is in `explain.rs`.

use jug_core::Counts;
use jug_core::select::Selector;
use jug_core::status::{self, State};

use crate::cli::StatusArgs;
use crate::errors::Result;
use crate::exit_code::ExitCode;
use crate::table;

use super::Observed;

pub fn run(args: StatusArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    if let Some(name) = &args.explain {
        return super::explain::explain(&loaded, &Selector::name(name)?);
    }
    let observed = Observed::read(&loaded)?;
    let states = status::states(&loaded.graph, &observed.snapshot);
    let columns = status::columns(&loaded.graph, &states);
    // Past an unsatisfied barrier there are tasks nobody has declared yet.
    let complete = !loaded.graph.at_barrier() && states.iter().all(|s| *s == State::Complete);
    if args.json {
        let json = serde_json::json!({
            "complete": complete,
            "at_barrier": loaded.graph.at_barrier(),
            "totals": totals(&states),
            "tasks": columns_by_name(&columns),
            "expired_leases": observed.expired_json(&loaded.graph),
            "grants": loaded.program.grants().iter().map(|g| serde_json::json!({
                "host": g.host, "guest": g.guest, "writable": g.writable,
            })).collect::<Vec<_>>(),
        });
        super::print(&format!("{json:#}\n"))?;
    } else {
        if args.short {
            super::print(&format!("{}\n", status::short_line(&states)))?;
        } else {
            let groups: Vec<(&str, &Counts)> = columns.iter().map(|(t, c)| (*t, c)).collect();
            super::print(&table::summary(&groups, false, table::terminal_columns()))?;
        }
        if let Some(note) = observed.expired_note() {
            super::print(&note)?;
        }
        for grant in loaded.program.grants().iter().filter(|g| g.writable) {
            super::print(&format!(
                "Tasks may write to {} (as {}): a read-write grant, part of every key.\n",
                grant.host.display(),
                grant.guest
            ))?;
        }
        if loaded.graph.at_barrier() {
            super::print(
                "The graph builder stopped at a barrier: more tasks follow once these are complete.\n",
            )?;
        }
    }
    Ok(if complete { ExitCode::Ok } else { ExitCode::NotDone })
}

fn totals(states: &[State]) -> serde_json::Value {
    let count = |s: State| states.iter().filter(|&&x| x == s).count();
    serde_json::json!({
        "failed": count(State::Failed),
        "waiting": count(State::Waiting),
        "ready": count(State::Ready),
        "complete": count(State::Complete),
        "active": count(State::Active),
    })
}

/// `{"primes.is_prime": {"failed": 0, "waiting": 0, …}, …}`
fn columns_by_name(columns: &[(&'static str, Counts); 5]) -> serde_json::Value {
    let mut by_name = serde_json::Map::new();
    for (title, counts) in columns {
        for (name, count) in counts {
            let entry = by_name.entry(name.clone()).or_insert_with(|| serde_json::json!({}));
            entry[title.to_lowercase()] = (*count).into();
        }
    }
    by_name.into()
}
