//! Riding out an unreachable store: retry with backoff, and say so.
//!
//! object_store retries a failed request on its own, silently. A worker facing a store that
//! is down for a minute should instead tell its user once that the store is unreachable and
//! that it keeps trying, and once that it is back — so object_store gets a short retry
//! window of its own (it knows which failures are worth retrying), and this layer retries
//! those for up to `JUG_STORE_RETRY_SECS` (default 60 s) with exponential backoff. The
//! pauses are jittered (`backon`), so a hundred workers that lost the store together do not
//! come back in lockstep and knock it over again. Redis gets the same window, from the first
//! connection on (see `redis::is_transient`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{BlockingRetryable as _, ExponentialBuilder};

/// How long a command keeps retrying an unreachable network store before it gives up.
pub(super) fn retry_window() -> Duration {
    window_from(std::env::var("JUG_STORE_RETRY_SECS").ok().as_deref())
}

/// `JUG_STORE_RETRY_SECS`: seconds, 60 if unset or not a number, at most 1e6 (11 days);
/// negative or NaN means no retries.
fn window_from(text: Option<&str>) -> Duration {
    let seconds = text.and_then(|s| s.trim().parse::<f64>().ok()).unwrap_or(60.0);
    // `clamp` passes NaN through, and `from_secs_f64` panics on it.
    Duration::from_secs_f64(if seconds.is_nan() { 0.0 } else { seconds.clamp(0.0, 1e6) })
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
        object_store::Error::Generic { store: super::redis::STORE, source } => {
            super::redis::is_transient(source.as_ref())
        }
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

/// An outage shorter than this goes unmentioned: a store that answers again (or a retry
/// window that ends) within it needs no warning, and a command that gives up within it says
/// so in one line, its error.
const QUIET: Duration = Duration::from_secs(2);

/// The outage a store is in, shared by all the threads and handles using it, so it is
/// reported once.
#[derive(Default)]
pub(super) struct Outage {
    state: Mutex<Option<Since>>,
}

impl Outage {
    /// The outage of the store at `location`, one per process: `execute` lists a store
    /// read-only while its graph is built and then opens it to write, and a store that is
    /// down is down for both handles, to be said once.
    pub(super) fn of(location: &dyn std::fmt::Display) -> Arc<Outage> {
        static OUTAGES: Mutex<Vec<(String, Arc<Outage>)>> = Mutex::new(Vec::new());
        let location = location.to_string();
        let mut outages = OUTAGES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, outage)) = outages.iter().find(|(l, _)| *l == location) {
            return outage.clone();
        }
        let outage = Arc::new(Outage::default());
        outages.push((location, outage.clone()));
        outage
    }
}

struct Since {
    /// When the first failing request was sent.
    start: Instant,
    told: bool,
}

impl Outage {
    /// Runs `attempt` until it succeeds, fails for good, or the retry window closes.
    pub(super) fn retrying<T>(
        &self,
        store: &dyn std::fmt::Display,
        mut attempt: impl FnMut() -> object_store::Result<T>,
    ) -> object_store::Result<T> {
        let window = retry_window();
        let deadline = Instant::now() + window;
        // Pauses of 0.2 s, 0.4 s, … up to 5 s, each stretched by a random part of itself.
        let backoff = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(5))
            .with_jitter()
            .without_max_times()
            .with_total_delay(Some(window));
        let sent = std::cell::Cell::new(Instant::now());
        let result = (|| {
            sent.set(Instant::now());
            attempt()
        })
        .retry(backoff)
        .sleep(move |pause: Duration| {
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())))
        })
        .when(|e| is_transient(e) && Instant::now() < deadline)
        .notify(|e, _| self.failed(store, e, sent.get()))
        .call();
        if result.is_ok() {
            self.end(store);
        }
        result
    }

    /// A request sent at `sent` failed and will be retried.
    fn failed(&self, store: &dyn std::fmt::Display, error: &object_store::Error, sent: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let since = state.get_or_insert(Since { start: sent, told: false });
        if !since.told && since.start.elapsed() >= QUIET {
            since.told = true;
            let window = retry_window().as_secs_f64();
            tracing::warn!(
                "store {store} is unreachable ({error}); retrying with backoff for up to {window} s"
            );
        }
    }

    fn end(&self, store: &dyn std::fmt::Display) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(Since { start, told: true }) = state.take() {
            let seconds = start.elapsed().as_secs_f64();
            tracing::warn!("store {store} is reachable again after {seconds:.1} s; carrying on");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_never_negative_nan_or_endless() {
        for (text, seconds) in [
            (None, 60.0),
            (Some("5"), 5.0),
            (Some(" 0.5 "), 0.5),
            (Some("-3"), 0.0),
            (Some("nan"), 0.0),
            (Some("inf"), 1e6),
            (Some("1e300"), 1e6),
            (Some("soon"), 60.0),
        ] {
            assert_eq!(window_from(text), Duration::from_secs_f64(seconds), "{text:?}");
        }
    }
}
