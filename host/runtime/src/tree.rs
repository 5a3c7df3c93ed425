//! The content of a granted directory as one digest: a Merkle tree of what a task can see.
//!
//! A read-only grant is an input like an argument: a task that reads `/data` computes from
//! what is there, so what is there must be in its key, or pointing `--dir` at another data
//! set would silently reuse results computed from the old one.
//!
//! **The digest.** A file is the blake3 hash of its bytes; a symbolic link is the hash of its
//! target text (never followed: inside the sandbox a link can only lead to something else in
//! the tree, which is hashed in its own place, or out of it, which the task cannot open); a
//! directory is a hash over its entries sorted by name, each as (name, kind, digest), so the
//! order a file system lists them in does not matter and an empty directory counts. Names are
//! relative, so two checkouts of one data set agree. Permissions and times are left out: a
//! WASI task cannot see permissions, and `touch` must not re-run anything (a task *can* read
//! modification times through `stat`; a task that computes from them is not reproducible, and
//! its key does not pretend otherwise). An entry the host may not read (permission denied)
//! counts as "unreadable": the task, which reads through the host, cannot read it either.
//! Special files (FIFOs, sockets, devices) are refused with an error naming them: reading
//! one can block or never end, and what it yields is not content a key can hold.
//!
//! **The cost.** Hashing 100,000 files on every `status` would be slow, so file digests are
//! cached on this machine (under the compiled-code cache directory, one file per granted
//! tree) by (device, inode, size, modification time, change time): an unchanged tree costs
//! one walk that only stats each entry. A file's change time moves on every write, rename or
//! `touch` and cannot be set by hand, so a matching entry means unchanged content, with one
//! exception, git's "racily clean" files: an edit within the same timestamp tick as the hash
//! leaves every field the same. So an entry is only kept when the file was last changed at
//! least [`RACY_WINDOW_NS`] before it was read; a younger file is hashed again next time. A
//! damaged, truncated or foreign cache file is a miss, never an error, and it is replaced
//! atomically (temporary file, then rename), so concurrent walks never read half of one.
//!
//! Every directory is opened from its parent's handle with cap-std, and every file without
//! following links and without blocking, then checked to be the very inode the walk listed:
//! a tree that changes under the walk is an error, not a wrong digest.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, FileTypeExt, Metadata, MetadataExt, OpenOptions, OpenOptionsExt};
use jug_core::Key;

use crate::sealed;

/// How long before its reading a file must have last changed for its cache entry to be
/// trusted: more than any file system's timestamp granularity (FAT's is 2 s).
pub const RACY_WINDOW_NS: i128 = 3_000_000_000;

/// Deeper trees are refused: the walk recurses, and a task with a writable grant could have
/// built an arbitrarily deep one to crash the next build.
pub const MAX_DEPTH: usize = 256;

const FILE: u8 = 1;
const DIRECTORY: u8 = 2;
const SYMLINK: u8 = 3;
const UNREADABLE: u8 = 4;

/// Why a tree has no digest. Paths are relative to the granted directory.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(
        "`{path}` is a {kind}, whose content cannot enter a key: a read-only grant may hold only files, directories and symbolic links"
    )]
    Special { path: String, kind: &'static str },
    #[error("`{path}` is nested more than {MAX_DEPTH} directories deep")]
    TooDeep { path: String },
    #[error("`{path}` changed while it was being read; run again")]
    Changed { path: String },
    #[error("cannot read `{path}`: {error}")]
    Io { path: String, error: std::io::Error },
}

/// The digest of the tree under `root`, using (and updating) this machine's cache.
pub fn digest(root: &Dir) -> Result<Key, TreeError> {
    digest_with_cache(root, crate::cache::directory().map(|d| d.join("trees")).as_deref())
}

/// [`digest`] with the cache in `cache_dir` (`None`: no cache, hash everything).
pub fn digest_with_cache(root: &Dir, cache_dir: Option<&Path>) -> Result<Key, TreeError> {
    let meta = root.dir_metadata().map_err(io(Path::new(".")))?;
    let mut cache = Cache::load(cache_dir, Stat::of(&meta));
    let mut walk = Walk { cache: &mut cache, path: PathBuf::new() };
    let digest = walk.directory(root, 0)?;
    cache.save();
    Ok(Key(digest))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TreeError + '_ {
    move |error| TreeError::Io { path: shown(path), error }
}

