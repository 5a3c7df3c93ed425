//! Task references: where a template stands for another task's result, and building a task's
//! input by copying the results into those places.

use super::Step;
use crate::Key;

/// A task reference inside a template: the bytes `start..end` (tag and payload) stand for the
/// result of the task with this key, or the part of it that `path` leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub start: usize,
    pub end: usize,
    pub key: Key,
    pub path: Vec<Step>,
}

/// Builds a task's input: `template` with each reference replaced by its value (`values[i]`
/// for `references[i]`). Results are themselves deterministic CBOR, so the output is too.
/// The caller checks [`spliced_len`] first: one result referenced many times would otherwise
/// make the output many times its size.
pub fn splice(template: &[u8], references: &[Reference], values: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(spliced_len(template, references, values) as usize);
    let mut copied = 0;
    for (reference, value) in references.iter().zip(values) {
        out.extend_from_slice(&template[copied..reference.start]);
        out.extend_from_slice(value);
        copied = reference.end;
    }
    out.extend_from_slice(&template[copied..]);
    out
}

/// The size of what [`splice`] would build, computed without building it.
pub fn spliced_len(template: &[u8], references: &[Reference], values: &[&[u8]]) -> u64 {
    let replaced: u64 = references.iter().map(|r| (r.end - r.start) as u64).sum();
    let spliced: u64 = values.iter().map(|v| v.len() as u64).sum();
    template.len() as u64 - replaced + spliced
}

/// A task reference (tag 27253 around a key) as a builder writes it, for tests.
#[cfg(test)]
pub(crate) fn test_reference(key: &Key) -> Vec<u8> {
    let mut bytes = vec![0xd9, 0x6a, 0x75, 0x58, 0x20];
    bytes.extend_from_slice(&key.0);
    bytes
}
