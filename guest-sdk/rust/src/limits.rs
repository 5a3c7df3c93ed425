//! Limits for one task, in place of `jug-host execute`'s `--timeout`, `--fuel` and
//! `--max-memory` for it: a task known to be long, or one that must never be.
//!
//! ```ignore
//! use std::time::Duration;
//! let fit = train(data).with_limits(jug::Limits { timeout: Some(Duration::from_secs(3600)), ..Default::default() });
//! ```
//!
//! Limits are not part of the key: they decide whether a task finishes, not what it returns.

use std::time::Duration;

use crate::Task;
use crate::bindings::jug::task::graph;

/// What one task may use; `None` keeps the command line's limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Wall time.
    pub timeout: Option<Duration>,
    /// Instructions, counted the same on every machine.
    pub fuel: Option<u64>,
    /// Bytes of memory.
    pub max_memory: Option<u64>,
}

impl<T> Task<T> {
    /// This task, with its own limits.
    pub fn with_limits(self, limits: Limits) -> Task<T> {
        let limits = graph::TaskLimits {
            timeout_ms: limits.timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            fuel: limits.fuel,
            max_memory: limits.max_memory,
        };
        if let Err(e) = graph::set_limits(&self.key(), limits) {
            panic!("jug: cannot set the limits of {self:?}: {e}");
        }
        self
    }
}
