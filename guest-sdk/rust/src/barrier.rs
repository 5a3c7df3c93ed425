//! Graphs that depend on results: Jug's `barrier()` and `bvalue()`.
//!
//! A builder that needs a result to decide what to declare next asks for it with
//! [`bvalue`]; one that needs everything so far to be done calls [`barrier`]. Either returns
//! an error while the answer is not stored yet: propagate it with `?`, and the build stops
//! there. `jug-host execute` runs the tasks declared so far, then runs the builder again —
//! now past the barrier — until the whole graph is declared and done.

use serde::de::DeserializeOwned;

use crate::bindings::jug::task::graph;
use crate::{Error, Task};

/// Stops the build here unless every task declared so far has a result.
pub fn barrier() -> crate::Result {
    if graph::barrier() { Ok(()) } else { Err(Error::at_barrier()) }
}

/// The result of `task`, if it is stored; otherwise stops the build here (with `?`).
pub fn bvalue<T: DeserializeOwned>(task: &Task<T>) -> crate::Result<T> {
    match graph::value(&task.key()) {
        Some(bytes) => ciborium::from_reader(bytes.as_slice())
            .map_err(|e| Error::from(format!("jug: cannot decode the result of {task:?}: {e}"))),
        None => Err(Error::at_barrier()),
    }
}
