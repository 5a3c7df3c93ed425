//! Riding out an unreachable store: retry with backoff, and say so.
//!
//! object_store retries a failed request on its own, silently. A worker facing a store that
//! is down for a minute should instead tell its user once that the store is unreachable and
//! that it keeps trying, and once that it is back — so object_store gets a short retry
//! window of its own (it knows which failures are worth retrying), and this layer retries
//! those for up to `JUG_STORE_RETRY_SECS` (default 60 s) with exponential backoff.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a command keeps retrying an unreachable network store before it gives up.
pub(super) fn retry_window() -> Duration {
    let seconds =
        std::env::var("JUG_STORE_RETRY_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(60.0);
    Duration::from_secs_f64(seconds.clamp(0.0, 1e6))
}

/// object_store's own retries: short, so that an outage surfaces here and gets reported.
pub(super) fn client_retry_config() -> object_store::RetryConfig {
    object_store::RetryConfig {
        retry_timeout: retry_window().min(Duration::from_secs(3)),
        ..Default::default()
    }
}

/// Whether a failure may go away by itself. object_store only retries failures it deems
/// transient (connection errors, timeouts, 5xx, 429) and then says "after N retries";
/// a 4xx such as a bad key fails at once and is final. Redis failures are connection
/// failures. Retrying a request whose fate is unknown is safe here: reads and deletes are
/// idempotent, and a repeated conditional write fails the way a lost race does (a lock we
/// already took reads back as ours; a result we already stored counts as a duplicate).
fn is_transient(error: &object_store::Error) -> bool {
    match error {
        object_store::Error::Generic { store: "Redis", .. } => true,
        object_store::Error::Generic { source, .. } => {
            // Connection failures of requests object_store does not retry (a conditional PUT
            // whose connection was reset) show only deeper in the chain.
            let mut text = String::new();
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
            while let Some(e) = cause {
                text.push_str(&e.to_string());
                cause = e.source();
            }
            [" retries", "timed out", "error sending request", "connection", "Connection"]
                .iter()
                .any(|marker| text.contains(marker))
        }
        _ => false,
    }
}

/// The outage a store is in, shared by all the threads using it, so it is reported once.
#[derive(Default)]
pub(super) struct Outage {
    since: Mutex<Option<Instant>>,
}

impl Outage {
    /// Runs `attempt` until it succeeds, fails for good, or the retry window closes.
    pub(super) fn retrying<T>(
        &self,
        store: &dyn std::fmt::Display,
        mut attempt: impl FnMut() -> object_store::Result<T>,
    ) -> object_store::Result<T> {
        let deadline = Instant::now() + retry_window();
        let mut pause = Duration::from_millis(200);
        loop {
            match attempt() {
                Err(e) if is_transient(&e) && Instant::now() < deadline => {
                    self.begin(store, &e);
                    std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                result => {
                    if result.is_ok() {
                        self.end(store);
                    }
                    return result;
                }
            }
        }
    }

    fn begin(&self, store: &dyn std::fmt::Display, error: &object_store::Error) {
        let mut since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        if since.is_none() {
            *since = Some(Instant::now());
            let window = retry_window().as_secs_f64();
            tracing::warn!(
                "store {store} is unreachable ({error}); retrying with backoff for up to {window} s"
            );
        }
    }

    fn end(&self, store: &dyn std::fmt::Display) {
        let mut since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(start) = since.take() {
            let seconds = start.elapsed().as_secs_f64();
            tracing::warn!("store {store} is reachable again after {seconds:.1} s; carrying on");
        }
    }
}
