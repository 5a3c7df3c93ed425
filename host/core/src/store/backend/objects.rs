//! A store in any `object_store` (S3, Redis, memory): conditional PUTs make create-if-absent
//! and leases (see `object_locks`); requests are retried through an outage (see `retry`).

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::TryStreamExt as _;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use super::object_locks::{self, Held};
use super::{Backend, Put, is_lock_name};
use crate::fan_out::fan_out;
use crate::store::lock::{Lease, LockRecord, Locking};
use crate::store::{StoreError, StoreLocation, retry};

/// Requests one caller keeps in flight at once on a network store (see `concurrent_requests`).
const CONCURRENT_REQUESTS: usize = 16;

pub(in crate::store) struct Objects {
    objects: Arc<dyn ObjectStore>,
    location: StoreLocation,
    /// The leases this handle holds, for renewal and release.
    held: Mutex<HashMap<String, Held>>,
    outage: Arc<retry::Outage>,
    /// S3: how many HTTP requests this store has sent.
    requests: Option<Arc<AtomicU64>>,
    /// Network backends run their requests on tokio; in-memory ones inline (see `wait`).
    runtime: Option<Arc<tokio::runtime::Runtime>>,
}

impl Objects {
    pub(in crate::store) fn new(
        objects: Arc<dyn ObjectStore>,
        location: StoreLocation,
        runtime: Option<Arc<tokio::runtime::Runtime>>,
        requests: Option<Arc<AtomicU64>>,
    ) -> Objects {
        Objects {
            objects,
            outage: retry::Outage::of(&location),
            location,
            held: Mutex::default(),
            requests,
            runtime,
        }
    }

    fn error(&self, operation: &'static str, path: &str, source: object_store::Error) -> StoreError {
        StoreError::Backend { operation, path: format!("{}/{path}", self.location), source }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a store future to completion on this thread: on tokio for network backends; for
    /// the in-memory one on a trivial executor (it does no I/O).
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

    fn fetch(&self, path: &str, range: Option<Range<u64>>) -> Result<Option<Vec<u8>>, StoreError> {
        let location = Path::from(path);
        let read = || async {
            let options = GetOptions { range: range.clone().map(GetRange::from), ..Default::default() };
            let found = self.objects.get_opts(&location, options).await?;
            found.bytes().await
        };
        match self.call(read) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error("read", path, source)),
        }
    }
}

impl Backend for Objects {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.fetch(path, None)
    }

    fn get_range(&self, path: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, StoreError> {
        if range.is_empty() {
            return Ok(Some(Vec::new()));
        }
        self.fetch(path, Some(range))
    }

    fn put(&self, path: &str, bytes: Vec<u8>, mode: Put) -> Result<bool, StoreError> {
        let mode = match mode {
            Put::Create => PutMode::Create,
            Put::Overwrite => PutMode::Overwrite,
        };
        let options = PutOptions { mode, ..Default::default() };
        let (location, body) = (Path::from(path), PutPayload::from(bytes));
        match self.call(|| self.objects.put_opts(&location, body.clone(), options.clone())) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(source) => Err(self.error("write", path, source)),
        }
    }

    fn delete(&self, path: &str) -> Result<(), StoreError> {
        let location = Path::from(path);
        match self.call(|| self.objects.delete(&location)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.error("delete", path, source)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.list_sized(prefix)?.into_iter().map(|(path, _)| path).collect())
    }

    fn list_sized(&self, prefix: &str) -> Result<Vec<(String, Option<u64>)>, StoreError> {
        let location = Path::from(prefix);
        let depth = location.parts().count();
        let listing = self
            .call(|| self.objects.list(Some(&location)).try_collect::<Vec<_>>())
            .map_err(|source| self.error("list", prefix, source))?;
        Ok(listing
            .iter()
            .map(|meta| {
                let parts: Vec<String> =
                    meta.location.parts().skip(depth).map(|p| p.as_ref().to_owned()).collect();
                (parts.join("/"), Some(meta.size))
            })
            .collect())
    }

    /// An object store makes a PUT durable before it answers.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn try_lock(&self, name: &str, record: &LockRecord) -> Result<Locking, StoreError> {
        let path = Path::from(format!("locks/{name}"));
        // A lock can vanish between our failed create and our read of it; look again, a few
        // times, before calling it held.
        for _ in 0..4 {
            let attempt = self
                .call(|| object_locks::try_lock(self.objects.as_ref(), &path, record))
                .map_err(|source| self.error("take the lock", path.as_ref(), source))?;
            if let Some((locking, held)) = attempt {
                if let Some(held) = held {
                    self.held().insert(name.to_owned(), held);
                }
                return Ok(locking);
            }
        }
        Ok(Locking::Held(None))
    }

    fn unlock(&self, name: &str) -> Result<(), StoreError> {
        // A lease we know we lost to a takeover is someone else's now.
        let Some(held) = self.held().remove(name) else { return Ok(()) };
        let path = Path::from(format!("locks/{name}"));
        self.call(|| object_locks::release(self.objects.as_ref(), &path, &held))
            .map_err(|source| self.error("release the lock", path.as_ref(), source))
    }

    /// One conditional rewrite per lease held (a worker holds a few: one per batch), side by
    /// side (see `fan_out`).
    fn renew(&self) -> Result<Vec<String>, StoreError> {
        let held: Vec<(String, Held)> = self.held().iter().map(|(k, h)| (k.clone(), h.clone())).collect();
        let renewals = fan_out(&held, self.concurrent_requests(), |(name, lock)| {
            let path = Path::from(format!("locks/{name}"));
            self.call(|| object_locks::renew(self.objects.as_ref(), &path, lock))
                .map_err(|source| self.error("renew the lease", path.as_ref(), source))
        });
        let mut lost = Vec::new();
        for ((name, _), renewed) in held.into_iter().zip(renewals) {
            let renewed = renewed?;
            let mut table = self.held();
            if !table.contains_key(&name) {
                continue; // released meanwhile
            }
            match renewed {
                Some(renewed) => {
                    table.insert(name, renewed);
                }
                None => {
                    table.remove(&name);
                    lost.push(name);
                }
            }
        }
        Ok(lost)
    }

    fn read_lock(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let path = Path::from(format!("locks/{name}"));
        let read = self
            .call(|| object_locks::read(self.objects.as_ref(), &path))
            .map_err(|source| self.error("read the lock", path.as_ref(), source))?;
        Ok(read.map(|(lease, _)| lease))
    }

    fn list_locks(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.list("locks")?.into_iter().filter(|name| is_lock_name(name)).collect())
    }

    fn requests(&self) -> Option<u64> {
        self.requests.as_ref().map(|r| r.load(Ordering::Relaxed))
    }

    fn concurrent_requests(&self) -> usize {
        // In-memory stores answer at once; a network one is latency, and 16 requests in
        // flight cover a round of batches without opening a connection per batch.
        if self.runtime.is_some() { CONCURRENT_REQUESTS } else { 1 }
    }

    fn new_worker(&self) -> Box<dyn Backend> {
        Box::new(Objects {
            objects: self.objects.clone(),
            location: self.location.clone(),
            held: Mutex::default(),
            outage: self.outage.clone(),
            requests: self.requests.clone(),
            runtime: self.runtime.clone(),
        })
    }
}
