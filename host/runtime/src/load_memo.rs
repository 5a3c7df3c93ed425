//! What loading the graph's component learned from its bytes, remembered by the file's
//! metadata, so that the next command on an unchanged component need not read it.
//!
//! Every command starts by loading the component, and most of that went into reading its
//! bytes and hashing them (for the compiled-code cache key): for a 14 MB JavaScript component
//! ~5 ms reading and ~2.5 ms hashing on two cores, for an 18 MB Python one twice that, before
//! anything else could run. Yet all that is derived from the bytes is the blake3 digest that
//! names the compiled form, the code identity and the per-function digests. So those are kept
//! here, under the component file's (device, inode, size, modification time, change time), as
//! the granted-tree cache keeps file digests (see `tree`, which explains why that stat means
//! unchanged content): a file changed within [`crate::tree::RACY_WINDOW_NS`] before it was
//! read is not remembered, and a file that changes while it is read (its stat before and after
//! differ) is not either. A memo that is damaged, foreign or from another version of jug-host
//! is a miss, never an error; a miss, or a hit whose compiled form has left the cache, loads
//! the component from its bytes as before.
//!
//! Components with per-function variants (`cargo jug build`) are not remembered: their
//! variants' bytes are needed anyway.
//!
//! Format: [`MAGIC`], jug-host's version (u16 LE length, then UTF-8), the [`Stat`], the
//! content digest, the code identity, the number of function digests (u32 LE) and each as its
//! name (u32 LE length, then UTF-8) and digest, sealed (see `sealed`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jug_core::Key;

use crate::sealed;
use crate::tree::{Stat, now_ns};

const MAGIC: &[u8; 16] = b"jug-load-memo-1\n";

/// What a load learned from a component's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The blake3 hash of the bytes: the name of their compiled form in the cache.
    pub digest: [u8; 32],
    /// The code identity (part of every task key).
    pub code: Key,
    pub functions: BTreeMap<String, Key>,
}

/// One component file's memo: looked up before its bytes are read, written after.
pub(crate) struct Memo {
    file: Option<PathBuf>,
    /// The component's stat when the memo was opened, before any byte was read.
    stat: Option<Stat>,
    started: i128,
    recalled: Option<Facts>,
}

impl Memo {
    /// Stats the component at `path` and looks up what an earlier load learned from it, in
    /// this machine's cache directory.
    pub(crate) fn open(path: &Path) -> Memo {
        Memo::open_in(crate::cache::directory().map(|d| d.join("loads")).as_deref(), path)
    }

    /// [`Memo::open`] with the memos in `dir` (`None`: remember nothing).
    pub(crate) fn open_in(dir: Option<&Path>, path: &Path) -> Memo {
        let started = now_ns();
        let stat = std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| Stat::of_std(&m));
        let file = dir.zip(stat).map(|(dir, stat)| sealed::file_for(dir, &stat));
        let recalled = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| parse(&bytes))
            .filter(|(remembered, _)| Some(*remembered) == stat)
            .map(|(_, facts)| facts);
        Memo { file, stat, started, recalled }
    }

    /// What an earlier load learned from this very file, if it is unchanged since.
    pub(crate) fn recalled(&mut self) -> Option<Facts> {
        self.recalled.take()
    }

    /// Remembers `facts`, learned from `path`'s bytes read since [`Memo::open`], if the file is
    /// still what it was then and had not changed for a while before. Failing to write is only
    /// a slower next load.
    pub(crate) fn remember(&self, path: &Path, facts: &Facts) {
        let (Some(file), Some(stat)) = (&self.file, self.stat) else { return };
        let after = std::fs::metadata(path).ok().map(|m| Stat::of_std(&m));
        if after != Some(stat) || stat.is_racy(self.started) {
            return;
        }
        if let Err(e) = sealed::write(file, &encode(&stat, facts)) {
            tracing::debug!("cannot remember the load of {}: {e}", path.display());
        }
    }
}

