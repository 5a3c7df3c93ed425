//! # jug-runtime: the WebAssembly side of jug-host
//!
//! Loads a task component once per process ([`Program::load`]), asks its builder for the
//! graph ([`Program::build`]) and runs each task function in a fresh, capability-less
//! instance ([`Program`] implements [`jug_core::execute::Runner`]).
//!
//! - [`engine`]: one wasmtime `Engine` with deterministic settings and the pooling allocator;
//! - [`cache`]: compiled components kept on local disk, so a program compiles once, and
//!   `load_memo`: what a load learned from an unchanged component, so it is not read again;
//! - [`sandbox`]: what a task instance can see (nothing, plus a fixed clock and key-seeded
//!   randomness), and the `log` import;
//! - `graph_imports`: the `jug:task/graph` imports a builder declares its graph with, and
//!   `batch`: the batches of `declare-many`;
//! - [`policy`]: what a graph may grant its tasks, given what the user allowed;
//! - [`program`]: loading, building and running;
//! - [`ahead`]: running declared tasks on idle cores while the graph is still being built;
//! - [`tree`]: the content digest of a granted directory, which goes into keys.

pub mod ahead;
mod batch;
pub mod cache;
mod component_file;
pub mod engine;
mod error;
mod files;
pub mod grants;
mod graph_imports;
pub mod limits;
mod load_memo;
mod pieces;
pub mod policy;
pub mod program;
pub mod sandbox;
mod sealed;
pub mod tree;

pub use error::{BuildError, LoadError};
pub use grants::Grant;
pub use limits::Limits;
pub use program::Program;

/// Host bindings generated from `wit/task.wit`, the same file the guest SDK is generated from.
mod bindings {
    wasmtime::component::bindgen!({ path: "../../wit", world: "task" });
}
