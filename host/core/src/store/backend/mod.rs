//! The one seam between the store's protocol and where its bytes live.
//!
//! Everything the store does (packs, leases, logs, manifests) is written once, over
//! [`Backend`]: a handful of object operations plus the lease primitives. Two implementations:
//!
//! - [`local::LocalDir`]: a directory, with plain system calls. Writes go to a temporary name
//!   and are renamed into place, create-if-absent is `renameat2(RENAME_NOREPLACE)` (or `link`),
//!   durability is one `syncfs(2)` per commit, and leases are hard links to a per-process record
//!   file (see `local_locks`).
//! - [`objects::Objects`]: any `object_store` (S3, Redis, memory), with conditional PUTs for
//!   create-if-absent and for leases (see `object_locks`), retried through outages.
//!
//! Paths are `/`-separated and relative to the store's root, made only of the characters
//! object_store leaves unescaped, so both backends name an object alike.

pub(super) mod local;
mod local_locks;
mod object_locks;
pub(super) mod objects;

use std::ops::Range;

use super::StoreError;
use super::lock::{Lease, LockRecord, Locking};

/// How [`Backend::put`] treats an object that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Put {
    /// Write only if absent (`false` when it exists): exactly one writer wins.
    Create,
    /// Replace whatever is there.
    Overwrite,
}

/// Where the store's objects and leases live.
pub(super) trait Backend: Send + Sync {
    /// The whole object, or `None` if there is none.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Bytes `range` of an object (fewer where it ends sooner), or `None` if there is none.
    fn get_range(&self, path: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes an object, all at once: no reader ever sees part of it.
    fn put(&self, path: &str, bytes: Vec<u8>, mode: Put) -> Result<bool, StoreError>;

    /// Removes an object; one that is already gone is not an error.
    fn delete(&self, path: &str) -> Result<(), StoreError>;

    /// The paths below `prefix` (a directory, without a trailing `/`), relative to it, from
    /// one listing.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// [`Backend::list`] with each object's size, from the same one listing (S3 and Redis
    /// listings carry sizes; a local one stats the files): what tells a result cut to nothing
    /// from a sound one without a request per result. `None` for an object this process cannot
    /// read: locally, a dangling link, a directory in the way, a file without read permission.
    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, Option<u64>)>, StoreError>;

    /// Makes everything written so far durable.
    fn sync(&self) -> Result<(), StoreError>;

    /// Takes the lease `name`: if nobody holds it, or if its holder let it expire.
    fn try_lock(&self, name: &str, record: &LockRecord) -> Result<Locking, StoreError>;

    /// Releases the lease `name`, if it is still ours.
    fn unlock(&self, name: &str) -> Result<(), StoreError>;

    /// Renews every lease this handle holds; returns those found taken over by others.
    fn renew(&self) -> Result<Vec<String>, StoreError>;

    /// The lease `name` as anyone sees it, or `None` if nobody holds it.
    fn read_lock(&self, name: &str) -> Result<Option<Lease>, StoreError>;

    /// The names of every lease in the store.
    fn list_locks(&self) -> Result<Vec<String>, StoreError>;

    /// Network requests sent so far, where they are counted (S3).
    fn requests(&self) -> Option<u64> {
        None
    }

    /// How many of its requests a caller may usefully have in flight at once: a network
    /// store's requests mostly wait for the server; a local directory's are system calls.
    fn concurrent_requests(&self) -> usize {
        1
    }

    /// A handle on the same objects with leases of its own, as another worker has.
    fn new_worker(&self) -> Box<dyn Backend>;

    /// The local directory behind this backend, if that is what it is (for test knobs).
    fn as_local(&self) -> Option<&local::LocalDir> {
        None
    }
}

/// Whether `name` can be a lease name: the lock directory also holds the local backend's
/// bookkeeping (`owners/`, `takeover/`), which is no lease.
pub(super) fn is_lock_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && !name.starts_with('.')
        && name != "owners"
        && name != "takeover"
}