fn encode(stat: &Stat, facts: &Facts) -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(version.len() as u16).to_le_bytes());
    bytes.extend_from_slice(version);
    stat.write(&mut bytes);
    bytes.extend_from_slice(&facts.digest);
    bytes.extend_from_slice(&facts.code.0);
    bytes.extend_from_slice(&(facts.functions.len() as u32).to_le_bytes());
    for (name, key) in &facts.functions {
        bytes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&key.0);
    }
    sealed::seal(bytes)
}

/// The stat and facts of a memo; `None` unless it is a whole, intact one of this version.
fn parse(bytes: &[u8]) -> Option<(Stat, Facts)> {
    let mut rest = sealed::unseal(bytes)?.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (taken, left) = rest.split_at_checked(n)?;
        rest = left;
        Some(taken)
    };
    let version_len = u16::from_le_bytes(take(2)?.try_into().ok()?) as usize;
    if take(version_len)? != env!("CARGO_PKG_VERSION").as_bytes() {
        return None;
    }
    let stat = Stat::read(take(Stat::BYTES)?);
    let digest: [u8; 32] = take(32)?.try_into().ok()?;
    let code = Key(take(32)?.try_into().ok()?);
    let count = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let mut functions = BTreeMap::new();
    for _ in 0..count {
        let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let name = String::from_utf8(take(len)?.to_vec()).ok()?;
        functions.insert(name, Key(take(32)?.try_into().ok()?));
    }
    if !rest.is_empty() {
        return None;
    }
    Some((stat, Facts { digest, code, functions }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::RACY_WINDOW_NS;

    fn facts() -> Facts {
        let functions = [("double".to_owned(), Key([3; 32])), ("sum".to_owned(), Key([4; 32]))].into();
        Facts { digest: [1; 32], code: Key([2; 32]), functions }
    }

    /// A component file, and a memo directory beside it.
    fn component() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.wasm");
        std::fs::write(&path, b"\0asm not really").unwrap();
        let memos = dir.path().join("loads");
        (dir, path, memos)
    }

    /// A memo opened `later_ns` after now: a file's change time cannot be set back, so how
    /// old it was when read is set through when the read started.
    fn opened_later(memos: &Path, path: &Path, later_ns: i128) -> Memo {
        let mut memo = Memo::open_in(Some(memos), path);
        memo.started += later_ns;
        memo
    }

    #[test]
    fn an_unchanged_file_is_recalled_and_a_changed_one_is_not() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS + 1).remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path).recalled(), Some(facts()));

        // Rewritten with bytes of the same size: the change time moves, the memo is stale.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"\0asm NOT really").unwrap();
        assert_eq!(Memo::open_in(Some(&memos), &path).recalled(), None);
    }

    #[test]
    fn a_file_changed_just_before_it_was_read_is_not_remembered() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS / 2).remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path).recalled(), None);
    }

    #[test]
    fn a_file_changed_while_it_was_read_is_not_remembered() {
        let (_dir, path, memos) = component();
        let memo = opened_later(&memos, &path, RACY_WINDOW_NS + 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"\0asm changed while read").unwrap();
        memo.remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path).recalled(), None);
    }

    #[test]
    fn a_damaged_or_foreign_memo_is_a_miss() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS + 1).remember(&path, &facts());
        let file = std::fs::read_dir(&memos).unwrap().next().unwrap().unwrap().path();
        let good = std::fs::read(&file).unwrap();
        assert!(parse(&good).is_some());
        for cut in [0, 1, 16, good.len() / 2, good.len() - 1] {
            assert!(parse(&good[..cut]).is_none(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        assert!(parse(&flipped).is_none());
        // Another version of jug-host may derive identities otherwise.
        let stat = parse(&good).unwrap().0;
        let mut other = encode(&stat, &facts());
        let at = MAGIC.len() + 2;
        other[at] ^= 0x20; // the version's first character
        let body = other.len() - 32;
        let check = *blake3::hash(&other[..body]).as_bytes();
        other[body..].copy_from_slice(&check);
        assert!(parse(&other).is_none());
        std::fs::write(&file, b"junk").unwrap();
        assert_eq!(Memo::open_in(Some(&memos), &path).recalled(), None);
    }
}
