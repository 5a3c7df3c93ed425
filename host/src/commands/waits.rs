//! What `execute` says when it stops on a signal, or ends with tasks it could not run: one
//! line each, naming the tasks, what they wait for, and what to do about it.

use jug_core::execute::GaveUp;
use jug_core::store::LockRecord;

/// The line printed once when SIGINT or SIGTERM arrives (`signal` 0: not known yet).
pub fn stopping(signal: usize, in_flight: &[String]) -> String {
    let name = match signal as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a stop signal",
    };
    let doing = match in_flight.len() {
        0 => "no task is running: exiting".to_owned(),
        1 => format!(
            "finishing the task in flight ({}), then exiting; its lease is released",
            summary(in_flight)
        ),
        n => format!(
            "finishing the {n} tasks in flight ({}), then exiting; their leases are released",
            summary(in_flight)
        ),
    };
    format!("jug-host: {name} received: starting no more tasks; {doing} (a second signal exits at once)")
}

/// The lines for what a run gave up on, in `rerun`'s terms: how long it waited and with which
/// options, and the command to run again.
pub fn gave_up(gave_up: &GaveUp, wait_cycle_time: f64, nr_wait_cycles: u32, rerun: &str) -> Vec<String> {
    let mut lines = Vec::new();
    // What the run waited (idle, since its last progress) before giving up: the budget.
    let budget = wait_cycle_time * f64::from(nr_wait_cycles);
    let budget = if budget >= 120.0 { format!("{:.0} min", budget / 60.0) } else { format!("{budget:.1} s") };
    let waited = format!(
        "{budget} without progress (--nr-wait-cycles {nr_wait_cycles} × --wait-cycle-time {wait_cycle_time} s)"
    );
    if !gave_up.held.is_empty() {
        let behind = match gave_up.behind_held {
            0 => String::new(),
            n => format!(", and {} that need their results", tasks(n)),
        };
        lines.push(format!(
            "jug-host: gave up after waiting {waited} for {} locked by other workers ({}){behind}; run \
             `{rerun}` again once they finish, or wait longer with a larger --nr-wait-cycles (a worker \
             that died loses its tasks to the next execute when its lease expires)",
            tasks(gave_up.held.len()),
            holders(&gave_up.held)
        ));
    }
    if gave_up.behind_excluded > 0 {
        lines.push(format!(
            "jug-host: gave up after waiting {waited} for the results of tasks --name/--pattern does not \
             select ({}), needed by {} and stored by no other worker; run them with `{rerun}`",
            summary(&gave_up.excluded),
            tasks(gave_up.behind_excluded)
        ));
    }
    if gave_up.behind_failed > 0 {
        lines.push(format!(
            "jug-host: {} not run for want of the results of failed tasks ({}); fix those (`jug-host log` \
             shows why they failed) and run `{rerun}` again",
            tasks(gave_up.behind_failed),
            summary(&gave_up.failed)
        ));
    }
    lines
}

fn tasks(n: usize) -> String {
    if n == 1 { "1 task".to_owned() } else { format!("{n} tasks") }
}

/// `pid 12 on node1 holds tasks.slow (2); pid 40 on node2 holds tasks.fit`: who holds what.
fn holders(held: &[(String, Option<LockRecord>)]) -> String {
    let mut by_holder: Vec<(String, Vec<String>)> = Vec::new();
    for (name, record) in held {
        let holder = match record {
            Some(r) => format!("pid {} on {}", r.pid, r.host),
            None => "a worker whose lock could not be read".to_owned(),
        };
        match by_holder.iter_mut().find(|(h, _)| *h == holder) {
            Some((_, names)) => names.push(name.clone()),
            None => by_holder.push((holder, vec![name.clone()])),
        }
    }
    let shown: Vec<String> = by_holder
        .iter()
        .take(3)
        .map(|(holder, names)| format!("{holder} holds {}", summary(names)))
        .collect();
    match by_holder.len() {
        n if n > 3 => format!("{}; {} more workers", shown.join("; "), n - 3),
        _ => shown.join("; "),
    }
}

/// Task names with how many tasks bear each, the first three names: `tasks.a (2), tasks.b`.
fn summary(names: &[String]) -> String {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for name in names {
        match counted.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => *count += 1,
            None => counted.push((name, 1)),
        }
    }
    let mut parts: Vec<String> = counted
        .iter()
        .take(3)
        .map(|&(name, count)| if count == 1 { name.to_owned() } else { format!("{name} ({count})") })
        .collect();
    if counted.len() > 3 {
        parts.push(format!("{} more names", counted.len() - 3));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn names_are_counted_and_cut_after_three() {
        assert_eq!(summary(&names(&["t.a", "t.b", "t.a"])), "t.a (2), t.b");
        assert_eq!(summary(&names(&["t.a", "t.b", "t.c", "t.d", "t.e"])), "t.a, t.b, t.c, 2 more names");
    }

    #[test]
    fn the_stop_line_names_the_signal_and_the_tasks_in_flight() {
        let line = stopping(signal_hook::consts::SIGTERM as usize, &names(&["t.slow", "t.slow"]));
        assert_eq!(
            line,
            "jug-host: SIGTERM received: starting no more tasks; finishing the 2 tasks in flight \
             (t.slow (2)), then exiting; their leases are released (a second signal exits at once)"
        );
        assert!(
            stopping(0, &[]).contains("a stop signal received: starting no more tasks; no task is running")
        );
    }

    #[test]
    fn each_reason_to_give_up_has_its_line() {
        let report = GaveUp {
            behind_excluded: 2,
            excluded: names(&["t.load"]),
            behind_failed: 1,
            failed: names(&["t.fit"]),
            ..GaveUp::default()
        };
        let lines = gave_up(&report, 0.5, 3, "jug-host execute t.wasm");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(
            "jug-host: gave up after waiting 1.5 s without progress (--nr-wait-cycles 3 × --wait-cycle-time 0.5 s) \
             for the results of tasks --name/--pattern does not select (t.load)"
        ));
        assert!(
            lines[0].contains("(t.load), needed by 2 tasks and stored by no other worker"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("jug-host: 1 task not run for want of the results of failed tasks (t.fit)")
        );
    }
}
