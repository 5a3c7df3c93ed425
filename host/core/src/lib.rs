//! # jug-core: the engine of jug-host, without the WebAssembly runtime
//!
//! Everything here is plain Rust with no wasmtime dependency, so it builds and tests fast:
//!
//! - [`key`]: task keys (a Merkle hash over code, function and arguments);
//! - [`cbor`]: the deterministic CBOR rules, task references, splicing results into arguments;
//! - [`code`]: a component's code identity (its bytes minus non-semantic custom sections);
//! - [`graph`]: the task graph a component's builder declares; [`compound`]: what a compound
//!   task's result is valid for;
//! - [`select`]: Jug's `--name` / `--pattern` task selection;
//! - [`store`]: results, locks and logs in object storage; [`task_log`]: what a log holds;
//! - [`manifest`]: what went into stored results' keys, for `status --explain`;
//! - [`status`]: Jug's task states, and per-name [`Counts`] of them;
//! - [`text`]: guest text made safe to show on a terminal;
//! - [`execute`]: the scheduler that runs ready tasks through a [`execute::Runner`];
//!   [`trace`]: early cutoff, reusing a result when only upstream keys changed;
//! - [`verify`]: runs complete tasks again and compares with their stored results;
//! - [`cleanup`]: what `cleanup` may remove from a store others may share.
//!
//! The runtime crate (`jug-runtime`) supplies the `Runner` and builds [`graph::Graph`]s by
//! running components; the `jug-host` binary is a thin CLI over both, which also lays out what
//! it prints (Jug's summary tables, values as JSON).

pub mod cbor;
pub mod cleanup;
pub mod clock;
pub mod code;
pub mod compound;
pub mod early_exit;
pub mod execute;
pub mod failure;
mod fan_out;
pub mod graph;
pub mod key;
pub mod manifest;
pub mod pause;
pub mod results;
pub mod select;
pub mod status;
pub mod store;
pub mod task_log;
pub mod text;
pub mod trace;
pub mod verify;

pub use graph::{Graph, GraphBuilder, TaskSpec};
pub use key::Key;

/// Per task name, one count: what `status`, `execute` and `invalidate` report, and what the
/// CLI prints as the rows of Jug's summary tables.
pub type Counts = std::collections::BTreeMap<String, u64>;

/// An error and its causes on one line, `what failed: why` (store errors quote their
/// sources; those are not repeated). jug-host reports every error this way.
pub fn error_line(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}
