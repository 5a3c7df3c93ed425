//! `jug-host execute`: run every task that has no result yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use jug_core::Graph;
use jug_core::early_exit::EarlyExit;
use jug_core::execute::{self, Event, Options};
use jug_core::results::{LazyStore, StoreResults};
use jug_core::store::{Access, Store, new_owner_id};
use jug_core::text;
use jug_runtime::ahead::{Ahead, AheadRunner};

use crate::cli::ExecuteArgs;
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;
use crate::progress::Progress;
use crate::table;

use super::UsageError;

/// Jug's stop file, looked for in the working directory before each task.
const STOP_FILE: &str = "__jug_please_stop_running.txt";

pub fn run(args: ExecuteArgs) -> Result<ExitCode> {
    if args.aggressive_unload {
        eprintln!(
            "jug-host: note: --aggressive-unload changes nothing here: no result is kept in memory between tasks"
        );
    }
    let selector = super::selector(&args.selection)?;
    let early_exit = if args.no_check_environment { EarlyExit::default() } else { early_exit_from_env()? };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.map_or(cores, |j| j as usize);
    let prepared = super::prepare(&args.graph, args.limits.limits())?;
    // While one thread builds the graph, the others run what it has declared (see
    // `jug_runtime::ahead`): on one core for each job, the builder's included. Not under
    // `JUG_MAX_TASKS`, which bounds the tasks this process runs.
    let threads = jobs.min(cores);
    let ahead = (threads > 1 && early_exit.max_tasks.is_none()).then(|| Ahead::new(selector.clone()));
    std::thread::scope(|scope| {
        if let Some(ahead) = &ahead {
            let (program, reader) = (&prepared.program, &prepared.reader);
            // Running ahead is only a head start: without a thread for it, tasks wait for the
            // scheduler as they would at `-j1`.
            let ahead_thread = || std::thread::Builder::new().name("jug-ahead".into());
            let _ = ahead_thread().spawn_scoped(scope, move || {
                // Tasks whose results are stored are not run ahead: list them first.
                ahead.listed(reader.get().ok().and_then(|store| store.list_results().ok()));
                ahead.work(program);
            });
            for _ in 2..threads {
                let _ = ahead_thread().spawn_scoped(scope, || ahead.work(program));
            }
        }
        let built = super::build(&prepared, &args.builder, ahead.clone());
        if let Some(ahead) = &ahead {
            ahead.close();
        }
        run_built(
            &args,
            &prepared,
            built?,
            Options {
                jobs,
                selector,
                keep_going: args.keep_going,
                keep_failed: args.keep_failed,
                early_exit,
                wait_cycle_time: Duration::from_secs_f64(args.wait_cycle_time),
                nr_wait_cycles: args.nr_wait_cycles,
                owner: new_owner_id(),
                lease: args.lease,
                stop: Arc::new(AtomicBool::new(false)),
            },
            ahead.as_deref(),
        )
    })
}

