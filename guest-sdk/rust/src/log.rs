//! Log lines for the host: shown on its terminal during `build`, kept in the task's log in the
//! store during `run`. Plain `println!`/`eprintln!` are captured too.

use crate::bindings::jug::task::log::{Level, write};

/// Logs a debug line.
pub fn debug(message: &str) {
    write(Level::Debug, message)
}

/// Logs an informational line.
pub fn info(message: &str) {
    write(Level::Info, message)
}

/// Logs a warning.
pub fn warn(message: &str) {
    write(Level::Warn, message)
}

/// Logs an error.
pub fn error(message: &str) {
    write(Level::Error, message)
}
