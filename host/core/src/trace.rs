//! Early cutoff: a task whose key changed, but whose code and input values did not, reuses the
//! result an earlier key stored instead of running again.
//!
//! A key is a Merkle hash: it changes whenever anything upstream changes, even when the
//! upstream task re-ran and gave the same bytes (a parser that drops the whitespace an edit
//! added, an algorithm rewritten to give the same answers). What a task can observe is its
//! code, its environment and its input *values*, so those are what a trace hashes:
//!
//! ```text
//! shape = key(code in its environment, function, key template with each task reference
//!             replaced by null)            -- taken when the task is declared
//! trace = blake3_derive_key(CONTEXT, shape ‖ blake3(the task's spliced input))
//! ```
//!
//! The key template keeps what only the key sees (file and directory content digests,
//! `CustomHash` key forms); the spliced input is exactly the bytes the task is given (results
//! and the parts of them a tasklet takes, `NoHash` values included, so they are covered too).
//! When a task runs and its result is durable, `execute` records `(trace, key)`; before running
//! a task with no result, it looks its trace up in the store's traces, read once per run, and
//! on a hit copies the earlier key's result to the new key: same code, same input values, so
//! by the determinism the sandbox enforces, the same bytes.
//!
//! Traces are stored in **packs**, `traces/<pack id>`, lines of `<trace hex> <key hex>`: a
//! worker writes one pack per [`PACK_ENTRIES`] traces or [`PACK_INTERVAL`], and one when its
//! run ends, so traces cost a request per thousands of tasks, not one per task, to write and
//! to read. They are advice: a pack lost with a killed worker costs runs, never a wrong
//! result, so they are not synced. Removing traces (`invalidate`, `cleanup`) rewrites the packs
//! that hold them.
//!
//! Never reused this way: compound tasks (nothing runs), and tasks that may write through a
//! grant (their own `jug::directory(…).writable()` or a `--dir …:rw`), whose run is an effect
//! the copy would not repeat.

use std::collections::HashMap;
use std::time::Duration;

use crate::Key;
use crate::cbor::{Reference, Wrapper};
use crate::store::{Store, StoreError};

/// Traces, each with the keys whose results it leads to.
pub type Traces = HashMap<Key, Vec<Key>>;

/// A stored pack: its id and its `(trace, key)` entries.
pub type Pack = (String, Vec<(Key, Key)>);

/// A worker writes its traces as a pack once it holds this many…
pub const PACK_ENTRIES: usize = 4096;

/// …or this long after its last pack, whichever comes first, and at the end of its run.
pub const PACK_INTERVAL: Duration = Duration::from_secs(30);

/// blake3 domain separation for traces.
const CONTEXT: &str = "jug-host 2026-12 trace";

/// What CBOR `null` replaces each task reference with in a shape.
const PLACEHOLDER: &[u8] = &[0xf6];

/// The part of a task's trace fixed when it is declared: its key, with the keys of the tasks
/// it refers to left out (their values enter the trace instead). `template` is the template as
/// declared, `references` and `wrappers` where its task references and its `NoHash` /
/// `CustomHash` / file / directory arguments are: each wrapper counts by its key form, as in
/// the key.
pub fn shape(
    code: &Key,
    function: &str,
    template: &[u8],
    references: &[Reference],
    wrappers: &[Wrapper],
) -> Key {
    let mut parts: Vec<(usize, usize, &[u8])> =
        references.iter().map(|r| (r.start, r.end, PLACEHOLDER)).collect();
    parts.extend(wrappers.iter().map(|w| (w.start, w.end, w.key_form.as_slice())));
    parts.sort_by_key(|&(start, _, _)| start);
    let mut keyed = Vec::with_capacity(template.len());
    let mut copied = 0;
    for (start, end, replacement) in parts {
        keyed.extend_from_slice(&template[copied..start]);
        keyed.extend_from_slice(replacement);
        copied = end;
    }
    keyed.extend_from_slice(&template[copied..]);
    Key::derive(code, function, &keyed)
}

/// The trace of a task of `shape` run on `input` (its spliced argument array).
pub fn trace(shape: &Key, input: &[u8]) -> Key {
    let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
    hasher.update(&shape.0);
    hasher.update(blake3::hash(input).as_bytes());
    Key(*hasher.finalize().as_bytes())
}

