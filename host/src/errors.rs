//! The binary's own errors, beside the libraries' typed ones: what `exit_code` maps to the
//! usage and no-match codes. A module of its own so that `exit_code` need not know `commands`.

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
