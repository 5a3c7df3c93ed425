//! The ready queue, by shard: batches are leased per shard (see `store::leases`), so a worker
//! holding a shard's lease takes that shard's ready tasks, in definition order, and a worker
//! looking for a new batch starts the shard whose first ready task comes first.

use std::collections::VecDeque;

use crate::Graph;
use crate::store::shard_of;

pub(super) struct Ready {
    shards: Vec<VecDeque<u32>>,
    len: usize,
    /// Each task's shard, computed once.
    shard: Vec<u8>,
}

impl Ready {
    pub(super) fn new(graph: &Graph) -> Ready {
        Ready {
            shards: vec![VecDeque::new(); 256],
            len: 0,
            shard: graph.tasks().iter().map(|t| shard_of(&t.key)).collect(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a task; tasks become ready in definition order mostly, so this keeps each
    /// shard's queue sorted at the cost of a short walk when one comes late.
    pub(super) fn push(&mut self, task: u32) {
        let queue = &mut self.shards[self.shard[task as usize] as usize];
        let at = queue.iter().rposition(|&t| t < task).map_or(0, |i| i + 1);
        queue.insert(at, task);
        self.len += 1;
    }

    /// The next ready task of `shard`.
    pub(super) fn pop(&mut self, shard: u8) -> Option<u32> {
        let task = self.shards[shard as usize].pop_front()?;
        self.len -= 1;
        Some(task)
    }

    /// The first ready task of `shard`.
    pub(super) fn first_of(&self, shard: u8) -> Option<u32> {
        self.shards[shard as usize].front().copied()
    }

    /// How many ready tasks `shard` has.
    pub(super) fn len_of(&self, shard: u8) -> usize {
        self.shards[shard as usize].len()
    }

    /// Whether `shard` has ready tasks.
    pub(super) fn has(&self, shard: u8) -> bool {
        !self.shards[shard as usize].is_empty()
    }

    /// The shard whose first ready task comes first in the graph, of those `free` allows.
    ///
    /// `free` is asked only of a shard that would be the best so far: it looks shards up in
    /// the scheduler's maps, under the lock every worker takes for every task, and asking it
    /// of all 256 held that lock long enough for the other workers to sleep on it.
    pub(super) fn first_shard(&self, free: impl Fn(u8) -> bool) -> Option<u8> {
        let mut best: Option<(u32, u8)> = None;
        for s in 0..=255u8 {
            if let Some(&t) = self.shards[s as usize].front()
                && best.is_none_or(|(first, _)| t < first)
                && free(s)
            {
                best = Some((t, s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// A shard with ready tasks that `free` allows, picked at random: after a collision,
    /// workers that walk the graph in the same order would keep colliding.
    pub(super) fn random_shard(&self, random: &mut fastrand::Rng, free: impl Fn(u8) -> bool) -> Option<u8> {
        let candidates: Vec<u8> = (0..=255u8).filter(|&s| self.has(s) && free(s)).collect();
        (!candidates.is_empty()).then(|| candidates[random.usize(..candidates.len())])
    }

    /// Removes every ready task of `shard`.
    pub(super) fn take_shard(&mut self, shard: u8) -> VecDeque<u32> {
        let taken = std::mem::take(&mut self.shards[shard as usize]);
        self.len -= taken.len();
        taken
    }

    /// Keeps only the tasks `keep` says.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        for queue in &mut self.shards {
            queue.retain(|&t| keep(t));
        }
        self.len = self.shards.iter().map(VecDeque::len).sum();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::HashSet;

    use super::*;

    /// `tasks` tasks spread over the shards at random, every one of them ready.
    fn ready(tasks: u32, random: &mut fastrand::Rng) -> Ready {
        let mut ready = Ready {
            shards: vec![VecDeque::new(); 256],
            len: 0,
            shard: (0..tasks).map(|_| random.u8(..)).collect(),
        };
        (0..tasks).for_each(|t| ready.push(t));
        ready
    }

    #[test]
    fn the_first_free_shard_is_the_one_whose_first_task_comes_first_and_few_shards_are_looked_up() {
        let mut random = fastrand::Rng::with_seed(7);
        for tasks in [1, 10, 300, 5000] {
            let ready = ready(tasks, &mut random);
            let busy: HashSet<u8> = (0..64).map(|_| random.u8(..)).collect();
            let asked = Cell::new(0);
            let free = |s: u8| {
                asked.set(asked.get() + 1);
                !busy.contains(&s)
            };
            // The definition: of the free shards with ready tasks, the one whose first task is
            // earliest.
            let expected =
                (0..=255u8).filter(|s| !busy.contains(s) && ready.has(*s)).min_by_key(|&s| ready.first_of(s));
            assert_eq!(ready.first_shard(free), expected, "{tasks} tasks");
            assert!(asked.get() <= 80, "{tasks} tasks: asked about {} shards", asked.get());
        }
    }
}
