//! `jug-host count`: how many tasks of each name the graph declares (no store access).

use jug_core::Counts;

use crate::cli::CountArgs;
use crate::errors::Result;
use crate::exit_code::ExitCode;
use crate::table;

pub fn run(args: CountArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let mut counts = Counts::new();
    for i in 0..loaded.graph.len() {
        *counts.entry(loaded.graph.name(i).to_owned()).or_default() += 1;
    }
    super::print(&table::summary(&[("Count", &counts)], args.short, table::terminal_columns()))?;
    Ok(ExitCode::Ok)
}