fn shown(path: &Path) -> String {
    match path.as_os_str().is_empty() {
        true => ".".to_owned(),
        false => path.to_string_lossy().into_owned(),
    }
}

struct Walk<'c> {
    cache: &'c mut Cache,
    /// Where the walk is, relative to the root, for messages.
    path: PathBuf,
}

impl Walk<'_> {
    fn directory(&mut self, dir: &Dir, depth: usize) -> Result<[u8; 32], TreeError> {
        let mut children: Vec<(Vec<u8>, u8, [u8; 32])> = Vec::new();
        for entry in dir.entries().map_err(io(&self.path))? {
            let entry = entry.map_err(io(&self.path))?;
            let name = entry.file_name();
            self.path.push(&name);
            let child = self.entry(dir, &name, &entry, depth);
            self.path.pop();
            let (kind, digest) = child?;
            children.push((name.as_bytes().to_vec(), kind, digest));
        }
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(node_digest(&children))
    }

    fn entry(
        &mut self,
        dir: &Dir,
        name: &OsStr,
        entry: &cap_std::fs::DirEntry,
        depth: usize,
    ) -> Result<(u8, [u8; 32]), TreeError> {
        // `DirEntry::metadata` does not follow symbolic links.
        let meta = entry.metadata().map_err(io(&self.path))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = dir.read_link_contents(name).map_err(io(&self.path))?;
            return Ok((SYMLINK, *blake3::hash(target.as_os_str().as_bytes()).as_bytes()));
        }
        if kind.is_dir() {
            if depth >= MAX_DEPTH {
                return Err(TreeError::TooDeep { path: shown(&self.path) });
            }
            let sub = match dir.open_dir(name) {
                Ok(sub) => sub,
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Ok((UNREADABLE, [0; 32]));
                }
                Err(e) => return Err(io(&self.path)(e)),
            };
            self.same_inode(&meta, &sub.dir_metadata().map_err(io(&self.path))?)?;
            return Ok((DIRECTORY, self.directory(&sub, depth + 1)?));
        }
        if kind.is_file() {
            return self.file(dir, name, &meta);
        }
        let kind = match () {
            _ if kind.is_fifo() => "FIFO",
            _ if kind.is_socket() => "socket",
            _ if kind.is_block_device() => "block device",
            _ if kind.is_char_device() => "character device",
            _ => "special file",
        };
        Err(TreeError::Special { path: shown(&self.path), kind })
    }

    fn file(&mut self, dir: &Dir, name: &OsStr, listed: &Metadata) -> Result<(u8, [u8; 32]), TreeError> {
        if let Some(digest) = self.cache.lookup(&Stat::of(listed)) {
            return Ok((FILE, digest));
        }
        let started = now_ns();
        // Not following a link swapped in since the listing, not blocking on a FIFO.
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        let mut file = match dir.open_with(name, &options) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok((UNREADABLE, [0; 32])),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(TreeError::Changed { path: shown(&self.path) });
            }
            Err(e) => return Err(io(&self.path)(e)),
        };
        // The stat of the open file is what the cache records: a write after it changes the
        // change time, so the entry will not match.
        let opened = file.metadata().map_err(io(&self.path))?;
        self.same_inode(listed, &opened)?;
        if !opened.is_file() {
            return Err(TreeError::Changed { path: shown(&self.path) });
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(&mut file).map_err(io(&self.path))?;
        let digest = *hasher.finalize().as_bytes();
        self.cache.record(Stat::of(&opened), digest, started);
        Ok((FILE, digest))
    }

    fn same_inode(&self, listed: &Metadata, opened: &Metadata) -> Result<(), TreeError> {
        match (listed.dev(), listed.ino()) == (opened.dev(), opened.ino()) {
            true => Ok(()),
            false => Err(TreeError::Changed { path: shown(&self.path) }),
        }
    }
}

