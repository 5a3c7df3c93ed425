//! Packs and batch leases (see `store::pack`, `store::index`, `store::leases`): what a batch
//! commits reads back on every backend, a removal keeps the rest of its pack, a compaction
//! loses nothing, two batches that share a task exclude each other, and a store from before
//! packs is read.

use std::collections::HashSet;

use jug_core::Key;
use jug_core::store::{Access, Compaction, LockName, Locking, Packable, Stored, shard_of};

use crate::Backend;
use crate::scenarios::{key, worker};

/// `n` keys in `shard`.
fn shard_keys(shard: u8, n: usize, tag: &str) -> Vec<Key> {
    (0..n)
        .map(|i| {
            let mut k = key(&format!("{tag} {i}"));
            k.0[0] = shard;
            k
        })
        .collect()
}

fn packable<'a>(keys: &[Key], values: &'a [Vec<u8>]) -> Vec<Packable<'a>> {
    keys.iter()
        .zip(values)
        .map(|(k, v)| Packable { key: *k, name: "g.f", trace: Some(*k), result: v })
        .collect()
}

fn set(keys: &[Key]) -> HashSet<Key> {
    keys.iter().copied().collect()
}

pub fn packs_survive_removals_and_compaction(backend: &Backend) {
    let keys = shard_keys(7, 5, "packed");
    let values: Vec<Vec<u8>> = (0..5u8).map(|i| vec![0x18, 30 + i]).collect();
    let store = backend.open();
    assert_eq!(store.commit_pack(7, &packable(&keys, &values), false).unwrap(), vec![false; 5]);
    store.sync().unwrap();

    let reader = backend.open();
    assert_eq!(reader.list_results().unwrap(), set(&keys));
    for (k, v) in keys.iter().zip(&values) {
        assert_eq!(reader.get_result(k).unwrap(), Stored::Present(v.clone()));
    }
    // Removing two results of the pack keeps the other three.
    reader.delete_results(&keys[..2], &[]).unwrap();
    let third = backend.open();
    assert_eq!(third.list_results().unwrap(), set(&keys[2..]));
    assert_eq!(third.get_result(&keys[0]).unwrap(), Stored::Missing);
    assert_eq!(third.get_result(&keys[3]).unwrap(), Stored::Present(values[3].clone()));

    // Compaction rewrites the pack without them and drops the tombstone; nothing else changes,
    // for a handle that listed before it (its read meets the old pack gone and lists again)
    // and for a new one.
    let before = backend.open();
    assert_eq!(before.list_results().unwrap(), set(&keys[2..]));
    let done = third.compact().unwrap();
    assert_eq!(done, Compaction { rewritten: 1, removed: 0, tombstones: 1 });
    for handle in [before, backend.open()] {
        assert_eq!(handle.get_result(&keys[4]).unwrap(), Stored::Present(values[4].clone()));
        assert_eq!(handle.list_results().unwrap(), set(&keys[2..]));
        assert_eq!(handle.get_result(&keys[1]).unwrap(), Stored::Missing);
    }
    // The index names each result's task and trace.
    let entries = backend.open().packed_entries().unwrap();
    assert_eq!(entries.iter().map(|e| e.key).collect::<HashSet<_>>(), set(&keys[2..]));
    assert!(entries.iter().all(|e| e.name == "g.f" && e.trace == Some(e.key)));

    // Removing the rest leaves no pack to read.
    third.delete_results(&keys[2..], &[]).unwrap();
    assert_eq!(third.compact().unwrap(), Compaction { rewritten: 0, removed: 1, tombstones: 1 });
    assert!(backend.open().list_results().unwrap().is_empty());
}

pub fn batches_that_share_a_task_exclude_each_other(backend: &Backend) {
    // Two batches built by different workers from different ready sets, sharing one task.
    let shared = shard_keys(9, 1, "shared")[0];
    let a = [vec![shared], shard_keys(9, 3, "a")].concat();
    let b = [shard_keys(9, 2, "b"), vec![shared]].concat();
    let lease_of = |batch: &[Key]| {
        let name = LockName::Shard(shard_of(&batch[0]));
        assert!(batch.iter().all(|k| name.covers(k)), "a batch is one shard's tasks");
        name
    };
    let (first, second) = (backend.open(), backend.open());
    let (wa, wb) = (worker("a", backend.lease * 100), worker("b", backend.lease * 100));
    assert_eq!(first.try_lock(&lease_of(&a), &wa).unwrap(), Locking::Acquired { took_over: None });
    assert!(matches!(second.try_lock(&lease_of(&b), &wb).unwrap(), Locking::Held(_)));
    // Another shard is free meanwhile.
    let elsewhere = LockName::Shard(10);
    assert_eq!(second.try_lock(&elsewhere, &wb).unwrap(), Locking::Acquired { took_over: None });
    first.unlock(&lease_of(&a)).unwrap();
    assert_eq!(second.try_lock(&lease_of(&b), &wb).unwrap(), Locking::Acquired { took_over: None });
    second.unlock(&lease_of(&b)).unwrap();
    second.unlock(&elsewhere).unwrap();
}

pub fn a_result_committed_twice_is_one_result_and_a_counted_duplicate(backend: &Backend) {
    let keys = shard_keys(3, 2, "twice");
    let values = vec![vec![0x01], vec![0x02]];
    let (first, late) = (backend.open(), backend.open());
    assert!(late.list_results().unwrap().is_empty(), "the late worker looked before the commit");
    assert_eq!(first.commit_pack(3, &packable(&keys, &values), false).unwrap(), vec![false, false]);
    // Re-checking the shard (as after a lease lost), the late worker finds both: duplicates.
    assert_eq!(late.commit_pack(3, &packable(&keys, &values), true).unwrap(), vec![true, true]);
    let reader = backend.open();
    assert_eq!(reader.list_results().unwrap(), set(&keys));
    assert_eq!(reader.get_result(&keys[1]).unwrap(), Stored::Present(vec![0x02]));
}

pub fn a_store_from_format_1_is_read_and_upgraded(backend: &Backend) {
    let store = backend.open();
    store.overwrite_format_marker(br#"{"jug-host store format": 1}"#).unwrap();
    // Format 1 kept each result alone at `results/<2 hex>/<key>`, as `put_result` still does.
    let old = key("written by format 1");
    assert!(store.put_result(&old, b"\x05").unwrap());
    let reopened = backend.reopen(Access::ReadWrite).unwrap();
    assert_eq!(reopened.format_marker().unwrap(), Some(2));
    let new = shard_keys(4, 1, "packed later");
    reopened.commit_pack(4, &packable(&new, &[vec![0x06]]), false).unwrap();
    let reader = backend.reopen(Access::ReadOnly).unwrap();
    assert_eq!(reader.list_results().unwrap(), set(&[old, new[0]]));
    assert_eq!(reader.get_result(&old).unwrap(), Stored::Present(vec![0x05]));
    assert_eq!(reader.get_result(&new[0]).unwrap(), Stored::Present(vec![0x06]));
}
