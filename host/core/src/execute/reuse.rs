//! Early cutoff in the scheduler (see `trace`): a task about to run first looks for an earlier
//! key that ran the same code on the same input values, and copies its result; the trace of
//! what does run goes into its pack's index (see `store::pack`).

use std::sync::Arc;

use super::Context;
use super::batch::Outcome;
use crate::Key;
use crate::store::{StoreError, Stored};
use crate::task_log::TaskLog;
use crate::trace::{self, Traces};

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
            let name = self.graph.name(task as usize);
            self.store.put_log(&spec.key, &TaskLog::reused(name, &self.options.owner, source))?;
            let (result, trace, reused_from) = (result.into(), Some(trace), Some(*source));
            return Ok(Some(Outcome::Stored { result, trace, reused_from }));
        }
        Ok(None)
    }

    /// The store's traces, from the packs' indexes and the trace packs of older stores:
    /// listed once per run, by the first task about to run, so a run with nothing to do never
    /// lists them.
    fn known_traces(&self) -> Result<Arc<Traces>, StoreError> {
        let mut known = self.shared.known_traces.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(traces) = known.as_ref() {
            return Ok(traces.clone());
        }
        let mut entries: Vec<(Key, Key)> =
            trace::read_packs(self.store)?.into_iter().flat_map(|(_, e)| e).collect();
        entries.extend(self.store.packed_entries()?.into_iter().filter_map(|e| Some((e.trace?, e.key))));
        let traces = Arc::new(trace::index(&[(String::new(), entries)]));
        *known = Some(traces.clone());
        Ok(traces)
    }
}
