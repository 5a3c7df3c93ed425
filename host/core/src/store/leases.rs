//! Batch leases: one lease per *shard* of the key space (a key's first byte, 256 shards).
//!
//! A worker that wants to run a batch of ready tasks takes the lease of their shard, runs
//! them, commits them as one pack and releases the lease: four requests for the whole batch
//! where a lease per task cost four per task. Two batches that share a task share its shard,
//! so they can never run at once, whoever built them and from whatever graph: a lease named
//! by its members would not give that (two batches overlapping in one task would have two
//! names), a lease per shard does, with the same proven create-if-absent and takeover
//! protocol a task lease had (see `lock`, `local_locks`, `object_locks`).
//!
//! The cost is coarser exclusion: a shard's tasks that one worker is not running wait while it
//! holds the lease. Batches are sized to take a fraction of a lease (see `execute`), and a
//! worker holds a shard's lease only while it runs tasks of it, so with 256 shards other
//! workers find free shards unless there are fewer ready tasks than workers.
//!
//! Stores written before batch leases may hold per-task locks (`locks/<key hex>`) left by
//! killed workers: they are listed, shown and removed like shard leases.

use std::collections::HashMap;
use std::time::SystemTime;

use super::lock::{Lease, LockRecord, Locking};
use super::{Store, StoreError};
use crate::Key;

/// What a lease covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockName {
    /// Every task whose key starts with this byte.
    Shard(u8),
    /// One task: a lock left by a jug-host from before batch leases.
    Task(Key),
}

impl LockName {
    /// The lease object's name under `locks/`.
    pub fn object_name(&self) -> String {
        match self {
            LockName::Shard(shard) => format!("shard-{shard:02x}"),
            LockName::Task(key) => key.to_hex(),
        }
    }

    fn parse(name: &str) -> Option<LockName> {
        match name.strip_prefix("shard-") {
            Some(hex) if hex.len() == 2 => u8::from_str_radix(hex, 16).ok().map(LockName::Shard),
            Some(_) => None,
            None => Key::from_hex(name).map(LockName::Task),
        }
    }

    /// Whether this lease covers the task with `key`.
    pub fn covers(&self, key: &Key) -> bool {
        match self {
            LockName::Shard(shard) => super::shard_of(key) == *shard,
            LockName::Task(task) => task == key,
        }
    }
}

impl std::fmt::Display for LockName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockName::Shard(shard) => write!(f, "shard {shard:02x}"),
            LockName::Task(key) => write!(f, "key {}", key.to_hex()),
        }
    }
}

impl Store {
    /// Takes a lease: if nobody holds it, or if its holder let it expire.
    pub fn try_lock(&self, name: &LockName, record: &LockRecord) -> Result<Locking, StoreError> {
        self.backend.try_lock(&name.object_name(), record)
    }

    /// Releases a lease, if it is still ours.
    pub fn unlock(&self, name: &LockName) -> Result<(), StoreError> {
        self.backend.unlock(&name.object_name())
    }

    /// Renews every lease this process holds; returns the ones it found taken over by others
    /// (its holder was too slow to renew, and someone judged it dead).
    pub fn renew_leases(&self) -> Result<Vec<LockName>, StoreError> {
        Ok(self.backend.renew()?.iter().filter_map(|name| LockName::parse(name)).collect())
    }

    /// Replaces a lease's record as it is, bypassing the protocol: how the tests have another
    /// worker take a lease that is still live.
    #[doc(hidden)]
    pub fn overwrite_lease(&self, name: &LockName, record: &LockRecord) -> Result<(), StoreError> {
        let path = format!("locks/{}", name.object_name());
        self.backend.put(&path, record.to_json(), super::backend::Put::Overwrite).map(drop)
    }

    /// The names of every lease in the store, from one listing.
    pub fn list_locks(&self) -> Result<Vec<LockName>, StoreError> {
        Ok(self.backend.list_locks()?.iter().filter_map(|name| LockName::parse(name)).collect())
    }

    /// Every lease in the store: one listing, then one read per lease (leases are few: one per
    /// batch running right now, plus those of dead workers).
    pub fn leases(&self) -> Result<HashMap<LockName, Option<Lease>>, StoreError> {
        let mut leases = HashMap::new();
        for object in self.backend.list_locks()? {
            if let Some(name) = LockName::parse(&object) {
                leases.insert(name, self.backend.read_lock(&object)?);
            }
        }
        Ok(leases)
    }

    /// Removes the expired leases `which` picks: each is taken over, then released, so a
    /// lease renewed meanwhile is never removed. Returns how many were removed and how many of
    /// the picked leases are live.
    pub fn remove_expired_leases(
        &self,
        record: &LockRecord,
        which: impl Fn(&LockName) -> bool,
    ) -> Result<(usize, usize), StoreError> {
        let now = SystemTime::now();
        let (mut removed, mut live) = (0, 0);
        for (name, lease) in self.leases()? {
            let Some(lease) = lease.filter(|_| which(&name)) else { continue };
            if !lease.is_expired(now) {
                live += 1;
            } else if let Locking::Acquired { .. } = self.try_lock(&name, record)? {
                self.unlock(&name)?;
                removed += 1;
            }
        }
        Ok((removed, live))
    }
}
