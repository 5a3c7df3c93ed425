//! Deterministic CBOR: the one value format of jug-host.
//!
//! Every argument template and every result must be exactly one CBOR item in the deterministic
//! encoding of RFC 8949 §4.2.1 — definite lengths, minimal integer and length heads, the
//! shortest float that keeps the value (NaN as `f9 7e00`), text-string map keys in strictly
//! increasing bytewise order. Equal values then have equal bytes on every machine and in every
//! guest language, which is what makes keys and result digests meaningful.
//!
//! [`validate`] checks those rules in one pass over the bytes without building a value, and on
//! the way records where the task references (tag [`TASK_REF_TAG`] around a 32-byte key) are,
//! so [`splice`] can later copy results into place by byte range.
//!
//! A reference may also name a part of a result — Jug's tasklets, `t[0]`: the tag then wraps
//! an array `[key, step, …]` where each step is an array index (unsigned) or a map key
//! (text). The part is taken from the result when the input is built ([`project`]); nothing
//! is stored for it, and the referring task depends on the whole task, so invalidation flows
//! through.
//!
//! The module, one concept a file:
//! - `reader`: decoding heads, refusing anything but minimal, definite encodings;
//! - `validate`: the one-pass check of a whole value, which finds references and wrappers;
//! - `references`: task references, and splicing results into a task's input;
//! - `project`: the steps of a tasklet reference, and taking that part of a result;
//! - `wrappers`: arguments in a wrapper tag (`NoHash`, `CustomHash`, file inputs, directory
//!   grants), what each stands for in the key and in the task's input.

mod project;
mod reader;
mod references;
#[cfg(test)]
mod tests;
mod validate;
mod wrappers;

pub use project::{Step, project};
pub use reader::{Head, Reader};
#[cfg(test)]
pub(crate) use references::test_reference;
pub use references::{Reference, splice, spliced_len};
pub use validate::{References, validate, validate_template};
pub use wrappers::{DirInput, FileInput, Wrapper, guest_path_is_valid, unwrap};

/// Appends a CBOR head (major type 0–7, argument) with the shortest argument, as deterministic
/// CBOR requires: what every writer of CBOR in jug-host builds its items from.
pub fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let major = major << 5;
    match arg {
        0..=23 => out.push(major | arg as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// The CBOR tag of a reference to another task's result (payload: the 32-byte key).
/// 27253 is `0x6a75`, "ju", in the first-come-first-served range of the IANA registry.
pub const TASK_REF_TAG: u64 = 27253;

/// Jug's `NoHash`: the wrapped argument is passed to the task but left out of its key.
pub const KEY_EXEMPT_TAG: u64 = 27254;

/// Jug's `CustomHash`: wraps `[bytes, value]`; the task gets `value`, its key hashes `bytes`.
pub const CUSTOM_KEY_TAG: u64 = 27255;

/// A file input: wraps `[path, digest]`; the key hashes both, the task gets the path at which
/// the file is mounted in its sandbox (see [`FileInput`]).
pub const FILE_INPUT_TAG: u64 = 27256;

/// A directory grant for one task: wraps `[host path, guest path, writable]`; the key hashes
/// all three, the task gets the guest path (see [`DirInput`]).
pub const DIR_GRANT_TAG: u64 = 27257;

/// Nesting deeper than this is refused, so a hostile value cannot exhaust the host's stack.
/// Every reader that recurses into stored CBOR ([`project`], jug-host's JSON for `value`) stops
/// here too: a result is validated when a task returns it, but one planted in a shared store
/// never was.
pub const MAX_DEPTH: usize = 256;

/// Why bytes are not deterministic CBOR (or not allowed where they appear).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (at byte {offset})")]
pub struct CborError {
    pub offset: usize,
    pub problem: String,
}
