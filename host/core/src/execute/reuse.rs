//! Early cutoff in the scheduler (see `trace`): a task about to run first looks for an earlier
//! key that ran the same code on the same input values, and copies its result; the traces of
//! what does run are written in packs once their results are durable.

use std::sync::Arc;

use super::{Context, Outcome};
use crate::Key;
use crate::store::{Store, StoreError, Stored};
use crate::task_log::TaskLog;
use crate::trace::{self, Traces};

/// The traces of durable results not written yet, and when the last pack went out.
pub(super) struct PendingTraces {
    pub(super) entries: Vec<(Key, Key)>,
    last: std::time::Instant,
    sequence: u64,
}

impl Default for PendingTraces {
    fn default() -> Self {
        PendingTraces { entries: Vec::new(), last: std::time::Instant::now(), sequence: 0 }
    }
}

impl PendingTraces {
    /// Writes a pack if there are enough entries, or it is time, or `end` says the run is over.
    /// Traces are advice (see `trace`): a pack that cannot be written is a warning.
    pub(super) fn flush(&mut self, store: &Store, owner: &str, end: bool) {
        let due = self.entries.len() >= trace::PACK_ENTRIES || self.last.elapsed() >= trace::PACK_INTERVAL;
        if self.entries.is_empty() || !(due || end) {
            return;
        }
        let id = crate::manifest::batch_id(crate::clock::unix_ms_now(), owner, self.sequence);
        if let Err(e) = store.put_trace_pack(&id, &trace::encode_pack(&self.entries)) {
            tracing::warn!("cannot record {} traces: {e}", self.entries.len());
        }
        self.entries.clear();
        self.last = std::time::Instant::now();
        self.sequence += 1;
    }
}

impl Context<'_> {
    /// Early cutoff: copies the result of an earlier key whose task ran with this `trace` (the
    /// same code on the same input values, see `trace`); `None` if there is none to copy. The
    /// task's log says where its result came from.
    pub(super) fn reuse(&self, task: u32, trace: Key) -> Result<Option<Outcome>, StoreError> {
        let spec = self.graph.task(task as usize);
        let known = self.known_traces()?;
        let Some(sources) = known.get(&trace) else { return Ok(None) };
        for source in sources.iter().filter(|&&source| source != spec.key) {
            // Gone or damaged (invalidated, cleaned up): not ours to report; try the next.
            let Stored::Present(result) = self.store.get_result(source)? else { continue };
            let duplicate = !self.store.put_result(&spec.key, &result)?;
            let name = self.graph.name(task as usize);
            self.store.put_log(&spec.key, &TaskLog::reused(name, &self.options.owner, source))?;
            let (result, trace, reused_from) = (result.into(), Some(trace), Some(*source));
            return Ok(Some(Outcome::Stored { result, duplicate, trace, reused_from }));
        }
        Ok(None)
    }

    /// The store's traces: listed once per run, by the first task about to run, so a run
    /// with nothing to do never lists them.
    fn known_traces(&self) -> Result<Arc<Traces>, StoreError> {
        let mut known = self.shared.known_traces.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(traces) = known.as_ref() {
            return Ok(traces.clone());
        }
        let traces = Arc::new(trace::index(&trace::read_packs(self.store)?));
        *known = Some(traces.clone());
        Ok(traces)
    }
}
