//! A directory of the working directory granted to one task: `jug-host --dir` for a single
//! task, as an argument.
//!
//! `jug::directory("data")` is an argument for a task that takes a `String`: the task gets
//! the path at which it sees the directory (`/data`), read-only. `.writable()` lets it write
//! there, and `.at("/input")` chooses where it appears. Which directory, where and whether it is
//! writable are part of the task's key; what it contains is not (name files with [`crate::file`]
//! when their content should be).
//!
//! A graph may be code its user did not write, so `jug-host` grants only what the user
//! allowed on the command line, and fails the build otherwise (one line naming the path and
//! the flag that would allow it):
//! - only directories below the working directory, reached without symbolic links;
//! - `.writable()` only inside a directory the user named with `--allow-write DIR` (or a
//!   `--dir …:rw`);
//! - no path with a hidden component (`.git`, `.ssh`…) and none that contains the store, the
//!   compiled-component cache or a `.git` directory, unless it lies inside a `--dir`;
//! - no read-only grant inside a directory tasks may write (`--allow-write`, `--dir …:rw`, or
//!   a writable grant of the same graph).

use ciborium::Value;

use crate::Arg;

/// A directory grant (see [`directory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    path: String,
    guest: String,
    writable: bool,
}

/// Grants the directory `path` (relative to the working directory) to the task that takes
/// this argument, read-only, at `/<its last component>`.
pub fn directory(path: &str) -> Directory {
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
    Directory { path: path.to_owned(), guest: format!("/{name}"), writable: false }
}

impl Directory {
    /// Lets the task write in the directory.
    pub fn writable(mut self) -> Directory {
        self.writable = true;
        self
    }

    /// Where the task sees the directory: an absolute path, not under `/inputs`.
    pub fn at(mut self, guest: &str) -> Directory {
        self.guest = guest.to_owned();
        self
    }
}

impl Arg<String> for Directory {
    fn to_template(&self) -> Value {
        let grant =
            vec![Value::Text(self.path.clone()), Value::Text(self.guest.clone()), Value::Bool(self.writable)];
        Value::Tag(crate::DIR_GRANT_TAG, Box::new(Value::Array(grant)))
    }
}
