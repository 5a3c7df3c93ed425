//! Jug's other commands and controls: count, check, sleep-until, cleanup, graph,
//! `--keep-failed`, the early-exit environment, and the JSON outputs for scripts.

use crate::util::ExitCode;
use crate::util::TestDir;

const FAILING: [&str; 1] = ["failing"]; // fail_on(0..5, 2), then add(fail_on(2), 10)

#[test]
fn count_check_and_sleep_until() {
    let dir = TestDir::with_guest("count-check", "primes.wasm");
    let count = dir.jug(&["count", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(count.stdout, "Count:  101 tasks\n** Total: 101 tasks.\n");
    assert!(!dir.join("primes.jugdata").exists(), "count does not touch the store");

    let check = dir.jug(&["check", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
    assert_eq!((check.stdout.as_str(), check.stderr.as_str()), ("", ""));

    // sleep-until returns once another process has finished the graph.
    let waiter = dir.jug(&["sleep-until", "primes.wasm", "--wait-cycle-time", "0.2"]).spawn();
    std::thread::sleep(std::time::Duration::from_millis(500));
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    waiter.wait().expect_code(ExitCode::Ok);
    dir.jug(&["check", "primes.wasm"]).run().expect_code(ExitCode::Ok);
}

#[test]
fn keep_failed_marks_are_shown_kept_and_cleaned_up() {
    let dir = TestDir::with_guest("keep-failed", "tasks.wasm");
    let run = dir
        .jug(&["execute", "tasks.wasm", "--keep-going", "--keep-failed", "--short"])
        .arg_words(&FAILING)
        .run();
    assert_eq!(
        run.expect_code(ExitCode::NotDone).stdout,
        "Executed:  4 tasks\nLoaded:  0 tasks\n** Total: 4 tasks.\n"
    );
    let status = dir
        .jug(&["status", "tasks.wasm", "--short"])
        .arg_words(&FAILING)
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 1 failed, 4 complete, (none active).\n");

    // A marked task is not retried, and the sleep-until of someone waiting for it gives up.
    let again =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&FAILING).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  4 tasks\n** Total: 4 tasks.\n");
    assert!(again.stderr.contains("marked failed by --keep-failed were not run"), "{}", again.stderr);
    let waiting =
        dir.jug(&["sleep-until", "tasks.wasm", "--wait-cycle-time", "0.1"]).arg_words(&FAILING).run();
    assert!(waiting.expect_code(ExitCode::NotDone).stderr.contains("marked failed and will not finish"));
    let json =
        dir.jug(&["status", "tasks.wasm", "--json"]).arg_words(&FAILING).run().expect_code(ExitCode::NotDone);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["totals"]["failed"], 1);
    assert_eq!(json["tasks"]["tasks.fail_on"]["complete"], 4);
    assert_eq!(json["complete"], false);

    let cleanup = dir
        .jug(&["cleanup", "tasks.wasm", "--failed-only"])
        .arg_words(&FAILING)
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(cleanup.stdout, "Removed 1 failure locks\n");
    let status = dir
        .jug(&["status", "tasks.wasm", "--short"])
        .arg_words(&FAILING)
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "2 tasks waiting to be run, 0 failed, 4 complete, (none active).\n");
}

#[test]
fn cleanup_removes_what_the_current_graph_does_not_use() {
    let dir = TestDir::with_guest("cleanup", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["diamond", "1", "3"]).run().expect_code(ExitCode::Ok);
    // diamond 1 3 shares constant(1) with diamond 1 2; the other four results are unused.
    let keep_locks =
        dir.jug(&["cleanup", "tasks.wasm", "--keep-locks"]).arg_words(&["diamond", "1", "3"]).run();
    assert_eq!(keep_locks.expect_code(ExitCode::Ok).stdout, "Removed 4 objects\n");
    let status = dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&["diamond", "1", "3"]).run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (5 tasks).\n");
    let gone = dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&["diamond", "1", "2"]).run();
    assert_eq!(
        gone.expect_code(ExitCode::NotDone).stdout,
        "4 tasks waiting to be run, 0 failed, 1 complete, (none active).\n"
    );

    // An expired lock is removed; a live one is kept and reported.
    let locks = dir.join("tasks.jugdata/locks");
    std::fs::write(
        locks.join("ab".repeat(32)),
        r#"{"owner":"gone:1:x","host":"gone","pid":1,"acquired_unix_ms":0,"lease_ms":1}"#,
    )
    .unwrap();
    std::fs::write(
        locks.join("cd".repeat(32)),
        r#"{"owner":"here:2:y","host":"here","pid":2,"acquired_unix_ms":0}"#,
    )
    .unwrap();
    let cleanup = dir.jug(&["cleanup", "tasks.wasm", "--locks-only"]).arg_words(&["diamond", "1", "3"]).run();
    let cleanup = cleanup.expect_code(ExitCode::Ok);
    assert_eq!(cleanup.stdout, "Removed 1 locks\n");
    assert!(cleanup.stderr.contains("kept 1 live lease(s)"), "{}", cleanup.stderr);
    assert!(locks.join("cd".repeat(32)).exists() && !locks.join("ab".repeat(32)).exists());
}

