//! Why a task produced no result, and the record `--keep-failed` leaves in the store.
//!
//! Jug marks a failed task by setting its lock file's mtime to 1 s past the epoch, and keeps
//! it locked. Our locks are leases that expire, so a failure is its own object,
//! `failed/<key>`: `status` counts the task as Failed and `execute` leaves it alone until
//! `cleanup --failed-only` removes the record (or `invalidate` is asked to).

use serde::{Deserialize, Serialize};

/// Why a task did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The task function returned an error.
    GuestError,
    /// The guest trapped (panic, unreachable, out of bounds, stack overflow…).
    Trap,
    /// The task ran longer than `--timeout` (wall time). The only kind worth a retry: the
    /// machine may just have been busy.
    Timeout,
    /// The task used up its `--fuel` (a deterministic count of instructions).
    Fuel,
    /// The task tried to grow its memory past `--max-memory`.
    Memory,
    /// The task's result was larger than `--max-result`, or its output than `--max-log`.
    OutputTooLarge,
    /// The guest returned bytes that are not deterministic CBOR.
    BadResult,
    /// A part of another task's result that the task takes (a tasklet, `t[3]`) is not there.
    BadArgument,
    /// The task's arguments, with its dependencies' results spliced in, would be larger than
    /// `--max-input`: refused before the host allocates them.
    InputTooLarge,
    /// Every worker that ran the task died while running it (killed for using too much
    /// memory, or by a signal), until the takeover count in its lease reached the limit. Always
    /// recorded, `--keep-failed` or not, so that no more workers die of it.
    CrashedWorkers,
}

/// The kind as stored (`guest-error`, `output-too-large`…), for messages.
impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => f.write_str(&name),
            _ => write!(f, "{self:?}"),
        }
    }
}

/// The content of `failed/<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub name: String,
    pub failure: Failure,
    /// The worker that saw it fail: `host:pid:nonce`.
    pub owner: String,
    pub failed_unix_ms: u64,
}

impl FailureRecord {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a failure record serializes")
    }
}

/// A size as limit messages show it: `512 B`, `64 MiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let (mut value, mut unit) = (n as f64 / 1024.0, 0);
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let shown = format!("{value:.1}");
    format!("{} {}", shown.trim_end_matches(".0"), UNITS[unit])
}
