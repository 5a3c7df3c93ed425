//! Packs: the results one batch commits, as one object with its index in front (think git
//! packfiles). One PUT (or one file and one `syncfs`) stores a whole batch, and one small
//! range read tells what a pack holds.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "JUGP"
//!      4     1  format version (1)
//!      5     3  reserved, zero
//!      8     4  number of entries, little-endian
//!     12     4  length of the entry table in bytes
//!     16    32  blake3 of the entry table
//!     48     …  entry table, then the results, each sealed as a lone result is (`envelope`)
//! ```
//!
//! An entry is `key (32) ‖ offset (8) ‖ length (8) ‖ has trace (1) ‖ [trace (32)] ‖
//! name length (2) ‖ name`: where the sealed result lies in the pack, and what `cleanup`
//! and early cutoff need without reading any result (the task's name, see `cleanup`; the
//! trace it ran with, see `trace`). A table that does not hash to its digest, or entries
//! pointing outside the pack, make the whole pack unreadable: its tasks run again.

use crate::Key;

const MAGIC: &[u8; 4] = b"JUGP";
const VERSION: u8 = 1;
pub(super) const HEADER_LEN: usize = 48;

/// How much of a pack a reader fetches first: the header and, for packs of up to about a
/// thousand results, the whole entry table.
pub(super) const FIRST_READ: u64 = 64 << 10;

/// One result in a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    /// Where the sealed result starts in the pack, and its sealed length.
    pub offset: u64,
    pub len: u64,
    pub name: String,
    pub trace: Option<Key>,
}

/// A result to pack: its key, task name, trace, and the sealed bytes.
pub(super) struct Packed<'a> {
    pub key: Key,
    pub name: &'a str,
    pub trace: Option<Key>,
    pub sealed: Vec<u8>,
}

/// The pack of `results`, and its entries.
pub(super) fn encode(results: &[Packed]) -> (Vec<u8>, Vec<Entry>) {
    let table_len: usize = results.iter().map(|r| entry_len(r.name, r.trace.is_some())).sum();
    let mut offset = (HEADER_LEN + table_len) as u64;
    let entries: Vec<Entry> = results
        .iter()
        .map(|r| {
            let entry = Entry {
                key: r.key,
                offset,
                len: r.sealed.len() as u64,
                name: r.name.to_owned(),
                trace: r.trace,
            };
            offset += r.sealed.len() as u64;
            entry
        })
        .collect();
    let table = encode_table(&entries);
    let mut pack = Vec::with_capacity(offset as usize);
    pack.extend_from_slice(MAGIC);
    pack.extend_from_slice(&[VERSION, 0, 0, 0]);
    pack.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    pack.extend_from_slice(&(table.len() as u32).to_le_bytes());
    pack.extend_from_slice(blake3::hash(&table).as_bytes());
    pack.extend_from_slice(&table);
    for r in results {
        pack.extend_from_slice(&r.sealed);
    }
    (pack, entries)
}

fn entry_len(name: &str, trace: bool) -> usize {
    32 + 8 + 8 + 1 + if trace { 32 } else { 0 } + 2 + name.len().min(u16::MAX as usize)
}

/// Entries as the table stores them (also the body of a consolidated index, see `index`).
pub(super) fn encode_table(entries: &[Entry]) -> Vec<u8> {
    let mut table = Vec::with_capacity(entries.iter().map(|e| entry_len(&e.name, e.trace.is_some())).sum());
    for e in entries {
        table.extend_from_slice(&e.key.0);
        table.extend_from_slice(&e.offset.to_le_bytes());
        table.extend_from_slice(&e.len.to_le_bytes());
        match e.trace {
            Some(trace) => {
                table.push(1);
                table.extend_from_slice(&trace.0);
            }
            None => table.push(0),
        }
        // Names are short; one longer than a u16 is cut at a character boundary.
        let mut cut = e.name.len().min(u16::MAX as usize);
        while !e.name.is_char_boundary(cut) {
            cut -= 1;
        }
        table.extend_from_slice(&(cut as u16).to_le_bytes());
        table.extend_from_slice(&e.name.as_bytes()[..cut]);
    }
    table
}