/// The rest of `execute`, once the graph is built: its tasks run, in rounds while the builder
/// stops at a barrier, and the summary.
fn run_built(
    args: &ExecuteArgs,
    prepared: &super::Prepared,
    graph: Graph,
    options: Options,
    ahead: Option<&Ahead>,
) -> Result<ExitCode> {
    if let Some(selector) = &options.selector {
        super::select(&graph, selector)?;
    }
    let store = Arc::new(Store::open(&prepared.store, Access::ReadWrite)?);
    if let Some(notice) = grants_notice(prepared, &graph) {
        eprintln!("{notice}");
    }

    let (stop, signal) = stop_on_signals()?;
    let options = Options { stop, ..options };
    let progress = Progress::on_terminal();
    let on_event = |e| print_event(&progress, &signal, e);
    let program = &prepared.program;
    let mut graph = graph;
    let mut report = match ahead.and_then(|ahead| Some((ahead, ahead.listing()?))) {
        Some((ahead, listed)) => {
            // What the listing before the build found, the scheduler need not list again.
            if let Ok(reader) = prepared.reader.get() {
                store.adopt_listing(reader);
            }
            let runner = AheadRunner { program, ahead };
            let report = execute::execute_listed(&graph, &store, &runner, &options, &on_event, listed)?;
            let (ran, used) = ahead.counts();
            tracing::debug!("{ran} task(s) ran while the graph was built; {used} of those runs were used");
            report
        }
        None => execute::execute(&graph, &store, program, &options, &on_event)?,
    };
    // A graph that stops at a barrier is run in rounds: run what is declared, build again
    // (now past the barrier), until it is whole or a round makes no progress.
    let mut progressed = executed(&report) > 0;
    while graph.at_barrier() && progressed && can_go_on(&report, &options) {
        let declared_before = graph.len();
        let results = Arc::new(StoreResults::new(Arc::new(LazyStore::opened(store.clone()))));
        graph = program.build(&args.builder.words, results)?;
        let round = execute::execute(&graph, &store, program, &options, &on_event)?;
        progressed = executed(&round) > 0 || graph.len() > declared_before;
        report = merge(report, round);
    }
    progress.finish();
    if graph.at_barrier() {
        eprintln!(
            "jug-host: the graph builder is still stopped at a barrier: a task it needs did not finish here"
        );
    }

    let summary = table::summary(
        &[("Executed", &report.executed), ("Loaded", &report.loaded)],
        args.short,
        table::terminal_columns(),
    );
    super::print(&summary)?;
    if report.reused > 0 {
        let (n, s) = (report.reused, if report.reused == 1 { "" } else { "s" });
        super::print(&format!("{n} result{s} reused: their inputs' results were unchanged\n"))?;
    }
    if let Some(note) = lease_note(&report) {
        super::print(&note)?;
    }
    if let Some(reason) = &report.stopped_early {
        eprintln!(
            "jug-host: stopped early: {reason}; the tasks in flight finished and released their leases"
        );
    }
    if let Some(gave_up) = &report.gave_up {
        let rerun = super::rerun::execute_command(&args.graph, &args.builder);
        for line in super::waits::gave_up(gave_up, args.wait_cycle_time, args.nr_wait_cycles, &rerun) {
            eprintln!("{line}");
        }
    }
    if report.marked_failed > 0 {
        eprintln!(
            "jug-host: {} task(s) marked failed by --keep-failed were not run; `jug-host cleanup {} \
             --failed-only` clears the marks",
            report.marked_failed,
            args.graph.graph.display()
        );
    }
    Ok(match signal.load(Ordering::SeqCst) {
        0 if report.failed.is_empty() => ExitCode::Ok,
        0 => ExitCode::NotDone,
        signal if signal == signal_hook::consts::SIGTERM as usize => ExitCode::Terminated,
        _ => ExitCode::Interrupted,
    })
}

/// One line saying what tasks may touch on the host and where their results go, when they
/// may touch anything: a grant the user did not mean (a stale alias, a graph's own
/// `jug::directory`) shows before anything runs. Nothing when no task sees a directory.
fn grants_notice(prepared: &super::Prepared, graph: &Graph) -> Option<String> {
    let mut grants: Vec<String> = prepared
        .program
        .grants()
        .iter()
        .map(|g| format!("{} as {} ({})", g.host.display(), g.guest, access(g.writable)))
        .collect();
    let per_task: std::collections::BTreeSet<(&str, &str, bool)> = graph
        .tasks()
        .iter()
        .flat_map(|task| &task.dirs)
        .map(|dir| (dir.path.as_str(), dir.guest.as_str(), dir.writable))
        .collect();
    for (path, guest, writable) in per_task {
        grants.push(format!("{path} as {guest} ({}, granted by the graph)", access(writable)));
    }
    if grants.is_empty() {
        return None;
    }
    // The store's Display masks any password in its URL.
    Some(format!("jug-host: tasks may use {}; results go to {}", grants.join(", "), prepared.store))
}

fn access(writable: bool) -> &'static str {
    if writable { "read-write" } else { "read-only" }
}

fn executed(report: &execute::Report) -> u64 {
    report.executed.values().sum()
}

/// Whether another round may start after this report: not after a signal, an early exit, or
/// a failure that stops the run.
fn can_go_on(report: &execute::Report, options: &Options) -> bool {
    !report.interrupted && report.stopped_early.is_none() && (report.failed.is_empty() || options.keep_going)
}

/// One report for several rounds. A task executed in one round is loaded in the next: it
/// counts once, as executed.
fn merge(total: execute::Report, round: execute::Report) -> execute::Report {
    let mut executed = total.executed;
    let mut loaded = round.loaded;
    for (name, count) in &executed {
        if let Some(seen) = loaded.get_mut(name) {
            *seen = seen.saturating_sub(*count);
        }
    }
    loaded.retain(|_, count| *count > 0);
    for (name, count) in round.executed {
        *executed.entry(name).or_default() += count;
    }
    let mut failed = total.failed;
    failed.extend(round.failed);
    execute::Report {
        executed,
        loaded,
        failed,
        taken_over: total.taken_over + round.taken_over,
        duplicates: total.duplicates + round.duplicates,
        reused: total.reused + round.reused,
        ..round
    }
}

