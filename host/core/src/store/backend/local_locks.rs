//! Leases in a local directory, with nothing but `link(2)`, `rename(2)` and file times.
//!
//! Each worker process writes one record file, `locks/owners/<owner>`, and every lock it
//! takes is a hard link to it: `link` is create-if-absent, and it allocates no inode per task
//! (creating and deleting an inode per task made ext4 scan its recently deleted inodes on
//! every create, up to 0.8 ms of CPU per task). Because all of a process's locks are one
//! inode, renewing every lease it holds is a single touch of that file's modification time.
//!
//! Taking over an expired lease must have exactly one winner, and `link` cannot replace a
//! file. So a contender first renames the expired lock to a name only it uses — of several
//! contenders, only one rename finds the file — then checks that what it moved is the inode
//! it judged expired. If a faster contender had already replaced the lock with a live one,
//! that lock is put back without replacing anything (see [`NoReplace`]). Between the move and the winner's link the
//! lock is briefly absent, and a worker looking in that instant may create it instead: still
//! exactly one holder, though that one does not know it replaced an expired lease (and the
//! task's takeover count starts afresh).
//!
//! A lock taken over is not a link to the taker's record but a file of its own, written with
//! the task's takeover count (see `lock`); the taker keeps it open and renews it with its
//! record. Takeovers are rare, so the extra inode costs nothing that matters.

use std::collections::HashMap;
use std::fs::{File, FileTimes};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use crate::store::lock::{Lease, LockRecord, Locking};

/// This process's record file, which its locks link to.
pub(super) struct OwnerFile {
    path: PathBuf,
    /// Kept open so renewal works even if someone removed the path (see `remove_if_dead`).
    file: File,
    inode: u64,
    record: LockRecord,
    /// Locks taken over, by key: each its own file, kept open for renewal.
    taken: Mutex<HashMap<String, (File, u64)>>,
}

