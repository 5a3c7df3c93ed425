//! Tasks whose functions live in another component: a library of task functions, possibly
//! written in Python or JavaScript.
//!
//! The host loads the library's `.wasm` file (relative to this graph's file), and its code
//! identity, not this component's, goes into the keys of its tasks: rebuilding the library
//! with changed code re-runs exactly its tasks and what depends on them. Its tasks are named
//! after its file: `stats.mean` for `stats.wasm`.
//!
//! ```ignore
//! let stats = jug::library("stats.wasm");
//! let mean: jug::Task<f64> = stats.task("mean", vec![jug::arg(&samples)]);
//! ```
//!
//! The compiler cannot check a function of another component: the arguments must be what it
//! expects, and `R` what it returns (a mismatch fails the task, or the one reading it).

use ciborium::Value;

use crate::bindings::jug::task::graph;
use crate::{Arg, Task};

/// A component whose task functions this graph uses.
#[derive(Debug, Clone)]
pub struct Library {
    path: String,
}

/// The task component at `path`, relative to the directory of this graph's `.wasm` file.
pub fn library(path: &str) -> Library {
    Library { path: path.to_owned() }
}

/// One argument for [`Library::task`]: a value, a task, a tasklet or a container of them,
/// as for a task function of this component.
pub fn arg<T>(value: &impl Arg<T>) -> Value {
    value.to_template()
}

impl Library {
    /// Declares `function(args…)` of the library, whose result is an `R`.
    ///
    /// Panics (failing the build with the message) when the library cannot be loaded or the
    /// declaration is refused, as declaring a task of this component does.
    pub fn task<R>(&self, function: &str, args: Vec<Value>) -> Task<R> {
        let template = match crate::cbor::encode(Value::Array(args)) {
            Ok(bytes) => bytes,
            Err(e) => panic!("jug: cannot encode the arguments of `{function}`: {e}"),
        };
        match graph::declare_in(&self.path, function, &template) {
            Ok(key) => {
                Task::from_key(key).unwrap_or_else(|_| panic!("jug: the host returned a malformed key"))
            }
            Err(e) => panic!("jug: cannot declare task `{function}` of {}: {e}", self.path),
        }
    }
}
