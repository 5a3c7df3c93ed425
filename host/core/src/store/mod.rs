//! Where results, locks and logs live: any `object_store` backend, behind one small facade.
//!
//! ## Layout
//!
//! ```text
//! results/<first 2 hex of key>/<key hex>   sealed result (see `envelope`)
//! locks/<key hex>                          JSON lock record of the worker running the task
//! logs/<key hex>                           the task's last run: its output, then a record of
//!                                          how it ended (see `task_log`)
//! failed/<key hex>                         failure record left by `execute --keep-failed`
//! manifests/<task name>/<batch id>         what went into the keys of one commit batch's
//!                                          results of that name (see `manifest`)
//! traces/<pack id>                         lines `<trace hex> <key hex>`: the task stored under
//!                                          the key ran with that trace (early cutoff, see `trace`)
//! format                                   the store's format marker (see `format`)
//! ```
//!
//! ## Why it is safe to share
//!
//! - No partial result is ever visible: the local backend writes a temporary file and renames
//!   it into place; object stores make a PUT visible all at once.
//! - A result that reads back damaged is reported and treated as missing, never returned.
//! - A lock is taken with create-if-absent, so exactly one worker wins it; it is a lease that
//!   its holder renews and that anyone may take over once it expires (see `lock`).
//! - A result is written only if absent, so a task run twice (after a lease takeover race)
//!   is noticed and counted, never silently replaced.
//!
//! ## Durability
//!
//! A local result counts as done only after [`Store::sync`] has made it durable. Per-result
//! fsync is what caps Jug near 125 tiny tasks/s on this kind of disk, so the scheduler calls
//! `sync` once per *batch* of results (group commit): on Linux one `syncfs(2)` flushes the
//! whole batch with a single journal commit.
//!
//! The facade is synchronous: the local and in-memory backends do their work inline when
//! polled outside a tokio runtime, so each call costs a system call, not a thread hop.

mod counting;
mod envelope;
mod format;
mod local_locks;
mod location;
mod lock;
mod object_locks;
mod redis;
mod retry;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use futures::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

pub use envelope::HEADER_LEN;
pub use format::FORMAT;
pub use location::{StoreLocation, mask_credentials, mask_credentials_in};
pub use lock::{CRASH_LIMIT, DEFAULT_LEASE, Lease, LockRecord, Locking, new_owner_id};

use crate::Key;
use crate::manifest::ManifestId;

/// Store failures, with what was being done and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid store `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("store {path} is not a directory")]
    NotADirectory { path: String },
    #[error("cannot {operation} {path}")]
    Backend {
        operation: &'static str,
        path: String,
        #[source]
        source: object_store::Error,
    },
    /// A result sealed by a jug-host with another envelope version: not ours to read, and
    /// not damaged either, so it is left where it is.
    #[error(
        "the stored result {path} was written by another version of jug-host (result format {found}; this \
         one reads format {known}); it was left as it is: use the jug-host that wrote it, or another store"
    )]
    OtherResultFormat { path: String, found: u8, known: u8 },
    /// The store's format marker names a format this binary does not know.
    #[error(
        "store {path} has format {found}, newer than the format {known} this jug-host reads and writes: a \
         newer jug-host uses it; run that version, or give another --store"
    )]
    NewerFormat { path: String, found: u64, known: u64 },
    #[error(
        "store {path} has an unreadable format marker `format` (not written by jug-host); if the store is \
         yours, remove that object and run again"
    )]
    BadFormatMarker { path: String },
    #[error("cannot {operation} the store directory {path}")]
    Io {
        operation: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A result that exists but cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored result {key} is damaged ({reason})")]
pub struct Damaged {
    pub key: Key,
    pub reason: &'static str,
}

/// What reading a result found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Missing,
    Damaged(Damaged),
    Present(Vec<u8>),
}

/// Whether a command may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Queries: a store that does not exist yet reads as empty and is not created.
    ReadOnly,
    ReadWrite,
}

