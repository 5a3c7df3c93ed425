//! `jug-host log`: what the selected tasks printed on their last run, and how it ended.
//!
//! Each task gets a header line — `== tasks.explode (key 1a2b3c4d5e6f): failed (trap): …` —
//! then its output as it was printed. The state comes from the store (one listing each of
//! results, logs, failure marks and leases); the log says how the last run ended, and a log
//! that the store has since overtaken (a failure, then a success that printed nothing) says
//! so. Of many tasks, only those with something to show are listed, and a line counts the
//! rest.

use jug_core::Key;
use jug_core::failure::FailureRecord;
use jug_core::status::{self, State};
use jug_core::task_log::{LogOutcome, TaskLog};
use jug_core::text;

use crate::cli::LogArgs;
use crate::errors::Result;
use crate::exit_code::ExitCode;

use super::Observed;

/// One selected task, and what the store holds for it.
struct Entry {
    name: String,
    key: Key,
    state: State,
    /// `failed/<key>` (`execute --keep-failed`), if there is one; its content if readable.
    mark: Option<Option<FailureRecord>>,
    log: Option<TaskLog>,
}

pub fn run(args: LogArgs) -> Result<ExitCode> {
    let loaded = super::load(&args.graph, &args.builder)?;
    let chosen = super::select_named(&loaded.graph, &args.tasks)?;
    let observed = Observed::read(&loaded)?;
    let states = status::states(&loaded.graph, &observed.snapshot);
    let store = loaded.reader.get()?;
    let logs = store.list_logs()?;

    // Of several tasks, only those with something to show, unless asked for all of them.
    let everything = args.all || args.json || chosen.len() == 1;
    let mut entries = Vec::new();
    let mut hidden: Vec<State> = Vec::new();
    for &i in &chosen {
        let key = loaded.graph.task(i).key;
        let marked = observed.snapshot.failed.contains(&key);
        if !everything && !logs.contains(&key) && !marked {
            hidden.push(states[i]);
            continue;
        }
        let log = if logs.contains(&key) { store.get_task_log(&key)? } else { None };
        let mark = match marked {
            true => Some(store.get_failure(&key)?.and_then(|bytes| serde_json::from_slice(&bytes).ok())),
            false => None,
        };
        entries.push(Entry { name: loaded.graph.name(i).to_owned(), key, state: states[i], mark, log });
    }

    if args.json {
        let documents: Vec<serde_json::Value> = entries.iter().map(json).collect();
        super::print(&format!("{:#}\n", serde_json::Value::Array(documents)))?;
        return Ok(ExitCode::Ok);
    }
    let mut out = String::new();
    for entry in &entries {
        let name = text::one_line(&entry.name);
        out.push_str(&format!("== {name} (key {}): {}\n", entry.key.short(), header(entry)));
        if let Some(log) = &entry.log {
            let output = log.output_text();
            let shown = text::lines(&output);
            out.push_str(&shown);
            if !shown.is_empty() && !shown.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    if !hidden.is_empty() {
        out.push_str(&hidden_line(&hidden, entries.is_empty()));
    }
    super::print(&out)?;
    Ok(ExitCode::Ok)
}

/// What follows `== name (key …): ` — how the last run ended, then how that compares with
/// what the store says now.
fn header(entry: &Entry) -> String {
    let marked = "; marked Failed: execute skips it until `cleanup --failed-only`";
    let Some(log) = &entry.log else {
        return match (&entry.mark, entry.state) {
            (Some(Some(record)), _) => format!("{}{marked}", failed(&record.failure)),
            (Some(None), _) => format!("failed{marked}"),
            (None, State::Complete) => "complete, no output".to_owned(),
            (None, State::Active) => "running now".to_owned(),
            (None, State::Waiting) => "not run yet (waiting for its inputs)".to_owned(),
            (None, State::Ready | State::Failed) => "not run yet".to_owned(),
        };
    };
    let Some(record) = &log.record else {
        let now = if entry.state == State::Complete { "complete" } else { "not complete" };
        return format!("{now}; the log of an earlier run, without a record (an older jug-host wrote it)");
    };
    let ran = match (&record.failure, &record.reused_from) {
        (Some(failure), _) => failed(failure),
        (None, Some(source)) => format!(
            "reused the result of key {} (same code, same input values: nothing ran)",
            text::one_line(source.get(..12).unwrap_or(source))
        ),
        (None, None) => "ok".to_owned(),
    };
    let since = match (record.outcome, entry.state) {
        (LogOutcome::Failed, State::Complete) => " (from an earlier run; the task has since completed)",
        (LogOutcome::Failed, _) if entry.mark.is_some() => marked,
        (_, State::Active) => " (from an earlier run; it is running again now)",
        (LogOutcome::Ok, State::Complete) => "",
        (LogOutcome::Ok, _) => " (from an earlier run; its result has since been removed)",
        (LogOutcome::Failed, _) => "",
    };
    format!("{ran}{since}")
}

/// `failed (trap): panicked at …`, lines after the first indented under it.
fn failed(failure: &jug_core::failure::Failure) -> String {
    let message = text::lines(failure.message.trim_end()).replace('\n', "\n   ");
    format!("failed ({}): {message}", failure.kind)
}

/// `== 97 more tasks without a log: 95 complete, no output; 2 not run yet (--all shows them)`
fn hidden_line(hidden: &[State], none_shown: bool) -> String {
    let count = |wanted: &[State]| hidden.iter().filter(|s| wanted.contains(s)).count();
    let parts: Vec<String> = [
        (count(&[State::Complete]), "complete, no output"),
        (count(&[State::Active]), "running now"),
        (count(&[State::Ready, State::Waiting, State::Failed]), "not run yet"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let (n, more) = (hidden.len(), if none_shown { "" } else { " more" });
    let tasks = if n == 1 { "task" } else { "tasks" };
    format!("== {n}{more} {tasks} without a log: {} (--all shows them)\n", parts.join("; "))
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Failed => "failed",
        State::Waiting => "waiting",
        State::Ready => "ready",
        State::Complete => "complete",
        State::Active => "active",
    }
}

/// `{name, key, state, marked_failed, log: {outcome, failure, ran_unix_ms, owner, output} | null}`
fn json(entry: &Entry) -> serde_json::Value {
    let log = entry.log.as_ref().map(|log| {
        let record = log.record.as_ref();
        serde_json::json!({
            "outcome": record.map(|r| r.outcome),
            "failure": record.and_then(|r| r.failure.as_ref()),
            "ran_unix_ms": record.map(|r| r.ran_unix_ms),
            "owner": record.map(|r| r.owner.as_str()),
            "reused_from": record.and_then(|r| r.reused_from.as_deref()),
            "output": log.output_text(),
        })
    });
    serde_json::json!({
        "name": entry.name,
        "key": entry.key.to_hex(),
        "state": state_name(entry.state),
        "marked_failed": entry.mark.as_ref().map(|record| match record {
            Some(record) => serde_json::json!(record),
            None => serde_json::json!({}),
        }),
        "log": log,
    })
}
