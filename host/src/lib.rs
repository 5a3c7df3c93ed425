//! The part of `jug-host` that is not the command line: its errors and exit codes, a library so
//! that the integration tests name the codes they expect instead of repeating numbers.

pub mod errors;
pub mod exit_code;
