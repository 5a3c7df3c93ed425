//! Where results, locks and logs live: any `object_store` backend, behind one small facade.
//!
//! ## Layout
//!
//! ```text
//! packs/<shard>/<pack id>                  the results of one batch, with their index (see
//!                                          `pack`); <shard> is the keys' first byte in hex
//! results/<shard>/<key hex>                a result stored alone (see `index`)
//! tombstones/<id>, index/<id>              results removed from packs, consolidated pack
//!                                          indexes (see `index`)
//! locks/shard-<shard>                      JSON lock record of the worker running a batch of
//!                                          the shard's tasks (see `leases`)
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
//!   it into place; object stores make a PUT visible all at once. A pack's index is checked
//!   against its digest, each result against its own.
//! - A result that reads back damaged is reported and treated as missing, never returned.
//! - A lease is taken with create-if-absent, so exactly one worker wins it; its holder renews
//!   it and anyone may take it over once it expires (see `lock`). Leases are per *shard* of
//!   the key space, so two batches that share a task share its shard's lease (see `leases`).
//! - A task run twice (after a lease takeover race) is noticed and counted, never silently
//!   given a second visible result.
//!
//! ## Durability and cost
//!
//! A result counts as done only once its pack is durable: one PUT, or for a local store one
//! file and one `syncfs(2)` for every pack committed together (per-result fsync is what caps
//! Jug near 125 tiny tasks/s on this kind of disk). A batch of a shard's tasks costs a lease,
//! a listing of the shard's packs, a pack and a release: four requests, whatever its size.
//!
//! Everything goes through [`backend::Backend`], with two implementations (a local directory
//! and any object store), so the protocol is written once. The facade is synchronous.

mod backend;
mod counting;
mod envelope;
mod format;
mod index;
mod leases;
mod location;
mod lock;
mod pack;
mod redis;
mod results;
mod retry;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use object_store::memory::InMemory;

use backend::{Backend, Put};
pub use envelope::HEADER_LEN;
pub use format::FORMAT;
pub use leases::LockName;
pub use location::{StoreLocation, mask_credentials, mask_credentials_in};
pub use lock::{CRASH_LIMIT, DEFAULT_LEASE, Lease, LockRecord, Locking, new_owner_id};
pub use pack::Entry as PackEntry;
pub use results::{Compaction, Packable};

use std::collections::HashSet;

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

/// The store of one graph: results, locks and logs.
pub struct Store {
    backend: Box<dyn Backend>,
    location: StoreLocation,
    /// A local store that does not exist, opened read-only: nothing to check or read.
    absent: bool,
    /// Which results the store holds and where, as last listed (see `index`).
    index: Mutex<index::Index>,
    /// Names this process's packs and tombstones apart from every other writer's.
    writer_tag: String,
    sequence: AtomicU64,
}

/// A shard of the key space: a key's first byte. Leases, packs and re-checks are per shard.
pub fn shard_of(key: &Key) -> u8 {
    key.0[0]
}

pub(crate) use shard_of as bucket_of;

