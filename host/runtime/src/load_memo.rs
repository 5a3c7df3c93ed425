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
//! differ) is not either. A memo that is damaged, foreign or written by another build of
//! jug-host is a miss, never an error; a miss, or a hit whose compiled form has left the cache,
//! loads the component from its bytes as before.
//!
//! "Another build", not only another version: how an identity is derived from the bytes is
//! jug-host's own code, which changes between builds that share a version number (every build
//! of a working tree is 0.1.0), and a memo from before such a change would give tasks keys the
//! bytes no longer give. So a memo is stamped with the version and the running executable's
//! stat: a rebuilt or reinstalled jug-host reads each component once more.
//!
//! Components with per-function variants (`cargo jug build`) are not remembered: their
//! variants' bytes are needed anyway.
//!
//! Format: [`MAGIC`], the build stamp (u16 LE length, then UTF-8), the [`Stat`], the
//! content digest, the code identity, the number of function digests (u32 LE) and each as its
//! name (u32 LE length, then UTF-8) and digest, sealed (see `sealed`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// The build of jug-host that is running: its version and its executable's stat; `None` when
/// the executable cannot be found, and then nothing is remembered.
fn build_stamp() -> Option<&'static str> {
    static STAMP: OnceLock<Option<String>> = OnceLock::new();
    STAMP
        .get_or_init(|| {
            let exe = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
            let mut stat = Vec::new();
            Stat::of_std(&exe).write(&mut stat);
            Some(format!("{} {}", env!("CARGO_PKG_VERSION"), blake3::hash(&stat).to_hex()))
        })
        .as_deref()
}

/// One component file's memo: looked up before its bytes are read, written after.
pub(crate) struct Memo {
    stamp: Option<&'static str>,
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
        Memo::open_in(crate::cache::directory().map(|d| d.join("loads")).as_deref(), path, build_stamp())
    }

    /// [`Memo::open`] with the memos in `dir`, for the build `stamp` (either `None`: remember
    /// nothing).
    pub(crate) fn open_in(dir: Option<&Path>, path: &Path, stamp: Option<&'static str>) -> Memo {
        let started = now_ns();
        let stat = std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| Stat::of_std(&m));
        let file = dir.zip(stat).filter(|_| stamp.is_some()).map(|(dir, stat)| sealed::file_for(dir, &stat));
        let recalled = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| parse(&bytes, stamp?))
            .filter(|(remembered, _)| Some(*remembered) == stat)
            .map(|(_, facts)| facts);
        Memo { stamp, file, stat, started, recalled }
    }

    /// What an earlier load learned from this very file, if it is unchanged since.
    pub(crate) fn recalled(&mut self) -> Option<Facts> {
        self.recalled.take()
    }

    /// Remembers `facts`, learned from `path`'s bytes read since [`Memo::open`], if the file is
    /// still what it was then and had not changed for a while before. Failing to write is only
    /// a slower next load.
    pub(crate) fn remember(&self, path: &Path, facts: &Facts) {
        let (Some(file), Some(stat), Some(stamp)) = (&self.file, self.stat, self.stamp) else { return };
        let after = std::fs::metadata(path).ok().map(|m| Stat::of_std(&m));
        if after != Some(stat) || stat.is_racy(self.started) {
            return;
        }
        if let Err(e) = sealed::write(file, &encode(&stat, facts, stamp)) {
            tracing::debug!("cannot remember the load of {}: {e}", path.display());
        }
    }
}

fn encode(stat: &Stat, facts: &Facts, stamp: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(stamp.len() as u16).to_le_bytes());
    bytes.extend_from_slice(stamp.as_bytes());
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

/// The stat and facts of a memo; `None` unless it is a whole, intact one of the build `stamp`.
fn parse(bytes: &[u8], stamp: &str) -> Option<(Stat, Facts)> {
    let mut rest = sealed::unseal(bytes)?.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (taken, left) = rest.split_at_checked(n)?;
        rest = left;
        Some(taken)
    };
    let stamp_len = u16::from_le_bytes(take(2)?.try_into().ok()?) as usize;
    if take(stamp_len)? != stamp.as_bytes() {
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

    const STAMP: Option<&str> = Some("0.1.0 this build");

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
        let mut memo = Memo::open_in(Some(memos), path, STAMP);
        memo.started += later_ns;
        memo
    }

    #[test]
    fn an_unchanged_file_is_recalled_and_a_changed_one_is_not() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS + 1).remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path, STAMP).recalled(), Some(facts()));

        // Rewritten with bytes of the same size: the change time moves, the memo is stale.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"\0asm NOT really").unwrap();
        assert_eq!(Memo::open_in(Some(&memos), &path, STAMP).recalled(), None);
    }

    #[test]
    fn a_file_changed_just_before_it_was_read_is_not_remembered() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS / 2).remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path, STAMP).recalled(), None);
    }

    #[test]
    fn a_file_changed_while_it_was_read_is_not_remembered() {
        let (_dir, path, memos) = component();
        let memo = opened_later(&memos, &path, RACY_WINDOW_NS + 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"\0asm changed while read").unwrap();
        memo.remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path, STAMP).recalled(), None);
    }

    #[test]
    fn a_damaged_or_foreign_memo_is_a_miss() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS + 1).remember(&path, &facts());
        let file = std::fs::read_dir(&memos).unwrap().next().unwrap().unwrap().path();
        let good = std::fs::read(&file).unwrap();
        let stamp = STAMP.unwrap();
        assert!(parse(&good, stamp).is_some());
        for cut in [0, 1, 16, good.len() / 2, good.len() - 1] {
            assert!(parse(&good[..cut], stamp).is_none(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        assert!(parse(&flipped, stamp).is_none());
        std::fs::write(&file, b"junk").unwrap();
        assert_eq!(Memo::open_in(Some(&memos), &path, STAMP).recalled(), None);
    }

    /// Another build may derive identities otherwise, even under the same version number.
    #[test]
    fn a_memo_of_another_build_is_a_miss_and_none_is_kept_without_a_stamp() {
        let (_dir, path, memos) = component();
        opened_later(&memos, &path, RACY_WINDOW_NS + 1).remember(&path, &facts());
        assert_eq!(Memo::open_in(Some(&memos), &path, STAMP).recalled(), Some(facts()));
        assert_eq!(Memo::open_in(Some(&memos), &path, Some("0.1.0 rebuilt")).recalled(), None);
        assert_eq!(Memo::open_in(Some(&memos), &path, None).recalled(), None);

        let (_dir, path, memos) = component();
        let mut memo = Memo::open_in(Some(&memos), &path, None);
        memo.started += RACY_WINDOW_NS + 1;
        memo.remember(&path, &facts());
        assert!(!memos.exists(), "nothing is remembered without a stamp");
    }

    #[test]
    fn the_running_build_has_a_stamp_that_names_its_version() {
        assert!(build_stamp().is_some_and(|s| s.starts_with(env!("CARGO_PKG_VERSION"))));
    }
}
