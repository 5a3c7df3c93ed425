//! One file per subcommand, plus what they share: load the component, build its graph,
//! find its store, select tasks by name.

mod cache;
mod check;
mod cleanup;
mod count;
mod demo;
mod diagram;
mod execute;
mod explain;
mod invalidate;
mod log;
mod manual;
mod rerun;
mod status;
mod value;
mod verify;
mod waits;
mod webstatus;

use std::io::Write as _;

use std::sync::Arc;

use jug_core::results::{LazyStore, StoreResults};
use jug_core::select::Selector;
use jug_core::store::{Lease, LockName, StoreLocation};
use jug_core::{Graph, Key};
use jug_runtime::Program;

use crate::cli::{BuilderArgs, Command, GraphArgs, Selection};
pub use crate::errors::{Error, NoMatch, Result, UsageError};
use crate::exit_code::ExitCode;

/// Runs a subcommand; returns the exit code.
pub fn run(command: Command) -> Result<ExitCode> {
    cache::configure()?;
    match command {
        Command::Execute(args) => execute::run(args),
        Command::Status(args) => status::run(args),
        Command::Value(args) => value::run(args),
        Command::Log(args) => log::run(args),
        Command::Invalidate(args) => invalidate::run(args),
        Command::Cleanup(args) => cleanup::run(args),
        Command::Check(args) => check::check(args),
        Command::SleepUntil(args) => check::sleep_until(args),
        Command::Count(args) => count::run(args),
        Command::Graph(args) => diagram::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Cache(args) => cache::run(args),
        Command::Webstatus(args) => webstatus::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Completions(args) => manual::completions(args),
        Command::Man => manual::man(),
    }
}

/// A component with its graph built, and where its results live.
pub struct Loaded {
    pub program: Program,
    pub graph: Graph,
    pub store: StoreLocation,
    /// The store, read-only, opened on first use: what the builder's `bvalue`/`barrier` saw.
    pub reader: Arc<LazyStore>,
}

/// Everything before a subcommand's real work. The store is opened read-only, so nothing is
/// created until the graph has been built and bad input leaves no trace.
pub fn load(args: &GraphArgs, builder: &BuilderArgs) -> Result<Loaded> {
    load_with(args, builder, jug_runtime::Limits::default())
}

/// [`load`], for commands that run tasks: with the limits they run them under.
pub fn load_with(args: &GraphArgs, builder: &BuilderArgs, limits: jug_runtime::Limits) -> Result<Loaded> {
    let prepared = prepare(args, limits)?;
    let graph = build(&prepared, builder, None)?;
    Ok(Loaded { program: prepared.program, graph, store: prepared.store, reader: prepared.reader })
}

/// A program loaded, with its store, before its graph is built.
pub struct Prepared {
    pub program: Program,
    pub store: StoreLocation,
    pub reader: Arc<LazyStore>,
}

/// The first half of [`load_with`]: the component loaded and the store located.
pub fn prepare(args: &GraphArgs, limits: jug_runtime::Limits) -> Result<Prepared> {
    let stem = args.graph.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let store = match &args.store {
        Some(url) => StoreLocation::parse(url)?,
        None => StoreLocation::default_for(&stem),
    };
    let limits = jug_runtime::Limits { build: args.build.limits(), ..limits };
    let started = std::time::Instant::now();
    let program = Program::load_with(&args.graph, limits)?.with_grants(args.grants());
    let program = program.with_policy(policy(args, &store)?);
    tracing::debug!("loaded {} in {:.1?}", args.graph.display(), started.elapsed());
    let reader = Arc::new(LazyStore::read_only(store.clone()));
    Ok(Prepared { program, store, reader })
}

/// The second half of [`load_with`]: the graph built, each task offered to `ahead` as it is
/// declared (see `jug_runtime::ahead`).
pub fn build(
    prepared: &Prepared,
    builder: &BuilderArgs,
    ahead: Option<Arc<jug_runtime::ahead::Ahead>>,
) -> Result<Graph> {
    let started = std::time::Instant::now();
    let results = Arc::new(StoreResults::new(prepared.reader.clone()));
    let graph = prepared.program.build_ahead(&builder.words, results, ahead)?;
    let store = &prepared.store;
    tracing::debug!("built the graph: {} tasks in {:.1?}; store {store}", graph.len(), started.elapsed());
    Ok(graph)
}

/// What the graph may grant its tasks: the user's `--dir` and `--allow-write`, and what it may
/// never reach on its own (the local store, the compiled-component cache).
fn policy(args: &GraphArgs, store: &StoreLocation) -> Result<jug_runtime::policy::Policy> {
    let store = match store {
        StoreLocation::Local(path) => Some(path.as_path()),
        _ => None,
    };
    let cache = jug_runtime::cache::directory();
    jug_runtime::policy::Policy::new(&args.grants(), &args.allow_write, store, cache.as_deref())
        .map_err(|e| UsageError(e.to_string()).into())
}

/// A `--name`/`--pattern` pair as a selector (clap lets at most one through).
pub fn selector(selection: &Selection) -> Result<Option<Selector>> {
    Ok(match (&selection.name, &selection.pattern) {
        (Some(name), _) => Some(Selector::name(name)?),
        (None, Some(pattern)) => Some(Selector::pattern(pattern)?),
        (None, None) => None,
    })
}