#[test]
fn early_exit_controls_stop_starting_tasks_and_exit_0() {
    let dir = TestDir::with_guest("early-exit", "primes.wasm");
    let run = dir.jug(&["execute", "primes.wasm", "-j", "1", "--short"]).env("JUG_MAX_TASKS", "5").run();
    let run = run.expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  5 tasks\nLoaded:  0 tasks\n** Total: 5 tasks.\n");
    assert!(run.stderr.contains("stopped early: 5 tasks started (JUG_MAX_TASKS)"), "{}", run.stderr);

    let budget = dir.jug(&["execute", "primes.wasm", "--short"]).env("JUG_MAX_SECONDS", "0").run();
    assert!(budget.expect_code(ExitCode::Ok).stdout.starts_with("Executed:  0 tasks\n"));

    std::fs::write(dir.join("__jug_please_stop_running.txt"), "").unwrap();
    let stopped = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert!(stopped.stdout.starts_with("Executed:  0 tasks\n"), "{}", stopped.stdout);
    std::fs::remove_file(dir.join("__jug_please_stop_running.txt")).unwrap();

    let flag = dir.join("stop-now");
    std::fs::write(&flag, "").unwrap();
    let flagged =
        dir.jug(&["execute", "primes.wasm", "--short"]).env("JUG_EXIT_IF_FILE_EXISTS", "stop-now").run();
    assert!(flagged.expect_code(ExitCode::Ok).stdout.starts_with("Executed:  0 tasks\n"));
    let ignoring = dir
        .jug(&["execute", "primes.wasm", "--short", "--no-check-environment"])
        .env("JUG_EXIT_IF_FILE_EXISTS", "stop-now")
        .env("JUG_MAX_TASKS", "1")
        .run();
    assert_eq!(
        ignoring.expect_code(ExitCode::Ok).stdout,
        "Executed:  96 tasks\nLoaded:  5 tasks\n** Total: 101 tasks.\n"
    );

    dir.jug(&["execute", "primes.wasm"])
        .env("JUG_MAX_TASKS", "lots")
        .run()
        .expect_one_line_error(ExitCode::Usage, "JUG_MAX_TASKS must be a number >= 0, got `lots`");
}

