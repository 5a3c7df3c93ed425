//! What every store backend must do, written once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use jug_core::Key;
use jug_core::manifest::ManifestId;
use jug_core::store::{LockRecord, Locking, StoreLocation, Stored};

use crate::Backend;

fn key(name: &str) -> Key {
    Key::from_hex(blake3::hash(name.as_bytes()).to_hex().as_str()).unwrap()
}

fn worker(name: &str, lease: Duration) -> LockRecord {
    LockRecord::for_this_process(&format!("{name}:{}", std::process::id()), lease)
}

/// Runs `contenders` lock attempts at the same moment, each on its own handle and identity.
/// Their own leases are long: under contention SeaweedFS answers the losers seconds late, and
/// a loser that late must still find the winner's lease live.
fn race(backend: &Backend, contenders: usize, key: Key) -> Vec<Locking> {
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
    store.overwrite_result_bytes(&k, b"JUGR but not what was sealed").unwrap();
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
    let k = key("exclusive");
    assert_eq!(a.try_lock(&k, &record_a).unwrap(), Locking::Acquired { took_over: None });
    match b.try_lock(&k, &record_b).unwrap() {
        Locking::Held(Some(lease)) => assert_eq!(lease.record, record_a),
        other => panic!("b should see a's lease, got {other:?}"),
    }
    assert_eq!(b.list_locks().unwrap(), [k].into_iter().collect());
    a.unlock(&k).unwrap();
    assert!(b.list_locks().unwrap().is_empty());
    assert_eq!(b.try_lock(&k, &record_b).unwrap(), Locking::Acquired { took_over: None });
    b.unlock(&k).unwrap();
}

pub fn concurrent_lockers_have_one_winner(backend: &Backend) {
    for round in 0..3 {
        let k = key(&format!("race {round}"));
        let outcomes = race(backend, 8, k);
        assert_eq!(winners(&outcomes), 1, "round {round}: {outcomes:?}");
    }
}

pub fn a_renewed_lease_is_never_taken(backend: &Backend) {
    let holder = backend.open();
    let k = key("renewed");
    let record = worker("holder", backend.lease);
    assert!(matches!(holder.try_lock(&k, &record).unwrap(), Locking::Acquired { .. }));
    let contender = backend.open();
    let other = worker("contender", backend.lease);
    let end = Instant::now() + backend.lease * 3;
    while Instant::now() < end {
        std::thread::sleep(backend.lease / 4);
        assert_eq!(holder.renew_leases().unwrap(), Vec::<Key>::new(), "renewal must succeed");
        let outcome = contender.try_lock(&k, &other).unwrap();
        assert!(matches!(outcome, Locking::Held(_)), "a live lease was taken: {outcome:?}");
    }
    holder.unlock(&k).unwrap();
}

pub fn an_expired_lease_is_taken_over_by_exactly_one_contender(backend: &Backend) {
    let dead = backend.open();
    let k = key("expired");
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
    assert_eq!(backend.open().list_locks().unwrap(), [k].into_iter().collect());
    let late = worker("late", backend.lease);
    assert!(matches!(backend.open().try_lock(&k, &late).unwrap(), Locking::Held(_)));
}

pub fn leases_are_listed_with_their_holder(backend: &Backend) {
    let store = backend.open();
    let k = key("listed");
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