/// Reads `count` entries from a table; `None` if it is malformed.
pub(super) fn decode_table(mut table: &[u8], count: usize) -> Option<Vec<Entry>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    let u64_at = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    let mut entries = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let key = Key(take(&mut table, 32)?.try_into().ok()?);
        let offset = u64_at(take(&mut table, 8)?);
        let len = u64_at(take(&mut table, 8)?);
        let trace = match take(&mut table, 1)?[0] {
            0 => None,
            1 => Some(Key(take(&mut table, 32)?.try_into().ok()?)),
            _ => return None,
        };
        let name_len = u16::from_le_bytes(take(&mut table, 2)?.try_into().ok()?) as usize;
        let name = std::str::from_utf8(take(&mut table, name_len)?).ok()?.to_owned();
        entries.push(Entry { key, offset, len, name, trace });
    }
    table.is_empty().then_some(entries)
}

/// What the first bytes of a pack say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Header {
    /// The header and the entry table's extent: `HEADER_LEN + table_len` bytes hold it all.
    Sound {
        count: usize,
        table_len: usize,
        digest: [u8; 32],
    },
    /// A pack of a later format: not ours to read, and not damaged either.
    OtherVersion(u8),
    Damaged,
}

pub(super) fn header(bytes: &[u8]) -> Header {
    let Some(head) = bytes.get(..HEADER_LEN) else { return Header::Damaged };
    if &head[..4] != MAGIC || head[5..8] != [0, 0, 0] {
        return Header::Damaged;
    }
    if head[4] != VERSION {
        return Header::OtherVersion(head[4]);
    }
    let count = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")) as usize;
    let table_len = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes")) as usize;
    Header::Sound { count, table_len, digest: head[16..48].try_into().expect("32 bytes") }
}

/// The entries of a pack whose first `HEADER_LEN + table_len` bytes are `bytes` (more is
/// fine); `None` if they are damaged or point outside a pack of `pack_len` bytes (when known).
pub(super) fn entries(bytes: &[u8], pack_len: Option<u64>) -> Option<Vec<Entry>> {
    let Header::Sound { count, table_len, digest } = header(bytes) else { return None };
    let table = bytes.get(HEADER_LEN..HEADER_LEN + table_len)?;
    if blake3::hash(table).as_bytes() != &digest {
        return None;
    }
    let entries = decode_table(table, count)?;
    let start = (HEADER_LEN + table_len) as u64;
    let inside = |e: &Entry| {
        e.offset >= start && e.offset.checked_add(e.len).is_some_and(|end| pack_len.is_none_or(|n| end <= n))
    };
    entries.iter().all(inside).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(key: u8, name: &str, trace: Option<u8>, payload: &[u8]) -> Packed<'static> {
        let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
        Packed { key: Key([key; 32]), name, trace: trace.map(|t| Key([t; 32])), sealed: payload.to_vec() }
    }

    #[test]
    fn a_pack_reads_back_and_every_entry_points_at_its_bytes() {
        let results = [packed(1, "g.a", None, b"first"), packed(2, "g.b", Some(9), b"second, longer")];
        let (pack, entries) = encode(&results);
        assert_eq!(super::entries(&pack, Some(pack.len() as u64)).unwrap(), entries);
        for (entry, result) in entries.iter().zip(&results) {
            assert_eq!(&pack[entry.offset as usize..(entry.offset + entry.len) as usize], &result.sealed[..]);
        }
        assert_eq!(entries[1].trace, Some(Key([9; 32])));
        assert_eq!(entries[0].name, "g.a");
    }

    #[test]
    fn damage_anywhere_in_the_index_makes_the_pack_unreadable() {
        let (pack, _) = encode(&[packed(1, "g.a", Some(3), b"x")]);
        let table_end = HEADER_LEN + entry_len("g.a", true);
        for i in 0..table_end {
            let mut damaged = pack.clone();
            damaged[i] ^= 0x40;
            assert!(entries(&damaged, Some(pack.len() as u64)).is_none(), "byte {i}");
        }
        assert_eq!(header(&pack[..10]), Header::Damaged);
        // Cut short: the entries point past the end.
        assert!(entries(&pack, Some(pack.len() as u64 - 1)).is_none());
    }
}
