//! Every exit code of `jug-host`, in one place, and which error gets which.
//!
//! 0 and 1 keep Jug's meanings so scripts written for Jug keep working; the others tell
//! apart the ways a command can be refused before any task runs. Each error type is mapped
//! by an exhaustive `match` over its variants (no `_ =>`): a variant added to a library's
//! error enum does not compile until it is given a code here.

use jug_core::select::SelectError;
use jug_core::store::StoreError;
use jug_runtime::{BuildError, LoadError};

use crate::errors::Error;

/// How `jug-host` exits. The numbers are part of the interface: never renumber one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ExitCode {
    /// The command did what was asked.
    Ok = 0,
    /// Jug's "not done". Only ever a command's answer, never an error's code: a command that
    /// fails for any other reason exits with that reason's code, so a script that loops
    /// `until jug-host check …` is not sent round forever by a full disk.
    NotDone = 1,
    Usage = 2,
    BadGraph = 3,
    BuildFailed = 4,
    Store = 5,
    NoMatch = 6,
    DamagedResult = 7,
    Mismatch = 8,
    /// Not Jug's: it exited 1 for every exception, which a script cannot tell from "not done".
    System = 9,
    /// 128 + SIGINT, as a shell reports a process killed by it.
    Interrupted = 130,
    /// 128 + SIGTERM.
    Terminated = 143,
}

impl ExitCode {
    /// Every code, in order: what the README's table lists.
    pub const ALL: [ExitCode; 12] = [
        ExitCode::Ok,
        ExitCode::NotDone,
        ExitCode::Usage,
        ExitCode::BadGraph,
        ExitCode::BuildFailed,
        ExitCode::Store,
        ExitCode::NoMatch,
        ExitCode::DamagedResult,
        ExitCode::Mismatch,
        ExitCode::System,
        ExitCode::Interrupted,
        ExitCode::Terminated,
    ];

    /// The number the process exits with.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The code a process exited with, if it is one of ours.
    pub fn from_code(code: i32) -> Option<ExitCode> {
        ExitCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// What the code means, as the README's table and `--help` say it.
    pub const fn meaning(self) -> &'static str {
        match self {
            ExitCode::Ok => "done: `execute` ran without failures, `status` found everything complete",
            ExitCode::NotDone => {
                "Jug's \"not done\": incomplete tasks (`status`, `check`), a failed task (`execute`), no \
                 result yet (`value`)"
            }
            ExitCode::Usage => "bad command line, environment variable or configuration file",
            ExitCode::BadGraph => {
                "the graph file is unusable: missing, not WebAssembly, a core module, or not a `jug:task` \
                 component"
            }
            ExitCode::BuildFailed => "the graph builder failed, crashed or declared an invalid task",
            ExitCode::Store => "bad store URL, or the store could not be read or written",
            ExitCode::NoMatch => "a task name or pattern matched no task",
            ExitCode::DamagedResult => {
                "a stored result was damaged (it was removed; `execute` recomputes it), or is not a CBOR \
                 value"
            }
            ExitCode::Mismatch => {
                "`verify`: a task run again gave other bytes than its stored result, or failed"
            }
            ExitCode::System => {
                "the system refused something outside the store: writing the output or a file, a socket \
                 (`webstatus`), a thread, a helper program (`dot`)"
            }
            ExitCode::Interrupted => "stopped by SIGINT after the tasks in flight; locks released",
            ExitCode::Terminated => "stopped by SIGTERM after the tasks in flight; locks released",
        }
    }

    /// The code for an error, by its kind.
    pub fn of(error: &Error) -> ExitCode {
        match error {
            Error::Load(e) => load(e),
            Error::Build(e) => build(e),
            Error::Store(e) => store(e),
            Error::Select(e) => select(e),
            Error::NoMatch(_) => ExitCode::NoMatch,
            Error::Usage(_) => ExitCode::Usage,
            Error::Damaged { .. } | Error::NotCbor { .. } => ExitCode::DamagedResult,
            Error::Output(_) | Error::System { .. } => ExitCode::System,
        }
    }