/// The bytes of a pack of `(trace, key)` entries.
pub fn encode_pack(entries: &[(Key, Key)]) -> Vec<u8> {
    let mut out = String::with_capacity(entries.len() * 130);
    for (trace, key) in entries {
        out.push_str(&trace.to_hex());
        out.push(' ');
        out.push_str(&key.to_hex());
        out.push('\n');
    }
    out.into_bytes()
}

/// The entries of a pack. A store may be shared, so lines that are not two keys are skipped
/// rather than trusted.
pub fn decode_pack(bytes: &[u8]) -> Vec<(Key, Key)> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter_map(|line| {
            let (trace, key) = line.split_once(' ')?;
            Some((Key::from_hex(trace)?, Key::from_hex(key)?))
        })
        .collect()
}

/// Every pack in `store`, by id, with its entries: one listing and one read per pack.
pub fn read_packs(store: &Store) -> Result<Vec<Pack>, StoreError> {
    let mut packs = Vec::new();
    for id in store.list_trace_packs()? {
        if let Some(bytes) = store.get_trace_pack(&id)? {
            packs.push((id, decode_pack(&bytes)));
        }
    }
    Ok(packs)
}

/// The traces of `packs`, for lookups.
pub fn index(packs: &[Pack]) -> Traces {
    let mut traces = Traces::new();
    for (trace, key) in packs.iter().flat_map(|(_, entries)| entries) {
        let keys = traces.entry(*trace).or_default();
        if !keys.contains(key) {
            keys.push(*key);
        }
    }
    traces
}

/// Removes the entries `goes` picks from `packs` in `store`: each pack that loses some is
/// written again without them, or deleted when none is left. Returns how many went.
pub fn remove(store: &Store, packs: &[Pack], goes: impl Fn(&Key, &Key) -> bool) -> Result<usize, StoreError> {
    let mut removed = 0;
    for (id, entries) in packs {
        let kept: Vec<(Key, Key)> =
            entries.iter().filter(|(trace, key)| !goes(trace, key)).copied().collect();
        if kept.len() == entries.len() {
            continue;
        }
        removed += entries.len() - kept.len();
        match kept.is_empty() {
            true => store.delete_trace_pack(id)?,
            false => store.put_trace_pack(id, &encode_pack(&kept))?,
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::{self, References, test_reference as reference};

    fn shape_of(code: u8, function: &str, template: &[u8]) -> Key {
        let (references, wrappers) = cbor::validate_template(template, References::Allowed).unwrap();
        shape(&Key([code; 32]), function, template, &references, &wrappers)
    }

    #[test]
    fn a_shape_leaves_out_which_task_a_reference_names_and_nothing_else() {
        let with = |key: u8, extra: u8| [vec![0x82], reference(&Key([key; 32])), vec![extra]].concat();
        let base = shape_of(1, "f", &with(7, 1));
        assert_eq!(base, shape_of(1, "f", &with(8, 1)), "another upstream key, same shape");
        assert_ne!(base, shape_of(1, "f", &with(7, 2)), "another literal argument");
        assert_ne!(base, shape_of(2, "f", &with(7, 1)), "other code");
        assert_ne!(base, shape_of(1, "g", &with(7, 1)), "another function");
        // A reference shapes like a literal null: the value it stands for is in the trace.
        assert_eq!(base, shape_of(1, "f", &[0x82, 0xf6, 0x01]));
    }

    #[test]
    fn a_trace_is_the_shape_and_the_input_bytes() {
        let (a, b) = (Key([1; 32]), Key([2; 32]));
        assert_eq!(trace(&a, b"\x81\x01"), trace(&a, b"\x81\x01"));
        assert_ne!(trace(&a, b"\x81\x01"), trace(&a, b"\x81\x02"));
        assert_ne!(trace(&a, b"\x81\x01"), trace(&b, b"\x81\x01"));
    }

    #[test]
    fn packs_round_trip_and_skip_what_is_not_an_entry() {
        let entries = vec![(Key([1; 32]), Key([2; 32])), (Key([3; 32]), Key([4; 32]))];
        let mut bytes = encode_pack(&entries);
        assert_eq!(decode_pack(&bytes), entries);
        bytes.extend_from_slice(b"not a line\n\xff\xfe\n0101 0202\n");
        assert_eq!(decode_pack(&bytes), entries);
        let index = index(&[
            ("a".into(), entries.clone()),
            ("b".into(), vec![entries[0], (Key([1; 32]), Key([5; 32]))]),
        ]);
        assert_eq!(index[&Key([1; 32])], [Key([2; 32]), Key([5; 32])]);
    }
}
