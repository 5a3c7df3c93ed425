//! Where results, locks and logs live: any `object_store` backend, behind one small facade.
//!
//! ## Layout
//!
//! ```text
//! results/<first 2 hex of key>/<key hex>   sealed result (see `envelope`)
//! locks/<key hex>                          JSON lock record of the worker running the task
//! logs/<key hex>                           captured stdout/stderr of the task's last run
//! ```
//!
//! ## Why it is safe to share
//!
//! - No partial result is ever visible: the local backend writes a temporary file and renames
//!   it into place; object stores make a PUT visible all at once.
//! - A result that reads back damaged is reported and treated as missing, never returned.
//! - A lock is taken with create-if-absent, so exactly one worker wins it.
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

mod envelope;
mod lock;

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

pub use envelope::HEADER_LEN;
pub use lock::{LockRecord, new_owner_id};

use crate::Key;

/// Where a store is, parsed from `--store` / `JUG_STORE` or derived from the graph file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A directory (a plain path or `file://` URL).
    Local(PathBuf),
    /// `memory://`: lives and dies with the process.
    Memory,
    /// `s3://bucket/prefix`: any S3-compatible service, configured by the standard `AWS_*`
    /// environment (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ALLOW_HTTP`).
    S3 { bucket: String, prefix: String },
}

