//! Manifests: what went into the keys of the results each commit batch of `execute` stored.
//!
//! A key is a hash: it tells *that* a task is new, never *why*. `status --explain` answers the
//! why ("the code changed", "an input has a new key", "its arguments changed", "its result was
//! removed") by comparing a task as declared now with earlier runs of tasks of the same name,
//! and for that the store keeps, per stored result, the ingredients of its key: the code
//! identity of its component, its function, the keys of the tasks it depends on (in order) and
//! a digest of its plain arguments (the argument template with the references taken out, so
//! that a new input and a new argument are told apart), and the directories it was granted
//! (with the content digest of each read-only one).
//!
//! ```text
//! manifests/<task name, escaped>/<batch id>    JSON: every task of that name in one batch
//! ```
//!
//! They are written per commit batch, never per task: per-task requests are the cost the
//! scheduler's group commit exists to avoid, so the committer writes one object per task name
//! in the batch, after the batch is durable. The name in the path lets `status --explain` list
//! the manifests once and read only those of the names it is asked about; batch ids start with
//! the time, so a listing sorts oldest first.
//!
//! They are advice, not records anything depends on: a manifest lost to a crash or a store
//! error only makes an explanation vaguer ("never run"), so writing one never fails a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cbor::{self, Reference, Step};
use crate::{Graph, Key};

/// One batch's stored results of one task name (the content of one manifest object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Unique per batch and writer; sorts by time.
    pub batch: String,
    /// The worker that stored the results: `host:pid:nonce`.
    pub owner: String,
    /// When the batch was made durable.
    pub stored_unix_ms: u64,
    pub tasks: Vec<Entry>,
}

/// What went into one stored result's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(with = "hex_key")]
    pub key: Key,
    /// `stem.function`, as `status` shows it.
    pub name: String,
    /// The code identity of the component whose function ran.
    #[serde(with = "hex_key")]
    pub code: Key,
    pub function: String,
    /// Keys of the tasks it depends on, in the order of their first reference.
    #[serde(with = "hex_keys")]
    pub dependencies: Vec<Key>,
    /// [`arguments_digest`] of its template.
    #[serde(with = "hex_key")]
    pub arguments: Key,
    /// The directories it saw (`--dir` and its own), by guest path. Absent in manifests of
    /// versions that did not record them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, Granted>,
}

/// How a task saw a granted directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granted {
    /// Read-only, with this content digest: an input, in the key.
    Content(#[serde(with = "hex_key")] Key),
    /// Read-write: in the key by where it is, not by what it holds (the task's effect).
    Writable,
}

/// Where a manifest lives: `manifests/<escaped name>/<batch>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManifestId {
    pub name: String,
    pub batch: String,
}

impl Entry {
    /// The entry of task `index` of `graph`.
    pub fn of(graph: &Graph, index: usize) -> Entry {
        let spec = graph.task(index);
        Entry {
            key: spec.key,
            name: graph.name(index).to_owned(),
            code: graph.code_of(index),
            function: graph.function(index).to_owned(),
            dependencies: spec.dependencies.iter().map(|&d| graph.task(d as usize).key).collect(),
            arguments: arguments_digest(&spec.template, &spec.references),
            grants: grants_of(graph, index),
        }
    }
}

impl Manifest {
    /// The manifests of one commit batch of `tasks` (indices into `graph`), one per task name,
    /// in order of first appearance. `sequence` tells apart the batches of one worker.
    pub fn for_batch(graph: &Graph, tasks: &[u32], owner: &str, sequence: u64) -> Vec<Manifest> {
        let stored_unix_ms = crate::clock::unix_ms_now();
        let batch = batch_id(stored_unix_ms, owner, sequence);
        let mut manifests: Vec<Manifest> = Vec::new();
        for &task in tasks {
            let entry = Entry::of(graph, task as usize);
            match manifests.iter_mut().find(|m| m.tasks[0].name == entry.name) {
                Some(manifest) => manifest.tasks.push(entry),
                None => manifests.push(Manifest {
                    batch: batch.clone(),
                    owner: owner.to_owned(),
                    stored_unix_ms,
                    tasks: vec![entry],
                }),
            }
        }
        manifests
    }

