//! Results: committed in packs, one per batch, read through the index (see `index`), and
//! removed with tombstones that a compaction folds away.

use std::collections::HashSet;
use std::sync::{Arc, MutexGuard};

use super::backend::Put;
use super::index::{self, Index, Place, Tombstones};
use super::pack::{self, Packed};
use super::{Damaged, Store, StoreError, Stored, envelope, shard_of};
use crate::Key;

/// A result stored alone rather than packed when its sealed size is above this: a pack is
/// read whole by a compaction, and a result this big gains nothing from sharing an object.
pub const ALONE_ABOVE: usize = 8 << 20;

/// Above this many consolidated indexes, the next writer merges them into one, so a reader
/// never needs more than a few requests to know every result.
const MERGE_ABOVE: usize = 8;

/// A result to commit in a batch.
pub struct Packable<'a> {
    pub key: Key,
    pub name: &'a str,
    /// The trace it ran with (early cutoff, see `trace`), kept in the pack's index.
    pub trace: Option<Key>,
    pub result: &'a [u8],
}

/// What a compaction did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Packs rewritten without their removed results, and packs removed outright.
    pub rewritten: usize,
    pub removed: usize,
    pub tombstones: usize,
}

fn alone_path(key: &Key) -> String {
    let hex = key.to_hex();
    format!("results/{}/{hex}", &hex[..2])
}

