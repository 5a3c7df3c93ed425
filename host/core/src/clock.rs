//! Wall-clock time as the store records it: milliseconds since the Unix epoch. A module of its
//! own so that what the store keeps (manifests, task logs, locks) can stamp records without
//! depending on the store.

use std::time::SystemTime;

/// `time` in milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms_now() -> u64 {
    unix_ms(SystemTime::now())
}
