//! Workers killed with `kill -9` at each step of the commit protocol (see `store::pack`,
//! `execute`), on every backend: stopped there by `JUG_TEST_PAUSE_AT` (see `jug_core::pause`),
//! then killed with the real signal. Nothing committed is lost, nothing half-written is read,
//! and no task stays stuck longer than one lease.

use std::time::{Duration, Instant};

use crate::util::ExitCode;
use crate::util::{Backend, Run, TestDir, each_backend, with_store};

each_backend!(
    killed_before_its_pack_is_written,
    killed_after_its_pack_is_written,
    killed_in_the_middle_of_a_compaction,
);

const LEASE: &str = "3s";

/// "Complete" of `status --json`.
fn complete(dir: &TestDir, store: &[String], n: &str) -> u64 {
    let status = dir.jug(&with_store(&["status", "bench.wasm", "--json"], store)).arg_words(&[n]).run();
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("status --json");
    json["totals"]["complete"].as_u64().expect("a count")
}

/// Starts `words … -- graph` paused at `point`, waits until it is there, and kills it.
fn kill_at(dir: &TestDir, store: &[String], words: &[&str], graph: &str, point: &str) -> Run {
    let command = dir.jug(&with_store(words, store)).arg_words(&[graph]);
    let mut worker = command.env("JUG_TEST_PAUSE_AT", point).spawn();
    assert!(worker.wait_for_stderr(&format!("paused at {point}")), "never reached {point}");
    worker.signal(libc::SIGKILL);
    let killed = worker.wait();
    assert_eq!(killed.code, -1, "killed by the signal: {killed:?}");
    killed
}

/// Every value of `-- n` is right: `double(i) = 2i`.
fn values_are_right(dir: &TestDir, store: &[String], n: usize) {
    let values =
        dir.jug(&with_store(&["value", "bench.wasm", "double"], store)).arg_words(&[&n.to_string()]).run();
    let expected: String = (0..n).map(|i| format!("{}\n", 2 * i)).collect();
    assert!(values.expect_code(ExitCode::Ok).stdout == expected, "some value is wrong or missing");
}

/// The rescuer: finishes the graph within about one lease of the kill, taking over the
/// dead worker's shard leases; returns how many tasks it ran.
fn rescue(dir: &TestDir, store: &[String], n: &str) -> u64 {
    let started = Instant::now();
    let words = ["execute", "bench.wasm", "-j", "2", "--short", "--lease", LEASE];
    let run = dir.jug(&with_store(&words, store)).arg_words(&[n]).run().expect_code(ExitCode::Ok);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(3) * 3, "stuck for {waited:?}, more than a lease and its margins");
    let executed = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Executed:"))
        .map_or(0, |rest| rest.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a count"));
    assert_eq!(complete(dir, store, n), n.parse::<u64>().unwrap(), "{run:?}");
    executed
}

/// Killed with its first batch run but not written: none of it is visible, and another
/// worker runs all of it once the lease expires.
fn killed_before_its_pack_is_written(backend: Backend) {
    let dir = TestDir::with_guest(&format!("crash-before-pack-{backend:?}"), "bench.wasm");
    let store = backend.store_args("crash-before-pack");
    kill_at(&dir, &store, &["execute", "bench.wasm", "-j", "1", "--lease", LEASE], "300", "batch-ran");
    assert_eq!(complete(&dir, &store, "300"), 0, "nothing of an unwritten pack is visible");
    assert_eq!(rescue(&dir, &store, "300"), 300);
    values_are_right(&dir, &store, 300);
}

/// Killed with packs written and durable, their leases not released: their results stay
/// (nothing committed is lost, nothing runs twice), the rest is run by the next worker.
fn killed_after_its_pack_is_written(backend: Backend) {
    let dir = TestDir::with_guest(&format!("crash-after-pack-{backend:?}"), "bench.wasm");
    let store = backend.store_args("crash-after-pack");
    kill_at(&dir, &store, &["execute", "bench.wasm", "-j", "1", "--lease", LEASE], "300", "pack-written");
    let committed = complete(&dir, &store, "300");
    assert!(committed > 0, "the written packs' results are there");
    assert_eq!(rescue(&dir, &store, "300"), 300 - committed, "committed results are not run again");
    values_are_right(&dir, &store, 300);
    if backend == Backend::Local {
        half_written_packs_are_never_read(&dir);
    }
}

/// A pack cut short (a copy of a real one, truncated, as a crash of the file system could
/// leave it) is damaged, not read: the results it claims are computed (or found) elsewhere.
fn half_written_packs_are_never_read(dir: &TestDir) {
    let packs = dir.join("bench.jugdata/packs");
    let shard = std::fs::read_dir(&packs).unwrap().next().unwrap().unwrap().path();
    let pack = std::fs::read_dir(&shard).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&pack).unwrap();
    std::fs::remove_file(&pack).unwrap();
    std::fs::write(shard.join("9999999999999-cut-short-000000"), &bytes[..bytes.len() / 2]).unwrap();
    let lost = 300 - complete(dir, &[], "300");
    assert!(lost > 0, "the results of the removed pack are missing, not read from the cut one");
    assert_eq!(rescue(dir, &[], "300"), lost);
    values_are_right(dir, &[], 300);
}

/// Killed after a compaction wrote the new packs and before it removed the old ones: the
/// results removed stay removed, the others read right, and the next cleanup finishes it.
fn killed_in_the_middle_of_a_compaction(backend: Backend) {
    let dir = TestDir::with_guest(&format!("crash-compaction-{backend:?}"), "bench.wasm");
    let store = backend.store_args("crash-compaction");
    dir.jug(&with_store(&["execute", "bench.wasm", "-j", "2"], &store))
        .arg_words(&["400"])
        .run()
        .expect_code(ExitCode::Ok);
    // A graph of 200: the other 200 results are unused, and cleanup removes them.
    kill_at(&dir, &store, &["cleanup", "bench.wasm"], "200", "compaction-rewrote");
    assert_eq!(complete(&dir, &store, "400"), 200, "removed results stay removed");
    values_are_right(&dir, &store, 200);
    dir.jug(&with_store(&["cleanup", "bench.wasm"], &store))
        .arg_words(&["200"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(complete(&dir, &store, "400"), 200);
    values_are_right(&dir, &store, 200);
    assert_eq!(rescue(&dir, &store, "400"), 200);
}
