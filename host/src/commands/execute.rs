//! `jug-host execute`: run every task that has no result yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use jug_core::execute::{self, Event, Options};
use jug_core::store::{Access, Store, new_owner_id};
use jug_core::table;

use crate::cli::ExecuteArgs;
use crate::exit_code;

pub fn run(args: ExecuteArgs) -> anyhow::Result<i32> {
    let selector = super::selector(&args.selection)?;
    let loaded = super::load(&args.graph, &args.builder)?;
    if let Some(selector) = &selector {
        super::select(&loaded.graph, selector)?;
    }
    let store = Store::open(&loaded.store, Access::ReadWrite)?;

    let (stop, signal) = stop_on_signals()?;
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let options = Options {
        jobs,
        selector,
        keep_going: args.keep_going,
        wait_cycle_time: Duration::from_secs_f64(args.wait_cycle_time),
        nr_wait_cycles: args.nr_wait_cycles,
        owner: new_owner_id(),
        lease: args.lease,
        stop,
    };
    let report = execute::execute(&loaded.graph, &store, &loaded.program, &options, &print_event)?;

    let summary = table::summary(
        &[("Executed", &report.executed), ("Loaded", &report.loaded)],
        args.short,
        table::terminal_columns(),
    );
    super::print(&summary)?;
    if let Some(note) = lease_note(&report) {
        super::print(&note)?;
    }
    Ok(match signal.load(Ordering::SeqCst) {
        0 if report.failed.is_empty() => exit_code::OK,
        0 => exit_code::NOT_DONE,
        signal if signal == signal_hook::consts::SIGTERM as usize => exit_code::TERMINATED,
        _ => exit_code::INTERRUPTED,
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

fn print_event(event: Event) {
    match event {
        Event::TaskFailed { name, key, failure } => {
            eprintln!("jug-host: task {name} (key {}) failed: {}", key.short(), failure.message)
        }
        Event::DamagedResult { name, key, reason } => {
            eprintln!(
                "jug-host: warning: the stored result of {name} (key {}) is damaged ({reason}); recomputing it",
                key.short()
            )
        }
        Event::Waiting { seconds, held_elsewhere } => {
            // Say once why we are idle (Jug is silent here, which looks like a hang); the
            // rest of the waits only at RUST_LOG=info.
            static TOLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
            if !TOLD.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "jug-host: waiting for tasks held by other workers ({held_elsewhere}) or not selected \
                     by --name/--pattern; polling every {seconds} s (see --wait-cycle-time, --nr-wait-cycles)"
                );
            }
            tracing::info!("waiting {seconds} secs for {held_elsewhere} task(s) held by other workers")
        }
        Event::TookOver { name, key, from } => eprintln!(
            "jug-host: taking over {name} (key {}): the lease of {} (pid {} on {}) expired",
            key.short(),
            from.owner,
            from.pid,
            from.host
        ),
        Event::LeaseLost { name, key } => eprintln!(
            "jug-host: warning: another worker took over {name} (key {}) because our lease was not \
             renewed in time; both may run it (see --lease)",
            key.short()
        ),
        Event::RenewalFailed { error } => {
            eprintln!("jug-host: warning: could not renew our leases: {error}")
        }
    }
}

/// SIGINT/SIGTERM ask the scheduler to stop after the tasks in flight, so their locks are
/// released; a second signal exits at once.
fn stop_on_signals() -> anyhow::Result<(Arc<AtomicBool>, Arc<AtomicUsize>)> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let which = Arc::new(AtomicUsize::new(0));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
        signal_hook::flag::register_usize(signal, which.clone(), signal as usize)?;
    }
    Ok((stop, which))
}
