//! One file per subcommand, plus what they share: load the component, build its graph,
//! find its store, select tasks by name.

mod execute;
mod invalidate;
mod status;
mod value;

use std::io::Write as _;

use jug_core::Graph;
use jug_core::select::Selector;
use jug_core::store::StoreLocation;
use jug_runtime::Program;

use crate::cli::{BuilderArgs, Command, GraphArgs, Selection};

/// Runs a subcommand; returns the exit code.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Execute(args) => execute::run(args),
        Command::Status(args) => status::run(args),
        Command::Value(args) => value::run(args),
        Command::Invalidate(args) => invalidate::run(args),
    }
}

/// A component with its graph built, and where its results live.
pub struct Loaded {
    pub program: Program,
    pub graph: Graph,
    pub store: StoreLocation,
}

/// Everything before a subcommand's real work. The store location is checked first and
/// nothing is created until the graph has been built, so bad input leaves no trace.
pub fn load(args: &GraphArgs, builder: &BuilderArgs) -> anyhow::Result<Loaded> {
    let stem = args.graph.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let store = match &args.store {
        Some(url) => StoreLocation::parse(url)?,
        None => StoreLocation::default_for(&stem),
    };
    let program = Program::load(&args.graph)?;
    let graph = program.build(&builder.words)?;
    Ok(Loaded { program, graph, store })
}

/// A `--name`/`--pattern` pair as a selector (clap lets at most one through).
pub fn selector(selection: &Selection) -> anyhow::Result<Option<Selector>> {
    Ok(match (&selection.name, &selection.pattern) {
        (Some(name), _) => Some(Selector::name(name)?),
        (None, Some(pattern)) => Some(Selector::pattern(pattern)?),
        (None, None) => None,
    })
}

/// The tasks a selector picks, in definition order; none at all is an error.
pub fn select(graph: &Graph, selector: &Selector) -> anyhow::Result<Vec<usize>> {
    let chosen: Vec<usize> = (0..graph.len()).filter(|&i| selector.matches(graph.name(i))).collect();
    if chosen.is_empty() {
        return Err(NoMatch { selector: selector.describe(), names: graph.names().join(", ") }.into());
    }
    Ok(chosen)
}

/// A selection that matches no task: almost always a typo, so it is an error, not a no-op.
#[derive(Debug, thiserror::Error)]
#[error("no task matches {selector} (task names in this graph: {names})")]
pub struct NoMatch {
    selector: String,
    names: String,
}

/// Writes to stdout, reporting a closed pipe as an error the caller can recognise.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}
