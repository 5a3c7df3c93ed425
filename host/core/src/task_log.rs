//! The log of a task's last run, `logs/<key>`: what it printed, and a record of how it ended.
//!
//! ```text
//! <stdout, stderr and `log` import lines, byte for byte>
//! jug-host log: {"name":"tasks.explode","outcome":"failed","failure":{"kind":"trap","message":"…"},…}
//! ```
//!
//! The output comes first and untouched, so `cat logs/<key>` still reads as the task's
//! output (a non-UTF-8 byte stays what it was); the record is one line of JSON at the end,
//! after a newline of its own if the output did not end with one. `output_bytes` says where
//! the output ends, so the record is found from the end and a task cannot forge one by
//! printing a line that looks like it: whatever it prints comes before ours. A log without a
//! valid record last (written by a jug-host before records) reads as output only.
//!
//! `execute` writes one after every failure, and after a success that printed something.

use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// What starts the record's line.
const MARKER: &[u8] = b"jug-host log: ";

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogOutcome {
    Ok,
    Failed,
}

/// The record at the end of a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    pub name: String,
    pub outcome: LogOutcome,
    /// Why it failed (`None` when it did not).
    pub failure: Option<Failure>,
    /// How many bytes of the log before the record are the task's output.
    pub output_bytes: u64,
    /// When the run ended.
    pub ran_unix_ms: u64,
    /// The worker that ran it: `host:pid:nonce`.
    pub owner: String,
    /// Set when nothing ran: the result was copied from this earlier key's, whose task ran the
    /// same code on the same input values (early cutoff, see `trace`). Hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
}

/// A log as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLog {
    /// `None` for a log with no record (written by an older jug-host).
    pub record: Option<LogRecord>,
    /// What the task printed, byte for byte. For a trap, the runtime appends the engine's
    /// backtrace to it.
    pub output: Vec<u8>,
}

impl TaskLog {
    /// The bytes of `logs/<key>` after a run of task `name` by worker `owner`, which printed
    /// `output` and failed with `failure`, if it did; stamped now.
    pub fn encode(name: &str, failure: Option<&Failure>, owner: &str, output: &[u8]) -> Vec<u8> {
        let record = LogRecord {
            name: name.to_owned(),
            outcome: if failure.is_some() { LogOutcome::Failed } else { LogOutcome::Ok },
            failure: failure.cloned(),
            output_bytes: output.len() as u64,
            ran_unix_ms: crate::clock::unix_ms_now(),
            owner: owner.to_owned(),
            reused_from: None,
        };
        TaskLog { record: Some(record), output: output.to_vec() }.to_bytes()
    }

    /// The bytes of `logs/<key>` when worker `owner` reused the result of `source` for task
    /// `name` instead of running it; stamped now.
    pub fn reused(name: &str, owner: &str, source: &crate::Key) -> Vec<u8> {
        let mut log = TaskLog::from_bytes(&TaskLog::encode(name, None, owner, b""));
        if let Some(record) = log.record.as_mut() {
            record.reused_from = Some(source.to_hex());
        }
        log.to_bytes()
    }

    /// The stored form: the output, then the record (if any) on a line of its own.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.output.clone();
        if let Some(record) = &self.record {
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(MARKER);
            // Compact JSON escapes every newline, so the record is one line.
            bytes.extend_from_slice(&serde_json::to_vec(record).expect("a log record serializes"));
            bytes.push(b'\n');
        }
        bytes
    }

    /// Reads a stored log; one without a valid record last is all output.
    pub fn from_bytes(bytes: &[u8]) -> TaskLog {
        match split_record(bytes) {
            Some((record, output)) => TaskLog { record: Some(record), output: output.to_vec() },
            None => TaskLog { record: None, output: bytes.to_vec() },
        }
    }

    /// The output as text (invalid UTF-8 replaced).
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Why the run failed, if the record says it did.
    pub fn failure(&self) -> Option<&Failure> {
        self.record.as_ref().and_then(|r| r.failure.as_ref())
    }
}

fn split_record(bytes: &[u8]) -> Option<(LogRecord, &[u8])> {
    let body = bytes.strip_suffix(b"\n")?;
    let line_start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let json = body[line_start..].strip_prefix(MARKER)?;
    let record: LogRecord = serde_json::from_slice(json).ok()?;
    let end = usize::try_from(record.output_bytes).ok().filter(|&end| end <= line_start)?;
    // Between the output and the record: nothing, or the newline that put the record on a
    // line of its own.
    if !matches!(&bytes[end..line_start], b"" | b"\n") {
        return None;
    }
    if (record.outcome == LogOutcome::Failed) != record.failure.is_some() {
        return None;
    }
    Some((record, &bytes[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;

    fn failure() -> Failure {
        Failure { kind: FailureKind::Trap, message: "panicked at src/lib.rs:3:5: boom\nsecond line".into() }
    }

    #[test]
    fn output_and_record_round_trip() {
        for output in [&b""[..], b"one line\n", b"no newline at the end", b"\xff\xfe not utf-8\n\n"] {
            for failure in [None, Some(failure())] {
                let bytes = TaskLog::encode("tasks.explode", failure.as_ref(), "h:1:n", output);
                assert!(bytes.starts_with(output));
                let log = TaskLog::from_bytes(&bytes);
                assert_eq!(log.output, output);
                let record = log.record.expect("a record");
                assert_eq!(record.name, "tasks.explode");
                assert_eq!(record.failure, failure);
                assert_eq!(record.outcome == LogOutcome::Failed, failure.is_some());
                assert_eq!(record.owner, "h:1:n");
            }
        }
    }

    #[test]
    fn the_record_is_the_last_line_and_json() {
        let bytes = TaskLog::encode("t.f", Some(&failure()), "o", b"printed");
        let text = String::from_utf8(bytes).unwrap();
        let (output, last) = text.trim_end_matches('\n').rsplit_once('\n').unwrap();
        assert_eq!(output, "printed");
        let json: serde_json::Value =
            serde_json::from_str(last.strip_prefix("jug-host log: ").unwrap()).unwrap();
        assert_eq!(json["failure"]["kind"], "trap");
        assert_eq!(json["outcome"], "failed");
    }

    #[test]
    fn a_task_cannot_forge_a_record() {
        let forged = TaskLog::encode("t.f", None, "o", b"");
        let mut output = forged.clone();
        output.extend_from_slice(b"more output\n");
        // The forged line is output; the record at the end is the real one.
        let bytes = TaskLog::encode("t.f", Some(&failure()), "o", &output);
        let log = TaskLog::from_bytes(&bytes);
        assert_eq!(log.output, output);
        assert_eq!(log.failure(), Some(&failure()));
    }

    #[test]
    fn an_old_log_is_all_output() {
        let old = b"stdout says 3\njug-host: task failed: refusing to process 2\n";
        assert_eq!(TaskLog::from_bytes(old), TaskLog { record: None, output: old.to_vec() });
        assert_eq!(TaskLog::from_bytes(b"jug-host log: {not json}\n").record, None);
    }

    #[test]
    fn kinds_display_as_in_json() {
        assert_eq!(FailureKind::GuestError.to_string(), "guest-error");
        assert_eq!(FailureKind::OutputTooLarge.to_string(), "output-too-large");
    }
}