    /// The README's table of exit codes (the codes of SIGINT and SIGTERM share a row).
    pub fn markdown_table() -> String {
        let mut table = String::from("| code | meaning |\n|---|---|\n");
        for code in ExitCode::ALL {
            match code {
                ExitCode::Interrupted => table.push_str(
                    "| 130 / 143 | stopped by SIGINT / SIGTERM after the tasks in flight; locks released |\n",
                ),
                ExitCode::Terminated => {}
                _ => table.push_str(&format!("| {} | {} |\n", code.code(), code.meaning())),
            }
        }
        table
    }

    /// The EXIT STATUS section of `--help`, laid out as its ENVIRONMENT section is.
    pub fn help_text() -> String {
        let mut text = String::from("EXIT STATUS:\n");
        for code in ExitCode::ALL {
            let meaning = code.meaning().replace('`', "");
            let mut line = format!("  {:<8}", code.code());
            for word in meaning.split(' ') {
                if line.len() + 1 + word.len() > 98 {
                    text.push_str(line.trim_end());
                    text.push('\n');
                    line = " ".repeat(10);
                } else if !line.ends_with("  ") {
                    line.push(' ');
                }
                line.push_str(word);
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    }
}

fn load(error: &LoadError) -> ExitCode {
    match error {
        LoadError::NotFound { .. }
        | LoadError::Unreadable { .. }
        | LoadError::NotAFile { .. }
        | LoadError::TooLarge { .. }
        | LoadError::NotWasm { .. }
        | LoadError::CoreModule { .. }
        | LoadError::Invalid { .. }
        | LoadError::WrongWorld { .. }
        | LoadError::Engine(_) => ExitCode::BadGraph,
    }
}

fn build(error: &BuildError) -> ExitCode {
    match error {
        BuildError::Rejected { .. }
        | BuildError::Declare { .. }
        | BuildError::Refused { .. }
        | BuildError::Trapped { .. }
        | BuildError::Grant(_)
        | BuildError::OverLimit { .. } => ExitCode::BuildFailed,
        // The builder asked for stored results and the store failed: the store's fault.
        BuildError::Store { .. } => ExitCode::Store,
    }
}

fn store(error: &StoreError) -> ExitCode {
    match error {
        StoreError::BadUrl { .. }
        | StoreError::NotADirectory { .. }
        | StoreError::Backend { .. }
        | StoreError::OtherResultFormat { .. }
        | StoreError::NewerFormat { .. }
        | StoreError::BadFormatMarker { .. }
        | StoreError::Io { .. } => ExitCode::Store,
    }
}

fn select(error: &SelectError) -> ExitCode {
    match error {
        SelectError::EmptyPattern(_) | SelectError::BadRegex { .. } | SelectError::BadName(_) => {
            ExitCode::Usage
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_every_code_as_defined_here() {
        let readme = include_str!("../../README.md");
        let table = ExitCode::markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's table of exit codes differs from ExitCode; replace it with:\n{table}"
        );
    }

    #[test]
    fn codes_are_distinct_and_signals_follow_the_shell_convention() {
        let mut numbers: Vec<i32> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), ExitCode::ALL.len());
        assert!(numbers.is_sorted());
        assert_eq!(ExitCode::Interrupted.code(), 128 + 2);
        assert_eq!(ExitCode::Terminated.code(), 128 + 15);
    }

    #[test]
    fn errors_get_their_kind_s_code() {
        let store = StoreError::BadUrl { url: "x".into(), reason: "y".into() };
        assert_eq!(ExitCode::of(&store.into()), ExitCode::Store);
        let stored = BuildError::Store { file: "g".into(), message: "down".into() };
        assert_eq!(ExitCode::of(&stored.into()), ExitCode::Store);
        let trapped = BuildError::Trapped { file: "g".into(), message: "boom".into() };
        assert_eq!(ExitCode::of(&trapped.into()), ExitCode::BuildFailed);
        let output = Error::Output(std::io::Error::other("disk full"));
        assert_eq!(ExitCode::of(&output), ExitCode::System);
        assert_eq!(ExitCode::of(&SelectError::EmptyPattern("//".into()).into()), ExitCode::Usage);
    }
}
