//! What is kept in the store besides results: captured output; and what happens to a result
//! that is damaged there.

use crate::util::TestDir;

#[test]
fn task_output_is_captured_in_the_store() {
    let dir = TestDir::with_guest("logs", "tasks.wasm");
    let run = dir.jug(&["execute", "tasks.wasm", "--", "noisy"]).run().expect_code(0);
    assert!(!run.stdout.contains("says"), "task output leaked to the terminal: {}", run.stdout);
    let logs = dir.files_under("tasks.jugdata/logs");
    assert_eq!(logs.len(), 1);
    let log = std::fs::read_to_string(dir.join("tasks.jugdata/logs").join(&logs[0])).unwrap();
    // The output as printed, then the record of the run (see `jug_core::task_log`).
    let output = "stdout says 3\nstderr says 3\n[info] the log import says hello\n";
    assert!(
        log.starts_with(&format!("{output}jug-host log: {{\"name\":\"tasks.noisy\",\"outcome\":\"ok\"")),
        "{log}"
    );
}

fn corrupt(dir: &TestDir, key_file: &str) {
    let path = dir.join("primes.jugdata/results").join(key_file);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
}

/// The result file of the one task called `name`: the file that disappears when it is
/// invalidated (and comes back when it is executed again).
fn result_file_of(dir: &TestDir, name: &str) -> String {
    let before = dir.files_under("primes.jugdata/results");
    dir.jug(&["invalidate", "primes.wasm", "--name", name]).run().expect_code(0);
    let after = dir.files_under("primes.jugdata/results");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(0);
    let gone: Vec<_> = before.into_iter().filter(|f| !after.contains(f)).collect();
    assert_eq!(gone.len(), 1, "{name} should own exactly one result");
    gone.into_iter().next().unwrap()
}

