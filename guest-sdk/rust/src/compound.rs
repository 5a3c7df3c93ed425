//! Jug's compound tasks: a task whose result comes from a sub-graph the builder declares.
//!
//! `compound("pipeline", &args, || { …declare tasks…; Ok(final_task) })` is a task of its own,
//! named `<stem>.pipeline` and keyed by the name and `args` (not by the sub-graph), whose
//! result is `final_task`'s. Once that result is stored, the builder does not call the closure
//! at all: the sub-graph's tasks leave the graph and `status` shows the compound task alone,
//! while tasks that take it keep their keys.
//!
//! The stored result is valid only for the code the sub-graph ran: the graph's own, and that of
//! every library its tasks came from (`jug::library`). The host records those libraries with
//! the result; when one of them changes, the result counts as not stored, the closure is called
//! again, and the compound task (and everything downstream of it) gets a new key. As in Jug,
//! the sub-graph must follow from `name` and `args` alone.

use serde::Serialize;

use crate::bindings::jug::task::graph;
use crate::{Error, Task};

/// Declares the compound task `name(args)`; `build` declares its sub-graph when its result is
/// not stored yet and returns the task whose result becomes the compound task's.
pub fn compound<T, A: Serialize>(
    name: &str,
    args: &A,
    build: impl FnOnce() -> crate::Result<Task<T>>,
) -> crate::Result<Task<T>> {
    let template = crate::cbor::encode(crate::cbor::to_value(args)).map_err(Error::from)?;
    let (key, stored) = graph::compound(name, &template).map_err(Error::from)?;
    let inner = if stored { None } else { Some(build()?.key()) };
    // The key declared may differ from the one asked about: it covers the libraries `build` used.
    let key = graph::declare_compound(&key, inner.as_ref().map(|k| &k[..])).map_err(Error::from)?;
    Task::from_key(key)
}
