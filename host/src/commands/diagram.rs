//! `jug-host graph`: the task graph as a Graphviz diagram, one node per task name.
//!
//! Each node is labelled with the name and, unless `--no-status`, the counts of its tasks
//! as Jug writes them: Failed/Waiting/Ready/Active/Complete. An edge A → B means some task
//! named B takes the result of a task named A. The `.dot` file is always written; it is
//! rendered with `dot` when Graphviz is installed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use jug_core::Graph;
use jug_core::status::{self, State};

use crate::cli::GraphDiagramArgs;
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;

use super::Observed;

pub fn run(args: GraphDiagramArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let graph = &loaded.graph;
    let states = match args.no_status {
        true => None,
        false => Some(status::states(graph, &Observed::read(&loaded)?.snapshot)),
    };

    let mut dot = String::from("digraph jug {\n    node [shape=box];\n");
    for name in graph.names() {
        let mut label = name.clone();
        if let Some(states) = &states {
            let count = |state: State| {
                (0..graph.len()).filter(|&i| graph.name(i) == name && states[i] == state).count()
            };
            let _ = write!(
                label,
                "\\n{}/{}/{}/{}/{}",
                count(State::Failed),
                count(State::Waiting),
                count(State::Ready),
                count(State::Active),
                count(State::Complete)
            );
        }
        let _ = writeln!(dot, "    \"{name}\" [label=\"{label}\"];");
    }
    for (from, to) in name_edges(graph) {
        let _ = writeln!(dot, "    \"{from}\" -> \"{to}\";");
    }
    dot.push_str("}\n");

    let stem = args.graph.graph.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let dot_file = format!("{stem}.dot");
    std::fs::write(&dot_file, &dot).map_err(Error::system(format!("cannot write {dot_file}")))?;
    let rendered = format!("{stem}.{}", args.file_format);
    match std::process::Command::new("dot")
        .args([&format!("-T{}", args.file_format), &dot_file, "-o", &rendered])
        .status()
    {
        Ok(done) if done.success() => super::print(&format!("Wrote {dot_file} and {rendered}\n"))?,
        Ok(done) => {
            let what = format!("dot failed ({done}) rendering {dot_file} to {rendered}");
            return Err(Error::System { what, source: None });
        }
        Err(_) => super::print(&format!(
            "Wrote {dot_file}; install Graphviz (`dot`) to render it, e.g. `dot -T{} {dot_file} -o {rendered}`\n",
            args.file_format
        ))?,
    }
    Ok(ExitCode::Ok)
}

/// The graph by name: an edge A → B where some task named B takes the result of a task named
/// A (a name feeding itself is left out). `webstatus` draws the same graph.
pub fn name_edges(graph: &Graph) -> BTreeSet<(&str, &str)> {
    (0..graph.len())
        .flat_map(|i| {
            graph.task(i).dependencies.iter().map(move |&d| (graph.name(d as usize), graph.name(i)))
        })
        .filter(|(from, to)| from != to)
        .collect()
}
