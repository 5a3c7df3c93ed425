//! A store in a local (or NFS-mounted) directory, with plain system calls.
//!
//! object_store's `LocalFileSystem` would do for reads and writes, but everything that makes a
//! local store fast and safe needs the file system itself: listing by reading directories only
//! (its listing stats every file three times, which made `status` on 10,000 tasks spend 90% of
//! its time in `statx`), create-if-absent by `renameat2`/`link`, one `syncfs(2)` per commit
//! instead of an fsync per file, and leases as hard links (see `local_locks`).

use std::io::{ErrorKind, Read as _, Seek as _, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::local_locks::{self, NoReplace, OwnerFile};
use super::{Backend, Put, is_lock_name};
use crate::store::StoreError;
use crate::store::lock::{Lease, LockRecord, Locking, new_owner_id};

pub(in crate::store) struct LocalDir {
    root: PathBuf,
    /// The store as the user named it, for messages.
    shown: String,
    /// This process's lock record file, which every lock it takes links to.
    owner_file: Mutex<Option<Arc<OwnerFile>>>,
    /// Names this process's temporary files apart from every other writer's.
    writer_tag: String,
    /// How files are moved into place without replacing one on this file system.
    no_replace: NoReplace,
}

impl LocalDir {
    /// A store rooted at `root` (which need not exist for reading: it then reads as empty).
    pub(in crate::store) fn new(root: PathBuf, shown: String) -> LocalDir {
        LocalDir {
            root,
            shown,
            owner_file: Mutex::new(None),
            writer_tag: new_owner_id().replace([':', '/'], "-"),
            no_replace: NoReplace::default(),
        }
    }

    /// Moves files into place with `link` + `unlink`, as on file systems without
    /// `renameat2` flags (NFS): how the tests cover that path.
    pub(in crate::store) fn force_link_fallback(&self) {
        self.no_replace.force_link();
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn io_error(&self, operation: &'static str, source: std::io::Error) -> StoreError {
        StoreError::Io { operation, path: self.shown.clone(), source }
    }

    /// This process's lock record file, written on first use.
    fn owner_file(&self, record: &LockRecord) -> Result<Arc<OwnerFile>, StoreError> {
        let mut owner = self.owner_file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = owner.as_ref() {
            return Ok(file.clone());
        }
        let file = OwnerFile::create(&self.root, record)
            .map_err(|source| self.io_error("take a lock in", source))?;
        Ok(owner.insert(Arc::new(file)).clone())
    }
}

impl Backend for LocalDir {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(self.path(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(self.io_error("read", source)),
        }
    }

    fn get_range(&self, path: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, StoreError> {
        let read = || -> std::io::Result<Vec<u8>> {
            let mut file = std::fs::File::open(self.path(path))?;
            file.seek(SeekFrom::Start(range.start))?;
            let mut bytes = Vec::with_capacity(range.end.saturating_sub(range.start).min(1 << 20) as usize);
            file.take(range.end.saturating_sub(range.start)).read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        match read() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(self.io_error("read", source)),
        }
    }

    fn put(&self, path: &str, bytes: Vec<u8>, mode: Put) -> Result<bool, StoreError> {
        let to = self.path(path);
        let written = match mode {
            Put::Create => local_locks::write_new(&to, &bytes, &self.writer_tag, &self.no_replace),
            Put::Overwrite => write_replacing(&to, &bytes, &self.writer_tag).map(|()| true),
        };
        written.map_err(|source| self.io_error("write to", source))
    }

    fn delete(&self, path: &str) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path(path)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(self.io_error("remove from", e)),
            _ => Ok(()),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let listed = list_files(&self.path(prefix), false).map_err(|source| self.io_error("list", source))?;
        Ok(listed.into_iter().map(|(path, _)| path).collect())
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, Option<u64>)>, StoreError> {
        list_files(&self.path(prefix), true).map_err(|source| self.io_error("list", source))
    }

    fn sync(&self) -> Result<(), StoreError> {
        let dir = match std::fs::File::open(&self.root) {
            Ok(dir) => dir,
            // A read-only store that does not exist has nothing to sync.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(self.io_error("sync", source)),
        };
        rustix::fs::syncfs(&dir).map_err(|errno| self.io_error("sync", errno.into()))
    }

    fn try_lock(&self, name: &str, record: &LockRecord) -> Result<Locking, StoreError> {
        let owner = self.owner_file(record)?;
        // A lock can vanish between our failed create and our read of it; look again, a few
        // times, before calling it held.
        for _ in 0..4 {
            let attempt = local_locks::try_lock(&self.root, name, &owner, &self.no_replace)
                .map_err(|source| self.io_error("take a lock in", source))?;
            if let Some(locking) = attempt {
                return Ok(locking);
            }
        }
        Ok(Locking::Held(None))
    }

    fn unlock(&self, name: &str) -> Result<(), StoreError> {
        let owner = self.owner_file.lock().unwrap_or_else(|p| p.into_inner());
        let Some(owner) = owner.as_ref() else { return Ok(()) };
        local_locks::unlock(&self.root, name, owner)
            .map_err(|source| self.io_error("release a lock in", source))
    }

    /// One touch renews every lease of this process (they are links to one file).
    fn renew(&self) -> Result<Vec<String>, StoreError> {
        if let Some(owner) = self.owner_file.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            owner.touch().map_err(|source| self.io_error("renew the leases in", source))?;
        }
        Ok(Vec::new())
    }

    fn read_lock(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let lock = self.root.join("locks").join(name);
        let read = local_locks::read(&lock).map_err(|source| self.io_error("read a lock in", source))?;
        Ok(read.map(|(lease, _)| lease))
    }

    fn list_locks(&self) -> Result<Vec<String>, StoreError> {
        let entries = match std::fs::read_dir(self.root.join("locks")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(self.io_error("list the locks of", source)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| self.io_error("list the locks of", source))?;
            if let Some(name) = entry.file_name().to_str().filter(|n| is_lock_name(n)) {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn new_worker(&self) -> Box<dyn Backend> {
        let mut worker = LocalDir::new(self.root.clone(), self.shown.clone());
        worker.no_replace = self.no_replace.clone();
        Box::new(worker)
    }

    fn as_local(&self) -> Option<&LocalDir> {
        Some(self)
    }
}

impl Drop for LocalDir {
    /// The owner record is only needed while this process may hold locks; the links of a
    /// crashed process keep it readable through the lock files themselves.
    fn drop(&mut self) {
        if let Some(owner) = self.owner_file.get_mut().unwrap_or_else(|p| p.into_inner()) {
            owner.remove();
        }
    }
}

/// The size of a regular file we may read (following a link): `None` for anything else.
fn readable_size(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    let readable = rustix::fs::access(path, rustix::fs::Access::READ_OK).is_ok();
    (meta.is_file() && readable).then_some(meta.len())
}

/// Writes `to` through a temporary file renamed over it, so no reader sees part of it.
fn write_replacing(to: &Path, bytes: &[u8], unique: &str) -> std::io::Result<()> {
    let name = to.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    let temporary = to.with_file_name(format!(".{name}.{unique}"));
    if let Err(e) = std::fs::write(&temporary, bytes) {
        if e.kind() != ErrorKind::NotFound {
            return Err(e);
        }
        std::fs::create_dir_all(to.parent().unwrap_or(Path::new(".")))?;
        std::fs::write(&temporary, bytes)?;
    }
    std::fs::rename(&temporary, to).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// The files below `dir`, relative to it, by reading directories only (no `stat` per file);
/// with `sized`, each with its size if we can read it (a `stat` and an `access` per file: what
/// is listed so is the packs and the few results stored alone, not a file per result).
/// Temporary files (a leading `.`) are not objects yet, and are left out.
fn list_files(dir: &Path, sized: bool) -> std::io::Result<Vec<(String, Option<u64>)>> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((dir, relative)) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else { continue };
            let path = if relative.is_empty() { name.to_owned() } else { format!("{relative}/{name}") };
            if entry.file_type()?.is_dir() {
                pending.push((entry.path(), path));
            } else {
                let size = if sized { readable_size(&entry.path()) } else { None };
                files.push((path, size));
            }
        }
    }
    Ok(files)
}
