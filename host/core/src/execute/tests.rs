//! The scheduler on its own: a fake runner over a `memory://` store, no WebAssembly. Each test
//! says what a run must do (order, loading, failures, leases); the binary's end-to-end tests
//! cover the same through real components.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::GraphBuilder;
use crate::store::{Access, LockName, LockRecord, Locking, StoreLocation, shard_of};

/// Adds up its arguments (small unsigned CBOR integers, or arrays of them); `fail` fails.
/// Records the order tasks ran in.
#[derive(Default)]
struct Adder {
    ran: Mutex<Vec<Key>>,
}

impl Runner for Adder {
    fn run(
        &self,
        _: &crate::graph::ComponentRef,
        task: &crate::TaskSpec,
        function: &str,
        input: &[u8],
    ) -> Run {
        self.ran.lock().unwrap().push(task.key);
        let outcome = match function {
            "fail" => Err(Failure { kind: FailureKind::GuestError, message: "asked to fail".into() }),
            _ => Ok(encode(integers(input).iter().sum())),
        };
        Run { outcome, log: Vec::new() }
    }
}

/// The unsigned integers in a CBOR value (heads below 24 or one-byte `0x18 n`), in order,
/// whatever arrays they are nested in.
fn integers(cbor: &[u8]) -> Vec<u64> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < cbor.len() {
        match cbor[at] {
            n @ 0x00..=0x17 => found.push(n as u64),
            0x18 => {
                at += 1;
                found.push(cbor[at] as u64);
            }
            _ => {} // an array head
        }
        at += 1;
    }
    found
}

fn encode(n: u64) -> Vec<u8> {
    match n {
        0..=23 => vec![n as u8],
        24..=255 => vec![0x18, n as u8],
        _ => panic!("the tests add small numbers"),
    }
}

/// A reference to a task's result, as an argument.
fn reference(key: &Key) -> Vec<u8> {
    [&[0xd9, 0x6a, 0x75, 0x58, 0x20][..], &key.0].concat()
}

fn options(jobs: usize, keep_going: bool) -> Options {
    Options {
        jobs,
        selector: None,
        keep_going,
        keep_failed: false,
        early_exit: Default::default(),
        wait_cycle_time: Duration::from_millis(20),
        nr_wait_cycles: 500,
        owner: format!("test:{}:{}", std::process::id(), fastrand::u64(..)),
        lease: Duration::from_secs(30),
        stop: Arc::new(AtomicBool::new(false)),
    }
}

fn memory() -> Store {
    Store::open(&StoreLocation::Memory, Access::ReadWrite).unwrap()
}

fn value(store: &Store, key: &Key) -> Option<Vec<u8>> {
    match store.get_result(key).unwrap() {
        crate::store::Stored::Present(bytes) => Some(bytes),
        _ => None,
    }
}

fn total(counts: &crate::Counts) -> u64 {
    counts.values().sum()
}

#[test]
fn every_task_runs_once_after_its_dependencies_and_a_second_run_loads_them() {
    // a = 1, b = 2, c = a + b, d = c + c + 4
    let mut builder = GraphBuilder::new("g", Key([1; 32]));
    let a = builder.declare("add", vec![0x81, 0x01]).unwrap();
    let b = builder.declare("add", vec![0x81, 0x02]).unwrap();
    let c = builder.declare("add", [vec![0x82], reference(&a), reference(&b)].concat()).unwrap();
    let d = builder.declare("add", [vec![0x83], reference(&c), reference(&c), vec![0x04]].concat()).unwrap();
    let graph = builder.finish();
    let store = memory();
    let runner = Adder::default();

    let report = execute(&graph, &store, &runner, &options(2, false), &|_| {}).unwrap();
    assert_eq!((total(&report.executed), total(&report.loaded), report.unfinished), (4, 0, 0));
    let ran = runner.ran.lock().unwrap().clone();
    let at = |key: &Key| ran.iter().position(|k| k == key).unwrap();
    assert!(at(&c) > at(&a) && at(&c) > at(&b) && at(&d) > at(&c), "{ran:?}");
    assert_eq!(value(&store, &d), Some(encode(10)));

    let again = execute(&graph, &store, &runner, &options(2, false), &|_| {}).unwrap();
    assert_eq!((total(&again.executed), total(&again.loaded)), (0, 4));
    assert_eq!(runner.ran.lock().unwrap().len(), 4, "nothing ran the second time");
}