#[test]
fn graph_writes_a_dot_file_and_value_speaks_json() {
    let dir = TestDir::with_guest("graph-dot", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    // No Graphviz on PATH here: the .dot file is written and the user told how to render it.
    let run = dir.jug(&["graph", "primes.wasm"]).env("PATH", "/nonexistent").run().expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Wrote primes.dot; install Graphviz"), "{}", run.stdout);
    let dot = std::fs::read_to_string(dir.join("primes.dot")).unwrap();
    assert!(dot.contains(r#""primes.is_prime" [label="primes.is_prime\n0/0/0/0/99"];"#), "{dot}");
    assert!(dot.contains(r#""primes.is_prime" -> "primes.count_primes";"#), "{dot}");
    assert!(dot.contains(r#""primes.count_primes" -> "primes.write_output";"#), "{dot}");

    let value = dir.jug(&["value", "primes.wasm", "--json", "count_primes"]).run().expect_code(ExitCode::Ok);
    let value: serde_json::Value = serde_json::from_str(&value.stdout).unwrap();
    assert_eq!(value[0]["name"], "primes.count_primes");
    assert_eq!(value[0]["value"], 25);
}

#[test]
fn execute_shows_progress_on_a_terminal_only() {
    let dir = TestDir::with_guest("progress", "tasks.wasm");
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    let command = format!("{} execute tasks.wasm -j 1 -- spin 12 60", env!("CARGO_BIN_EXE_jug-host"));
    let on_terminal = dir.command(std::path::Path::new("script"), &["-qfec", &command, "/dev/null"]).run();
    let on_terminal = on_terminal.expect_code(ExitCode::Ok);
    assert!(
        on_terminal.stdout.contains("/12 tasks"),
        "no progress bar on a terminal: {}",
        on_terminal.stdout
    );

    let piped = dir
        .jug(&["execute", "tasks.wasm", "-j", "1"])
        .arg_words(&["spin", "12", "61"])
        .run()
        .expect_code(ExitCode::Ok);
    assert!(!piped.stderr.contains("tasks") && !piped.stdout.contains("/12"), "{piped:?}");
}

#[test]
fn store_passwords_are_masked_in_every_message() {
    let dir = TestDir::with_guest("masked-password", "primes.wasm");
    let secret = "sekrit-pw";
    let real = std::env::var("JUG_TEST_REDIS")
        .expect("JUG_TEST_REDIS is not set: run the tests with scripts/test, which starts Redis");
    // An unreachable server, a malformed URL, and the real server refusing the password.
    let stores = [
        ("redis://u:sekrit-pw@127.0.0.1:1/".to_owned(), "redis://u:***@127.0.0.1:1/"),
        ("redis://:sekrit-pw@127.0.0.1:1/3?prefix=p".to_owned(), "redis://:***@127.0.0.1:1/3?prefix=p"),
        ("redis://u:sekrit-pw@127.0.0.1:1/results".to_owned(), "redis://u:***@127.0.0.1:1/results"),
        (real.replacen("redis://", "redis://u:sekrit-pw@", 1), "redis://u:***@"),
    ];
    let commands: [&[&str]; 6] = [
        &["status"],
        &["status", "--json"],
        &["execute"],
        &["value", "--json", "write_output"],
        &["cleanup", "--dry-run"],
        // Reads the store before it serves: a store it cannot read is an error, not a page.
        &["webstatus", "--port", "0"],
    ];
    for (store, masked) in &stores {
        for command in commands {
            let mut args = vec![command[0], "primes.wasm", "--store", store];
            args.extend_from_slice(&command[1..]);
            let run = dir.jug(&args).env("JUG_STORE_RETRY_SECS", "0").run();
            assert_eq!(run.exit(), Some(ExitCode::Store), "{args:?}: {}", run.stderr);
            assert!(!format!("{}{}", run.stdout, run.stderr).contains(secret), "{args:?}: {}", run.stderr);
            assert!(run.stderr.contains(masked), "{args:?}: {}", run.stderr);
        }
    }
    // The same store named by JUG_STORE.
    let run =
        dir.jug(&["status", "primes.wasm"]).env("JUG_STORE", &stores[0].0).env("JUG_STORE_RETRY_SECS", "0");
    let run = run.run().expect_one_line_error(ExitCode::Store, "redis://u:***@127.0.0.1:1/");
    assert!(!run.stderr.contains(secret));
}

/// A failure outside the store (a full disk, a file in the way) is exit 9, never Jug's "not
/// done" (1), which a script waiting for the graph would take as "run again".
#[test]
fn failures_outside_the_store_are_system_errors_not_not_done() {
    let dir = TestDir::with_guest("system-errors", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let to_full_disk = ["-c", "exec \"$JUG_HOST\" status primes.wasm > /dev/full"];
    let run = dir.command(std::path::Path::new("sh"), &to_full_disk).run();
    run.expect_one_line_error(ExitCode::System, "cannot write the output: No space left on device");

    std::fs::create_dir(dir.join("primes.py")).unwrap();
    let run = dir.jug(&["demo"]).run();
    run.expect_one_line_error(
        ExitCode::System,
        "cannot write primes.py in the current directory: Is a directory",
    );
}