/// A directory's digest from its entries, sorted by name.
fn node_digest(children: &[(Vec<u8>, u8, [u8; 32])]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-11 granted directory");
    hasher.update(&(children.len() as u64).to_le_bytes());
    for (name, kind, digest) in children {
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name);
        hasher.update(&[*kind]);
        hasher.update(digest);
    }
    *hasher.finalize().as_bytes()
}

pub(crate) fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// What the cache compares: a file is unchanged if all of this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Stat {
    fn of(meta: &Metadata) -> Stat {
        let times = [meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec()];
        Stat::from_parts(meta.dev(), meta.ino(), meta.size(), times)
    }

    /// [`Stat::of`] a file's metadata as the standard library reads it.
    pub(crate) fn of_std(meta: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt as _;
        let times = [meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec()];
        Stat::from_parts(meta.dev(), meta.ino(), meta.size(), times)
    }

    /// From `stat(2)`'s fields; `times` are the modification and change times, each as
    /// seconds and nanoseconds.
    fn from_parts(dev: u64, ino: u64, size: u64, times: [i64; 4]) -> Stat {
        let ns = |secs: i64, nanos: i64| secs as i128 * 1_000_000_000 + nanos as i128;
        Stat { dev, ino, size, mtime_ns: ns(times[0], times[1]), ctime_ns: ns(times[2], times[3]) }
    }

    /// Whether a file with this stat, read from `started` on, could have been written within
    /// the same timestamp tick as the read (git's "racily clean"): then its digest is not
    /// kept.
    pub(crate) fn is_racy(&self, started: i128) -> bool {
        self.mtime_ns.max(self.ctime_ns) + RACY_WINDOW_NS > started
    }

    pub(crate) const BYTES: usize = 8 * 3 + 16 * 2;

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dev.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.ctime_ns.to_le_bytes());
    }

    pub(crate) fn read(bytes: &[u8]) -> Stat {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let i128_at = |i: usize| i128::from_le_bytes(bytes[i..i + 16].try_into().expect("16 bytes"));
        Stat {
            dev: u64_at(0),
            ino: u64_at(8),
            size: u64_at(16),
            mtime_ns: i128_at(24),
            ctime_ns: i128_at(40),
        }
    }
}

/// File digests of one granted tree, by (device, inode).
///
/// Format: [`CACHE_MAGIC`], the entry count (u64 LE), the entries ([`Stat`] then the 32-byte
/// digest), then the blake3 hash of everything before it.
pub(crate) struct Cache {
    file: Option<PathBuf>,
    known: Entries,
    /// The entries of this walk: what is written back, so deleted files drop out.
    seen: Entries,
    changed: bool,
}

/// File digests by (device, inode), with the stat they were taken at.
type Entries = HashMap<(u64, u64), (Stat, [u8; 32])>;

const CACHE_MAGIC: &[u8; 16] = b"jug-tree-cache1\n";
const RECORD: usize = Stat::BYTES + 32;

impl Cache {
    /// The cache of the tree whose root has `root`'s device and inode; empty when there is
    /// none or it is unreadable.
    pub(crate) fn load(dir: Option<&Path>, root: Stat) -> Cache {
        let file = dir.map(|dir| sealed::file_for(dir, &root));
        let known =
            file.as_deref().and_then(|f| std::fs::read(f).ok()).and_then(|b| parse(&b)).unwrap_or_default();
        Cache { file, known, seen: HashMap::new(), changed: false }
    }

    pub(crate) fn lookup(&mut self, stat: &Stat) -> Option<[u8; 32]> {
        let id = (stat.dev, stat.ino);
        let &(known, digest) = self.known.get(&id).filter(|(known, _)| known == stat)?;
        self.seen.insert(id, (known, digest));
        Some(digest)
    }

    /// Notes that the file with `stat` has `digest`, read from `started` on: kept only if it
    /// had not changed within [`RACY_WINDOW_NS`] before then.
    pub(crate) fn record(&mut self, stat: Stat, digest: [u8; 32], started: i128) {
        self.changed = true;
        if !stat.is_racy(started) {
            self.seen.insert((stat.dev, stat.ino), (stat, digest));
        }
    }

