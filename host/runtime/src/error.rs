//! Why a component could not be used.

use std::path::PathBuf;

use jug_core::graph::DeclareError;

/// The graph file is not a usable task component.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is larger than {} MiB, the most a component may be", path.display(), max >> 20)]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{} is not a WebAssembly file; build your graph with `cargo build --release --target wasm32-wasip2`", path.display())]
    NotWasm { path: PathBuf },
    #[error("{} is a core WebAssembly module, not a component; build it for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)", path.display())]
    CoreModule { path: PathBuf },
    #[error("{} is not a valid component: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{} is not a jug task component ({reason}); build it with the jug SDK, which implements the jug:task/task world", path.display())]
    WrongWorld { path: PathBuf, reason: String },
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
}

/// The component's graph builder did not produce a graph.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the graph builder of {file} failed: {message}")]
    Rejected { file: String, message: String },
    #[error("the graph builder of {file} declared an invalid task")]
    Declare {
        file: String,
        #[source]
        source: DeclareError,
    },
    /// A grant or file input the user did not allow on the command line (see `policy`).
    #[error("the graph builder of {file} was refused: {source}")]
    Refused {
        file: String,
        #[source]
        source: crate::policy::Refused,
    },
    #[error("the graph builder of {file} crashed: {message}")]
    Trapped { file: String, message: String },
    /// A `--dir` grant's content could not be taken for the keys.
    #[error(transparent)]
    Grant(crate::grants::ContentError),
    /// The builder went over one of its limits (`--build-timeout`, `--build-max-memory`,
    /// `--max-log`, `--max-graph-tasks`, `--max-graph-bytes`); the message names it.
    #[error("the graph builder of {file} {message}")]
    OverLimit { file: String, message: String },
    /// The store could not answer the builder's `bvalue`/`barrier`.
    #[error("the graph builder of {file} needs stored results, but the store failed: {message}")]
    Store { file: String, message: String },
}