impl StoreLocation {
    /// Parses a store URL or path.
    pub fn parse(text: &str) -> Result<StoreLocation, StoreError> {
        let bad = |reason: &str| StoreError::BadUrl { url: text.to_owned(), reason: reason.to_owned() };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        match text.split_once("://") {
            None => Ok(StoreLocation::Local(PathBuf::from(text))),
            Some(("file", path)) if path.starts_with('/') => Ok(StoreLocation::Local(PathBuf::from(path))),
            Some(("file", _)) => Err(bad("a file:// URL needs an absolute path (file:///dir)")),
            Some(("memory", "")) => Ok(StoreLocation::Memory),
            Some(("memory", _)) => Err(bad("memory:// takes no path")),
            Some(("s3", rest)) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(bad("an s3:// URL needs a bucket (s3://bucket/prefix)"));
                }
                Ok(StoreLocation::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                })
            }
            Some((scheme, _)) => Err(bad(&format!(
                "unsupported scheme `{scheme}`; use a directory path, file:///dir, s3://bucket/prefix or memory://"
            ))),
        }
    }

    /// The default store of a graph file: `<stem>.jugdata` in the current directory (Jug's).
    pub fn default_for(stem: &str) -> StoreLocation {
        StoreLocation::Local(PathBuf::from(format!("{stem}.jugdata")))
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Local(path) => write!(f, "{}", path.display()),
            StoreLocation::Memory => f.write_str("memory://"),
            StoreLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

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
    owner_file: Mutex<Option<PathBuf>>,
    /// Network backends run their requests on tokio; local ones run inline (see `wait`).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Store {
    /// Opens (and with [`Access::ReadWrite`], creates) the store at `location`.
    pub fn open(location: &StoreLocation, access: Access) -> Result<Store, StoreError> {
        let mut runtime = None;
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
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry_config())
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
                runtime = Some(
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .map_err(|source| StoreError::Io {
                            operation: "start the I/O runtime for",
                            path: shown,
                            source,
                        })?,
                );
                (objects, Backend::Remote)
            }
            StoreLocation::Local(dir) => {
                let shown = dir.display().to_string();
                match std::fs::metadata(dir) {
                    Ok(meta) if !meta.is_dir() => {
                        return Err(StoreError::NotADirectory { path: shown });
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && access == Access::ReadOnly => {
                        return Ok(Store {
                            objects: Arc::new(InMemory::new()),
                            backend: Backend::Absent,
                            location: location.clone(),
                            owner_file: Mutex::new(None),
                            runtime: None,
                        });
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
        Ok(Store { objects, backend, location: location.clone(), owner_file: Mutex::new(None), runtime })
    }

    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Keys of every stored result, from one listing.
    pub fn list_results(&self) -> Result<HashSet<Key>, StoreError> {
        self.list_keys("results")
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
        let listing = self.wait(self.objects.list(Some(&prefix_path)).collect::<Vec<_>>());
        let mut keys = HashSet::with_capacity(listing.len());
        for entry in listing {
            let meta = entry.map_err(|source| self.backend_error("list", prefix, source))?;
            if let Some(key) = meta.location.filename().and_then(Key::from_hex) {
                keys.insert(key);
            }
        }
        Ok(keys)
    }

    /// Whether a result is stored (without reading or checking it).
    pub fn has_result(&self, key: &Key) -> Result<bool, StoreError> {
        let path = result_path(key);
        match self.wait(self.objects.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(self.backend_error("check", path.as_ref(), source)),
        }
    }

    /// Reads and checks a result.
    pub fn get_result(&self, key: &Key) -> Result<Stored, StoreError> {
        let path = result_path(key);
        let bytes = match self.get(&path)? {
            Some(bytes) => bytes,
            None => return Ok(Stored::Missing),
        };
        Ok(match envelope::open(&bytes) {
            Ok(payload) => Stored::Present(payload.to_vec()),
            Err(reason) => Stored::Damaged(Damaged { key: *key, reason }),
        })
    }

    /// Stores a result (visible at once, durable after the next [`Store::sync`]). Writing the
    /// same key twice is harmless: same key, same bytes.
    pub fn put_result(&self, key: &Key, payload: &[u8]) -> Result<(), StoreError> {
        self.put(&result_path(key), envelope::seal(payload), PutMode::Overwrite, "store the result").map(drop)
    }

    /// Removes a result (one request; a result that is already gone is not an error).
    /// Callers that report what they removed know it from a listing.
    pub fn delete_result(&self, key: &Key) -> Result<(), StoreError> {
        let path = result_path(key);
        match self.wait(self.objects.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.backend_error("delete", path.as_ref(), source)),
        }
    }

    /// Stores a task's captured output.
    pub fn put_log(&self, key: &Key, log: &[u8]) -> Result<(), StoreError> {
        self.put(&log_path(key), log.to_vec(), PutMode::Overwrite, "store the log").map(drop)
    }

    /// Reads a task's captured output.
    pub fn get_log(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&log_path(key))
    }

    /// Takes the lock of a task if nobody holds it; `false` if someone does.
    ///
    /// In a local directory a lock is a hard link to this process's record file: `link(2)` is
    /// create-if-absent, and unlike a new file per lock it allocates no inode. Creating and
    /// deleting an inode per task made ext4's allocator scan its recently deleted inodes on
    /// every create, which cost up to 0.8 ms of CPU per task; object stores use a
    /// conditional PUT instead.
    pub fn try_lock(&self, key: &Key, record: &LockRecord) -> Result<bool, StoreError> {
        let body = serde_json::to_vec(record).expect("a lock record serializes");
        let Backend::Local { root } = &self.backend else {
            return self.put(&lock_path(key), body, PutMode::Create, "take the lock");
        };
        let io_error =
            |source| StoreError::Io { operation: "take a lock in", path: self.location.to_string(), source };
        let owner_file = {
            let mut owner_file = self.owner_file.lock().unwrap_or_else(|p| p.into_inner());
            match &*owner_file {
                Some(file) => file.clone(),
                None => owner_file.insert(write_owner_file(root, record, &body).map_err(io_error)?).clone(),
            }
        };
        match std::fs::hard_link(&owner_file, root.join("locks").join(key.to_hex())) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(e)),
        }
    }

    /// Releases a task's lock.
    pub fn unlock(&self, key: &Key) -> Result<(), StoreError> {
        if let Backend::Local { root } = &self.backend {
            return match std::fs::remove_file(root.join("locks").join(key.to_hex())) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io {
                    operation: "release a lock in",
                    path: self.location.to_string(),
                    source: e,
                }),
                _ => Ok(()),
            };
        }
        let path = lock_path(key);
        match self.wait(self.objects.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.backend_error("release the lock", path.as_ref(), source)),
        }
    }

    /// Makes every result written so far durable (group commit).
    pub fn sync(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Local { root } => sync_filesystem(root),
            Backend::Memory | Backend::Absent | Backend::Remote => Ok(()),
        }
    }

    fn get(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        let read = async {
            let found = self.objects.get(path).await?;
            found.bytes().await
        };
        match self.wait(read) {
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
        match self.wait(self.objects.put_opts(path, PutPayload::from(body), options)) {
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

/// Writes `locks/owners/<owner>`, the record every lock of this process links to.
fn write_owner_file(root: &FsPath, record: &LockRecord, body: &[u8]) -> std::io::Result<PathBuf> {
    let owners = root.join("locks").join("owners");
    std::fs::create_dir_all(&owners)?;
    let file = owners.join(record.owner.replace(['/', '\\'], "_"));
    let temporary = file.with_extension("tmp");
    std::fs::write(&temporary, body)?;
    std::fs::rename(&temporary, &file)?;
    Ok(file)
}

impl Drop for Store {
    /// The owner record is only needed while this process may hold locks; the links of a
    /// crashed process keep it readable through the lock files themselves.
    fn drop(&mut self) {
        if let Some(file) = self.owner_file.get_mut().unwrap_or_else(|p| p.into_inner()) {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// How long a network store retries a failing request, with exponential backoff, before the
/// command gives up: `JUG_STORE_RETRY_SECS` (default 60), so a short outage of the server is
/// ridden out and a dead one is reported within a minute.
fn retry_config() -> object_store::RetryConfig {
    let seconds =
        std::env::var("JUG_STORE_RETRY_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(60.0);
    object_store::RetryConfig {
        retry_timeout: std::time::Duration::from_secs_f64(seconds.max(0.0)),
        ..Default::default()
    }
}

fn result_path(key: &Key) -> Path {
    let hex = key.to_hex();
    Path::from(format!("results/{}/{hex}", &hex[..2]))
}

fn lock_path(key: &Key) -> Path {
    Path::from(format!("locks/{}", key.to_hex()))
}

fn log_path(key: &Key) -> Path {
    Path::from(format!("logs/{}", key.to_hex()))
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
}

/// One `syncfs(2)`: flushes every file and directory entry written to this file system,
/// whatever their number, for the cost of about one journal commit.
fn sync_filesystem(root: &FsPath) -> Result<(), StoreError> {
    let io_error = |source| StoreError::Io { operation: "sync", path: root.display().to_string(), source };
    let dir = std::fs::File::open(root).map_err(io_error)?;
    // SAFETY: syncfs only reads the descriptor, which `dir` keeps open for the call.
    let rc = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) };
    if rc != 0 {
        return Err(io_error(std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(StoreLocation::parse("x.jugdata").unwrap(), StoreLocation::Local("x.jugdata".into()));
        assert_eq!(StoreLocation::parse("file:///tmp/s").unwrap(), StoreLocation::Local("/tmp/s".into()));
        assert_eq!(StoreLocation::parse("memory://").unwrap(), StoreLocation::Memory);
        assert_eq!(
            StoreLocation::parse("s3://bucket/a/b/").unwrap(),
            StoreLocation::S3 { bucket: "bucket".into(), prefix: "a/b".into() }
        );
        assert_eq!(StoreLocation::parse("s3://bucket").unwrap().to_string(), "s3://bucket");
        for bad in ["", "file://relative", "memory://x", "gopher://host/x", "s3://", "s3:///x"] {
            assert!(matches!(StoreLocation::parse(bad), Err(StoreError::BadUrl { .. })), "{bad}");
        }
    }
}