impl Store {
    /// Opens (and with [`Access::ReadWrite`], creates) the store at `location`.
    pub fn open(location: &StoreLocation, access: Access) -> Result<Store, StoreError> {
        let shown = location.to_string();
        let store = match location {
            StoreLocation::Memory => {
                let objects =
                    backend::objects::Objects::new(Arc::new(InMemory::new()), location.clone(), None, None);
                Store::new(Box::new(objects), location)
            }
            StoreLocation::S3 { bucket, prefix } => {
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
                let requests = counter.requests.clone();
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
                let runtime = Some(Arc::new(io_runtime(&shown)?));
                let objects =
                    backend::objects::Objects::new(objects, location.clone(), runtime, Some(requests));
                Store::new(Box::new(objects), location)
            }
            StoreLocation::Redis { url, prefix } => {
                let io = io_runtime(&shown)?;
                // A server that is down (or not up yet) is waited for, as requests are later.
                let redis = retry::Outage::of(location)
                    .retrying(location, || io.block_on(redis::RedisStore::connect(url, prefix)))
                    .map_err(|source| StoreError::Backend { operation: "connect to", path: shown, source })?;
                let objects = backend::objects::Objects::new(
                    Arc::new(redis),
                    location.clone(),
                    Some(Arc::new(io)),
                    None,
                );
                Store::new(Box::new(objects), location)
            }
            StoreLocation::Local(dir) => {
                let shown = dir.display().to_string();
                match std::fs::metadata(dir) {
                    Ok(meta) if !meta.is_dir() => {
                        return Err(StoreError::NotADirectory { path: shown });
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && access == Access::ReadOnly => {
                        let local = backend::local::LocalDir::new(dir.clone(), shown);
                        let mut store = Store::new(Box::new(local), location);
                        store.absent = true;
                        return Ok(store);
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
                Store::new(Box::new(backend::local::LocalDir::new(root, shown)), location)
            }
        };
        store.check_format(access)?;
        Ok(store)
    }

    fn new(backend: Box<dyn Backend>, location: &StoreLocation) -> Store {
        Store {
            backend,
            location: location.clone(),
            absent: false,
            index: Mutex::default(),
            writer_tag: new_owner_id(),
            sequence: AtomicU64::new(0),
        }
    }

    /// Refuses a store marked with a format newer than ours; marks an unmarked store as ours
    /// when opened for writing, and moves the mark of an older format up (see `format`).
    pub fn check_format(&self, access: Access) -> Result<(), StoreError> {
        if self.absent {
            return Ok(());
        }
        let shown = self.location.to_string();
        for _ in 0..2 {
            match self.backend.get("format")? {
                Some(bytes) => {
                    return match format::read(&bytes) {
                        Some(found) if found > FORMAT => {
                            Err(StoreError::NewerFormat { path: shown, found, known: FORMAT })
                        }
                        Some(found) if found < FORMAT && access == Access::ReadWrite => {
                            format::upgrade(&shown, found);
                            self.backend.put("format", format::marker(), Put::Overwrite).map(drop)
                        }
                        Some(_) => Ok(()),
                        None => Err(StoreError::BadFormatMarker { path: shown }),
                    };
                }
                None if access == Access::ReadOnly => return Ok(()),
                // Create-if-absent: if another process marked it meanwhile, read its marker.
                None => {
                    if self.backend.put("format", format::marker(), Put::Create)? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// The format the store's marker names, if it has a readable one.
    pub fn format_marker(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.backend.get("format")?.as_deref().and_then(format::read))
    }

    /// Replaces the store's format marker as it is: how the tests plant a newer one.
    #[doc(hidden)]
    pub fn overwrite_format_marker(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.backend.put("format", bytes.to_vec(), Put::Overwrite).map(drop)
    }

    /// HTTP requests sent so far (S3 only).
    pub fn requests(&self) -> Option<u64> {
        self.backend.requests()
    }

    /// How many requests to this store are worth having in flight at once (1 for a local
    /// directory): the committer writes a round's packs and releases its leases that many at
    /// a time.
    pub fn concurrent_requests(&self) -> usize {
        self.backend.concurrent_requests()
    }

    /// Another handle on the same store with locks of its own, as a separate worker has.
    /// (`memory://` can only be shared this way.)
    pub fn new_worker(&self) -> Store {
        let mut worker = Store::new(self.backend.new_worker(), &self.location);
        worker.absent = self.absent;
        worker
    }

    /// Makes a local store move files into place with `link` + `unlink`, as it does on file
    /// systems without `renameat2` flags (NFS): how the tests cover that path.
    #[doc(hidden)]
    pub fn force_link_fallback(&self) {
        if let Some(local) = self.backend.as_local() {
            local.force_link_fallback();
        }
    }

    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Makes everything written so far durable (group commit).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.backend.sync()
    }

    /// A name for an object only this handle writes, ordered by time.
    fn unique_id(&self) -> String {
        let sequence = self.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::manifest::batch_id(crate::clock::unix_ms_now(), &self.writer_tag, sequence)
    }

    /// Keys of every failure record (`--keep-failed`), from one listing.
    pub fn list_failures(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("failed")
    }

    /// Keys of every stored log, from one listing.
    pub fn list_logs(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("logs")
    }

    fn list_keys(&self, prefix: &str) -> Result<HashSet<Key>, StoreError> {
        Ok(self.backend.list(prefix)?.iter().filter_map(|name| Key::from_hex(name)).collect())
    }

    /// Records that a task failed (see `failure`); replaces an older record.
    pub fn put_failure(&self, key: &Key, record: &[u8]) -> Result<(), StoreError> {
        self.backend.put(&format!("failed/{}", key.to_hex()), record.to_vec(), Put::Overwrite).map(drop)
    }

    pub fn get_failure(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(&format!("failed/{}", key.to_hex()))
    }

    pub fn delete_failure(&self, key: &Key) -> Result<(), StoreError> {
        self.backend.delete(&format!("failed/{}", key.to_hex()))
    }

    /// Stores the log of a task's run (bytes from [`crate::task_log::TaskLog::encode`]);
    /// replaces the log of an earlier run.
    pub fn put_log(&self, key: &Key, log: &[u8]) -> Result<(), StoreError> {
        self.backend.put(&format!("logs/{}", key.to_hex()), log.to_vec(), Put::Overwrite).map(drop)
    }

    /// Reads the log of a task's last run, as stored.
    pub fn get_log(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(&format!("logs/{}", key.to_hex()))
    }

    pub fn delete_log(&self, key: &Key) -> Result<(), StoreError> {
        self.backend.delete(&format!("logs/{}", key.to_hex()))
    }

    /// Reads the log of a task's last run: its output and the record of how it ended.
    pub fn get_task_log(&self, key: &Key) -> Result<Option<crate::task_log::TaskLog>, StoreError> {
        Ok(self.get_log(key)?.map(|bytes| crate::task_log::TaskLog::from_bytes(&bytes)))
    }

    /// Stores a manifest (bytes from [`crate::manifest::Manifest::to_json`]) at its id.
    pub fn put_manifest(&self, id: &ManifestId, manifest: &[u8]) -> Result<(), StoreError> {
        self.backend.put(&manifest_path(id), manifest.to_vec(), Put::Overwrite).map(drop)
    }

    /// Every manifest in the store, oldest first within a name, from one listing.
    pub fn list_manifests(&self) -> Result<Vec<ManifestId>, StoreError> {
        let mut ids: Vec<ManifestId> = self
            .backend
            .list("manifests")?
            .into_iter()
            .filter_map(|path| {
                let (name, batch) = path.split_once('/')?;
                let name = crate::manifest::unescape_name(name)?;
                (!batch.contains('/')).then(|| ManifestId { name, batch: batch.to_owned() })
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Reads a manifest, as stored.
    pub fn get_manifest(&self, id: &ManifestId) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(&manifest_path(id))
    }

    pub fn delete_manifest(&self, id: &ManifestId) -> Result<(), StoreError> {
        self.backend.delete(&manifest_path(id))
    }

    /// Stores a pack of traces (see [`crate::trace`]) as `traces/<id>`; replaces one of the
    /// same id.
    pub fn put_trace_pack(&self, id: &str, pack: &[u8]) -> Result<(), StoreError> {
        self.backend.put(&format!("traces/{id}"), pack.to_vec(), Put::Overwrite).map(drop)
    }

    /// The ids of every trace pack, from one listing.
    pub fn list_trace_packs(&self) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> =
            self.backend.list("traces")?.into_iter().filter(|id| !id.contains('/')).collect();
        ids.sort();
        Ok(ids)
    }

    pub fn get_trace_pack(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(&format!("traces/{id}"))
    }

    pub fn delete_trace_pack(&self, id: &str) -> Result<(), StoreError> {
        self.backend.delete(&format!("traces/{id}"))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(requests) = self.requests() {
            tracing::info!("{requests} requests to {}", self.location);
        }
    }
}

/// Network backends run their requests on a small tokio runtime of their own.
fn io_runtime(shown: &str) -> Result<tokio::runtime::Runtime, StoreError> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|source| {
        StoreError::Io { operation: "start the I/O runtime for", path: shown.to_owned(), source }
    })
}

fn manifest_path(id: &ManifestId) -> String {
    format!("manifests/{}/{}", crate::manifest::escape_name(&id.name), id.batch)
}
