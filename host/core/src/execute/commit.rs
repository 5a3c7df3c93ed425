//! The committer: writes each closed batch as one pack, makes a round of packs durable with
//! one sync (group commit), then releases their leases and counts their tasks as executed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Batch, COMMIT_INTERVAL, Context, Event};
use crate::fan_out::fan_out;
use crate::manifest::Manifest;
use crate::store::{LockName, Packable, StoreError};

impl Context<'_> {
    /// Commits closed batches in rounds at least [`COMMIT_INTERVAL`] apart while results keep
    /// coming, so a round holds every batch closed in that time and costs one sync.
    pub(super) fn committer(&self) -> Result<(), StoreError> {
        let mut next_sync = Instant::now();
        let mut sequence = 0;
        loop {
            let round = {
                let mut state = self.shared.lock();
                loop {
                    let now = Instant::now();
                    if state.finished {
                        self.close_batches(&mut state);
                        if state.closed.is_empty() && state.batches.is_empty() {
                            return Ok(());
                        }
                    }
                    if !state.closed.is_empty() && (now >= next_sync || state.finished) {
                        break;
                    }
                    let timeout =
                        if state.closed.is_empty() { Duration::from_secs(1) } else { next_sync - now };
                    state.committer_idle = state.closed.is_empty();
                    state =
                        self.shared.commit.wait_timeout(state, timeout).unwrap_or_else(|p| p.into_inner()).0;
                    state.committer_idle = false;
                }
                std::mem::take(&mut state.closed)
            };
            crate::pause::pause_at("batch-ran");
            let written = self.write_round(&round);
            let synced = self.store.sync();
            crate::pause::pause_at("pack-written");
            next_sync = Instant::now() + COMMIT_INTERVAL;
            self.finish_round(round, sequence, written.is_ok() && synced.is_ok())?;
            sequence += 1;
            written?;
            synced?;
        }
    }

    /// One pack per batch, several in flight at once on a network store (see `fan_out`);
    /// counts the duplicates (results another worker stored meanwhile). The state is locked
    /// once before and once after, not per batch: the workers take that lock for every task.
    fn write_round(&self, round: &[(u8, Batch)]) -> Result<(), StoreError> {
        let batches = {
            let state = self.shared.lock();
            let results = |batch: &Batch| -> Vec<Arc<[u8]>> {
                batch.done.iter().map(|f| state.pending[&f.task].clone()).collect()
            };
            round
                .iter()
                .filter(|(_, batch)| !batch.done.is_empty())
                .map(|b| (b, results(&b.1)))
                .collect::<Vec<_>>()
        };
        let written = fan_out(&batches, self.store.concurrent_requests(), |((shard, batch), results)| {
            let items: Vec<Packable> = batch
                .done
                .iter()
                .zip(results)
                .map(|(f, result)| Packable {
                    key: self.graph.task(f.task as usize).key,
                    name: self.graph.name(f.task as usize),
                    trace: f.trace,
                    result,
                })
                .collect();
            // A batch held past half a lease, or known lost, may have been taken over.
            let recheck = batch.lost || batch.opened.elapsed() >= self.options.lease / 2;
            self.store.commit_pack(*shard, &items, recheck)
        });
        let duplicates = written.iter().flatten().flatten().filter(|&&d| d).count();
        self.shared.lock().duplicates += duplicates;
        written.into_iter().try_for_each(|w| w.map(drop))
    }

    /// Releases the round's leases (a careful batch with more to run keeps its own), records
    /// its manifests, and counts it, if it was made durable.
    fn finish_round(&self, round: Vec<(u8, Batch)>, sequence: u64, durable: bool) -> Result<(), StoreError> {
        let keep = |state: &super::State, shard: u8, batch: &Batch| {
            durable && batch.careful && !state.stopping && state.ready.has(shard)
        };
        let kept: Vec<bool> = {
            let state = self.shared.lock();
            round.iter().map(|(shard, batch)| keep(&state, *shard, batch)).collect()
        };
        // Every lease is released, or tried, whatever became of the others.
        let released: Vec<u8> =
            round.iter().zip(&kept).filter(|(_, kept)| !**kept).map(|((shard, _), _)| *shard).collect();
        let released: Result<(), StoreError> =
            fan_out(&released, self.store.concurrent_requests(), |shard| {
                self.store.unlock(&LockName::Shard(*shard))
            })
            .into_iter()
            .collect();
        let tasks: Vec<u32> = round.iter().flat_map(|(_, b)| b.done.iter().map(|f| f.task)).collect();
        // What went into these keys, for `status --explain`: one object per task name in the
        // round, never one per task. Advice only, so a failed write is no failure.
        if durable {
            for manifest in Manifest::for_batch(self.graph, &tasks, &self.options.owner, sequence) {
                if let Err(e) = self.store.put_manifest(&manifest.id(), &manifest.to_json()) {
                    tracing::warn!("cannot record the manifest of {}: {e}", manifest.id().name);
                }
            }
        }
        // Counted by name before locking: the workers take this lock for every task.
        let (mut executed, mut loaded) = (HashMap::<&str, u64>::new(), HashMap::<&str, u64>::new());
        for finished in round.iter().flat_map(|(_, batch)| &batch.done).filter(|_| durable) {
            let counts = if finished.reused_from.is_some() { &mut loaded } else { &mut executed };
            *counts.entry(self.graph.name(finished.task as usize)).or_default() += 1;
        }
        let mut state = self.shared.lock();
        for ((shard, batch), kept) in round.iter().zip(kept) {
            state.committing.remove(shard);
            if kept {
                state.batches.insert(*shard, Batch::new(true));
            }
            for finished in &batch.done {
                state.pending.remove(&finished.task);
                if durable && finished.reused_from.is_some() {
                    state.counted_loaded[finished.task as usize] = true;
                    state.reused += 1;
                }
            }
        }
        if durable {
            state.committed += tasks.len();
            for (name, n) in executed {
                *state.executed.entry(name.to_owned()).or_default() += n;
            }
            for (name, n) in loaded {
                *state.loaded.entry(name.to_owned()).or_default() += n;
            }
        }
        self.shared.work.notify_all();
        if state.ready.is_empty() && state.running == 0 {
            self.shared.idle.notify_one();
        }
        let progress = Event::Progress { done: state.committed, to_run: state.to_run };
        drop(state);
        (self.on_event)(progress);
        released
    }
}
