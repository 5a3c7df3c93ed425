//! Leases: what a lock says about its holder, and when it stops counting.
//!
//! A lock is created with create-if-absent, so exactly one worker gets it. Unlike Jug's
//! locks, which last until someone runs `cleanup`, a lock here is a *lease*: its holder
//! renews it while it works (see [`super::Store::renew_leases`]), and once it has gone
//! `lease_ms` without renewal, any worker may take the task over. A worker killed with
//! `kill -9` therefore blocks its tasks for one lease period at most.
//!
//! A worker that dies *of* its task (killed for using too much memory, say) would hand the
//! task on to the next worker, and that one would die too: so the record counts takeovers,
//! and a task taken over [`CRASH_LIMIT`] times in a row is marked failed instead of run again
//! (see `execute`). A record with no takeovers is written without the field, as before it
//! existed, and older readers ignore it.
//!
//! The renewal time is not in the record but in the store's own metadata — a file's
//! modification time, an object's last-modified time — so renewing a lease is a touch or a
//! conditional rewrite of the same bytes, and readers never see a half-written record.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::clock::unix_ms;

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
    /// How many holders of this task's lease in a row stopped renewing it before finishing
    /// (the lease was taken over from them): this holder's predecessors.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub takeovers: u32,
}

/// After this many takeovers in a row, a task has taken down that many workers: it is marked
/// failed (`crashed-workers`) rather than given to another.
pub const CRASH_LIMIT: u32 = 3;

fn default_lease_ms() -> u64 {
    DEFAULT_LEASE.as_millis() as u64
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
            takeovers: 0,
        }
    }

    /// This record, for the lease it takes over from `expired`: one more takeover.
    pub fn taking_over(&self, expired: &LockRecord) -> LockRecord {
        LockRecord { takeovers: expired.takeovers.saturating_add(1), ..self.clone() }
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
            takeovers: 0,
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

    #[test]
    fn takeovers_are_counted_and_written_only_when_there_are_some() {
        let record = LockRecord::for_this_process("h:1:abc", Duration::from_secs(30));
        let json = String::from_utf8(record.to_json()).unwrap();
        assert!(!json.contains("takeovers"), "{json}");
        assert_eq!(LockRecord::parse(json.as_bytes()), record);
        let once = record.taking_over(&record);
        let second = record.taking_over(&once);
        assert_eq!((once.takeovers, second.takeovers), (1, 2));
        assert_eq!(LockRecord::parse(&second.to_json()), second);
        assert!(String::from_utf8(second.to_json()).unwrap().contains(r#""takeovers":2"#));
    }
}
