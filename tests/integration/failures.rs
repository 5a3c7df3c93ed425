//! Failing tasks: the run stops (or goes on with --keep-going), the message names the task
//! and the guest's error, locks are released, and the next run tries again.

use crate::util::ExitCode;
use crate::util::TestDir;

fn no_locks_left(dir: &TestDir, store: &str) -> bool {
    dir.files_under(&format!("{store}/locks")).iter().all(|f| f.starts_with("owners"))
}

#[test]
fn a_failing_task_stops_the_run_and_is_retried_next_time() {
    let dir = TestDir::with_guest("fail-stop", "tasks.wasm");
    let run =
        dir.jug(&["execute", "tasks.wasm", "-j", "1", "--", "failing"]).run().expect_code(ExitCode::NotDone);
    assert!(run.stderr.contains("task tasks.fail_on (key "), "{}", run.stderr);
    assert!(run.stderr.contains("failed: refusing to process 2"), "{}", run.stderr);
    // fail_on(0) and fail_on(1) ran before fail_on(2) stopped the run.
    assert!(run.stdout.contains("           2           0  tasks.fail_on"), "{}", run.stdout);
    assert!(no_locks_left(&dir, "tasks.jugdata"));

    let again =
        dir.jug(&["execute", "tasks.wasm", "-j", "1", "--", "failing"]).run().expect_code(ExitCode::NotDone);
    assert!(again.stderr.contains("refusing to process 2"));
    assert!(again.stdout.contains("           0           2  tasks.fail_on"), "{}", again.stdout);
}

#[test]
fn keep_going_runs_what_does_not_depend_on_the_failure() {
    let dir = TestDir::with_guest("fail-keep-going", "tasks.wasm");
    let run = dir
        .jug(&["execute", "tasks.wasm", "--keep-going", "--short", "--", "failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(run.stdout, "Executed:  4 tasks\nLoaded:  0 tasks\n** Total: 4 tasks.\n");
    let status =
        dir.jug(&["status", "tasks.wasm", "--short", "--", "failing"]).run().expect_code(ExitCode::NotDone);
    // fail_on(2) is Ready again (no failure marker without --keep-failed), add(…) waits on it.
    assert_eq!(status.stdout, "2 tasks waiting to be run, 0 failed, 4 complete, (none active).\n");
    assert!(no_locks_left(&dir, "tasks.jugdata"));
}

#[test]
fn a_panic_is_reported_with_its_message_and_logged_with_a_backtrace() {
    let dir = TestDir::with_guest("fail-panic", "tasks.wasm");
    let run = dir
        .jug(&["execute", "tasks.wasm", "--keep-going", "--", "panic"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(run.stderr.contains("task tasks.explode"), "{}", run.stderr);
    assert!(run.stderr.contains("panicked at tests/fixtures/guests/tasks/src/lib.rs"), "{}", run.stderr);
    assert!(run.stderr.contains("boom at 1"), "{}", run.stderr);
    // The independent task still ran.
    assert!(run.stdout.contains("           1           0  tasks.constant"), "{}", run.stdout);
    let logs = dir.files_under("tasks.jugdata/logs");
    assert_eq!(logs.len(), 1);
    let log = std::fs::read_to_string(dir.join("tasks.jugdata/logs").join(&logs[0])).unwrap();
    assert!(
        log.contains("boom at 1") && log.contains("wasm backtrace") && log.contains("tasks.wasm!run"),
        "{log}"
    );
}

#[test]
fn guests_that_break_the_contract_fail_their_task() {
    let dir = TestDir::with_guest("fail-raw", "raw.wasm");
    let run = dir.jug(&["execute", "raw.wasm", "--keep-going"]).run().expect_code(ExitCode::NotDone);
    assert!(
        run.stderr.contains("task raw.unsorted")
            && run.stderr.contains("not deterministic CBOR: map keys not in sorted order"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("graph functions can only be called while building the graph"),
        "{}",
        run.stderr
    );
    assert!((dir.result_count("raw.jugdata") == 0));
    assert!(no_locks_left(&dir, "raw.jugdata"));
}

#[test]
fn sigterm_and_sigint_stop_after_the_task_in_flight_and_release_its_lock() {
    for (signal, name, code) in
        [(libc::SIGTERM, "SIGTERM", ExitCode::Terminated), (libc::SIGINT, "SIGINT", ExitCode::Interrupted)]
    {
        let dir = TestDir::with_guest(&format!("signal-{signal}"), "tasks.wasm");
        let child = dir.jug(&["execute", "tasks.wasm", "-j", "1", "--short", "--", "slow"]).spawn();
        // The first task's lease is taken just before it runs (for about half a second).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while no_locks_left(&dir, "tasks.jugdata") {
            assert!(std::time::Instant::now() < deadline, "no task started");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.signal(signal);
        let run = child.wait();
        let run = run.expect_code(code);
        // Said once, as soon as it is noticed.
        let said: Vec<&str> = run.stderr.lines().filter(|l| l.contains("received")).collect();
        assert_eq!(
            said,
            [format!(
                "jug-host: {name} received: starting no more tasks; finishing the task in flight \
                 (tasks.slow), then exiting; its lease is released (a second signal exits at once)"
            )],
            "{}",
            run.stderr
        );
        assert!(run.stdout.starts_with("Executed:  "), "the summary is still printed: {run:?}");
        assert!(no_locks_left(&dir, "tasks.jugdata"));
        // What finished is kept, and the rest is still to do.
        let status =
            dir.jug(&["status", "tasks.wasm", "--short", "--", "slow"]).run().expect_code(ExitCode::NotDone);
        let complete = dir.result_count("tasks.jugdata");
        assert!(complete < 4, "the run was not stopped: {}", status.stdout);
        assert_eq!(
            status.stdout,
            format!(
                "{} tasks waiting to be run, 0 failed, {complete} complete, (none active).\n",
                4 - complete
            )
        );
    }
}
