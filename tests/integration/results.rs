//! What is kept in the store besides results: captured output; and what happens to a result
//! that is damaged there.

use crate::util::ExitCode;
use crate::util::TestDir;
use crate::util::sealed;
use crate::util::{Backend, each_backend, with_store};

each_backend!(an_empty_result_is_not_complete_and_is_computed_again);

#[test]
fn task_output_is_captured_in_the_store() {
    let dir = TestDir::with_guest("logs", "tasks.wasm");
    let run = dir.jug(&["execute", "tasks.wasm", "--", "noisy"]).run().expect_code(ExitCode::Ok);
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

/// Flips a bit of the last byte of a stored result (its checksum no longer matches).
fn corrupt(dir: &TestDir, key: &str) {
    let mut bytes = sealed(1, &dir.stored("primes.jugdata")[key]);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    dir.overwrite_result("primes.jugdata", key, &bytes);
}

/// The key of the one task called `name`: the result that disappears when it is
/// invalidated (and comes back when it is executed again).
fn result_file_of(dir: &TestDir, name: &str) -> String {
    let before = dir.stored("primes.jugdata");
    dir.jug(&["invalidate", "primes.wasm", "--name", name]).run().expect_code(ExitCode::Ok);
    let after = dir.stored("primes.jugdata");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let gone: Vec<_> = before.into_keys().filter(|k| !after.contains_key(k)).collect();
    assert_eq!(gone.len(), 1, "{name} should own exactly one result");
    gone.into_iter().next().unwrap()
}

#[test]
fn a_damaged_result_is_reported_removed_and_recomputed() {
    let dir = TestDir::with_guest("damaged-value", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let file = result_file_of(&dir, "write_output");
    corrupt(&dir, &file);

    dir.jug(&["value", "primes.wasm", "write_output"])
        .run()
        .expect_one_line_error(ExitCode::DamagedResult, "damaged (checksum mismatch)");
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 0 failed, 100 complete, (none active).\n");
    dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    let value = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "\"Found 25 primes <= 100.\\n\"\n");
}

#[test]
fn a_damaged_input_is_recomputed_before_its_dependent_runs() {
    let dir = TestDir::with_guest("damaged-input", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    // Damage one is_prime result (one CBOR byte), then make count_primes run again so that
    // it needs that input.
    let victim = dir
        .stored("primes.jugdata")
        .into_iter()
        .find(|(_, payload)| payload.len() == 1)
        .map(|(key, _)| key)
        .expect("an is_prime result");
    corrupt(&dir, &victim);
    dir.jug(&["invalidate", "primes.wasm", "--name", "count_primes"]).run().expect_code(ExitCode::Ok);

    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert!(run.stderr.contains("is damaged (checksum mismatch); recomputing it"), "{}", run.stderr);
    assert_eq!(run.stdout, "Executed:  3 tasks\nLoaded:  98 tasks\n** Total: 101 tasks.\n");
    let value = dir.jug(&["value", "primes.wasm", "count_primes"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "25\n");
}

#[test]
fn tasks_see_a_fixed_clock_key_seeded_randomness_and_nothing_else() {
    let dir = TestDir::with_guest("sandbox-probe", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--store", "one", "--", "probe"]).run().expect_code(ExitCode::Ok);
    dir.jug(&["execute", "tasks.wasm", "--store", "two", "-j", "1", "--", "probe"])
        .run()
        .expect_code(ExitCode::Ok);
    let one = dir
        .jug(&["value", "tasks.wasm", "--store", "one", "probe", "--", "probe"])
        .run()
        .expect_code(ExitCode::Ok);
    let two = dir
        .jug(&["value", "tasks.wasm", "--store", "two", "probe", "--", "probe"])
        .run()
        .expect_code(ExitCode::Ok);
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
    dir.jug(&["status", "primes.wasm", "--short"])
        .env("JUG_CACHE_DIR", cache_str)
        .run()
        .expect_code(ExitCode::NotDone);
    let entries = dir.files_under("cache");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".cwasm"));

    std::fs::write(cache.join(&entries[0]), b"not a compiled component").unwrap();
    let run = dir
        .jug(&["status", "primes.wasm", "--short"])
        .env("JUG_CACHE_DIR", cache_str)
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(run.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");
    assert!(std::fs::metadata(cache.join(&entries[0])).unwrap().len() > 1000, "the entry was rewritten");
}

#[test]
fn a_task_locked_by_another_worker_shows_active_and_is_waited_for() {
    let dir = TestDir::with_guest("held-elsewhere", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let key = result_file_of(&dir, "write_output");
    dir.jug(&["invalidate", "primes.wasm", "--name", "write_output"]).run().expect_code(ExitCode::Ok);
    // Another worker (here: a lease record written by hand) holds write_output's shard.
    let lease = dir.join("primes.jugdata/locks").join(format!("shard-{}", &key[..2]));
    std::fs::write(&lease, r#"{"owner":"elsewhere:1:x","host":"elsewhere","pid":1,"acquired_unix_ms":0}"#)
        .unwrap();

    let status = dir.jug(&["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
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
        .expect_code(ExitCode::Ok);
    assert!(started.elapsed() >= std::time::Duration::from_millis(600));
    assert!(run.stderr.contains("waiting for tasks held by other workers (1)"), "{}", run.stderr);
    assert_eq!(run.stdout, "Executed:  0 tasks\nLoaded:  100 tasks\n** Total: 100 tasks.\n");

    // Once the other worker lets go, the task runs.
    std::fs::remove_file(&lease).unwrap();
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  100 tasks\n** Total: 101 tasks.\n");
}

#[test]
fn a_task_of_no_arguments_runs() {
    let dir = TestDir::with_guest("no-arguments", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["answer"]).run().expect_code(ExitCode::Ok);
    let value =
        dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&["answer"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "-42\n");
}

/// The key of the one task `name` of `graph` (run with `words`), from `value --json`.
fn key_of(dir: &TestDir, graph: &str, name: &str, words: &[&str]) -> String {
    let value = dir.jug(&["value", graph, name, "--json"]).arg_words(words).run().expect_code(ExitCode::Ok);
    let json: serde_json::Value = serde_json::from_str(&value.stdout).unwrap();
    json[0]["key"].as_str().unwrap().to_owned()
}

#[test]
fn a_result_of_another_format_version_is_reported_and_left_alone() {
    let dir = TestDir::with_guest("other-version", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    // count_primes, as a newer jug-host would have sealed it: our magic, format 2.
    let key = key_of(&dir, "primes.wasm", "count_primes", &[]);
    dir.overwrite_result("primes.jugdata", &key, &sealed(2, b"\x18\x19"));
    dir.jug(&["invalidate", "primes.wasm", "--name", "write_output"]).run().expect_code(ExitCode::Ok);

    let needle = "was written by another version of jug-host (result format 2; this one reads format 1)";
    dir.jug(&["value", "primes.wasm", "count_primes"]).run().expect_one_line_error(ExitCode::Store, needle);
    // write_output needs it as an input: execute stops rather than recompute over it.
    dir.jug(&["execute", "primes.wasm"]).run().expect_one_line_error(ExitCode::Store, needle);
    let verify = dir.jug(&["verify", "primes.wasm", "--all"]).run();
    assert!(verify.stderr.contains(needle), "{}", verify.stderr);
    assert_ne!(verify.exit(), Some(ExitCode::Ok));
    let listed = dir.open_store("primes.jugdata").list_results().unwrap();
    let alone = dir.join("primes.jugdata/results").join(&key[..2]).join(&key);
    let planted = std::fs::read(&alone).unwrap();
    dir.jug(&["cleanup", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    // Nothing removed it, nor any other result (cleanup compacts packs, so their files change).
    assert_eq!(std::fs::read(&alone).unwrap(), planted);
    assert_eq!(dir.open_store("primes.jugdata").list_results().unwrap(), listed);
}

#[test]
fn a_store_of_a_newer_format_is_refused_and_an_unmarked_one_is_marked() {
    let dir = TestDir::with_guest("store-format", "primes.wasm");
    dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    let marker = dir.join("primes.jugdata/format");
    let text = std::fs::read_to_string(&marker).expect("execute marks the store it writes");
    assert!(text.contains(r#""jug-host store format":2"#), "{text}");

    // Made before markers existed: today's layout. A query leaves it as it is; a write marks it.
    std::fs::remove_file(&marker).unwrap();
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");
    assert!(!marker.exists());
    dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), text);

    std::fs::write(&marker, r#"{"jug-host store format": 3, "written by": "jug-host 9.0.0"}"#).unwrap();
    let store = crate::util::tree_snapshot(&dir.join("primes.jugdata"));
    let needle = "store primes.jugdata has format 3, newer than the format 2 this jug-host reads and writes";
    for command in ["status", "execute", "cleanup", "verify"] {
        dir.jug(&[command, "primes.wasm"]).run().expect_one_line_error(ExitCode::Store, needle);
    }
    dir.jug(&["invalidate", "primes.wasm", "--name", "is_prime"])
        .run()
        .expect_one_line_error(ExitCode::Store, needle);
    dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_one_line_error(ExitCode::Store, needle);
    assert_eq!(crate::util::tree_snapshot(&dir.join("primes.jugdata")), store);
}

#[test]
fn a_planted_result_nested_too_deeply_is_an_error_not_a_crash() {
    let dir = TestDir::with_guest("deep-result", "tasks.wasm");
    let graph = ["tasklets"];
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    // even_odd's result becomes [[[[…0…]]]], 100,000 arrays deep, in a valid envelope: what
    // anyone who can write a shared store could plant. Its tasks then need it again.
    let key = key_of(&dir, "tasks.wasm", "even_odd", &graph);
    let mut deep = vec![0x81; 100_000];
    deep.push(0x00);
    dir.overwrite_result("tasks.jugdata", &key, &sealed(1, &deep));
    dir.jug(&["invalidate", "tasks.wasm", "--name", "sum"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    dir.jug(&["invalidate", "tasks.wasm", "--name", "negate"])
        .arg_words(&graph)
        .run()
        .expect_code(ExitCode::Ok);

    let value = dir.jug(&["value", "tasks.wasm", "even_odd"]).arg_words(&graph).run();
    value.expect_one_line_error(
        ExitCode::DamagedResult,
        "the result of tasks.even_odd is not valid CBOR: value nested more than 256",
    );
    // The tasks that take parts of it (a tasklet projection) fail, and the host stays up.
    let run = dir.jug(&["execute", "tasks.wasm", "--keep-going", "--short"]).arg_words(&graph).run();
    let run = run.expect_code(ExitCode::NotDone);
    assert!(
        run.stderr.contains("an argument taken from tasks.even_odd: value nested more than 256 levels deep"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "Executed:  0 tasks\nLoaded:  1 tasks\n** Total: 1 tasks.\n");
}

/// What a store holds once `key`'s result is no result: status and check say it is not done,
/// from the listing alone; execute computes it again, and its value is right afterwards.
fn is_computed_again(dir: &TestDir, store: &[String]) {
    let status = dir.jug(&with_store(&["status", "primes.wasm", "--short"], store)).run();
    let status = status.expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 0 failed, 100 complete, (none active).\n");
    dir.jug(&with_store(&["check", "primes.wasm"], store)).run().expect_code(ExitCode::NotDone);
    let run = dir.jug(&with_store(&["execute", "primes.wasm", "--short"], store)).run();
    let run = run.expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  100 tasks\n** Total: 101 tasks.\n");
    let value = dir.jug(&with_store(&["value", "primes.wasm", "count_primes"], store)).run();
    assert_eq!(value.expect_code(ExitCode::Ok).stdout, "25\n");
    dir.jug(&with_store(&["check", "primes.wasm"], store)).run().expect_code(ExitCode::Ok);
}

/// A result cut to 0 bytes (a full disk, a copy gone wrong) is not Complete, on every
/// backend: a sound result is never smaller than its envelope's header.
fn an_empty_result_is_not_complete_and_is_computed_again(backend: Backend) {
    let dir = TestDir::with_guest(&format!("empty-result-{backend:?}"), "primes.wasm");
    let store = backend.store_args("empty-result");
    dir.jug(&with_store(&["execute", "primes.wasm"], &store)).run().expect_code(ExitCode::Ok);
    let value = dir.jug(&with_store(&["value", "primes.wasm", "count_primes", "--json"], &store)).run();
    let json: serde_json::Value = serde_json::from_str(&value.expect_code(ExitCode::Ok).stdout).unwrap();
    let key = json[0]["key"].as_str().unwrap();
    dir.overwrite_result_at(&dir.store_location(&store, "primes.jugdata"), key, b"");
    is_computed_again(&dir, &store);
}

/// A result file this process cannot read is not Complete either. Tests run as root, whom
/// permission bits do not stop, so the unreadable file here is a link to nothing; as another
/// user, a file without read permission is tried too.
#[test]
fn an_unreadable_result_file_is_not_complete_and_is_computed_again() {
    let dir = TestDir::with_guest("unreadable-result", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let key = key_of(&dir, "primes.wasm", "count_primes", &[]);
    let file = dir.join("primes.jugdata/results").join(&key[..2]).join(&key);
    // Stored alone (the packed copy removed), so that the result is a file of its own.
    dir.overwrite_result("primes.jugdata", &key, &sealed(1, b"\x18\x19"));
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), &file).unwrap();
    is_computed_again(&dir, &[]);

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        dir.overwrite_result("primes.jugdata", &key, &sealed(1, b"\x18\x19"));
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o200)).unwrap();
        is_computed_again(&dir, &[]);
    }
}