    /// Where it is stored (every task of a manifest has the same name).
    pub fn id(&self) -> ManifestId {
        let name = self.tasks.first().map(|t| t.name.clone()).unwrap_or_default();
        ManifestId { name, batch: self.batch.clone() }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Manifest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The directories task `index` sees: every task's, then its own.
fn grants_of(graph: &Graph, index: usize) -> BTreeMap<String, Granted> {
    let mut grants = graph.grants().clone();
    for dir in &graph.task(index).dirs {
        let granted = match (dir.writable, dir.content) {
            (true, _) => Granted::Writable,
            (false, Some(content)) => Granted::Content(content),
            (false, None) => continue,
        };
        grants.insert(dir.guest.clone(), granted);
    }
    grants
}

/// `<unix ms, 13 digits>-<owner>-<sequence>`, with only characters safe in every store path.
pub fn batch_id(unix_ms: u64, owner: &str, sequence: u64) -> String {
    let owner: String = owner
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    format!("{unix_ms:013}-{owner}-{sequence:06}")
}

/// A digest of a template's plain arguments: the bytes around its references, and the parts
/// of results they take (a tasklet's steps), but not the referenced keys. Two tasks with the
/// same digest differ, if at all, only in their inputs.
pub fn arguments_digest(template: &[u8], references: &[Reference]) -> Key {
    let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-11 manifest plain arguments");
    let mut copied = 0;
    for reference in references {
        let plain = &template[copied..reference.start];
        hasher.update(&(plain.len() as u64).to_le_bytes());
        hasher.update(plain);
        hasher.update(&(reference.path.len() as u64).to_le_bytes());
        for step in &reference.path {
            let step = match step {
                Step::Index(i) => format!("[{i}]"),
                Step::Field(name) => format!(".{}:{name}", name.len()),
            };
            hasher.update(step.as_bytes());
        }
        copied = reference.end;
    }
    hasher.update(&template[copied..]);
    Key(*hasher.finalize().as_bytes())
}

/// Which top-level argument (from 0) of `template` (a CBOR array) holds the byte at `offset`;
/// `None` if none does.
pub fn argument_at(template: &[u8], offset: usize) -> Option<usize> {
    let count = cbor::Reader::new(template).head().ok().filter(|h| h.major == 4)?.arg as usize;
    (0..count).find(|&i| {
        cbor::project(template, &[Step::Index(i as u64)]).is_ok_and(|item| {
            let start = item.as_ptr() as usize - template.as_ptr() as usize;
            (start..start + item.len()).contains(&offset)
        })
    })
}

/// How a task as declared now relates to the earlier runs of its name on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// This very task ran (so its result has since been removed).
    SameTask,
    /// No earlier run was of this code: the most recent ran with code `was`.
    Code { was: Key },
    /// Same code, function and plain arguments: the dependencies at these positions (into
    /// the task's `dependencies`) have new keys.
    Inputs(Vec<usize>),
    /// Same code and function; no earlier run had these plain arguments.
    Arguments,
    /// Same code, function and plain arguments, but the directory granted at `guest` is
    /// another (`was` and `now` are how it was granted, `None`: not at all). It is named
    /// before changed inputs: a changed `--dir` changes every key, and this is the cause.
    Grant { guest: String, was: Option<Granted>, now: Option<Granted> },
    /// Same code, function, arguments and inputs, yet another key: the host's semantics or
    /// the run's read-write directory grants (both part of every key) changed.
    Environment,
}

/// Compares `now` with `earlier` runs of its name (oldest first); `None` when there are none.
pub fn compare(now: &Entry, earlier: &[&Entry]) -> Option<Change> {
    let newest = earlier.last()?;
    if earlier.iter().any(|e| e.key == now.key) {
        return Some(Change::SameTask);
    }
    let same_code: Vec<&&Entry> =
        earlier.iter().filter(|e| e.code == now.code && e.function == now.function).collect();
    if same_code.is_empty() {
        let was = earlier.iter().rev().find(|e| e.function == now.function).unwrap_or(newest).code;
        return Some(Change::Code { was });
    }
    let differing = |e: &Entry| -> Vec<usize> {
        (0..now.dependencies.len()).filter(|&j| e.dependencies[j] != now.dependencies[j]).collect()
    };
    // The closest earlier run with the same plain arguments: the fewest inputs changed, then
    // the same grants, the most recent of equals.
    let closest = same_code
        .iter()
        .rev()
        .filter(|e| e.arguments == now.arguments && e.dependencies.len() == now.dependencies.len())
        .map(|e| (differing(e), grant_change(&e.grants, &now.grants)))
        .min_by_key(|(inputs, grant)| (inputs.len(), grant.is_some()));
    Some(match closest {
        Some((_, Some(grant))) => grant,
        Some((changed, None)) if changed.is_empty() => Change::Environment,
        Some((changed, None)) => Change::Inputs(changed),
        None => Change::Arguments,
    })
}

/// The first guest path (in order) granted differently in `was` and `now`.
fn grant_change(was: &BTreeMap<String, Granted>, now: &BTreeMap<String, Granted>) -> Option<Change> {
    let guests: std::collections::BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    guests.into_iter().find(|g| was.get(*g) != now.get(*g)).map(|guest| Change::Grant {
        guest: guest.clone(),
        was: was.get(guest).copied(),
        now: now.get(guest).copied(),
    })
}

/// Task names as path segments: ASCII letters, digits, `_`, `-` and `.` (not leading) stay,
/// every other byte is `+` and two hex digits, so any file stem makes a valid object name in
/// every backend (object_store percent-encodes `%`, `~` and others itself, which would not
/// round-trip through a listing).
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let keep = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' || (byte == b'.' && i > 0);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("+{byte:02x}"));
        }
    }
    out
}

