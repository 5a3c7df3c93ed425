//! What a lock object says about its holder.
//!
//! A lock is created with create-if-absent, so exactly one worker gets it. Its record names
//! the holder (so `status` and people can tell who is running what) and carries the fields
//! a lease needs: a later version adds an expiry that the holder renews.

use serde::{Deserialize, Serialize};

/// The content of `locks/<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Unique per worker process: `host:pid:nonce`.
    pub owner: String,
    pub host: String,
    pub pid: u32,
    /// When the lock was taken, in milliseconds since the Unix epoch.
    pub acquired_unix_ms: u64,
}

impl LockRecord {
    /// A record for this process, taken now.
    pub fn for_this_process(owner: &str) -> LockRecord {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        LockRecord { owner: owner.to_owned(), host, pid: std::process::id(), acquired_unix_ms: now_unix_ms() }
    }
}

/// A worker id that no other process, here or on another machine, will use.
pub fn new_owner_id() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let nonce =
        blake3::hash(format!("{host}{}{:?}", std::process::id(), std::time::SystemTime::now()).as_bytes());
    format!("{host}:{}:{}", std::process::id(), &nonce.to_hex()[..8])
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
