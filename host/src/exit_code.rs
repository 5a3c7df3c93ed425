//! Every exit code of `jug-host`, in one place.
//!
//! 0 and 1 keep Jug's meanings so scripts written for Jug keep working; the others tell
//! apart the ways a command can be refused before any task runs.

/// The command did what was asked: `execute` ran without a task failing, `status` found every
/// task complete.
pub const OK: i32 = 0;
/// Jug's "not done": `status` found tasks that are not complete, `execute` had a task fail,
/// `value` was asked for a task with no result yet.
pub const NOT_DONE: i32 = 1;
/// The command line is wrong (unknown option, missing argument, empty `--pattern`), or an
/// environment variable it reads (`JUG_MAX_TASKS`…) is.
pub const USAGE: i32 = 2;
/// The graph file cannot be used: missing, not WebAssembly, a core module instead of a
/// component, or a component that does not implement the `jug:task/task` world.
pub const BAD_GRAPH: i32 = 3;
/// The component's graph builder failed, crashed or declared an invalid task.
pub const BUILD_FAILED: i32 = 4;
/// The store URL is invalid, or the store could not be read or written.
pub const STORE: i32 = 5;
/// `--name`, `--pattern` or a task name matched no task of the graph.
pub const NO_MATCH: i32 = 6;
/// A stored result failed its checksum; it was removed so `execute` recomputes it.
pub const DAMAGED_RESULT: i32 = 7;
/// `verify`: a task run again gave other bytes than its stored result, or failed, or could
/// not be run again (its stored result or an input's is damaged or gone).
pub const MISMATCH: i32 = 8;
/// Stopped by SIGINT (128 + 2); held locks were released.
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + 15); held locks were released.
pub const TERMINATED: i32 = 143;

/// The exit code for an error, by what kind of error it is.
pub fn for_error(error: &anyhow::Error) -> i32 {
    use jug_core::select::SelectError;
    use jug_core::store::StoreError;
    use jug_runtime::{BuildError, LoadError};

    if error.is::<LoadError>() {
        BAD_GRAPH
    } else if let Some(BuildError::Store { .. }) = error.downcast_ref::<BuildError>() {
        STORE
    } else if error.is::<BuildError>() {
        BUILD_FAILED
    } else if error.is::<StoreError>() {
        STORE
    } else if error.is::<crate::errors::NoMatch>() {
        NO_MATCH
    } else if error.is::<jug_core::store::Damaged>() {
        DAMAGED_RESULT
    } else if error.is::<SelectError>() || error.is::<crate::errors::UsageError>() {
        USAGE
    } else {
        NOT_DONE
    }
}
