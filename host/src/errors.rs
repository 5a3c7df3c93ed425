//! Every way a `jug-host` command can fail, as one type: the libraries' typed errors, the
//! binary's own (a selection that matches nothing, a bad setting), and what the system refused
//! outside the store. Commands return [`Error`], so an error of a new kind does not compile
//! until it has a variant here, and [`crate::exit_code`] must then give that variant a code:
//! no error reaches the exit code without a decision about which one.

use jug_core::select::SelectError;
use jug_core::store::{Damaged, StoreError};
use jug_runtime::{BuildError, LoadError};

/// What commands return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A command's failure. The library errors keep their own messages (`transparent`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    NoMatch(#[from] NoMatch),
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A stored result that failed its checksum, with what was done about it.
    #[error("{what}")]
    Damaged {
        what: String,
        #[source]
        source: Damaged,
    },
    /// A stored result that passed its checksum but is no CBOR value we can show.
    #[error("the result of {name} is not valid CBOR: {problem}")]
    NotCbor { name: String, problem: String },
    /// Writing the command's output failed (a closed pipe is not reported, see `main`).
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    /// Something outside the store failed: a file the command writes, a thread, a socket,
    /// a helper program.
    #[error("{what}")]
    System {
        what: String,
        #[source]
        source: Option<std::io::Error>,
    },
}

impl Error {
    /// A failure of the system around us, with what we were doing: for `map_err`.
    pub fn system(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::System { what, source: Some(source) }
    }
}

/// A selection that matches no task: almost always a typo, so it is an error, not a no-op.
#[derive(Debug, thiserror::Error)]
#[error("no task matches {selector} (task names in this graph: {names})")]
pub struct NoMatch {
    pub selector: String,
    pub names: String,
}

/// A bad setting outside the command line proper (an environment variable, a config
/// value): reported like a bad command line, exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
