//! Leases in an object store (S3, Redis, memory), with conditional PUTs only.
//!
//! Taking a lock is `PUT If-None-Match: *`; renewing it or taking it over is
//! `PUT If-Match: <e-tag>` — the e-tag the writer last saw. The store accepts exactly one
//! conditional write per e-tag, so of several workers racing to take over one expired lease,
//! one wins and the rest get `412 Precondition Failed`; a holder whose renewal fails that way
//! knows its lease was taken.
//!
//! The renewal time is the object's last-modified time, set by the server's clock, so workers
//! on machines with different clocks agree on it up to their own skew from the server.

use std::time::{Duration, Instant, SystemTime};

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::store::lock::{Lease, LockRecord, Locking};

/// A lock this process holds, as last written.
#[derive(Debug, Clone)]
pub(super) struct Held {
    e_tag: Option<String>,
    body: Vec<u8>,
    /// When we last wrote it: until half a lease later nobody can have judged it expired.
    written: Instant,
    lease: Duration,
}

/// One attempt at a lock; `Ok(None)` when it vanished between our write and our read.
pub(super) async fn try_lock(
    objects: &dyn ObjectStore,
    path: &Path,
    record: &LockRecord,
) -> object_store::Result<Option<(Locking, Option<Held>)>> {
    let body = record.to_json();
    match put(objects, path, &body, PutMode::Create).await {
        Ok(held) => return Ok(Some((Locking::Acquired { took_over: None }, Some(held)))),
        Err(object_store::Error::AlreadyExists { .. }) => {}
        Err(e) => return Err(e),
    }
    let Some((lease, e_tag)) = read(objects, path).await? else { return Ok(None) };
    if lease.record.owner == record.owner {
        // Our own create, retried by the client after a lost response.
        let held = Held { e_tag, body, written: Instant::now(), lease: lease_of(record) };
        return Ok(Some((Locking::Acquired { took_over: None }, Some(held))));
    }
    if !lease.is_expired(SystemTime::now()) {
        return Ok(Some((Locking::Held(Some(lease)), None)));
    }
    // The new lease carries the task's takeover count on (see `lock`).
    let body = record.taking_over(&lease.record).to_json();
    let mode = PutMode::Update(UpdateVersion { e_tag, version: None });
    match put(objects, path, &body, mode).await {
        Ok(held) => Ok(Some((Locking::Acquired { took_over: Some(lease) }, Some(held)))),
        Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
            Ok(Some((Locking::Held(Some(lease)), None)))
        }
        Err(e) => Err(e),
    }
}

/// Rewrites a held lock with its own bytes, which moves its last-modified time; `None` if
/// someone else took it over.
pub(super) async fn renew(
    objects: &dyn ObjectStore,
    path: &Path,
    held: &Held,
) -> object_store::Result<Option<Held>> {
    let mode = PutMode::Update(UpdateVersion { e_tag: held.e_tag.clone(), version: None });
    match put(objects, path, &held.body, mode).await {
        Ok(renewed) => Ok(Some(renewed)),
        Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes a held lock unless someone took it over. object_store has no conditional delete,
/// so when the lease is old enough that it might have been judged expired, we first check
/// that the lock is still the version we wrote; a fresh one cannot have been taken, which
/// spares short tasks the extra request.
pub(super) async fn release(objects: &dyn ObjectStore, path: &Path, held: &Held) -> object_store::Result<()> {
    if held.written.elapsed() >= held.lease / 2 {
        match objects.head(path).await {
            Ok(meta) if meta.e_tag == held.e_tag => {}
            Ok(_) | Err(object_store::Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    match objects.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The lease stored at `path` and its e-tag.
pub(super) async fn read(
    objects: &dyn ObjectStore,
    path: &Path,
) -> object_store::Result<Option<(Lease, Option<String>)>> {
    let found = match objects.get(path).await {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = found.meta.clone();
    let bytes = found.bytes().await?;
    let lease = Lease { record: LockRecord::parse(&bytes), renewed: meta.last_modified.into() };
    Ok(Some((lease, meta.e_tag)))
}

async fn put(
    objects: &dyn ObjectStore,
    path: &Path,
    body: &[u8],
    mode: PutMode,
) -> object_store::Result<Held> {
    let options = PutOptions { mode, ..Default::default() };
    let written_at = Instant::now();
    let written = objects.put_opts(path, PutPayload::from(body.to_vec()), options).await?;
    let lease = lease_of(&LockRecord::parse(body));
    Ok(Held { e_tag: written.e_tag, body: body.to_vec(), written: written_at, lease })
}

fn lease_of(record: &LockRecord) -> Duration {
    Duration::from_millis(record.lease_ms)
}