    /// Writes the entries of this walk back, if anything changed. Failing to is only a
    /// slower next walk.
    pub(crate) fn save(&self) {
        let Some(path) = &self.file else { return };
        if !self.changed && self.seen.len() == self.known.len() {
            return;
        }
        let mut bytes = Vec::with_capacity(CACHE_MAGIC.len() + 8 + self.seen.len() * RECORD + 32);
        bytes.extend_from_slice(CACHE_MAGIC);
        bytes.extend_from_slice(&(self.seen.len() as u64).to_le_bytes());
        for (stat, digest) in self.seen.values() {
            stat.write(&mut bytes);
            bytes.extend_from_slice(digest);
        }
        let written = sealed::write(path, &sealed::seal(bytes));
        if let Err(e) = written {
            tracing::debug!("cannot write the tree cache {}: {e}", path.display());
        }
    }
}

/// The entries of a cache file; `None` if it is not a whole, intact one.
fn parse(bytes: &[u8]) -> Option<Entries> {
    let records = sealed::unseal(bytes)?.strip_prefix(CACHE_MAGIC)?;
    if records.len() < 8 {
        return None;
    }
    let (count, records) = records.split_at(8);
    let count = u64::from_le_bytes(count.try_into().ok()?) as usize;
    if records.len() != count.checked_mul(RECORD)? {
        return None;
    }
    let entries = records.chunks_exact(RECORD).map(|record| {
        let stat = Stat::read(record);
        let digest: [u8; 32] = record[Stat::BYTES..].try_into().expect("32 bytes");
        ((stat.dev, stat.ino), (stat, digest))
    });
    Some(entries.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::ambient_authority;

    fn open(path: &Path) -> Dir {
        Dir::open_ambient_dir(path, ambient_authority()).unwrap()
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        root
    }

    fn digest_of(root: &Path) -> Key {
        digest_with_cache(&open(root), None).unwrap()
    }

    #[test]
    fn the_digest_is_of_names_kinds_and_contents_in_any_order() {
        let a = tree(&[("x/1.txt", "one"), ("x/2.txt", "two"), ("top", "t")]);
        // The same tree, created in another order.
        let b = tree(&[("top", "t"), ("x/2.txt", "two"), ("x/1.txt", "one")]);
        assert_eq!(digest_of(a.path()), digest_of(b.path()));
        let before = digest_of(a.path());
        std::fs::write(a.path().join("x/2.txt"), "TWO").unwrap();
        assert_ne!(digest_of(a.path()), before, "content");
        std::fs::write(a.path().join("x/2.txt"), "two").unwrap();
        assert_eq!(digest_of(a.path()), before);
        std::fs::rename(a.path().join("x/2.txt"), a.path().join("x/3.txt")).unwrap();
        assert_ne!(digest_of(a.path()), before, "name");
        // Moving a file between directories is a change, though the set of contents is not.
        let flat = tree(&[("x", "one")]);
        let nested = tree(&[("x/x", "one")]);
        assert_ne!(digest_of(flat.path()), digest_of(nested.path()));
    }

    #[test]
    fn empty_directories_count() {
        let a = tree(&[("f", "1")]);
        let before = digest_of(a.path());
        std::fs::create_dir(a.path().join("empty")).unwrap();
        let with_empty = digest_of(a.path());
        assert_ne!(with_empty, before);
        // An empty directory is not an empty file of the same name.
        std::fs::remove_dir(a.path().join("empty")).unwrap();
        std::fs::write(a.path().join("empty"), "").unwrap();
        assert_ne!(digest_of(a.path()), with_empty);
        assert_ne!(digest_of(tempfile::tempdir().unwrap().path()), digest_of(a.path()));
    }

    #[test]
    fn a_symlink_counts_by_its_target_text_not_as_a_file() {
        let link = tree(&[("target", "content")]);
        std::os::unix::fs::symlink("target", link.path().join("name")).unwrap();
        // A file holding the target text, and a copy of the target: both differ from a link.
        let text = tree(&[("target", "content"), ("name", "target")]);
        let copy = tree(&[("target", "content"), ("name", "content")]);
        let linked = digest_of(link.path());
        assert_ne!(linked, digest_of(text.path()));
        assert_ne!(linked, digest_of(copy.path()));
        // Links out of the tree are not followed: their text is all that counts.
        let out = tree(&[]);
        std::os::unix::fs::symlink("/etc/passwd", out.path().join("passwd")).unwrap();
        let other = tree(&[]);
        std::os::unix::fs::symlink("/etc/hosts", other.path().join("passwd")).unwrap();
        assert_ne!(digest_of(out.path()), digest_of(other.path()));
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let root = tree(&[("ok", "1")]);
        let fifo = root.path().join("sub/pipe");
        std::fs::create_dir(fifo.parent().unwrap()).unwrap();
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let error = digest_with_cache(&open(root.path()), None).unwrap_err();
        assert!(matches!(&error, TreeError::Special { path, kind: "FIFO" } if path == "sub/pipe"), "{error}");
    }

    #[test]
    fn deep_trees_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let mut dir = open(root.path());
        for _ in 0..=MAX_DEPTH {
            dir.create_dir("d").unwrap();
            dir = dir.open_dir("d").unwrap();
        }
        assert!(matches!(digest_with_cache(&open(root.path()), None), Err(TreeError::TooDeep { .. })));
    }

    fn stat(ino: u64, changed_ns: i128) -> Stat {
        Stat { dev: 1, ino, size: 5, mtime_ns: changed_ns, ctime_ns: changed_ns }
    }

    #[test]
    fn racily_clean_entries_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let root = stat(1, 0);
        let now = now_ns();
        let mut cache = Cache::load(Some(dir.path()), root);
        // Read just after it changed: an edit in the same tick would leave the stat alike.
        cache.record(stat(10, now - 1_000_000), [1; 32], now);
        cache.record(stat(11, now - RACY_WINDOW_NS - 1), [2; 32], now);
        assert_eq!(cache.lookup(&stat(10, now - 1_000_000)), None);
        cache.save();
        let mut again = Cache::load(Some(dir.path()), root);
        assert_eq!(again.lookup(&stat(10, now - 1_000_000)), None);
        assert_eq!(again.lookup(&stat(11, now - RACY_WINDOW_NS - 1)), Some([2; 32]));
        // Any field different: a miss.
        assert_eq!(again.lookup(&Stat { size: 6, ..stat(11, now - RACY_WINDOW_NS - 1) }), None);
        assert_eq!(again.lookup(&stat(11, now - RACY_WINDOW_NS)), None);
    }

    #[test]
    fn a_damaged_cache_is_a_miss_and_is_replaced() {
        let cache_dir = tempfile::tempdir().unwrap();
        let data = tree(&[("a", "alpha"), ("b", "beta")]);
        // Old enough to be cached.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for name in ["a", "b"] {
            std::fs::File::options()
                .write(true)
                .open(data.path().join(name))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        let expected = digest_of(data.path());
        let sleep_past_ctime = std::time::Duration::from_nanos(RACY_WINDOW_NS as u64 + 100_000_000);
        std::thread::sleep(sleep_past_ctime);
        assert_eq!(digest_with_cache(&open(data.path()), Some(cache_dir.path())).unwrap(), expected);
        let files: Vec<_> = std::fs::read_dir(cache_dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let written = std::fs::read(&files[0]).unwrap();
        assert_eq!(parse(&written).map(|e| e.len()), Some(2));
        // A cached digest is used: planting another one in a valid file changes the result,
        // which proves the walk did not read the file again.
        let mut planted = parse(&written).unwrap();
        for (_, digest) in planted.values_mut() {
            *digest = [9; 32];
        }
        let mut cache =
            Cache::load(Some(cache_dir.path()), Stat::of(&open(data.path()).dir_metadata().unwrap()));
        cache.known = planted;
        cache.seen = cache.known.clone();
        cache.changed = true;
        cache.save();
        assert_ne!(digest_with_cache(&open(data.path()), Some(cache_dir.path())).unwrap(), expected);
        // Damaged in any way: a miss, and rewritten whole.
        for damage in [&written[..written.len() - 1], &written[..10], b"garbage".as_slice(), &[]] {
            std::fs::write(&files[0], damage).unwrap();
            assert_eq!(digest_with_cache(&open(data.path()), Some(cache_dir.path())).unwrap(), expected);
            assert_eq!(parse(&std::fs::read(&files[0]).unwrap()).map(|e| e.len()), Some(2));
        }
    }
}
