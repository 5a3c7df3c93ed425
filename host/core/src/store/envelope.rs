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

const MAGIC: &[u8; 4] = b"JUGR";
const VERSION: u8 = 1;
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

/// Checks the header and returns the payload, or says what is wrong.
pub fn open(bytes: &[u8]) -> Result<&[u8], &'static str> {
    if bytes.len() < HEADER_LEN {
        return Err("shorter than the result header");
    }
    if &bytes[..4] != MAGIC {
        return Err("not a jug-host result (bad magic)");
    }
    if bytes[4] != VERSION {
        return Err("written by an incompatible jug-host (unknown format version)");
    }
    let length = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != length {
        return Err("payload length does not match the header (truncated?)");
    }
    if blake3::hash(payload).as_bytes() != &bytes[16..48] {
        return Err("checksum mismatch");
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
        assert_eq!(open(&flipped), Err("checksum mismatch"));
        assert!(open(&sealed[..sealed.len() - 1]).unwrap_err().contains("length"));
        assert!(open(&sealed[..10]).unwrap_err().contains("shorter"));
        assert!(open(&[b'x'; 60]).unwrap_err().contains("magic"));
    }
}
