//! The seed example end to end: status, execute, value, invalidate, graph arguments.

use crate::util::ExitCode;
use crate::util::TestDir;

fn primes_dir(name: &str) -> TestDir {
    TestDir::with_guest(name, "primes.wasm")
}

#[test]
fn status_before_execute_is_jugs_table() {
    let dir = primes_dir("status-before");
    let run = dir.jug(&["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
    insta::assert_snapshot!("status_before_execute", run.stdout);
    // The snapshot tool trims the end; Jug pads the Total row and ends with a blank line.
    assert!(run.stdout.ends_with(&format!("{:<38}\n\n", "Total")), "{:?}", run.stdout);
    // A query leaves no trace.
    assert!(!dir.join("primes.jugdata").exists());
    let short = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(short.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");
}

#[test]
fn status_follows_columns() {
    let dir = primes_dir("status-columns");
    let run = dir.jug(&["status", "primes.wasm"]).env("COLUMNS", "80").run().expect_code(ExitCode::NotDone);
    insta::assert_snapshot!("status_at_80_columns", run.stdout);
}

#[test]
fn execute_runs_everything_once() {
    let dir = primes_dir("execute-once");
    let first = dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    insta::assert_snapshot!("execute_from_empty", first.stdout);
    assert_eq!(dir.result_count("primes.jugdata"), 101);
    let modified = dir.modification_times("primes.jugdata/packs");

    let second = dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    insta::assert_snapshot!("execute_again", second.stdout);
    // No task body ran: not one result was written again.
    let after = dir.modification_times("primes.jugdata/packs");
    assert_eq!(modified, after);
    // Every lock was released.
    assert!(dir.files_under("primes.jugdata/locks").iter().all(|f| f.starts_with("owners")));

    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");
    let short = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(short.stdout, "Executed:  0 tasks\nLoaded:  101 tasks\n** Total: 101 tasks.\n");
}

#[test]
fn value_prints_json_in_definition_order() {
    let dir = primes_dir("value");
    dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::NotDone);
    dir.jug(&["execute", "primes.wasm", "-j", "1"]).run().expect_code(ExitCode::Ok);
    let run = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "\"Found 25 primes <= 100.\\n\"\n");
    assert_eq!(
        dir.jug(&["value", "primes.wasm", "primes.count_primes"]).run().expect_code(ExitCode::Ok).stdout,
        "25\n"
    );

    let flags = dir.jug(&["value", "primes.wasm", "is_prime"]).run().expect_code(ExitCode::Ok).stdout;
    let expected: Vec<&str> =
        (2..=100u64).map(|n| if (2..n).all(|d| n % d != 0) { "true" } else { "false" }).collect();
    assert_eq!(flags.lines().collect::<Vec<_>>(), expected);

    // --name rules are strict; --pattern is loose.
    dir.jug(&["value", "primes.wasm", "prime"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "no task matches --name 'prime'");
    let loose =
        dir.jug(&["value", "primes.wasm", "--pattern", "/count|write/"]).run().expect_code(ExitCode::Ok);
    assert_eq!(loose.stdout, "25\n\"Found 25 primes <= 100.\\n\"\n");
}

#[test]
fn invalidate_removes_dependents_too() {
    let dir = primes_dir("invalidate");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);

    let run = dir.jug(&["invalidate", "primes.wasm", "--name", "is_prime"]).run().expect_code(ExitCode::Ok);
    insta::assert_snapshot!("invalidate_is_prime", run.stdout);
    assert!((dir.result_count("primes.jugdata") == 0));

    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let run = dir
        .jug(&["invalidate", "primes.wasm", "--name", "count_primes", "--short"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Invalidated:  2 tasks\n** Total: 2 tasks.\n");
    assert_eq!(dir.result_count("primes.jugdata"), 99);
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "2 tasks waiting to be run, 0 failed, 99 complete, (none active).\n");

    // Nothing left to remove is not an error; an unknown name is.
    let again = dir
        .jug(&["invalidate", "primes.wasm", "--pattern", "/^primes\\.write/"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Tasks invalidated, but no results removed\n");
    dir.jug(&["invalidate", "primes.wasm", "--name", "nosuch"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "nosuch");
    dir.jug(&["invalidate", "primes.wasm", "--pattern", ""])
        .run()
        .expect_one_line_error(ExitCode::Usage, "empty pattern");
    dir.jug(&["invalidate", "primes.wasm"]).run().expect_code(ExitCode::Usage);

    let recomputed = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(recomputed.stdout, "Executed:  2 tasks\nLoaded:  99 tasks\n** Total: 101 tasks.\n");
}

#[test]
fn graph_arguments_reach_the_builder() {
    let dir = primes_dir("graph-args");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);

    // N = 10,000 is another graph: 9,999 is_prime tasks, of which the 99 shared with N = 100
    // are the very same tasks (same key), so they are already complete.
    let status = dir.jug(&["status", "primes.wasm", "--", "10000"]).run().expect_code(ExitCode::NotDone);
    assert!(
        status
            .stdout
            .contains("           0           0        9900          99           0  primes.is_prime"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("           0           1           0           0           0  primes.count_primes"),
        "{}",
        status.stdout
    );

    dir.jug(&["execute", "primes.wasm", "--", "10000"]).run().expect_code(ExitCode::Ok);
    let value =
        dir.jug(&["value", "primes.wasm", "write_output", "--", "10000"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "\"Found 1229 primes <= 10000.\\n\"\n");
    // The N = 100 graph's results are untouched.
    let small = dir.jug(&["value", "primes.wasm", "count_primes"]).run().expect_code(ExitCode::Ok);
    assert_eq!(small.stdout, "25\n");
    assert_eq!(dir.result_count("primes.jugdata"), 9999 + 2 + 2);

    dir.jug(&["status", "primes.wasm", "--", "ten"])
        .run()
        .expect_one_line_error(ExitCode::BuildFailed, "expected a number N, got `ten`");
}

#[test]
fn store_location_follows_flag_env_and_default() {
    let dir = primes_dir("store-location");
    dir.jug(&["execute", "primes.wasm", "--store", "flagged"]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("flagged"), 101);
    dir.jug(&["execute", "primes.wasm"]).env("JUG_STORE", "from-env").run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("from-env"), 101);
    let url = format!("file://{}", dir.join("by-url").display());
    dir.jug(&["execute", "primes.wasm", "--jugdir", &url]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count("by-url"), 101);
    assert!(!dir.join("primes.jugdata").exists());

    // memory:// lives for one process: a complete run, then nothing.
    let run = dir
        .jug(&["execute", "primes.wasm", "--store", "memory://", "--short"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  101 tasks\nLoaded:  0 tasks\n** Total: 101 tasks.\n");
}
