//! The on-store format of a result: a fixed header, then the CBOR payload.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "JUGR"
//!      4     1  format version (1)
//!      5     3  reserved, zero
//!      8     8  payload length, little-endian
//!     16    32  blake3 of the payload
//!     48     …  payload (deterministic CBOR)
//! ```
//! A file cut short by a crash, a flipped bit or a foreign file fails [`open`], and the caller
//! treats the result as missing rather than ever returning wrong bytes.
//!
//! A result with our magic but another format version is not damaged: another jug-host
//! (newer, most likely) wrote it into a store it shares with us. We cannot read it, but it is
//! someone's good result, so [`open`] tells it apart ([`Unopened::OtherVersion`]) and callers
//! report it and leave it alone instead of removing it as damaged.

const MAGIC: &[u8; 4] = b"JUGR";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 48;

/// Wraps a payload in the header.
pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Why [`open`] gave no payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unopened {
    /// Not a sound result of any version: what is wrong with it.
    Damaged(&'static str),
    /// A result in a format version this jug-host does not know (the version byte).
    OtherVersion(u8),
}

/// Checks the header and returns the payload, or says what is wrong.
pub fn open(bytes: &[u8]) -> Result<&[u8], Unopened> {
    // Only the magic and the version byte are read before the version is known: a later
    // format may change everything after them.
    if bytes.len() >= 5 && &bytes[..4] == MAGIC && bytes[4] != VERSION {
        return Err(Unopened::OtherVersion(bytes[4]));
    }
    let damaged = |why| Err(Unopened::Damaged(why));
    if bytes.len() < HEADER_LEN {
        return damaged("shorter than the result header");
    }
    if &bytes[..4] != MAGIC {
        return damaged("not a jug-host result (bad magic)");
    }
    let length = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != length {
        return damaged("payload length does not match the header (truncated?)");
    }
    if blake3::hash(payload).as_bytes() != &bytes[16..48] {
        return damaged("checksum mismatch");
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let sealed = seal(b"\x82\x01\x02");
        assert_eq!(open(&sealed), Ok(&b"\x82\x01\x02"[..]));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open(&flipped), Err(Unopened::Damaged("checksum mismatch")));
        let why = |bytes: &[u8]| match open(bytes) {
            Err(Unopened::Damaged(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(why(&sealed[..sealed.len() - 1]).contains("length"));
        assert!(why(&sealed[..10]).contains("shorter"));
        assert!(why(&[b'x'; 60]).contains("magic"));
    }

    #[test]
    fn another_version_is_not_damage() {
        // Whatever follows the version byte: a later format may lay it out differently.
        let mut sealed = seal(b"\x01");
        sealed[4] = 2;
        assert_eq!(open(&sealed), Err(Unopened::OtherVersion(2)));
        assert_eq!(open(b"JUGR\x07"), Err(Unopened::OtherVersion(7)));
    }
}
