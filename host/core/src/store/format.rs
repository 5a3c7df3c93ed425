//! The store's format marker: one small object, `format`, at the store's root.
//!
//! A store outlives the binary that made it and is shared by workers that may not all run the
//! same jug-host. When a later version changes the layout or the result envelope, it raises
//! [`FORMAT`]; a binary opening a store marked with a format newer than its own refuses it
//! (reads and writes alike) rather than misread it or write old-format objects into it. An
//! older format is never written over either: a newer binary knows how to read or migrate
//! it. A store without a marker (made before markers existed) has format 1's layout; the
//! first command that opens it for writing marks it.
//!
//! Format 2 (packs and shard leases, see `store`) reads everything format 1 wrote: a
//! format-1 result is a result stored alone, where it always was. Opening a format-1 store
//! for writing moves its marker to 2 and says so once, because from then on a format-1
//! jug-host would not see the packed results (it refuses the store instead of taking it for
//! empty).
//!
//! ```json
//! {"jug-host store format": 1, "written by": "jug-host 0.1.0"}
//! ```

/// The layout this binary reads and writes (see the module docs of `store`).
pub const FORMAT: u64 = 2;

/// The key the format number is under, worded so that someone who finds the file knows what
/// it is.
const FIELD: &str = "jug-host store format";

/// The marker's bytes.
pub fn marker() -> Vec<u8> {
    let written_by = concat!("jug-host ", env!("CARGO_PKG_VERSION"));
    serde_json::to_vec(&serde_json::json!({ FIELD: FORMAT, "written by": written_by }))
        .expect("a JSON object serializes")
}

/// Says, once, that a store of an older format is being moved up to this one.
pub fn upgrade(store: &str, found: u64) {
    tracing::warn!(
        "store {store} has format {found}; marking it format {FORMAT}: its results stay readable, and \
         jug-host versions that only know format {found} will refuse it from now on"
    );
}

/// The format a marker names; `None` if the bytes are not a marker.
pub fn read(bytes: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(bytes).ok()?.get(FIELD)?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_reads_back() {
        assert_eq!(read(&marker()), Some(FORMAT));
        assert_eq!(read(br#"{"jug-host store format": 7}"#), Some(7));
        assert_eq!(read(b"not json"), None);
        assert_eq!(read(br#"{"format": 1}"#), None);
    }
}
