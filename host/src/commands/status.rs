//! `jug-host status`: Jug's table of task states, from one listing of the store.

use jug_core::status::{self, Snapshot};
use jug_core::store::{Access, Store};
use jug_core::table;

use crate::cli::StatusArgs;
use crate::exit_code;

pub fn run(args: StatusArgs) -> anyhow::Result<i32> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let store = Store::open(&loaded.store, Access::ReadOnly)?;
    let snapshot = Snapshot { results: store.list_results()?, locks: store.list_locks()? };
    let states = status::states(&loaded.graph, &snapshot);
    if args.short {
        super::print(&format!("{}\n", status::short_line(&states)))?;
    } else {
        let columns = status::columns(&loaded.graph, &states);
        let groups: Vec<(&str, &table::Counts)> = columns.iter().map(|(t, c)| (*t, c)).collect();
        super::print(&table::summary(&groups, false, table::terminal_columns()))?;
    }
    let complete = states.iter().all(|s| *s == status::State::Complete);
    Ok(if complete { exit_code::OK } else { exit_code::NOT_DONE })
}