#[derive(Clone)]
enum Backend {
    Local {
        root: PathBuf,
    },
    Memory,
    /// A local store that does not exist, opened read-only.
    Absent,
    /// An object store reached over the network.
    Remote,
}

/// The store of one graph: results, locks and logs.
pub struct Store {
    objects: Arc<dyn ObjectStore>,
    backend: Backend,
    location: StoreLocation,
    /// Local backend: this process's lock record file, which every lock it takes links to.
    owner_file: Mutex<Option<Arc<local_locks::OwnerFile>>>,
    /// Object stores: the locks this process holds, for renewal and release.
    held: Mutex<HashMap<Key, object_locks::Held>>,
    /// Names this process's temporary files apart from every other writer's.
    writer_tag: String,
    /// Local backend: how results and locks are moved into place on this file system.
    no_replace: local_locks::NoReplace,
    outage: retry::Outage,
    /// S3: how many HTTP requests this handle has sent.
    requests: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Network backends run their requests on tokio; local ones run inline (see `wait`).
    runtime: Option<Arc<tokio::runtime::Runtime>>,
}

impl Store {
    /// Opens (and with [`Access::ReadWrite`], creates) the store at `location`.
    pub fn open(location: &StoreLocation, access: Access) -> Result<Store, StoreError> {
        let mut runtime = None;
        let mut requests = None;
        let (objects, backend): (Arc<dyn ObjectStore>, Backend) = match location {
            StoreLocation::Memory => (Arc::new(InMemory::new()), Backend::Memory),
            StoreLocation::S3 { bucket, prefix } => {
                let shown = location.to_string();
                // Without explicit keys object_store would fall back to the cloud instance
                // metadata service; a store URL should never send us there by surprise.
                if ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_none())
                {
                    return Err(StoreError::BadUrl {
                        url: shown,
                        reason: "s3:// stores need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the \
                                 environment (and AWS_ENDPOINT for a service other than AWS)"
                            .into(),
                    });
                }
                let counter = counting::CountingConnector::default();
                requests = Some(counter.requests.clone());
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_http_connector(counter)
                    .with_bucket_name(bucket)
                    .with_retry(retry::client_retry_config())
                    .build()
                    .map_err(|source| StoreError::Backend {
                        operation: "configure",
                        path: shown.clone(),
                        source,
                    })?;
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix.as_str()))
                };
                runtime = Some(Arc::new(io_runtime(&shown)?));
                (objects, Backend::Remote)
            }
            StoreLocation::Redis { url, prefix } => {
                let shown = location.to_string();
                let io = io_runtime(&shown)?;
                // A server that is down (or not up yet) is waited for, as requests are later.
                let redis = retry::Outage::default()
                    .retrying(location, || io.block_on(redis::RedisStore::connect(url, prefix)))
                    .map_err(|source| StoreError::Backend { operation: "connect to", path: shown, source })?;
                runtime = Some(Arc::new(io));
                (Arc::new(redis), Backend::Remote)
            }
            StoreLocation::Local(dir) => {
                let shown = dir.display().to_string();
                match std::fs::metadata(dir) {
                    Ok(meta) if !meta.is_dir() => {
                        return Err(StoreError::NotADirectory { path: shown });
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && access == Access::ReadOnly => {
                        return Ok(Store::new(Arc::new(InMemory::new()), Backend::Absent, location, None));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
                        .map_err(|source| StoreError::Io {
                            operation: "create",
                            path: shown.clone(),
                            source,
                        })?,
                    Err(source) => {
                        return Err(StoreError::Io { operation: "open", path: shown, source });
                    }
                }
                let root = std::fs::canonicalize(dir).map_err(|source| StoreError::Io {
                    operation: "open",
                    path: shown.clone(),
                    source,
                })?;
                let objects = LocalFileSystem::new_with_prefix(&root)
                    .map_err(|source| StoreError::Backend { operation: "open", path: shown, source })?;
                (Arc::new(objects), Backend::Local { root })
            }
        };
        let mut store = Store::new(objects, backend, location, runtime);
        store.requests = requests;
        store.check_format(access)?;
        Ok(store)
    }

    /// Refuses a store marked with a format newer than ours; marks an unmarked store as ours
    /// when opened for writing (see `format`).
    pub fn check_format(&self, access: Access) -> Result<(), StoreError> {
        if let Backend::Absent = self.backend {
            return Ok(());
        }
        let path = Path::from("format");
        let shown = self.location.to_string();
        for _ in 0..2 {
            match self.get(&path)? {
                Some(bytes) => {
                    return match format::read(&bytes) {
                        Some(found) if found > FORMAT => {
                            Err(StoreError::NewerFormat { path: shown, found, known: FORMAT })
                        }
                        Some(_) => Ok(()),
                        None => Err(StoreError::BadFormatMarker { path: shown }),
                    };
                }
                None if access == Access::ReadOnly => return Ok(()),
                // Create-if-absent: if another process marked it meanwhile, read its marker.
                None => {
                    if self.put(&path, format::marker(), PutMode::Create, "write the format marker of")? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Replaces the store's format marker as it is: how the tests plant a newer one.
    #[doc(hidden)]
    pub fn overwrite_format_marker(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.put(&Path::from("format"), bytes.to_vec(), PutMode::Overwrite, "overwrite the format marker")
            .map(drop)
    }

    /// HTTP requests sent so far (S3 only).
    pub fn requests(&self) -> Option<u64> {
        self.requests.as_ref().map(|r| r.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn new(
        objects: Arc<dyn ObjectStore>,
        backend: Backend,
        location: &StoreLocation,
        runtime: Option<Arc<tokio::runtime::Runtime>>,
    ) -> Store {
        Store {
            objects,
            backend,
            location: location.clone(),
            owner_file: Mutex::new(None),
            held: Mutex::new(HashMap::new()),
            writer_tag: new_owner_id().replace([':', '/'], "-"),
            no_replace: local_locks::NoReplace::default(),
            outage: retry::Outage::default(),
            requests: None,
            runtime,
        }
    }

    /// Another handle on the same store with locks of its own, as a separate worker has.
    /// (`memory://` can only be shared this way.)
    pub fn new_worker(&self) -> Store {
        let mut worker =
            Store::new(self.objects.clone(), self.backend.clone(), &self.location, self.runtime.clone());
        worker.no_replace = self.no_replace.clone();
        worker
    }

    /// Makes a local store move files into place with `link` + `unlink`, as it does on file
    /// systems without `renameat2` flags (NFS): how the tests cover that path.
    #[doc(hidden)]
    pub fn force_link_fallback(&self) {
        self.no_replace.force_link();
    }

    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Keys of every stored result, from one listing.
    pub fn list_results(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("results")
    }

    /// Keys of every failure record (`--keep-failed`), from one listing.
    pub fn list_failures(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("failed")
    }

    /// Keys of every stored log, from one listing.
    pub fn list_logs(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("logs")
    }

    /// Records that a task failed (see `failure`); replaces an older record.
    pub fn put_failure(&self, key: &Key, record: &[u8]) -> Result<(), StoreError> {
        self.put(&failure_path(key), record.to_vec(), PutMode::Overwrite, "store the failure record")
            .map(drop)
    }

    pub fn get_failure(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&failure_path(key))
    }

    pub fn delete_failure(&self, key: &Key) -> Result<(), StoreError> {
        self.delete(&failure_path(key))
    }

    pub fn delete_log(&self, key: &Key) -> Result<(), StoreError> {
        self.delete(&log_path(key))
    }

    /// Keys of every held lock, from one listing.
    pub fn list_locks(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("locks")
    }

    fn list_keys(&self, prefix: &'static str) -> Result<HashSet<Key>, StoreError> {
        if let Backend::Local { root } = &self.backend {
            return list_local_keys(&root.join(prefix)).map_err(|source| StoreError::Io {
                operation: "list",
                path: format!("{}/{prefix}", self.location),
                source,
            });
        }
        let prefix_path = Path::from(prefix);
        let listing = self
            .call(|| self.objects.list(Some(&prefix_path)).try_collect::<Vec<_>>())
            .map_err(|source| self.backend_error("list", prefix, source))?;
        Ok(listing.iter().filter_map(|meta| meta.location.filename().and_then(Key::from_hex)).collect())
    }

    /// Whether a result is stored (without reading or checking it).
    pub fn has_result(&self, key: &Key) -> Result<bool, StoreError> {
        let path = result_path(key);
        match self.call(|| self.objects.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(self.backend_error("check", path.as_ref(), source)),
        }
    }

    /// Reads and checks a result. One sealed by another version of jug-host is an error, so
    /// that no caller takes it for damage and removes it.
    pub fn get_result(&self, key: &Key) -> Result<Stored, StoreError> {
        let path = result_path(key);
        let bytes = match self.get(&path)? {
            Some(bytes) => bytes,
            None => return Ok(Stored::Missing),
        };
        Ok(match envelope::open(&bytes) {
            Ok(payload) => Stored::Present(payload.to_vec()),
            Err(envelope::Unopened::Damaged(reason)) => Stored::Damaged(Damaged { key: *key, reason }),
            Err(envelope::Unopened::OtherVersion(found)) => {
                let path = format!("{}/{path}", self.location);
                return Err(StoreError::OtherResultFormat { path, found, known: envelope::VERSION });
            }
        })
    }

    /// Stores a result (visible at once, durable after the next [`Store::sync`]) unless one is
    /// already there: `false` then. Same key, same bytes, so the first copy stands and the
    /// caller counts a duplicate execution.
    pub fn put_result(&self, key: &Key, payload: &[u8]) -> Result<bool, StoreError> {
        let path = result_path(key);
        let sealed = envelope::seal(payload);
        if let Backend::Local { root } = &self.backend {
            return local_locks::write_new(
                &root.join(path.as_ref()),
                &sealed,
                &self.writer_tag,
                &self.no_replace,
            )
            .map_err(|source| self.io_error("store a result in", source));
        }
        self.put(&path, sealed, PutMode::Create, "store the result")
    }

    /// Replaces a stored result's bytes as they are, bypassing the envelope: how the tests
    /// damage a result on purpose, in every backend.
    #[doc(hidden)]
    pub fn overwrite_result_bytes(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.put(&result_path(key), bytes.to_vec(), PutMode::Overwrite, "overwrite the result").map(drop)
    }

    /// Removes a result (one request; a result that is already gone is not an error).
    /// Callers that report what they removed know it from a listing.
    pub fn delete_result(&self, key: &Key) -> Result<(), StoreError> {
        self.delete(&result_path(key))
    }

    /// One request; an object that is already gone is not an error.
    fn delete(&self, path: &Path) -> Result<(), StoreError> {
        match self.call(|| self.objects.delete(path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.backend_error("delete", path.as_ref(), source)),
        }
    }

    /// Stores the log of a task's run (bytes from [`crate::task_log::TaskLog::encode`]);
    /// replaces the log of an earlier run.
    pub fn put_log(&self, key: &Key, log: &[u8]) -> Result<(), StoreError> {
        self.put(&log_path(key), log.to_vec(), PutMode::Overwrite, "store the log").map(drop)
    }

    /// Reads the log of a task's last run, as stored.
    pub fn get_log(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&log_path(key))
    }

    /// Reads the log of a task's last run: its output and the record of how it ended.
    pub fn get_task_log(&self, key: &Key) -> Result<Option<crate::task_log::TaskLog>, StoreError> {
        Ok(self.get_log(key)?.map(|bytes| crate::task_log::TaskLog::from_bytes(&bytes)))
    }

    /// Stores a manifest (bytes from [`crate::manifest::Manifest::to_json`]) at its id.
    pub fn put_manifest(&self, id: &ManifestId, manifest: &[u8]) -> Result<(), StoreError> {
        self.put(&manifest_path(id), manifest.to_vec(), PutMode::Overwrite, "store the manifest").map(drop)
    }

    /// Every manifest in the store, oldest first within a name, from one listing.
    pub fn list_manifests(&self) -> Result<Vec<ManifestId>, StoreError> {
        let mut ids: Vec<ManifestId> = self
            .list_below("manifests")?
            .into_iter()
            .filter_map(|parts| match parts.as_slice() {
                [name, batch] => {
                    Some(ManifestId { name: crate::manifest::unescape_name(name)?, batch: batch.clone() })
                }
                _ => None,
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The paths below `prefix`, from one listing, each as its parts after the prefix.
    fn list_below(&self, prefix: &'static str) -> Result<Vec<Vec<String>>, StoreError> {
        let prefix_path = Path::from(prefix);
        let listing = self
            .call(|| self.objects.list(Some(&prefix_path)).try_collect::<Vec<_>>())
            .map_err(|source| self.backend_error("list", prefix, source))?;
        Ok(listing
            .iter()
            .map(|meta| meta.location.parts().skip(1).map(|p| p.as_ref().to_owned()).collect())
            .collect())
    }

    /// Reads a manifest, as stored.
    pub fn get_manifest(&self, id: &ManifestId) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&manifest_path(id))
    }

    pub fn delete_manifest(&self, id: &ManifestId) -> Result<(), StoreError> {
        self.delete(&manifest_path(id))
    }

    /// Stores a pack of traces (see [`crate::trace`]) as `traces/<id>`; replaces one of the
    /// same id.
    pub fn put_trace_pack(&self, id: &str, pack: &[u8]) -> Result<(), StoreError> {
        self.put(&trace_pack_path(id), pack.to_vec(), PutMode::Overwrite, "store the traces").map(drop)
    }

    /// The ids of every trace pack, from one listing.
    pub fn list_trace_packs(&self) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .list_below("traces")?
            .into_iter()
            .filter_map(|parts| <[String; 1]>::try_from(parts).ok())
            .map(|[id]| id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub fn get_trace_pack(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&trace_pack_path(id))
    }

    pub fn delete_trace_pack(&self, id: &str) -> Result<(), StoreError> {
        self.delete(&trace_pack_path(id))
    }

    /// Takes a task's lease: if nobody holds it, or if its holder let it expire.
    pub fn try_lock(&self, key: &Key, record: &LockRecord) -> Result<Locking, StoreError> {
        // A lock can vanish between our failed create and our read of it; look again, a few
        // times, before calling it held.
        for _ in 0..4 {
            let attempt = match &self.backend {
                Backend::Local { root } => {
                    let owner = self.owner_file(root, record)?;
                    local_locks::try_lock(root, &key.to_hex(), &owner, &self.no_replace)
                        .map_err(|source| self.io_error("take a lock in", source))?
                }
                _ => {
                    let path = lock_path(key);
                    let attempt = self.call(|| object_locks::try_lock(self.objects.as_ref(), &path, record));
                    let attempt = attempt
                        .map_err(|source| self.backend_error("take the lock", path.as_ref(), source))?;
                    attempt.map(|(locking, held)| {
                        if let Some(held) = held {
                            self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(*key, held);
                        }
                        locking
                    })
                }
            };
            if let Some(locking) = attempt {
                return Ok(locking);
            }
        }
        Ok(Locking::Held(None))
    }

    /// Releases a task's lock, if it is still ours.
    pub fn unlock(&self, key: &Key) -> Result<(), StoreError> {
        if let Backend::Local { root } = &self.backend {
            let owner = self.owner_file.lock().unwrap_or_else(|p| p.into_inner());
            let Some(owner) = owner.as_ref() else { return Ok(()) };
            return local_locks::unlock(root, &key.to_hex(), owner)
                .map_err(|source| self.io_error("release a lock in", source));
        }
        // A lease we know we lost to a takeover is someone else's now.
        let Some(held) = self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(key) else {
            return Ok(());
        };
        let path = lock_path(key);
        self.call(|| object_locks::release(self.objects.as_ref(), &path, &held))
            .map_err(|source| self.backend_error("release the lock", path.as_ref(), source))
    }

    /// Renews every lease this process holds; returns the ones it found taken over by others
    /// (its holder was too slow to renew, and someone judged it dead).
    pub fn renew_leases(&self) -> Result<Vec<Key>, StoreError> {
        if let Backend::Local { .. } = &self.backend {
            if let Some(owner) = self.owner_file.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                owner.touch().map_err(|source| self.io_error("renew the leases in", source))?;
            }
            return Ok(Vec::new());
        }
        let held: Vec<(Key, object_locks::Held)> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, h)| (*k, h.clone()))
            .collect();
        let mut lost = Vec::new();
        for (key, lock) in held {
            let path = lock_path(&key);
            let renewed = self.call(|| object_locks::renew(self.objects.as_ref(), &path, &lock));
            let renewed =
                renewed.map_err(|source| self.backend_error("renew the lease", path.as_ref(), source))?;
            let mut table = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if !table.contains_key(&key) {
                continue; // released meanwhile
            }
            if let Some(renewed) = renewed {
                table.insert(key, renewed);
            } else {
                table.remove(&key);
                lost.push(key);
            }
        }
        Ok(lost)
    }

    /// Every lock in the store with its lease: one listing, then one read per lock (locks
    /// are few: at most the tasks running right now, plus those of dead workers).
    pub fn leases(&self) -> Result<HashMap<Key, Option<Lease>>, StoreError> {
        let mut leases = HashMap::new();
        for key in self.list_locks()? {
            let lease = match &self.backend {
                Backend::Local { root } => local_locks::read(&root.join("locks").join(key.to_hex()))
                    .map_err(|source| self.io_error("read a lock in", source))?
                    .map(|(lease, _)| lease),
                _ => {
                    let path = lock_path(&key);
                    self.call(|| object_locks::read(self.objects.as_ref(), &path))
                        .map_err(|source| self.backend_error("read the lock", path.as_ref(), source))?
                        .map(|(lease, _)| lease)
                }
            };
            leases.insert(key, lease);
        }
        Ok(leases)
    }

    /// Removes the expired leases of the keys `which` picks: each is taken over, then
    /// released, so a lease renewed meanwhile is never removed. Returns how many were removed
    /// and how many of the picked leases are live.
    pub fn remove_expired_leases(
        &self,
        record: &LockRecord,
        which: impl Fn(&Key) -> bool,
    ) -> Result<(usize, usize), StoreError> {
        let now = std::time::SystemTime::now();
        let (mut removed, mut live) = (0, 0);
        for (key, lease) in self.leases()? {
            let Some(lease) = lease.filter(|_| which(&key)) else { continue };
            if !lease.is_expired(now) {
                live += 1;
            } else if let Locking::Acquired { .. } = self.try_lock(&key, record)? {
                self.unlock(&key)?;
                removed += 1;
            }
        }
        Ok((removed, live))
    }

    /// This process's lock record file, written on first use.
    fn owner_file(
        &self,
        root: &FsPath,
        record: &LockRecord,
    ) -> Result<Arc<local_locks::OwnerFile>, StoreError> {
        let mut owner = self.owner_file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = owner.as_ref() {
            return Ok(file.clone());
        }
        let file = local_locks::OwnerFile::create(root, record)
            .map_err(|source| self.io_error("take a lock in", source))?;
        Ok(owner.insert(Arc::new(file)).clone())
    }

    fn io_error(&self, operation: &'static str, source: std::io::Error) -> StoreError {
        StoreError::Io { operation, path: self.location.to_string(), source }
    }

    /// Makes every result written so far durable (group commit).
    pub fn sync(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Local { root } => sync_filesystem(root),
            Backend::Memory | Backend::Absent | Backend::Remote => Ok(()),
        }
    }

    fn get(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        let read = || async {
            let found = self.objects.get(path).await?;
            found.bytes().await
        };
        match self.call(read) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.backend_error("read", path.as_ref(), source)),
        }
    }

    /// Returns `false` when `mode` is `Create` and the object exists.
    fn put(
        &self,
        path: &Path,
        body: Vec<u8>,
        mode: PutMode,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        let options = PutOptions { mode, ..Default::default() };
        let body = PutPayload::from(body);
        match self.call(|| self.objects.put_opts(path, body.clone(), options.clone())) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(source) => Err(self.backend_error(operation, path.as_ref(), source)),
        }
    }

    fn backend_error(&self, operation: &'static str, path: &str, source: object_store::Error) -> StoreError {
        StoreError::Backend { operation, path: format!("{}/{path}", self.location), source }
    }
}

