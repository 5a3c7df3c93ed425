//! What is kept in the store besides results: captured output; and what happens to a result
//! that is damaged there.

use crate::util::TestDir;

#[test]
fn task_output_is_captured_in_the_store() {
    let dir = TestDir::with_guest("logs", "tasks.wasm");
    let run = dir
        .jug(&["execute", "tasks.wasm", "--", "noisy"])
        .run()
        .expect_code(0);
    assert!(
        !run.stdout.contains("says"),
        "task output leaked to the terminal: {}",
        run.stdout
    );
    let logs = dir.files_under("tasks.jugdata/logs");
    assert_eq!(logs.len(), 1);
    let log = std::fs::read_to_string(dir.join("tasks.jugdata/logs").join(&logs[0])).unwrap();
    assert_eq!(
        log,
        "stdout says 3\nstderr says 3\n[info] the log import says hello\n"
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
    dir.jug(&["invalidate", "primes.wasm", "--name", name])
        .run()
        .expect_code(0);
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
    let status = dir
        .jug(&["status", "primes.wasm", "--short"])
        .run()
        .expect_code(1);
    assert_eq!(
        status.stdout,
        "1 tasks waiting to be run, 0 failed, 100 complete, (none active).\n"
    );
    dir.jug(&["execute", "primes.wasm", "--short"])
        .run()
        .expect_code(0);
    let value = dir
        .jug(&["value", "primes.wasm", "write_output"])
        .run()
        .expect_code(0);
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
    dir.jug(&["invalidate", "primes.wasm", "--name", "count_primes"])
        .run()
        .expect_code(0);

    let run = dir
        .jug(&["execute", "primes.wasm", "--short"])
        .run()
        .expect_code(0);
    assert!(
        run.stderr
            .contains("is damaged (checksum mismatch); recomputing it"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout,
        "Executed:  3 tasks\nLoaded:  98 tasks\n** Total: 101 tasks.\n"
    );
    let value = dir
        .jug(&["value", "primes.wasm", "count_primes"])
        .run()
        .expect_code(0);
    assert_eq!(value.stdout, "25\n");
}
