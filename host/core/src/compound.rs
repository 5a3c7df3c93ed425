//! What a compound task's result is valid for.
//!
//! A compound task is asked for by name and arguments before its sub-graph is declared (that is
//! the point: once its result is stored, the sub-graph is never declared again). The name, the
//! arguments and the graph's own code give its *handle*. But the sub-graph may run tasks of
//! other components (`graph.declare-in`), and a result computed with one version of such a
//! library is not the result of another. So the compound task's key is its handle combined with
//! the libraries (path as the builder named it, and code identity) its sub-graph's final task
//! depends on; a compound task whose sub-graph uses only the graph's own code keeps its handle
//! as its key.
//!
//! The next build must know which libraries to check without declaring the sub-graph: running
//! the compound task stores a small record of their names next to the results, under a key
//! derived from the handle ([`record_key`]). The builder reads it, computes the libraries'
//! identities as they are now, and asks for the result under the key they give: a library that
//! changed gives a key with no result, so the sub-graph is declared and runs again, and every
//! task downstream of the compound task gets a new key too.

use crate::Key;
use crate::cbor::{Reader, write_head};

/// A library a sub-graph used: its path relative to the graph (as the builder named it in
/// `declare-in`) and its code identity.
pub type Library = (String, Key);

/// Where the names of the libraries behind the compound task `handle` are recorded.
pub fn record_key(handle: &Key) -> Key {
    Key(blake3::derive_key("jug-host 2026-11 compound task libraries", &handle.0))
}

/// The key of the compound task `handle` for these libraries (sorted by name, without
/// repeats): `handle` itself when there are none.
pub fn key(handle: &Key, libraries: &[Library]) -> Key {
    if libraries.is_empty() {
        return *handle;
    }
    let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-11 compound task code");
    hasher.update(&handle.0);
    hasher.update(&encode(libraries));
    Key(*hasher.finalize().as_bytes())
}

/// The record of `libraries`: deterministic CBOR, an array of `[name, code identity]`.
pub fn encode(libraries: &[Library]) -> Vec<u8> {
    let mut out = Vec::new();
    write_head(&mut out, 4, libraries.len() as u64);
    for (name, code) in libraries {
        out.push(0x82);
        write_head(&mut out, 3, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
        write_head(&mut out, 2, 32);
        out.extend_from_slice(&code.0);
    }
    out
}

/// The library names in a record; `None` if it is not one (damaged or foreign), which the
/// caller treats as no record at all: the sub-graph is declared again.
pub fn decode(record: &[u8]) -> Option<Vec<String>> {
    let mut reader = Reader::new(record);
    let count = reader.head().ok().filter(|h| h.major == 4)?.arg;
    // Each entry takes more than 36 bytes: a larger count is a lie.
    if count > record.len() as u64 / 36 {
        return None;
    }
    let mut names = Vec::with_capacity(count as usize);
    for _ in 0..count {
        reader.head().ok().filter(|h| h.major == 4 && h.arg == 2)?;
        let name = reader.head().ok().filter(|h| h.major == 3)?;
        let name = std::str::from_utf8(reader.take(name.arg).ok()?).ok()?;
        let code = reader.head().ok().filter(|h| h.major == 2 && h.arg == 32)?;
        reader.take(code.arg).ok()?;
        names.push(name.to_owned());
    }
    (reader.pos == record.len()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::{self, References};

    #[test]
    fn a_record_is_deterministic_cbor_and_reads_back() {
        let libraries = vec![("lib/a.wasm".to_owned(), Key([1; 32])), ("x".repeat(300), Key([2; 32]))];
        let record = encode(&libraries);
        cbor::validate(&record, References::Forbidden).expect("deterministic CBOR");
        assert_eq!(decode(&record), Some(vec!["lib/a.wasm".to_owned(), "x".repeat(300)]));
        assert_eq!(decode(&record[..record.len() - 1]), None);
        assert_eq!(decode(&[0x9a, 0xff, 0xff, 0xff, 0xff]), None, "a count longer than the record");
        assert_eq!(decode(b"\x81\x01"), None);
    }

    #[test]
    fn the_key_is_the_handle_until_a_library_is_used_and_follows_its_code() {
        let handle = Key([9; 32]);
        assert_eq!(key(&handle, &[]), handle);
        let v1 = key(&handle, &[("lib.wasm".into(), Key([1; 32]))]);
        let v2 = key(&handle, &[("lib.wasm".into(), Key([2; 32]))]);
        let moved = key(&handle, &[("other.wasm".into(), Key([1; 32]))]);
        assert!(v1 != handle && v1 != v2 && v1 != moved && v2 != moved);
        assert_ne!(record_key(&handle), handle);
    }
}