#[test]
fn a_failure_stops_the_run_unless_keep_going_which_still_skips_its_dependents() {
    let mut builder = GraphBuilder::new("g", Key([1; 32]));
    let broken = builder.declare("fail", vec![0x80]).unwrap();
    let after = builder.declare("add", [vec![0x81], reference(&broken)].concat()).unwrap();
    let independent = builder.declare("add", vec![0x81, 0x03]).unwrap();
    let graph = builder.finish();

    // One job, definition order: the failure comes first and the run stops there.
    let store = memory();
    let report = execute(&graph, &store, &Adder::default(), &options(1, false), &|_| {}).unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].1, broken);
    assert_eq!((value(&store, &after), value(&store, &independent)), (None, None));
    assert_eq!(report.unfinished, 3);
    assert_eq!(report.gave_up, None, "stopped by the failure, it gave up on nothing");

    // --keep-going: the independent task runs; the dependent cannot.
    let store = memory();
    let report = execute(&graph, &store, &Adder::default(), &options(1, true), &|_| {}).unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(value(&store, &independent), Some(encode(3)));
    assert_eq!(value(&store, &after), None);
    assert_eq!(report.unfinished, 2, "the failed task and the one behind it have no result");
    let gave_up = report.gave_up.expect("the dependent was left for want of its input");
    assert_eq!((gave_up.behind_failed, gave_up.failed), (1, vec![graph.name(0).to_owned()]));
    assert!(gave_up.held.is_empty());
}

#[test]
fn an_expired_lease_is_taken_over_and_a_live_one_waited_for() {
    let mut builder = GraphBuilder::new("g", Key([1; 32]));
    let held = builder.declare("add", vec![0x81, 0x05]).unwrap();
    let graph = builder.finish();
    let store = memory();

    // Another worker holds the task with a lease that ran out long ago: taken over.
    let mut expired = LockRecord::for_this_process("elsewhere:1:x", Duration::from_millis(1));
    expired.acquired_unix_ms -= 60_000;
    assert!(matches!(
        store.try_lock(&LockName::Shard(shard_of(&held)), &expired).unwrap(),
        Locking::Acquired { .. }
    ));
    let events = Mutex::new(Vec::new());
    let report =
        execute(&graph, &store, &Adder::default(), &options(1, false), &|e| events.lock().unwrap().push(e))
            .unwrap();
    assert_eq!((report.taken_over, total(&report.executed)), (1, 1));
    assert!(
        events.lock().unwrap().iter().any(
            |e| matches!(e, Event::TookOver { lease, .. } if *lease == LockName::Shard(shard_of(&held)))
        )
    );
    assert_eq!(value(&store, &held), Some(encode(5)));

    // A live lease on a task without a result: nothing runs it, and the run ends with it
    // unfinished once it has waited its cycles.
    let mut builder = GraphBuilder::new("g", Key([2; 32]));
    let busy = builder.declare("add", vec![0x81, 0x06]).unwrap();
    let graph = builder.finish();
    let live = LockRecord::for_this_process("elsewhere:2:y", Duration::from_secs(600));
    assert!(matches!(
        store.try_lock(&LockName::Shard(shard_of(&busy)), &live).unwrap(),
        Locking::Acquired { .. }
    ));
    let mut patient = options(1, false);
    patient.nr_wait_cycles = 2;
    let runner = Adder::default();
    let report = execute(&graph, &store, &runner, &patient, &|_| {}).unwrap();
    assert_eq!((report.unfinished, total(&report.executed)), (1, 0));
    assert!(runner.ran.lock().unwrap().is_empty());
    // It says what it gave up on: the task, and who holds it.
    let gave_up = report.gave_up.expect("the run gave up waiting");
    assert_eq!(gave_up.held, [(graph.name(0).to_owned(), Some(live))]);
    assert_eq!((gave_up.behind_held, gave_up.behind_excluded, gave_up.behind_failed), (0, 0, 0));
}

