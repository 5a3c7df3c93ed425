//! Task keys.
//!
//! ```text
//! key = blake3_derive_key(KEY_CONTEXT,
//!         HOST_SEMANTICS ‖ code identity ‖ len(function) ‖ function ‖ argument template)
//! ```
//! The argument template holds the keys of the tasks it refers to, so keys form a Merkle DAG:
//! changing an input changes the key of every task downstream of it and of nothing else.
//! Changing the component's code changes every key of that component.

use std::fmt;

/// blake3 domain separation for task keys.
const KEY_CONTEXT: &str = "jug-host 2026-11 task key";

/// Everything about the host that can change a task's result for the same code and input:
/// the WIT ABI and the determinism settings of the engine. Changing any of them must change
/// every key on purpose, never silently.
///
/// The trailing `host=N` counts changes to what keys cover that are not in the rest of the
/// string (README, "Upgrading"): 2 is issue 11's, where read-only grants entered keys by
/// content, compound tasks by the libraries they used, and the SDKs' digests by every byte
/// they bundle.
pub const HOST_SEMANTICS: &str =
    "jug:task@0.1.0;nan-canonical;relaxed-simd-deterministic;clock=fixed;random=key-seeded;host=2";

/// A task's 32-byte key, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// Derives the key of `function(template)` in the component with identity `code`.
    pub fn derive(code: &Key, function: &str, template: &[u8]) -> Key {
        let mut hasher = blake3::Hasher::new_derive_key(KEY_CONTEXT);
        hasher.update(HOST_SEMANTICS.as_bytes());
        hasher.update(&code.0);
        hasher.update(&(function.len() as u64).to_le_bytes());
        hasher.update(function.as_bytes());
        hasher.update(template);
        Key(*hasher.finalize().as_bytes())
    }

    /// Lowercase hex, as used in store paths.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from_digit((byte >> 4) as u32, 16).unwrap_or('0'));
            out.push(char::from_digit((byte & 15) as u32, 16).unwrap_or('0'));
        }
        out
    }

    /// Parses 64 hex digits (as found in store paths); anything else is `None`.
    pub fn from_hex(hex: &str) -> Option<Key> {
        if hex.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Key(key))
    }

    /// The first 12 hex digits, enough to tell tasks apart in messages.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_owned()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let key = Key::derive(&Key([7; 32]), "f", &[0x80]);
        assert_eq!(Key::from_hex(&key.to_hex()), Some(key));
        assert_eq!(Key::from_hex("abc"), None);
        assert_eq!(Key::from_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn every_part_of_the_preimage_matters() {
        let code = Key([1; 32]);
        let base = Key::derive(&code, "f", &[0x81, 0x01]);
        assert_ne!(base, Key::derive(&Key([2; 32]), "f", &[0x81, 0x01]));
        assert_ne!(base, Key::derive(&code, "g", &[0x81, 0x01]));
        assert_ne!(base, Key::derive(&code, "f", &[0x81, 0x02]));
        // The length prefix keeps function and template from sliding into each other.
        assert_ne!(Key::derive(&code, "fa", &[]), Key::derive(&code, "f", b"a"));
    }
}
