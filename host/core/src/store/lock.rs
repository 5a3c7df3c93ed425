//! Leases: what a lock says about its holder, and when it stops counting.
//!
//! A lock is created with create-if-absent, so exactly one worker gets it. Unlike Jug's
//! locks, which last until someone runs `cleanup`, a lock here is a *lease*: its holder
//! renews it while it works (see [`super::Store::renew_leases`]), and once it has gone
//! `lease_ms` without renewal, any worker may take the task over. A worker killed with
//! `kill -9` therefore blocks its tasks for one lease period at most.
//!
//! The renewal time is not in the record but in the store's own metadata — a file's
//! modification time, an object's last-modified time — so renewing a lease is a touch or a
//! conditional rewrite of the same bytes, and readers never see a half-written record.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How long a lease lasts without renewal unless `--lease` says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The content of `locks/<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Unique per worker process: `host:pid:nonce`.
    pub owner: String,
    pub host: String,
    pub pid: u32,
    /// When the lock was taken, in milliseconds since the Unix epoch.
    pub acquired_unix_ms: u64,
    /// How long the lease lasts after its last renewal. Records written before leases
    /// existed read as having the default.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

fn default_lease_ms() -> u64 {
    DEFAULT_LEASE.as_millis() as u64
}

impl LockRecord {
    /// A record for this process, taken now.
    pub fn for_this_process(owner: &str, lease: Duration) -> LockRecord {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        LockRecord {
            owner: owner.to_owned(),
            host,
            pid: std::process::id(),
            acquired_unix_ms: unix_ms(SystemTime::now()),
            lease_ms: lease.as_millis().max(1) as u64,
        }
    }

    /// Reads a stored record. A record nobody can parse (damaged, or from a foreign tool)
    /// still expires: it gets the default lease and an owner that says what happened.
    pub fn parse(bytes: &[u8]) -> LockRecord {
        serde_json::from_slice(bytes).unwrap_or_else(|_| LockRecord {
            owner: "(unreadable lock record)".to_owned(),
            host: String::new(),
            pid: 0,
            acquired_unix_ms: 0,
            lease_ms: default_lease_ms(),
        })
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a lock record serializes")
    }
}

/// A lock as the store shows it to anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub record: LockRecord,
    /// When the holder last renewed it, by the store's clock where it has one.
    pub renewed: SystemTime,
}

impl Lease {
    pub fn expires(&self) -> SystemTime {
        self.renewed + Duration::from_millis(self.record.lease_ms)
    }

    pub fn is_expired(&self, now: SystemTime) -> bool {
        now > self.expires()
    }
}

/// What asking for a task's lock gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locking {
    /// The lock is ours; `took_over` is the expired lease it replaced, if any.
    Acquired { took_over: Option<Lease> },
    /// Someone else holds a live lease (`None` when the lock changed hands too fast to read).
    Held(Option<Lease>),
}

/// A worker id that no other process, here or on another machine, will use.
pub fn new_owner_id() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let nonce =
        blake3::hash(format!("{host}{}{:?}", std::process::id(), std::time::SystemTime::now()).as_bytes());
    format!("{host}:{}:{}", std::process::id(), &nonce.to_hex()[..8])
}

pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_unreadable_records_still_expire() {
        let old = br#"{"owner":"h:1:abc","host":"h","pid":1,"acquired_unix_ms":5}"#;
        assert_eq!(LockRecord::parse(old).lease_ms, 30_000);
        assert_eq!(LockRecord::parse(b"\x00garbage").lease_ms, 30_000);
        let lease = Lease { record: LockRecord::parse(old), renewed: SystemTime::UNIX_EPOCH };
        assert!(lease.is_expired(SystemTime::UNIX_EPOCH + Duration::from_secs(31)));
        assert!(!lease.is_expired(SystemTime::UNIX_EPOCH + Duration::from_secs(29)));
    }
}