/// 500 independent tasks, all ready at once: each shard is leased once, its ready tasks run
/// as one batch and are committed as one pack, so there are as many packs as shards used.
#[test]
fn each_shard_runs_as_one_batch_and_one_pack() {
    let mut builder = GraphBuilder::new("g", Key([3; 32]));
    let keys: Vec<Key> = (0..500u32)
        .map(|i| builder.declare("add", vec![0x82, (i / 24) as u8, (i % 24) as u8]).unwrap())
        .collect();
    let graph = builder.finish();
    let store = memory();
    for jobs in [1, 2] {
        let store = store.new_worker();
        let report = execute(&graph, &store, &Adder::default(), &options(jobs, false), &|_| {}).unwrap();
        let executed = total(&report.executed);
        if jobs == 1 {
            assert_eq!(executed, 500);
        } else {
            assert_eq!((executed, total(&report.loaded)), (0, 500), "the second run loads them all");
        }
    }
    let shards: std::collections::HashSet<u8> = keys.iter().map(shard_of).collect();
    assert_eq!(store.packs().unwrap().len(), shards.len(), "one pack per shard");
    assert_eq!(store.list_results().unwrap().len(), 500);
    assert_eq!(value(&store, &keys[499]), Some(encode(20 + 19)));
    assert!(store.list_locks().unwrap().is_empty(), "every lease was released");
}

/// Runs every task, and while running `victim` has another worker take its shard's lease
/// and store its result first, then waits long enough for our lease keeper to notice.
struct Thief {
    victim: Key,
    thief: Store,
    adder: Adder,
}

impl Runner for Thief {
    fn run(
        &self,
        component: &crate::graph::ComponentRef,
        task: &crate::TaskSpec,
        function: &str,
        input: &[u8],
    ) -> Run {
        let run = self.adder.run(component, task, function, input);
        if task.key == self.victim {
            let lease = LockName::Shard(shard_of(&task.key));
            let record = LockRecord::for_this_process("thief:1:z", Duration::from_secs(600));
            self.thief.overwrite_lease(&lease, &record).unwrap();
            let result = run.outcome.as_ref().unwrap();
            let packed = crate::store::Packable { key: task.key, name: "g.add", trace: None, result };
            assert_eq!(self.thief.commit_pack(shard_of(&task.key), &[packed], false).unwrap(), vec![false]);
            std::thread::sleep(Duration::from_millis(400));
        }
        run
    }
}

/// A batch whose lease another worker took mid-batch: the loss is reported, the batch's
/// commit re-checks its shard, and the result the other worker stored first is counted as a
/// duplicate, not stored again; the rest of the batch is committed as usual.
#[test]
fn a_lease_lost_mid_batch_is_reported_and_its_duplicates_counted() {
    let mut builder = GraphBuilder::new("g", Key([4; 32]));
    let keys: Vec<Key> =
        (0..40u8).map(|i| builder.declare("add", vec![0x82, i / 24, i % 24]).unwrap()).collect();
    let graph = builder.finish();
    let store = memory();
    let runner = Thief { victim: keys[5], thief: store.new_worker(), adder: Adder::default() };
    let mut options = options(1, false);
    options.lease = Duration::from_millis(300);
    let events = Mutex::new(Vec::new());
    let report = execute(&graph, &store, &runner, &options, &|e| events.lock().unwrap().push(e)).unwrap();
    let lost = LockName::Shard(shard_of(&keys[5]));
    assert!(events.lock().unwrap().iter().any(|e| matches!(e, Event::LeaseLost { lease } if *lease == lost)));
    assert_eq!(report.duplicates, 1);
    assert_eq!(store.new_worker().list_results().unwrap().len(), 40);
    assert_eq!(value(&store.new_worker(), &keys[5]), Some(encode(5)));
}
