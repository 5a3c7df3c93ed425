//! The small files this machine keeps beside its compiled-code cache (the granted-tree cache,
//! the load memos): each named after one file's device and inode, ending in a blake3 check of
//! what comes before it, and replaced atomically, so a damaged, cut or half-written one reads
//! as nothing and concurrent writers never mix.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::tree::Stat;

/// The file in `dir` kept for the file with `stat`'s device and inode.
pub(crate) fn file_for(dir: &Path, stat: &Stat) -> PathBuf {
    let id = blake3::hash(&[stat.dev.to_le_bytes(), stat.ino.to_le_bytes()].concat());
    dir.join(&id.to_hex()[..32])
}

/// `body` followed by its check.
pub(crate) fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let check = blake3::hash(&body);
    body.extend_from_slice(check.as_bytes());
    body
}

/// What [`seal`] sealed; `None` unless `bytes` are whole and intact.
pub(crate) fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    let (body, check) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    (blake3::hash(body).as_bytes() == check).then_some(body)
}

/// Replaces `path` with `bytes` through a temporary file renamed over it, creating its
/// directory if need be.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or(std::io::Error::from(std::io::ErrorKind::NotFound))?;
    std::fs::create_dir_all(dir)?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    temporary.write_all(bytes)?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}
