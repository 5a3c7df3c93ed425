//! One blocking store call per item, several at a time: on a network store each call is a
//! request that mostly waits for the server, so the committer's round of packs, or of lease
//! releases, and a renewal of every lease a worker holds, cost about one round trip instead
//! of one per batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

/// `call` of every item, results in the items' order, with at most `limit` calls at once on
/// threads of their own. With a `limit` of 1 (a local store), or one item, they run here, one
/// after the other. A call that panics panics the caller.
pub(crate) fn fan_out<T: Sync, R: Send>(items: &[T], limit: usize, call: impl Fn(&T) -> R + Sync) -> Vec<R> {
    // One pool per limit, whatever the number of items: a round of 3 uses 3 of its threads.
    match pool(limit).filter(|_| items.len() > 1) {
        Some(pool) => pool.install(|| items.par_iter().with_max_len(1).map(&call).collect()),
        None => items.iter().map(call).collect(),
    }
}

/// A pool of `threads` threads, made once per size and kept: the committer fans out twice a
/// round, every few tens of milliseconds. Not rayon's global pool: that one has a thread per
/// core, for CPU-bound work, and these threads mostly wait. `None` for one thread, or when no
/// thread can be had: the calls then run on the caller's.
fn pool(threads: usize) -> Option<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    if threads <= 1 {
        return None;
    }
    let mut pools = POOLS.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = pools.get(&threads) {
        return Some(pool.clone());
    }
    let pool = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok()?);
    pools.insert(threads, pool.clone());
    Some(pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn results_come_back_in_the_items_order() {
        let items: Vec<u32> = (0..50).collect();
        for limit in [1, 3, 16, 100] {
            assert_eq!(fan_out(&items, limit, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    /// Four calls that each wait for all four to have started can only finish if they run
    /// at once: run one after the other, the first would wait forever (the barrier's timeout
    /// is the test's).
    #[test]
    fn calls_run_at_once_up_to_the_limit() {
        let barrier = Barrier::new(4);
        let items = [0u8; 4];
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let waited = fan_out(&items, 4, |_| barrier.wait().is_leader());
            tx.send(waited.iter().filter(|&&leader| leader).count()).unwrap();
        });
        let leaders =
            rx.recv_timeout(std::time::Duration::from_secs(10)).expect("the four calls ran at once");
        assert_eq!(leaders, 1);
    }

    #[test]
    fn a_limit_of_one_runs_on_the_callers_thread() {
        let caller = std::thread::current().id();
        assert!(
            fan_out(&[1, 2, 3], 1, |_| std::thread::current().id() == caller).into_iter().all(|here| here)
        );
    }
}