impl OwnerFile {
    /// Writes `locks/owners/<owner>` (and the directories locking needs).
    pub(super) fn create(root: &Path, record: &LockRecord) -> std::io::Result<OwnerFile> {
        let locks = root.join("locks");
        std::fs::create_dir_all(locks.join("owners"))?;
        std::fs::create_dir_all(locks.join("takeover"))?;
        let path = owner_path(root, &record.owner);
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, record.to_json())?;
        std::fs::rename(&temporary, &path)?;
        let file = File::open(&path)?;
        let inode = file.metadata()?.ino();
        Ok(OwnerFile { path, file, inode, record: record.clone(), taken: Mutex::default() })
    }

    /// Renews every lease this process holds: all but the ones taken over at once.
    pub(super) fn touch(&self) -> std::io::Result<()> {
        let now = FileTimes::new().set_modified(SystemTime::now());
        self.file.set_times(now)?;
        for (file, _) in self.taken().values() {
            file.set_times(now)?;
        }
        Ok(())
    }

    fn taken(&self) -> std::sync::MutexGuard<'_, HashMap<String, (File, u64)>> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the lock file with this inode is ours.
    fn holds(&self, inode: u64) -> bool {
        inode == self.inode || self.taken().values().any(|&(_, taken)| taken == inode)
    }

    /// Creates the lock at `lock` as a file of its own holding our record with one takeover
    /// more than `expired`'s; `false` if someone created the lock first.
    fn take_over(&self, root: &Path, key_hex: &str, expired: &LockRecord) -> std::io::Result<bool> {
        let lock = root.join("locks").join(key_hex);
        let temporary = root.join("locks").join("takeover").join(format!("{key_hex}.{}.new", self.inode));
        let mut file = File::create(&temporary)?;
        let written =
            file.write_all(&self.record.taking_over(expired).to_json()).and_then(|()| file.metadata());
        let linked = written.and_then(|meta| std::fs::hard_link(&temporary, &lock).map(|()| meta.ino()));
        std::fs::remove_file(&temporary)?;
        match linked {
            Ok(inode) => {
                self.taken().insert(key_hex.to_owned(), (file, inode));
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One attempt at a task's lock; `None` when the lock changed under us and the caller
/// should look again.
pub(super) fn try_lock(
    root: &Path,
    key_hex: &str,
    owner: &OwnerFile,
    no_replace: &NoReplace,
) -> std::io::Result<Option<Locking>> {
    let lock = root.join("locks").join(key_hex);
    match std::fs::hard_link(&owner.path, &lock) {
        Ok(()) => return Ok(Some(Locking::Acquired { took_over: None })),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let Some((lease, inode)) = read(&lock)? else { return Ok(None) };
    if owner.holds(inode) {
        // Our own lock, e.g. a task listed twice: it is held, by us.
        return Ok(Some(Locking::Held(Some(lease))));
    }
    if !lease.is_expired(SystemTime::now()) {
        return Ok(Some(Locking::Held(Some(lease))));
    }
    let aside = root.join("locks").join("takeover").join(format!("{key_hex}.{}", owner.inode));
    match std::fs::rename(&lock, &aside) {
        Ok(()) => {}
        // Another contender moved it first.
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Some(Locking::Held(Some(lease)))),
        Err(e) => return Err(e),
    }
    if std::fs::symlink_metadata(&aside)?.ino() != inode {
        // We moved a lease someone took over in the meantime: give it back.
        if !no_replace.rename(&aside, &lock)? {
            std::fs::remove_file(&aside)?;
        }
        return Ok(Some(Locking::Held(None)));
    }
    std::fs::remove_file(&aside)?;
    remove_if_dead(root, &lease);
    match owner.take_over(root, key_hex, &lease.record)? {
        true => Ok(Some(Locking::Acquired { took_over: Some(lease) })),
        false => Ok(None),
    }
}

/// Releases a lock if it is still ours (after a takeover race it may be someone else's).
pub(super) fn unlock(root: &Path, key_hex: &str, owner: &OwnerFile) -> std::io::Result<()> {
    let lock = root.join("locks").join(key_hex);
    let taken = owner.taken().remove(key_hex).map(|(_, inode)| inode);
    match std::fs::symlink_metadata(&lock) {
        Ok(meta) if meta.ino() == owner.inode || Some(meta.ino()) == taken => {
            match std::fs::remove_file(&lock) {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The lease at `lock` and its inode, or `None` if there is no lock.
pub(super) fn read(lock: &Path) -> std::io::Result<Option<(Lease, u64)>> {
    let mut file = match File::open(lock) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let mut bytes = Vec::with_capacity(256);
    file.read_to_end(&mut bytes)?;
    let lease = Lease { record: LockRecord::parse(&bytes), renewed: meta.modified()? };
    Ok(Some((lease, meta.ino())))
}

/// A process killed with `kill -9` leaves its record file behind; once its last lock is
/// taken over and it has not renewed for a lease period, nothing needs it.
fn remove_if_dead(root: &Path, lease: &Lease) {
    let path = owner_path(root, &lease.record.owner);
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        let renewed = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let dead = Lease { record: lease.record.clone(), renewed };
        if meta.nlink() == 1 && dead.is_expired(SystemTime::now()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn owner_path(root: &Path, owner: &str) -> PathBuf {
    root.join("locks").join("owners").join(owner.replace(['/', '\\', '.'], "_"))
}

/// Moving a file into place unless something is there already. `renameat2(RENAME_NOREPLACE)`
/// does it in one step, but NFS, older kernels and some FUSE file systems refuse the flag
/// (`EINVAL`, `ENOSYS`, `EOPNOTSUPP`); there `link` + `unlink` does the same, since `link`
/// never replaces a file either. Which one works is learnt on the first call and kept for the
/// store, since all its files live on one file system.
#[derive(Debug, Clone, Default)]
pub(super) struct NoReplace {
    link_instead: Arc<AtomicBool>,
}

impl NoReplace {
    /// Uses `link` + `unlink` from now on, as if `renameat2` had said `EINVAL` (for tests).
    pub(super) fn force_link(&self) {
        self.link_instead.store(true, Ordering::Relaxed);
    }

    /// `rename` that fails instead of replacing: `false` if `to` exists.
    pub(super) fn rename(&self, from: &Path, to: &Path) -> std::io::Result<bool> {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        if !self.link_instead.load(Ordering::Relaxed) {
            match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
                Ok(()) => return Ok(true),
                Err(Errno::EXIST) => return Ok(false),
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    tracing::debug!("renameat2(RENAME_NOREPLACE) is not supported here; using link + unlink");
                    self.link_instead.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        match std::fs::hard_link(from, to) {
            Ok(()) => {}
            // Over NFS a retransmitted `link` can report EEXIST for the link it just made:
            // if `to` is our file, the link is ours.
            Err(e) if e.kind() == ErrorKind::AlreadyExists && !same_file(from, to)? => return Ok(false),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        match std::fs::remove_file(from) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
            _ => Ok(true),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (a, b) = (std::fs::symlink_metadata(a)?, std::fs::symlink_metadata(b)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// Writes a file under a temporary name and moves it to `to` unless `to` exists: `false`
/// then. Results are written this way, so a second copy of a result is noticed (and counted
/// as a duplicate execution) instead of silently replacing the first.
pub(super) fn write_new(
    to: &Path,
    bytes: &[u8],
    unique: &str,
    no_replace: &NoReplace,
) -> std::io::Result<bool> {
    let name = to.file_name().and_then(|n| n.to_str()).unwrap_or("result");
    let temporary = to.with_file_name(format!(".{name}.{unique}"));
    if let Err(e) = std::fs::write(&temporary, bytes) {
        if e.kind() != ErrorKind::NotFound {
            return Err(e);
        }
        std::fs::create_dir_all(to.parent().unwrap_or(Path::new(".")))?;
        std::fs::write(&temporary, bytes)?;
    }
    let moved = no_replace.rename(&temporary, to);
    if !matches!(moved, Ok(true)) {
        let _ = std::fs::remove_file(&temporary);
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of moving a file into place: it moves when the target is free, and leaves
    /// both files as they were when it is not.
    #[test]
    fn moves_without_replacing_with_renameat2_and_with_link() {
        for forced in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (from, to) = (dir.path().join("from"), dir.path().join("to"));
            let no_replace = NoReplace::default();
            if forced {
                no_replace.force_link();
            }
            std::fs::write(&from, "new").unwrap();
            assert!(no_replace.rename(&from, &to).unwrap());
            assert!(!from.exists());
            assert_eq!(std::fs::read_to_string(&to).unwrap(), "new");

            std::fs::write(&from, "second").unwrap();
            assert!(!no_replace.rename(&from, &to).unwrap(), "forced: {forced}");
            assert_eq!(std::fs::read_to_string(&to).unwrap(), "new");
            assert_eq!(std::fs::read_to_string(&from).unwrap(), "second");
        }
    }

    /// NFS may answer a retransmitted `link` with EEXIST for the link it made: that is success.
    #[test]
    fn a_link_that_is_already_ours_counts_as_moved() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        std::fs::write(&from, "mine").unwrap();
        std::fs::hard_link(&from, &to).unwrap();
        let no_replace = NoReplace::default();
        no_replace.force_link();
        assert!(no_replace.rename(&from, &to).unwrap());
        assert!(!from.exists());
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "mine");
    }
}