impl Store {
    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The index, listed once if this handle has not listed the store yet.
    fn loaded_index(&self) -> Result<MutexGuard<'_, Index>, StoreError> {
        let mut index = self.index();
        if !index.loaded {
            index.refresh_all(self.backend.as_ref())?;
        }
        Ok(index)
    }

    /// Keys of every stored result, from a few listings (and a read of each pack or
    /// consolidated index not read before).
    pub fn list_results(&self) -> Result<HashSet<Key>, StoreError> {
        let mut index = self.index();
        index.refresh_all(self.backend.as_ref())?;
        Ok(index.keys().copied().collect())
    }

    /// Takes what `other`, a handle on the same store, last listed as this handle's listing:
    /// what `execute` listed read-only while the graph was built need not be listed again.
    pub fn adopt_listing(&self, other: &Store) {
        if other.location == self.location {
            let listed = other.index().clone();
            *self.index() = listed;
        }
    }

    /// Whether a result is stored, as of this handle's last listing (without reading it).
    pub fn has_result(&self, key: &Key) -> Result<bool, StoreError> {
        Ok(self.loaded_index()?.contains(key))
    }

    /// Reads the shard's packs written since this handle last looked: what a worker does
    /// once it holds the shard's lease, before running any of its tasks.
    ///
    /// The listing and the reads take no lock: on a network store they are requests, and
    /// every other worker of the process needs the index meanwhile (to check a result, to
    /// find a dependency's). Holding it made `-j8` on S3 no faster than `-j1`.
    pub fn refresh_shard(&self, shard: u8) -> Result<(), StoreError> {
        drop(self.loaded_index()?);
        let backend = self.backend.as_ref();
        for _ in 0..3 {
            let listing = index::bucket_listing(backend, shard)?;
            let unread = self.index().unread(&listing);
            let mut read = Vec::with_capacity(unread.len());
            let mut complete = true;
            for path in unread {
                match index::fetch_table(backend, &path)? {
                    Some(entries) => read.push((path, entries)),
                    // Compacted away since the listing: list again.
                    None => complete = false,
                }
            }
            self.index().merge_bucket(shard, listing, read, complete);
            if complete {
                break;
            }
        }
        Ok(())
    }

    /// Reads and checks a result. One sealed by another version of jug-host is an error, so
    /// that no caller takes it for damage and removes it.
    pub fn get_result(&self, key: &Key) -> Result<Stored, StoreError> {
        for _ in 0..3 {
            let place = self.loaded_index()?.place(key).cloned();
            let (path, bytes) = match place {
                Some(Place::Packed { pack, offset, len }) => {
                    match self.backend.get_range(&pack, offset..offset + len)? {
                        Some(bytes) if bytes.len() as u64 == len => (pack.to_string(), bytes),
                        Some(_) => return Ok(Stored::Damaged(Damaged { key: *key, reason: "cut short" })),
                        // Compacted away since we listed: list again.
                        None => {
                            self.index().refresh_all(self.backend.as_ref())?;
                            continue;
                        }
                    }
                }
                Some(Place::Alone) | None => match self.backend.get(&alone_path(key))? {
                    Some(bytes) => (alone_path(key), bytes),
                    None => return Ok(Stored::Missing),
                },
            };
            return Ok(match envelope::open(&bytes) {
                Ok(payload) => Stored::Present(payload.to_vec()),
                Err(envelope::Unopened::Damaged(reason)) => Stored::Damaged(Damaged { key: *key, reason }),
                Err(envelope::Unopened::OtherVersion(found)) => {
                    let path = format!("{}/{path}", self.location);
                    return Err(StoreError::OtherResultFormat { path, found, known: envelope::VERSION });
                }
            });
        }
        Ok(Stored::Missing)
    }

    /// Stores one result alone (visible at once, durable after the next [`Store::sync`])
    /// unless one is already there: `false` then. Same key, same bytes, so the first copy
    /// stands and the caller counts a duplicate execution. Batches use [`Store::commit_pack`].
    pub fn put_result(&self, key: &Key, payload: &[u8]) -> Result<bool, StoreError> {
        if self.loaded_index()?.contains(key) {
            return Ok(false);
        }
        self.clear_unsound(&[*key])?;
        let stored = self.backend.put(&alone_path(key), envelope::seal(payload), Put::Create)?;
        if stored {
            self.index().add_alone(*key);
        }
        Ok(stored)
    }

    /// Commits a batch of results of one shard as one pack (durable after the next
    /// [`Store::sync`]), the big ones alone. Returns, per result, whether it was a duplicate:
    /// another worker had stored that key (after a lease takeover race), so it was not stored
    /// again. With `recheck`, the shard's packs are listed first: when the lease may have been
    /// taken over since it was last checked.
    pub fn commit_pack(
        &self,
        shard: u8,
        results: &[Packable],
        recheck: bool,
    ) -> Result<Vec<bool>, StoreError> {
        if recheck {
            self.refresh_shard(shard)?;
        }
        let mut duplicate = vec![false; results.len()];
        let mut packed = Vec::with_capacity(results.len());
        let mut alone = Vec::new();
        {
            let index = self.loaded_index()?;
            let mut seen = HashSet::with_capacity(results.len());
            for (i, r) in results.iter().enumerate() {
                debug_assert_eq!(shard_of(&r.key), shard, "a batch holds one shard's tasks");
                if index.contains(&r.key) || !seen.insert(r.key) {
                    duplicate[i] = true;
                    continue;
                }
                let sealed = envelope::seal(r.result);
                if sealed.len() > ALONE_ABOVE {
                    alone.push(i);
                } else {
                    packed.push(Packed { key: r.key, name: r.name, trace: r.trace, sealed });
                }
            }
        }
        for i in alone {
            duplicate[i] = !self.put_result(&results[i].key, results[i].result)?;
        }
        if !packed.is_empty() {
            self.clear_unsound(&packed.iter().map(|p| p.key).collect::<Vec<_>>())?;
            let (bytes, entries) = pack::encode(&packed);
            let path: Arc<str> = Arc::from(format!("packs/{shard:02x}/{}", self.unique_id()));
            self.backend.put(&path, bytes, Put::Create)?;
            self.index().add_pack(path, entries);
        }
        Ok(duplicate)
    }

    /// Removes what is stored alone, unsound, under any of `keys` (see `index`): before their
    /// results are stored again, so that an alone one can be created in its place and no junk
    /// is left to be reported at every listing.
    fn clear_unsound(&self, keys: &[Key]) -> Result<(), StoreError> {
        let unsound: Vec<Key> = {
            let index = self.index();
            keys.iter().filter(|k| index.is_unsound(k)).copied().collect()
        };
        for key in unsound {
            self.backend.delete(&alone_path(&key))?;
            self.index().forget_unsound(&key);
        }
        Ok(())
    }

    /// Removes one result (a result that is already gone is not an error).
    pub fn delete_result(&self, key: &Key) -> Result<(), StoreError> {
        self.delete_results(&[*key], &[])
    }

    /// Removes results: those stored alone one request each, the packed ones with one
    /// tombstone for all (see `index`; `compact` reclaims their space), which also revokes
    /// the traces `revoke` (no task reuses a result through them any more, see `trace`).
    pub fn delete_results(&self, keys: &[Key], revoke: &[Key]) -> Result<(), StoreError> {
        let (alone, dead) = {
            let index = self.loaded_index()?;
            let alone: Vec<Key> = keys.iter().filter(|k| index.is_alone(k)).copied().collect();
            let dead: Vec<(Arc<str>, Key)> =
                keys.iter().flat_map(|k| index.packed_at(k).into_iter().map(|pack| (pack, *k))).collect();
            (alone, dead)
        };
        for key in alone {
            self.backend.delete(&alone_path(&key))?;
            self.index().forget_alone(&key);
        }
        if !dead.is_empty() || !revoke.is_empty() {
            self.put_tombstones(Tombstones { dead, revoked: revoke.to_vec() })?;
        }
        Ok(())
    }

    fn put_tombstones(&self, tombstones: Tombstones) -> Result<(), StoreError> {
        let id = self.unique_id();
        self.backend.put(&format!("tombstones/{id}"), index::encode_tombstones(&tombstones), Put::Create)?;
        self.index().add_tombstones(id, tombstones);
        Ok(())
    }

    /// Replaces a stored result's bytes as they are, bypassing the envelope: how the tests
    /// damage a result on purpose, in every backend. (The bytes are stored alone, and a packed
    /// copy is removed, so the damaged bytes are what is read.)
    #[doc(hidden)]
    pub fn overwrite_result_bytes(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let packed = self.loaded_index()?.packed_at(key);
        if !packed.is_empty() {
            let dead = packed.into_iter().map(|pack| (pack, *key)).collect();
            self.put_tombstones(Tombstones { dead, revoked: Vec::new() })?;
        }
        self.backend.put(&alone_path(key), bytes.to_vec(), Put::Overwrite)?;
        self.index().add_alone(*key);
        Ok(())
    }

    /// The paths of every pack, from one listing (for tests and benchmarks).
    #[doc(hidden)]
    pub fn packs(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.backend.list("packs")?.into_iter().map(|p| format!("packs/{p}")).collect())
    }

    /// Every live packed result's key, task name and trace, from the packs' indexes (what
    /// `cleanup` and early cutoff need, without reading a result).
    pub fn packed_entries(&self) -> Result<Vec<super::PackEntry>, StoreError> {
        Ok(self.loaded_index()?.entries().collect())
    }

    /// Rewrites the packs that hold removed results without them (removing packs left with
    /// nothing), then the tombstones that named only packs now gone, then consolidates the
    /// indexes. New packs are durable before old ones go (see `index` for why no reader can
    /// miss a result or see a removed one meanwhile).
    pub fn compact(&self) -> Result<Compaction, StoreError> {
        let mut done = Compaction::default();
        let mut index = self.index();
        index.refresh_all(self.backend.as_ref())?;
        let mut gone = Vec::new();
        for path in index.listed_packs() {
            let Some(table) = index.table(&path).cloned() else { continue };
            let live: Vec<&pack::Entry> = table.iter().filter(|e| !index.is_dead(&path, &e.key)).collect();
            if live.len() == table.len() {
                continue;
            }
            if !live.is_empty() {
                let Some(bytes) = self.backend.get(&path)? else { continue };
                let slice = |e: &pack::Entry| bytes.get(e.offset as usize..(e.offset + e.len) as usize);
                let packed: Option<Vec<Packed>> = live
                    .iter()
                    .map(|e| {
                        let sealed = slice(e)?.to_vec();
                        Some(Packed { key: e.key, name: &e.name, trace: e.trace, sealed })
                    })
                    .collect();
                // A pack cut short is left for its tasks to be run again, not copied.
                let Some(packed) = packed else { continue };
                let (new, entries) = pack::encode(&packed);
                let shard = &path["packs/".len().."packs/".len() + 2];
                let new_path: Arc<str> = Arc::from(format!("packs/{shard}/{}", self.unique_id()));
                self.backend.put(&new_path, new, Put::Create)?;
                index.add_pack(new_path, entries);
                done.rewritten += 1;
            } else {
                done.removed += 1;
            }
            gone.push(path);
        }
        self.backend.sync()?;
        crate::pause::pause_at("compaction-rewrote");
        for path in &gone {
            self.backend.delete(path)?;
        }
        let remaining: HashSet<Arc<str>> =
            index.listed_packs().into_iter().filter(|p| !gone.contains(p)).collect();
        for (id, tombstones) in index.tombstone_ids() {
            // Revoked traces stay revoked: those tombstones are kept (one line per trace).
            if tombstones.revoked.is_empty()
                && tombstones.dead.iter().all(|(pack, _)| !remaining.contains(pack))
            {
                self.backend.delete(&format!("tombstones/{id}"))?;
                done.tombstones += 1;
            }
        }
        index.refresh_all(self.backend.as_ref())?;
        drop(index);
        self.consolidate(true)?;
        Ok(done)
    }

    /// Writes a consolidated index, so that readers learn what the store holds in a few
    /// requests rather than one per pack: with `all`, of every pack (after a listing), else
    /// of the packs this handle wrote, or of everything when the consolidated indexes have
    /// grown past a few. Replaced indexes are removed.
    pub fn consolidate(&self, all: bool) -> Result<(), StoreError> {
        let mut index = self.index();
        let merge = all || index.index_listing().len() > MERGE_ABOVE;
        if merge && !all {
            index.refresh_all(self.backend.as_ref())?;
        }
        let packs = if merge { index.listed_packs() } else { index.own_packs() };
        // Nothing to gain: one index already covers every pack (or too few packs to matter).
        let settled = index.index_listing().len() <= 1 && (index.uncovered() == 0 || packs.len() < 2);
        if (merge && settled) || (!merge && packs.len() < 2) {
            return Ok(());
        }
        let tables: Vec<_> =
            packs.iter().filter_map(|p| index.table(p).map(|t| (p.clone(), t.clone()))).collect();
        let id = self.unique_id();
        self.backend.put(&format!("index/{id}"), index::encode_consolidated(&tables), Put::Create)?;
        if merge {
            for old in index.index_listing() {
                self.backend.delete(&format!("index/{old}"))?;
            }
        }
        index.note_consolidated(id, packs, merge);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Access, StoreLocation};

    #[test]
    fn a_result_cut_short_is_not_listed_and_is_stored_again() {
        let store = Store::open(&StoreLocation::Memory, Access::ReadWrite).unwrap();
        let (a, mut b) = (Key([1; 32]), Key([1; 32]));
        b.0[31] = 2;
        let packable = |key| Packable { key, name: "g.f", trace: None, result: b"\x01" };
        store.commit_pack(1, &[packable(a)], false).unwrap();
        store.commit_pack(1, &[packable(b)], false).unwrap();
        // Readers learn the tables from a consolidated index, without reading the packs.
        store.consolidate(true).unwrap();
        let Some(Place::Packed { pack, .. }) = store.index().place(&b).cloned() else { panic!("packed") };
        let bytes = store.backend.get(&pack).unwrap().unwrap();
        store.backend.put(&pack, bytes[..bytes.len() - 1].to_vec(), Put::Overwrite).unwrap();
        assert_eq!(store.new_worker().list_results().unwrap(), HashSet::from([a]));

        // A result stored alone, emptied: not listed, and storing it again replaces it.
        let c = Key([2; 32]);
        store.backend.put(&alone_path(&c), Vec::new(), Put::Overwrite).unwrap();
        let worker = store.new_worker();
        assert!(!worker.list_results().unwrap().contains(&c));
        assert!(worker.put_result(&c, b"\x03").unwrap(), "stored, not taken for a duplicate");
        assert_eq!(store.new_worker().get_result(&c).unwrap(), Stored::Present(b"\x03".to_vec()));
        assert!(store.new_worker().list_results().unwrap().contains(&c));
    }
}
