//! Jug's task states, computed from one listing of results and locks.

use std::collections::HashSet;

use crate::{Counts, Graph, Key};

/// The five columns of `jug status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Marked failed (Jug's `--keep-failed`).
    Failed,
    /// Some dependency has no result yet.
    Waiting,
    /// Every dependency has a result; nobody holds the task.
    Ready,
    /// The result is stored.
    Complete,
    /// Every dependency has a result and a worker holds the task's lock.
    Active,
}

/// What the store held at one moment: enough to answer every status question without one
/// request per task.
pub struct Snapshot {
    pub results: HashSet<Key>,
    /// Live leases only: an expired one does not make a task Active.
    pub locks: HashSet<Key>,
    /// Failure records left by `execute --keep-failed`.
    pub failed: HashSet<Key>,
}

/// The state of every task, in definition order.
pub fn states(graph: &Graph, snapshot: &Snapshot) -> Vec<State> {
    graph
        .tasks()
        .iter()
        .map(|task| {
            if snapshot.results.contains(&task.key) {
                State::Complete
            } else if task
                .dependencies
                .iter()
                .all(|&d| snapshot.results.contains(&graph.task(d as usize).key))
            {
                if snapshot.failed.contains(&task.key) {
                    State::Failed
                } else if snapshot.locks.contains(&task.key) {
                    State::Active
                } else {
                    State::Ready
                }
            } else {
                State::Waiting
            }
        })
        .collect()
}

/// Per-name counts for each state, in the column order of Jug's table.
pub fn columns(graph: &Graph, states: &[State]) -> [(&'static str, Counts); 5] {
    let order = [State::Failed, State::Waiting, State::Ready, State::Complete, State::Active];
    let titles = ["Failed", "Waiting", "Ready", "Complete", "Active"];
    let mut columns: [(&'static str, Counts); 5] = titles.map(|t| (t, Counts::new()));
    // Every task name gets a row, with zeros where it has no task in a state.
    for name in graph.names() {
        for (_, counts) in columns.iter_mut() {
            counts.insert(name.clone(), 0);
        }
    }
    for (i, state) in states.iter().enumerate() {
        let column = order.iter().position(|s| s == state).expect("every state has a column");
        *columns[column].1.get_mut(graph.name(i)).expect("name registered") += 1;
    }
    columns
}

/// Jug's `--short` status line.
pub fn short_line(states: &[State]) -> String {
    let count = |s: State| states.iter().filter(|&&x| x == s).count();
    let (failed, waiting, ready, complete, active) = (
        count(State::Failed),
        count(State::Waiting),
        count(State::Ready),
        count(State::Complete),
        count(State::Active),
    );
    if complete == states.len() {
        format!("All tasks complete ({complete} tasks).")
    } else if active == 0 {
        format!(
            "{} tasks waiting to be run, {failed} failed, {complete} complete, (none active).",
            waiting + ready
        )
    } else {
        format!(
            "{} tasks waiting to be run, {failed} failed, {complete} complete, ({active} active).",
            waiting + ready
        )
    }
}
