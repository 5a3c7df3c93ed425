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
        stop,
    };
    let report = execute::execute(&loaded.graph, &store, &loaded.program, &options, &print_event)?;

    let summary = table::summary(
        &[("Executed", &report.executed), ("Loaded", &report.loaded)],
        args.short,
        table::terminal_columns(),
    );
    super::print(&summary)?;
    Ok(match signal.load(Ordering::SeqCst) {
        0 if report.failed.is_empty() => exit_code::OK,
        0 => exit_code::NOT_DONE,
        signal if signal == signal_hook::consts::SIGTERM as usize => exit_code::TERMINATED,
        _ => exit_code::INTERRUPTED,
    })
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
