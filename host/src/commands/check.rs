//! `jug-host check` and `sleep-until`: is the graph done, and wait until it is.

use jug_core::status::{self, State};

use crate::cli::{CheckArgs, SleepUntilArgs};
use crate::errors::Result;
use crate::exit_code::ExitCode;

use super::Observed;

/// Exit 0 iff every task has a result; prints nothing (Jug's `check`).
pub fn check(args: CheckArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let observed = Observed::read(&loaded)?;
    let done = !loaded.graph.at_barrier()
        && status::states(&loaded.graph, &observed.snapshot).iter().all(|s| *s == State::Complete);
    Ok(if done { ExitCode::Ok } else { ExitCode::NotDone })
}

/// Polls until every task has a result, then exits 0. Unlike Jug's, it does not wait
/// forever on a task marked failed by `--keep-failed`: that one will never finish, so it
/// says so and exits 1.
pub fn sleep_until(args: SleepUntilArgs) -> Result<ExitCode> {
    let pause = std::time::Duration::from_secs_f64(args.wait_cycle_time);
    loop {
        // Built anew each time: past a barrier the graph grows, and a store that did not
        // exist at the first look may exist now.
        let loaded = super::load(&args.graph, &args.builder)?;
        let observed = Observed::read(&loaded)?;
        let states = status::states(&loaded.graph, &observed.snapshot);
        if !loaded.graph.at_barrier() && states.iter().all(|s| *s == State::Complete) {
            return Ok(ExitCode::Ok);
        }
        let failed = states.iter().filter(|s| **s == State::Failed).count();
        if failed > 0 {
            eprintln!(
                "jug-host: {failed} task(s) are marked failed and will not finish; see `jug-host status {}`",
                args.graph.graph.display()
            );
            return Ok(ExitCode::NotDone);
        }
        std::thread::sleep(pause);
    }
}
