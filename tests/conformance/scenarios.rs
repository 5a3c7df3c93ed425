//! What every store backend must do, written once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use jug_core::manifest::ManifestId;
use jug_core::store::{Access, LockName, LockRecord, Locking, StoreError, StoreLocation, Stored};
use jug_core::{Key, trace};

use crate::Backend;

pub fn key(name: &str) -> Key {
    Key::from_hex(blake3::hash(name.as_bytes()).to_hex().as_str()).unwrap()
}

/// The batch lease of the shard `name`'s key falls in.
fn shard(name: &str) -> LockName {
    LockName::Shard(key(name).0[0])
}

pub fn worker(name: &str, lease: Duration) -> LockRecord {
    LockRecord::for_this_process(&format!("{name}:{}", std::process::id()), lease)
}

/// Runs `contenders` lock attempts at the same moment, each on its own handle and identity.
/// Their own leases are long: under contention SeaweedFS answers the losers seconds late, and
/// a loser that late must still find the winner's lease live.
fn race(backend: &Backend, contenders: usize, key: LockName) -> Vec<Locking> {
    let gate = Arc::new(Barrier::new(contenders));
    let handles: Vec<_> = (0..contenders)
        .map(|i| {
            let (store, gate) = (backend.open(), gate.clone());
            let record = worker(&format!("contender{i}"), Duration::from_secs(120));
            std::thread::spawn(move || {
                gate.wait();
                store.try_lock(&key, &record).expect("try_lock")
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn winners(outcomes: &[Locking]) -> usize {
    outcomes.iter().filter(|o| matches!(o, Locking::Acquired { .. })).count()
}

pub fn results_round_trip(backend: &Backend) {
    let store = backend.open();
    let (a, b) = (key("result a"), key("result b"));
    assert_eq!(store.get_result(&a).unwrap(), Stored::Missing);
    assert!(!store.has_result(&a).unwrap());
    assert!(store.put_result(&a, b"\x01").unwrap());
    assert!(store.put_result(&b, &vec![7u8; 100_000]).unwrap());
    store.sync().unwrap();
    assert_eq!(store.get_result(&a).unwrap(), Stored::Present(vec![1]));
    assert_eq!(store.get_result(&b).unwrap(), Stored::Present(vec![7u8; 100_000]));
    assert!(store.has_result(&a).unwrap());
    assert_eq!(store.list_results().unwrap(), [a, b].into_iter().collect());

    store.delete_result(&a).unwrap();
    store.delete_result(&a).unwrap(); // already gone: not an error
    assert_eq!(store.get_result(&a).unwrap(), Stored::Missing);
    assert_eq!(store.list_results().unwrap(), [b].into_iter().collect());
    // Another handle (another worker) sees the same.
    assert_eq!(backend.open().list_results().unwrap(), [b].into_iter().collect());
}

pub fn a_damaged_result_is_never_returned(backend: &Backend) {
    let store = backend.open();
    let k = key("damaged");
    assert!(store.put_result(&k, b"\x01\x02\x03").unwrap());
    // A format-1 header over the wrong bytes (another version byte would be another
    // jug-host's result, which is not damage: see the scenario after the next).
    store.overwrite_result_bytes(&k, b"JUGR\x01 but not what was sealed").unwrap();
    assert!(matches!(store.get_result(&k).unwrap(), Stored::Damaged(d) if d.key == k));
    store.delete_result(&k).unwrap();
    assert_eq!(store.get_result(&k).unwrap(), Stored::Missing);
}

pub fn logs_round_trip(backend: &Backend) {
    let store = backend.open();
    let k = key("log");
    assert_eq!(store.get_log(&k).unwrap(), None);
    store.put_log(&k, b"first run\n").unwrap();
    store.put_log(&k, b"second run\n").unwrap();
    assert_eq!(store.get_log(&k).unwrap().as_deref(), Some(&b"second run\n"[..]));
}

pub fn manifests_are_listed_by_name(backend: &Backend) {
    let store = backend.open();
    let id = |name: &str, batch: &str| ManifestId { name: name.into(), batch: batch.into() };
    // Task names contain dots, and a name may need escaping in a path: both must list back.
    let ids = [
        id("primes.is_prime", "0001-a"),
        id("primes.is_prime", "0002-b"),
        id("odd name/with:chars", "0001-c"),
    ];
    for (n, manifest) in ids.iter().enumerate() {
        store.put_manifest(manifest, format!("manifest {n}").as_bytes()).unwrap();
    }
    let mut listed = store.list_manifests().unwrap();
    listed.sort();
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(store.get_manifest(&ids[1]).unwrap().as_deref(), Some(&b"manifest 1"[..]));
    store.delete_manifest(&ids[0]).unwrap();
    assert_eq!(store.get_manifest(&ids[0]).unwrap(), None);
    assert_eq!(store.list_manifests().unwrap().len(), 2);
}

/// Trace packs (early cutoff, see `jug_core::trace`): written, listed back by id, read into
/// one index, and rewritten without the entries that go (deleted once empty).
pub fn trace_packs_are_listed_read_and_rewritten(backend: &Backend) {
    let store = backend.open();
    let (t1, t2, k1, k2, k3) = (key("t1"), key("t2"), key("k1"), key("k2"), key("k3"));
    store.put_trace_pack("0001-a-000000", &trace::encode_pack(&[(t1, k1), (t2, k2)])).unwrap();
    store.put_trace_pack("0002-b-000000", &trace::encode_pack(&[(t1, k3)])).unwrap();
    assert_eq!(store.list_trace_packs().unwrap(), ["0001-a-000000", "0002-b-000000"]);
    let packs = trace::read_packs(&store).unwrap();
    let index = trace::index(&packs);
    assert_eq!((index[&t1].as_slice(), index[&t2].as_slice()), (&[k1, k3][..], &[k2][..]));

    // Everything that leads to k3 goes: its pack is left empty, so it goes too.
    assert_eq!(trace::remove(&store, &packs, |_, k| *k == k3 || *k == k2).unwrap(), 2);
    assert_eq!(store.list_trace_packs().unwrap(), ["0001-a-000000"]);
    let index = trace::index(&trace::read_packs(&backend.open()).unwrap());
    assert_eq!(index.len(), 1);
    assert_eq!(index[&t1], [k1]);
}

pub fn a_second_copy_of_a_result_is_reported(backend: &Backend) {
    let (first, second) = (backend.open(), backend.open());
    let k = key("duplicate");
    assert!(first.put_result(&k, b"same").unwrap());
    assert!(!second.put_result(&k, b"same").unwrap(), "the second writer must learn it was second");
    assert_eq!(second.get_result(&k).unwrap(), Stored::Present(b"same".to_vec()));
}

pub fn a_lock_is_exclusive_until_released(backend: &Backend) {
    let (a, b) = (backend.open(), backend.open());
    let (record_a, record_b) = (worker("a", backend.lease), worker("b", backend.lease));
    let k = shard("exclusive");
    assert_eq!(a.try_lock(&k, &record_a).unwrap(), Locking::Acquired { took_over: None });
    match b.try_lock(&k, &record_b).unwrap() {
        Locking::Held(Some(lease)) => assert_eq!(lease.record, record_a),
        other => panic!("b should see a's lease, got {other:?}"),
    }
    assert_eq!(
        b.leases().unwrap().into_keys().collect::<std::collections::HashSet<_>>(),
        [k].into_iter().collect()
    );
    a.unlock(&k).unwrap();
    assert!(b.leases().unwrap().into_keys().collect::<std::collections::HashSet<_>>().is_empty());
    assert_eq!(b.try_lock(&k, &record_b).unwrap(), Locking::Acquired { took_over: None });
    b.unlock(&k).unwrap();
}

pub fn concurrent_lockers_have_one_winner(backend: &Backend) {
    for round in 0..3 {
        let k = shard(&format!("race {round}"));
        let outcomes = race(backend, 8, k);
        assert_eq!(winners(&outcomes), 1, "round {round}: {outcomes:?}");
    }
}

pub fn a_renewed_lease_is_never_taken(backend: &Backend) {
    let holder = backend.open();
    let k = shard("renewed");
    let record = worker("holder", backend.lease);
    assert!(matches!(holder.try_lock(&k, &record).unwrap(), Locking::Acquired { .. }));
    let contender = backend.open();
    let other = worker("contender", backend.lease);
    let end = Instant::now() + backend.lease * 3;
    while Instant::now() < end {
        std::thread::sleep(backend.lease / 4);
        assert_eq!(holder.renew_leases().unwrap(), Vec::<LockName>::new(), "renewal must succeed");
        let outcome = contender.try_lock(&k, &other).unwrap();
        assert!(matches!(outcome, Locking::Held(_)), "a live lease was taken: {outcome:?}");
    }
    holder.unlock(&k).unwrap();
}

/// A worker renews all its leases at once (side by side on a network store): each one is
/// renewed, and those taken over meanwhile are reported lost, exactly those. (A local
/// directory renews every lease with one touch of the file they link to and reports none: a
/// batch held past its lease re-checks its shard at commit anyway, see `execute`.)
pub fn many_leases_renew_together_and_only_the_lost_are_reported(backend: &Backend) {
    let holder = backend.open();
    let record = worker("holder of many", backend.lease);
    let leases: Vec<LockName> = (100..120).map(LockName::Shard).collect();
    for lease in &leases {
        assert!(matches!(holder.try_lock(lease, &record).unwrap(), Locking::Acquired { .. }));
    }
    std::thread::sleep(backend.lease + Duration::from_millis(1100));
    let (thief, stolen) = (backend.open(), leases[7]);
    let outcome = thief.try_lock(&stolen, &worker("thief", Duration::from_secs(120))).unwrap();
    assert!(matches!(outcome, Locking::Acquired { .. }), "the expired lease was not taken over: {outcome:?}");

    let lost = holder.renew_leases().unwrap();
    if matches!(backend.location(), StoreLocation::Local(_)) {
        assert_eq!(lost, Vec::<LockName>::new());
    } else {
        assert_eq!(lost, vec![stolen]);
    }
    let contender = backend.open();
    for lease in leases.iter().filter(|&&l| l != stolen) {
        let outcome = contender.try_lock(lease, &worker("contender", backend.lease)).unwrap();
        assert!(matches!(outcome, Locking::Held(_)), "{lease:?} was not renewed: {outcome:?}");
    }
}

pub fn an_expired_lease_is_taken_over_by_exactly_one_contender(backend: &Backend) {
    let dead = backend.open();
    let k = shard("expired");
    let record = worker("dead", backend.lease);
    assert!(matches!(dead.try_lock(&k, &record).unwrap(), Locking::Acquired { .. }));
    std::thread::sleep(backend.lease + Duration::from_millis(1100));

    let outcomes = race(backend, 6, k);
    assert_eq!(winners(&outcomes), 1, "{outcomes:?}");
    let took_over = outcomes.iter().find_map(|o| match o {
        Locking::Acquired { took_over } => Some(took_over.clone()),
        _ => None,
    });
    // The winner names whom it replaced — except in a local directory, where the expired lock
    // is moved aside before the winner links its own, and a contender that looks in that
    // instant finds no lock and simply creates one.
    match took_over.flatten() {
        Some(lease) => assert_eq!(lease.record, record, "the winner names whom it replaced"),
        None => assert!(matches!(backend.location(), StoreLocation::Local(_)), "{outcomes:?}"),
    }

    // The old holder, back from the dead, must not release the new holder's lease...
    dead.unlock(&k).unwrap();
    assert_eq!(
        backend.open().leases().unwrap().into_keys().collect::<std::collections::HashSet<_>>(),
        [k].into_iter().collect()
    );
    let late = worker("late", backend.lease);
    assert!(matches!(backend.open().try_lock(&k, &late).unwrap(), Locking::Held(_)));
}

pub fn leases_are_listed_with_their_holder(backend: &Backend) {
    let store = backend.open();
    let k = shard("listed");
    let record = worker("lister", backend.lease);
    assert!(matches!(store.try_lock(&k, &record).unwrap(), Locking::Acquired { .. }));
    let leases = backend.open().leases().unwrap();
    let lease = leases[&k].clone().expect("a readable lease");
    assert_eq!(lease.record, record);
    assert!(!lease.is_expired(SystemTime::now()));
    assert!(lease.is_expired(SystemTime::now() + backend.lease + Duration::from_secs(2)));
    store.unlock(&k).unwrap();
    assert!(backend.open().leases().unwrap().is_empty());
}

pub fn a_result_of_another_format_version_is_not_damaged(backend: &Backend) {
    let store = backend.open();
    let k = key("newer result");
    assert!(store.put_result(&k, b"\x01").unwrap());
    // Our magic, format version 2: what a newer jug-host sharing the store would write.
    let mut newer = b"JUGR\x02\x00\x00\x00".to_vec();
    newer.extend_from_slice(&[0xee; 60]);
    store.overwrite_result_bytes(&k, &newer).unwrap();
    let error = store.get_result(&k).unwrap_err();
    assert!(
        matches!(error, StoreError::OtherResultFormat { found: 2, known: 1, .. }),
        "{error}: another version's result is not damaged"
    );
    assert!(error.to_string().contains("result format 2; this one reads format 1"), "{error}");
    assert!(store.has_result(&k).unwrap(), "it is left where it is");
}

pub fn a_store_of_a_newer_format_is_refused(backend: &Backend) {
    let store = backend.open();
    assert!(store.put_result(&key("marked"), b"\x01").unwrap());
    backend.reopen(Access::ReadOnly).expect("today's format opens");
    store.overwrite_format_marker(br#"{"jug-host store format": 3}"#).unwrap();
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let error = backend.reopen(access).err().expect("a newer store is refused");
        assert!(matches!(error, StoreError::NewerFormat { found: 3, known: 2, .. }), "{error}");
        assert!(error.to_string().contains("has format 3, newer than the format 2"), "{error}");
    }
    // Not a marker at all: refused too, rather than written over.
    store.overwrite_format_marker(b"something else").unwrap();
    let error = backend.reopen(Access::ReadWrite).err().expect("an unreadable marker is refused");
    assert!(matches!(error, StoreError::BadFormatMarker { .. }), "{error}");
    // An older format opens, and opened for writing it is marked as ours: from then on a
    // jug-host that knows only format 1 refuses it rather than miss the packed results.
    store.overwrite_format_marker(br#"{"jug-host store format": 1}"#).unwrap();
    backend.reopen(Access::ReadOnly).expect("format 1 opens");
    assert_eq!(store.format_marker().unwrap(), Some(1), "a reader leaves the marker alone");
    backend.reopen(Access::ReadWrite).expect("format 1 opens");
    assert_eq!(store.format_marker().unwrap(), Some(2));
}

/// Each takeover of a task's lease counts one more in the new lease's record (so a task that
/// kills every worker running it can be stopped, see `execute`); a lease taken over is renewed
/// like any other; releasing the lock ends the count.
pub fn takeovers_are_counted_in_the_lease(backend: &Backend) {
    let k = shard("crashing");
    let first = worker("first", backend.lease);
    assert!(matches!(backend.open().try_lock(&k, &first).unwrap(), Locking::Acquired { .. }));
    let mut holders = Vec::new();
    for takeovers in 1..=2 {
        std::thread::sleep(backend.lease + Duration::from_millis(1100));
        let store = backend.open();
        let record = worker(&format!("taker{takeovers}"), backend.lease);
        match store.try_lock(&k, &record).unwrap() {
            Locking::Acquired { took_over: Some(lease) } => assert_eq!(lease.record.takeovers, takeovers - 1),
            other => panic!("the expired lease should be taken over, got {other:?}"),
        }
        let lease = backend.open().leases().unwrap()[&k].clone().expect("a readable lease");
        assert_eq!(lease.record, LockRecord { takeovers, ..record });
        holders.push(store); // dies holding it: never renews, never releases
    }

    let holder = holders.pop().unwrap();
    let end = Instant::now() + backend.lease * 2;
    while Instant::now() < end {
        std::thread::sleep(backend.lease / 4);
        assert_eq!(holder.renew_leases().unwrap(), Vec::<LockName>::new(), "renewal must succeed");
        let contender = worker("contender", backend.lease);
        assert!(matches!(backend.open().try_lock(&k, &contender).unwrap(), Locking::Held(_)));
    }
    assert_eq!(backend.open().leases().unwrap()[&k].clone().unwrap().record.takeovers, 2);
    holder.unlock(&k).unwrap();
    assert!(
        backend.open().leases().unwrap().into_keys().collect::<std::collections::HashSet<_>>().is_empty()
    );
    let fresh = worker("fresh", backend.lease);
    assert_eq!(backend.open().try_lock(&k, &fresh).unwrap(), Locking::Acquired { took_over: None });
    assert_eq!(backend.open().leases().unwrap()[&k].clone().unwrap().record.takeovers, 0);
}