/// The inverse of [`escape_name`]; `None` for a segment it cannot have made.
pub fn unescape_name(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'+' {
            let hex = escaped.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Keys as 64 hex digits in JSON.
mod hex_key {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::Key;

    pub fn serialize<S: Serializer>(key: &Key, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&key.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        let hex = String::deserialize(deserializer)?;
        Key::from_hex(&hex).ok_or_else(|| D::Error::custom(format!("`{hex}` is not a key")))
    }
}

mod hex_keys {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::Key;

    pub fn serialize<S: Serializer>(keys: &[Key], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(keys.iter().map(Key::to_hex))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Key>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|hex| Key::from_hex(hex).ok_or_else(|| D::Error::custom(format!("`{hex}` is not a key"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GraphBuilder;
    use crate::cbor::test_reference as reference;

    /// a = leaf(x), b = leaf(y), sum(a, b) under code `code`: the sum's entry.
    fn sum_entry(code: u8, x: u8, y: u8, offset: u8) -> Entry {
        let mut builder = GraphBuilder::new("g", Key([code; 32]));
        let a = builder.declare("leaf", vec![0x81, x]).unwrap();
        let b = builder.declare("leaf", vec![0x81, y]).unwrap();
        builder.declare("sum", [vec![0x83], reference(&a), reference(&b), vec![offset]].concat()).unwrap();
        Entry::of(&builder.finish(), 2)
    }

    #[test]
    fn changes_are_told_apart() {
        let before = sum_entry(1, 1, 2, 0);
        assert_eq!(compare(&before, &[]), None);
        assert_eq!(compare(&before, &[&before]), Some(Change::SameTask));
        assert_eq!(compare(&sum_entry(2, 1, 2, 0), &[&before]), Some(Change::Code { was: Key([1; 32]) }));
        assert_eq!(compare(&sum_entry(1, 1, 3, 0), &[&before]), Some(Change::Inputs(vec![1])));
        assert_eq!(compare(&sum_entry(1, 5, 3, 0), &[&before]), Some(Change::Inputs(vec![0, 1])));
        assert_eq!(compare(&sum_entry(1, 1, 2, 7), &[&before]), Some(Change::Arguments));
        // The closest earlier run wins.
        let other = sum_entry(1, 1, 3, 0);
        assert_eq!(compare(&sum_entry(1, 4, 3, 0), &[&before, &other]), Some(Change::Inputs(vec![0])));
        // Everything the same but the key: the environment.
        let mut moved = before.clone();
        moved.key = Key([0; 32]);
        assert_eq!(compare(&moved, &[&before]), Some(Change::Environment));
    }

    #[test]
    fn a_changed_grant_is_named_before_changed_inputs() {
        let with = |content: Option<Granted>, x: u8| {
            let mut entry = sum_entry(1, x, 2, 0);
            entry.grants = content.map(|c| [("/data".to_owned(), c)].into()).unwrap_or_default();
            // The grant is in the key.
            entry.key.0[31] = match content {
                None => 0,
                Some(Granted::Writable) => 1,
                Some(Granted::Content(key)) => 2 + key.0[0],
            };
            entry
        };
        let (a, b) = (Granted::Content(Key([1; 32])), Granted::Content(Key([2; 32])));
        let grant = |was, now| Some(Change::Grant { guest: "/data".into(), was, now });
        assert_eq!(compare(&with(Some(b), 1), &[&with(Some(a), 1)]), grant(Some(a), Some(b)));
        // A new `--dir` changed every key upstream too: the grant is the cause.
        assert_eq!(compare(&with(Some(b), 3), &[&with(Some(a), 1)]), grant(Some(a), Some(b)));
        assert_eq!(compare(&with(None, 1), &[&with(Some(a), 1)]), grant(Some(a), None));
        assert_eq!(
            compare(&with(Some(Granted::Writable), 1), &[&with(None, 1)]),
            grant(None, Some(Granted::Writable))
        );
        // Of runs with as many inputs changed, one with the same grants is closer.
        let earlier = [with(Some(b), 3), with(Some(a), 3)];
        assert_eq!(compare(&with(Some(b), 1), &[&earlier[0], &earlier[1]]), Some(Change::Inputs(vec![0])));
        // Grants round-trip through JSON, and manifests without them still read.
        let entry = with(Some(a), 1);
        let json = serde_json::to_string(&entry).unwrap();
        assert!(json.contains(r#""grants":{"/data":{"content":"0101"#), "{json}");
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
        let old = serde_json::to_string(&with(None, 1)).unwrap();
        assert!(!old.contains("grants"), "{old}");
        assert_eq!(serde_json::from_str::<Entry>(&old).unwrap(), with(None, 1));
    }

    #[test]
    fn arguments_are_located() {
        let key = Key([3; 32]);
        let template = [vec![0x83, 0x01], reference(&key), vec![0x02]].concat();
        let references = cbor::validate(&template, cbor::References::Allowed).unwrap();
        assert_eq!(argument_at(&template, references[0].start), Some(1));
        assert_eq!(argument_at(&template, 1), Some(0));
        assert_eq!(argument_at(&template, template.len() - 1), Some(2));
        assert_eq!(argument_at(&template, template.len()), None);
    }

    #[test]
    fn manifests_group_a_batch_by_name_and_round_trip() {
        let mut builder = GraphBuilder::new("g", Key([1; 32]));
        let a = builder.declare("leaf", vec![0x81, 0x01]).unwrap();
        builder.declare("leaf", vec![0x81, 0x02]).unwrap();
        builder.declare("neg", [vec![0x81], reference(&a)].concat()).unwrap();
        let graph = builder.finish();
        let manifests = Manifest::for_batch(&graph, &[0, 2, 1], "host:12:ab", 3);
        assert_eq!(manifests.len(), 2);
        assert_eq!(manifests[0].id().name, "g.leaf");
        assert_eq!(manifests[0].tasks.len(), 2);
        assert_eq!(manifests[1].tasks[0].dependencies, vec![a]);
        assert!(manifests[0].batch.ends_with("-host-12-ab-000003"), "{}", manifests[0].batch);
        assert_eq!(Manifest::from_json(&manifests[1].to_json()).unwrap(), manifests[1]);
    }

    #[test]
    fn names_escape_and_round_trip() {
        for name in ["primes.is_prime", "my prog.f", "日本.f", "+x.f", ".hidden.f", "a%b~c#1.f"] {
            let escaped = escape_name(name);
            assert!(
                !escaped.starts_with('.')
                    && escaped.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.+".contains(&b)),
                "{escaped}"
            );
            assert_eq!(unescape_name(&escaped).as_deref(), Some(name));
        }
        assert_eq!(escape_name("primes.is_prime"), "primes.is_prime");
        assert_eq!(unescape_name("bad+zz"), None);
    }
}
