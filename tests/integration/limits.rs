//! Limits set per task by the graph builder, over the command line's, and how limit values
//! are read. (What each limit does to a hostile guest is in hostile.rs.)

use crate::util::ExitCode;
use crate::util::TestDir;

#[test]
fn a_task_with_its_own_timeout_fails_alone_and_is_retried_once() {
    let dir = TestDir::with_guest("limits-per-task", "tasks.wasm");
    // Each spin(…, 1500) takes about 1.5 s; only spin(0) has a 200 ms timeout of its own.
    let run = dir.jug(&["execute", "tasks.wasm", "--keep-going", "--keep-failed", "--short"]);
    let run = run.arg_words(&["limited", "1500"]).run().expect_code(ExitCode::NotDone);
    assert!(run.stdout.starts_with("Executed:  2 tasks\n"), "{}", run.stdout);
    let failures = dir.files_under("tasks.jugdata/failed");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let record =
        std::fs::read_to_string(dir.join("tasks.jugdata/failed").join(&failures[0])).expect("record");
    let record: serde_json::Value = serde_json::from_str(&record).expect("json");
    assert_eq!(record["name"], "tasks.spin");
    assert_eq!(record["failure"]["kind"], "timeout");
    let message = record["failure"]["message"].as_str().expect("message");
    assert_eq!(message, "ran longer than the --timeout of 0.2s; raise it with --timeout");
    assert!(run.stderr.contains(message), "{}", run.stderr);

    // The command line's limit applies to the others: all three fail at 100 ms, except
    // spin(0), whose own 200 ms wins.
    let dir = TestDir::with_guest("limits-command-line", "tasks.wasm");
    let run = dir.jug(&["execute", "tasks.wasm", "--keep-going", "--short", "--timeout", "100ms"]);
    let run = run.arg_words(&["limited", "1500"]).run().expect_code(ExitCode::NotDone);
    assert!(run.stdout.starts_with("Executed:  1 tasks\n"), "only constant(1): {}", run.stdout);
    assert!(run.stderr.contains("the --timeout of 0.1s"), "{}", run.stderr);
    assert!(run.stderr.contains("the --timeout of 0.2s"), "{}", run.stderr);
}

#[test]
fn fuel_is_deterministic_and_enough_fuel_changes_nothing() {
    let dir = TestDir::with_guest("limits-fuel", "tasks.wasm");
    // spin(seed, 1) runs a million iterations of a few instructions each.
    let starved =
        dir.jug(&["execute", "tasks.wasm", "--short", "--fuel", "100000"]).arg_words(&["spin", "1", "1"]);
    let starved = starved.run().expect_code(ExitCode::NotDone);
    assert!(starved.stderr.contains("used up its fuel (100000 instructions, --fuel); raise it with --fuel"));
    let fed =
        dir.jug(&["execute", "tasks.wasm", "--short", "--fuel", "100000000"]).arg_words(&["spin", "1", "1"]);
    fed.run().expect_code(ExitCode::Ok);
    let plain = TestDir::with_guest("limits-no-fuel", "tasks.wasm");
    plain.jug(&["execute", "tasks.wasm"]).arg_words(&["spin", "1", "1"]).run().expect_code(ExitCode::Ok);
    let value =
        |dir: &TestDir| dir.jug(&["value", "tasks.wasm", "spin"]).arg_words(&["spin", "1", "1"]).run();
    assert_eq!(value(&dir).expect_code(ExitCode::Ok).stdout, value(&plain).expect_code(ExitCode::Ok).stdout);
}

#[test]
fn bad_limit_values_are_usage_errors() {
    let dir = TestDir::with_guest("limits-bad", "tasks.wasm");
    for (flag, value) in [
        ("--max-memory", "12x"),
        ("--timeout", "soon"),
        ("--fuel", "lots"),
        ("--max-log", "0"),
        ("--max-input", "0"),
        ("--build-timeout", "soon"),
        ("--build-max-memory", "12x"),
        ("--max-graph-tasks", "lots"),
        ("--max-graph-bytes", "0"),
    ] {
        let run = dir.jug(&["execute", "tasks.wasm", flag, value]).run();
        assert_eq!(run.exit(), Some(ExitCode::Usage), "{flag} {value}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{flag} {value}: {}", run.stderr);
    }
    assert!(!dir.join("tasks.jugdata").exists());
}