#[test]
fn a_damaged_result_is_reported_removed_and_recomputed() {
    let dir = TestDir::with_guest("damaged-value", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(0);
    let file = result_file_of(&dir, "write_output");
    corrupt(&dir, &file);

    dir.jug(&["value", "primes.wasm", "write_output"])
        .run()
        .expect_one_line_error(7, "damaged (checksum mismatch)");
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(1);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 0 failed, 100 complete, (none active).\n");
    dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(0);
    let value = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(0);
    assert_eq!(value.stdout, "\"Found 25 primes <= 100.\\n\"\n");
}

#[test]
fn a_damaged_input_is_recomputed_before_its_dependent_runs() {
    let dir = TestDir::with_guest("damaged-input", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(0);
    // Damage one is_prime result (one CBOR byte after the 48-byte header), then make
    // count_primes run again so that it needs that input.
    let results = dir.join("primes.jugdata/results");
    let victim = dir
        .files_under("primes.jugdata/results")
        .into_iter()
        .find(|f| std::fs::metadata(results.join(f)).unwrap().len() == 49)
        .expect("an is_prime result");
    corrupt(&dir, &victim);
    dir.jug(&["invalidate", "primes.wasm", "--name", "count_primes"]).run().expect_code(0);

    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(0);
    assert!(run.stderr.contains("is damaged (checksum mismatch); recomputing it"), "{}", run.stderr);
    assert_eq!(run.stdout, "Executed:  3 tasks\nLoaded:  98 tasks\n** Total: 101 tasks.\n");
    let value = dir.jug(&["value", "primes.wasm", "count_primes"]).run().expect_code(0);
    assert_eq!(value.stdout, "25\n");
}

#[test]
fn tasks_see_a_fixed_clock_key_seeded_randomness_and_nothing_else() {
    let dir = TestDir::with_guest("sandbox-probe", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--store", "one", "--", "probe"]).run().expect_code(0);
    dir.jug(&["execute", "tasks.wasm", "--store", "two", "-j", "1", "--", "probe"]).run().expect_code(0);
    let one =
        dir.jug(&["value", "tasks.wasm", "--store", "one", "probe", "--", "probe"]).run().expect_code(0);
    let two =
        dir.jug(&["value", "tasks.wasm", "--store", "two", "probe", "--", "probe"]).run().expect_code(0);
    // Byte-identical results in separate runs, hence the same JSON.
    assert_eq!(one.stdout, two.stdout);

    let probes: Vec<serde_json::Value> =
        one.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for probe in &probes {
        assert_eq!(probe[0], 1_700_000_000, "wall clock is fixed: {probe}");
        assert_eq!(probe[1], 1_000, "monotonic clock advances 1 µs per reading: {probe}");
        assert_eq!(probe[3], 0, "no environment variables: {probe}");
        assert_eq!(probe[4], false, "no preopened directories: {probe}");
    }
    // Different tasks get different randomness.
    assert_ne!(probes[0][2], probes[1][2]);
}

#[test]
fn compiled_components_are_cached_and_a_bad_entry_is_a_miss() {
    let dir = TestDir::with_guest("compile-cache", "primes.wasm");
    let cache = dir.join("cache");
    let cache_str = cache.to_str().unwrap();
    dir.jug(&["status", "primes.wasm", "--short"]).env("JUG_CACHE_DIR", cache_str).run().expect_code(1);
    let entries = dir.files_under("cache");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".cwasm"));

    std::fs::write(cache.join(&entries[0]), b"not a compiled component").unwrap();
    let run =
        dir.jug(&["status", "primes.wasm", "--short"]).env("JUG_CACHE_DIR", cache_str).run().expect_code(1);
    assert_eq!(run.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");
    assert!(std::fs::metadata(cache.join(&entries[0])).unwrap().len() > 1000, "the entry was rewritten");
}

#[test]
fn a_task_locked_by_another_worker_shows_active_and_is_waited_for() {
    let dir = TestDir::with_guest("held-elsewhere", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(0);
    let file = result_file_of(&dir, "write_output");
    let key = file.rsplit('/').next().unwrap().to_owned();
    dir.jug(&["invalidate", "primes.wasm", "--name", "write_output"]).run().expect_code(0);
    // Another worker (here: a lock record written by hand) holds write_output.
    std::fs::write(
        dir.join("primes.jugdata/locks").join(&key),
        r#"{"owner":"elsewhere:1:x","host":"elsewhere","pid":1,"acquired_unix_ms":0}"#,
    )
    .unwrap();

    let status = dir.jug(&["status", "primes.wasm"]).run().expect_code(1);
    assert!(
        status
            .stdout
            .contains("           0           0           0           0           1  primes.write_output"),
        "{}",
        status.stdout
    );
    assert_eq!(
        dir.jug(&["status", "primes.wasm", "--short"]).run().stdout,
        "0 tasks waiting to be run, 0 failed, 100 complete, (1 active).\n"
    );

    // Jug's semantics: wait the wait cycles for it, then stop without running it, exit 0.
    let started = std::time::Instant::now();
    let run = dir
        .jug(&["execute", "primes.wasm", "--short", "--wait-cycle-time", "0.2", "--nr-wait-cycles", "3"])
        .run()
        .expect_code(0);
    assert!(started.elapsed() >= std::time::Duration::from_millis(600));
    assert!(run.stderr.contains("waiting for tasks held by other workers (1)"), "{}", run.stderr);
    assert_eq!(run.stdout, "Executed:  0 tasks\nLoaded:  100 tasks\n** Total: 100 tasks.\n");

    // Once the other worker lets go, the task runs.
    std::fs::remove_file(dir.join("primes.jugdata/locks").join(&key)).unwrap();
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(0);
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  100 tasks\n** Total: 101 tasks.\n");
}

#[test]
fn a_task_of_no_arguments_runs() {
    let dir = TestDir::with_guest("no-arguments", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["answer"]).run().expect_code(0);
    let value = dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&["answer"]).run().expect_code(0);
    assert_eq!(value.stdout, "-42\n");
}