/// Lists a local `results/` or `locks/` tree by reading directories only. object_store's
/// listing stats every file three times for metadata we do not need, which made `status` on
/// 10,000 tasks spend 90% of its time in `statx`.
fn list_local_keys(dir: &FsPath) -> std::io::Result<HashSet<Key>> {
    let mut keys = HashSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(key) = Key::from_hex(name) {
                keys.insert(key);
            } else if name.len() == 2 && entry.file_type()?.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(keys)
}

impl Drop for Store {
    /// The owner record is only needed while this process may hold locks; the links of a
    /// crashed process keep it readable through the lock files themselves.
    fn drop(&mut self) {
        if let Some(requests) = self.requests() {
            tracing::info!("{requests} requests to {}", self.location);
        }
        if let Some(owner) = self.owner_file.get_mut().unwrap_or_else(|p| p.into_inner()) {
            owner.remove();
        }
    }
}

/// Network backends run their requests on a small tokio runtime of their own.
fn io_runtime(shown: &str) -> Result<tokio::runtime::Runtime, StoreError> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|source| {
        StoreError::Io { operation: "start the I/O runtime for", path: shown.to_owned(), source }
    })
}

fn result_path(key: &Key) -> Path {
    let hex = key.to_hex();
    Path::from(format!("results/{}/{hex}", &hex[..2]))
}

