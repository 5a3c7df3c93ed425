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
//! When a task runs and its result is durable, `execute` stores `traces/<trace>/<key>`; before
//! running a task with no result, it looks its trace up in one listing of `traces/` made per
//! run, and on a hit copies the earlier key's result to the new key: same code, same input
//! values, so by the determinism the sandbox enforces, the same bytes.
//!
//! Never reused this way: compound tasks (nothing runs), and tasks that may write through a
//! grant (their own `jug::directory(…).writable()` or a `--dir …:rw`), whose run is an effect
//! the copy would not repeat.

use crate::Key;
use crate::cbor::{Reference, Wrapper};

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
}
