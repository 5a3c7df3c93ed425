//! A test hook: `JUG_TEST_PAUSE_AT=<point>` stops a worker at a named point of the commit
//! protocol, says so on stderr, and sleeps until it is killed. That is how the crash tests
//! `kill -9` a worker exactly between two steps (a pack written, its lease not released;
//! a compaction's new pack written, the old one not removed) instead of hoping to hit the
//! moment. Unset, it costs a load of a value read once.

use std::sync::OnceLock;
use std::time::Duration;

/// The points, in the order a batch meets them.
pub const POINTS: [&str; 3] = ["batch-ran", "pack-written", "compaction-rewrote"];

pub fn pause_at(point: &str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("JUG_TEST_PAUSE_AT").ok().filter(|p| !p.is_empty()));
    if wanted.as_deref() == Some(point) {
        debug_assert!(POINTS.contains(&point));
        eprintln!("jug-host: paused at {point} (JUG_TEST_PAUSE_AT); waiting to be killed");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}