fn lock_path(key: &Key) -> Path {
    Path::from(format!("locks/{}", key.to_hex()))
}

fn failure_path(key: &Key) -> Path {
    Path::from(format!("failed/{}", key.to_hex()))
}

fn log_path(key: &Key) -> Path {
    Path::from(format!("logs/{}", key.to_hex()))
}

fn trace_pack_path(id: &str) -> Path {
    Path::from(format!("traces/{id}"))
}

fn manifest_path(id: &ManifestId) -> Path {
    Path::from(format!("manifests/{}/{}", crate::manifest::escape_name(&id.name), id.batch))
}

impl Store {
    /// Runs a store future to completion on this thread: on tokio for network backends; for
    /// local and in-memory ones on a trivial executor, since outside a tokio runtime they do
    /// their file I/O inline rather than hopping to a blocking thread pool.
    fn wait<F: Future>(&self, future: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            None => futures::executor::block_on(future),
        }
    }

    /// One store request, retried through an outage of a network store (see `retry`).
    fn call<T, F: Future<Output = object_store::Result<T>>>(
        &self,
        request: impl Fn() -> F,
    ) -> object_store::Result<T> {
        match &self.runtime {
            Some(_) => self.outage.retrying(&self.location, || self.wait(request())),
            None => self.wait(request()),
        }
    }
}

/// One `syncfs(2)`: flushes every file and directory entry written to this file system,
/// whatever their number, for the cost of about one journal commit.
fn sync_filesystem(root: &FsPath) -> Result<(), StoreError> {
    let io_error = |source| StoreError::Io { operation: "sync", path: root.display().to_string(), source };
    let dir = std::fs::File::open(root).map_err(io_error)?;
    rustix::fs::syncfs(&dir).map_err(|errno| io_error(errno.into()))
}