/// Jug's early-exit environment: `JUG_MAX_TASKS`, `JUG_MAX_HOURS` + `JUG_MAX_MINUTES` +
/// `JUG_MAX_SECONDS` (added up), `JUG_EXIT_IF_FILE_EXISTS`, and the stop file.
fn early_exit_from_env() -> Result<EarlyExit> {
    let number = |name: &str| -> Result<Option<f64>> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(text) => match text.trim().parse::<f64>() {
                Ok(n) if n >= 0.0 && n.is_finite() => Ok(Some(n)),
                _ => Err(UsageError(format!("{name} must be a number >= 0, got `{text}`")).into()),
            },
        }
    };
    let max_tasks = match number("JUG_MAX_TASKS")? {
        Some(n) if n.fract() == 0.0 => Some(n as u64),
        Some(_) => return Err(UsageError("JUG_MAX_TASKS must be a whole number".into()).into()),
        None => None,
    };
    let budget: Option<f64> =
        [("JUG_MAX_HOURS", 3600.0), ("JUG_MAX_MINUTES", 60.0), ("JUG_MAX_SECONDS", 1.0)]
            .iter()
            .map(|(name, scale)| number(name).map(|n| n.map(|n| n * scale)))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .reduce(|a, b| a + b);
    let mut stop_files = vec![std::path::PathBuf::from(STOP_FILE)];
    if let Some(file) = std::env::var_os("JUG_EXIT_IF_FILE_EXISTS") {
        stop_files.push(file.into());
    }
    Ok(EarlyExit {
        max_tasks,
        // A budget too long to count (JUG_MAX_HOURS=1e16) never runs out.
        deadline: budget
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .and_then(|d| std::time::Instant::now().checked_add(d)),
        stop_files,
    })
}

/// Jug has no leases, so its summary says nothing about them; ours adds a line only when
/// something happened that a user running many workers wants to know.
fn lease_note(report: &execute::Report) -> Option<String> {
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if report.taken_over > 0 {
        parts.push(plural(
            report.taken_over,
            "task taken over from an expired lease",
            "tasks taken over from expired leases",
        ));
    }
    if report.duplicates > 0 {
        parts.push(plural(
            report.duplicates,
            "duplicate execution (another worker stored the same result first)",
            "duplicate executions (another worker stored the same results first)",
        ));
    }
    (!parts.is_empty()).then(|| format!("{}.\n", parts.join("; ")))
}

fn print_event(progress: &Progress, signal: &AtomicUsize, event: Event) {
    let say = |line: String| progress.println(&line);
    match event {
        Event::Progress { done, to_run } => progress.set(done, to_run),
        Event::TaskFailed { name, key, failure } => {
            let (name, message) = (text::one_line(&name), text::one_line(&failure.message));
            say(format!("jug-host: task {name} (key {}) failed: {message}", key.short()))
        }
        Event::DamagedResult { name, key, reason } => say(format!(
            "jug-host: warning: the stored result of {name} (key {}) is damaged ({reason}); recomputing it",
            key.short()
        )),
        Event::Waiting { seconds, held_elsewhere } => {
            // Say once why we are idle (Jug is silent here, which looks like a hang); the
            // rest of the waits only at RUST_LOG=info.
            static TOLD: AtomicBool = AtomicBool::new(false);
            if !TOLD.swap(true, Ordering::SeqCst) {
                say(format!(
                    "jug-host: waiting for tasks held by other workers ({held_elsewhere}) or not selected \
                     by --name/--pattern; polling every {seconds} s (see --wait-cycle-time, --nr-wait-cycles)"
                ));
            }
            tracing::info!("waiting {seconds} secs for {held_elsewhere} task(s) held by other workers")
        }
        Event::TookOver { lease, first, from } => say(format!(
            "jug-host: taking over the tasks of {lease} (first {first}): the lease of {} (pid {} on {}) expired",
            from.owner, from.pid, from.host
        )),
        Event::LeaseLost { lease } => say(format!(
            "jug-host: warning: another worker took over the tasks of {lease} because our lease was not \
             renewed in time; both may run them (see --lease)"
        )),
        Event::RenewalFailed { error } => {
            let error = jug_core::store::mask_credentials_in(&error);
            say(format!("jug-host: warning: could not renew our leases: {error}"))
        }
        Event::Stopping { in_flight } => {
            say(super::waits::stopping(signal.load(Ordering::SeqCst), &in_flight))
        }
    }
}

/// SIGINT/SIGTERM ask the scheduler to stop after the tasks in flight, so their locks are
/// released; a second signal exits at once.
fn stop_on_signals() -> Result<(Arc<AtomicBool>, Arc<AtomicUsize>)> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let which = Arc::new(AtomicUsize::new(0));
    // In this order (signal-hook runs a signal's actions in the order registered): the exit
    // checks `stop` before this signal sets it, and `which` is set before `stop`, so whoever
    // sees `stop` can name the signal.
    for signal in [SIGINT, SIGTERM] {
        let registered = signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, stop.clone())
            .and_then(|_| signal_hook::flag::register_usize(signal, which.clone(), signal as usize))
            .and_then(|_| signal_hook::flag::register(signal, stop.clone()));
        registered.map_err(Error::system("cannot install the SIGINT and SIGTERM handlers"))?;
    }
    Ok((stop, which))
}