/// The tasks a selector picks, in definition order; none at all is an error.
pub fn select(graph: &Graph, selector: &Selector) -> Result<Vec<usize>> {
    let chosen: Vec<usize> = (0..graph.len()).filter(|&i| selector.matches(graph.name(i))).collect();
    if chosen.is_empty() {
        return Err(NoMatch { selector: selector.describe(), names: graph.names().join(", ") }.into());
    }
    Ok(chosen)
}

/// The tasks a `TaskNames` picks (name or pattern, then key prefix), in definition order;
/// none at all is an error.
pub fn select_named(graph: &Graph, tasks: &crate::cli::TaskNames) -> Result<Vec<usize>> {
    let selector = tasks.selector()?;
    let mut chosen = match &selector {
        Some(selector) => select(graph, selector)?,
        None => (0..graph.len()).collect(),
    };
    if let Some(prefix) = &tasks.key {
        chosen.retain(|&i| graph.task(i).key.to_hex().starts_with(prefix.as_str()));
        if chosen.is_empty() {
            let named = selector.map(|s| format!("{} and ", s.describe())).unwrap_or_default();
            let selector = format!("{named}--key {prefix}");
            return Err(NoMatch { selector, names: graph.names().join(", ") }.into());
        }
    }
    Ok(chosen)
}

/// Writes to stdout, reporting a closed pipe as an error the caller can recognise.
pub fn print(text: &str) -> Result<()> {
    print_bytes(text.as_bytes())
}

/// [`print`] for binary output (`value --cbor`).
pub fn print_bytes(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush()).map_err(Error::Output)
}

/// What the store says about a graph at one moment: results, live leases, failure marks,
/// and the expired leases among its tasks. A few listings, never one request per task.
pub struct Observed {
    pub snapshot: jug_core::status::Snapshot,
    pub expired: Vec<(jug_core::Key, Option<jug_core::store::Lease>)>,
    /// Every lease in the store, live or expired, as listed (`webstatus` shows them all).
    pub leases: Vec<(LockName, Option<Lease>)>,
}

impl Observed {
    pub fn read(loaded: &Loaded) -> Result<Observed> {
        let (store, graph) = (loaded.reader.get()?, &loaded.graph);
        let results = store.list_results()?;
        let failed = store.list_failures()?;
        let now = std::time::SystemTime::now();
        let mut leases: Vec<_> = store.leases()?.into_iter().collect();
        leases.sort_by_key(|(name, _)| *name);
        let (live, expired): (Vec<_>, Vec<_>) =
            leases.iter().cloned().partition(|(_, lease)| lease.as_ref().is_none_or(|l| !l.is_expired(now)));
        // A lease covers a shard of the key space (see `store::leases`): the graph's tasks
        // in it without a result are the ones it holds.
        let covered = |leases: &[(LockName, Option<Lease>)], key: &Key| {
            leases.iter().find(|(name, _)| name.covers(key)).map(|(_, lease)| lease.clone())
        };
        let unfinished = graph.tasks().iter().map(|t| t.key).filter(|key| !results.contains(key));
        let mut locks = std::collections::HashSet::new();
        let mut expired_tasks = Vec::new();
        for key in unfinished {
            if covered(&live, &key).is_some() {
                locks.insert(key);
            } else if let Some(lease) = covered(&expired, &key) {
                expired_tasks.push((key, lease));
            }
        }
        let expired = expired_tasks;
        Ok(Observed { snapshot: jug_core::status::Snapshot { results, locks, failed }, expired, leases })
    }

    /// "2 tasks are under expired leases (…)", for the unfinished tasks of this graph.
    pub fn expired_note(&self) -> Option<String> {
        if self.expired.is_empty() {
            return None;
        }
        let mut owners: Vec<String> = Vec::new();
        for lease in self.expired.iter().filter_map(|(_, lease)| lease.as_ref()) {
            let owner = format!("pid {} on {}", lease.record.pid, lease.record.host);
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
        let (tasks, leases, them) = match self.expired.len() {
            1 => ("1 task is".to_owned(), "an expired lease", "it"),
            n => (format!("{n} tasks are"), "expired leases", "them"),
        };
        let workers = if owners.len() == 1 { "worker" } else { "workers" };
        Some(format!(
            "{tasks} under {leases} (counted as Ready; silent {workers}: {}); the next execute takes {them} over.\n",
            owners.join(", ")
        ))
    }

    pub fn expired_json(&self, graph: &Graph) -> serde_json::Value {
        let name_of = |key: &jug_core::Key| {
            graph.tasks().iter().position(|t| t.key == *key).map(|i| graph.name(i).to_owned())
        };
        self.expired
            .iter()
            .map(|(key, lease)| {
                serde_json::json!({
                    "name": name_of(key),
                    "key": key.to_hex(),
                    "owner": lease.as_ref().map(|l| l.record.owner.clone()),
                    "host": lease.as_ref().map(|l| l.record.host.clone()),
                    "pid": lease.as_ref().map(|l| l.record.pid),
                })
            })
            .collect()
    }
}
