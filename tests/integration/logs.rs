//! `jug-host log`: each task's output with a header saying how its last run ended, read back
//! from the record `execute` leaves at the end of `logs/<key>`.

use crate::util::ExitCode;
use crate::util::TestDir;

fn log(dir: &TestDir, args: &[&str], graph: &str) -> crate::util::Run {
    let mut full = vec!["log", "tasks.wasm"];
    full.extend_from_slice(args);
    dir.jug(&full).arg_words(&[graph]).run()
}

/// The one file under `logs/`, by name: the key of the task that wrote it.
fn only_log_key(dir: &TestDir) -> String {
    let logs = dir.files_under("tasks.jugdata/logs");
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs[0].clone()
}

#[test]
fn a_failing_task_shows_its_kind_and_message_and_the_rest_are_counted() {
    let dir = TestDir::with_guest("log-failing", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--keep-going"])
        .arg_words(&["failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    let key = only_log_key(&dir);

    let run = log(&dir, &["fail_on"], "failing").expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        format!(
            "== tasks.fail_on (key {}): failed (guest-error): refusing to process 2\n\
             == 4 more tasks without a log: 4 complete, no output (--all shows them)\n",
            &key[..12]
        )
    );
    let all = log(&dir, &["fail_on", "--all"], "failing").expect_code(ExitCode::Ok);
    let headers: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(headers.len(), 5, "{}", all.stdout);
    assert_eq!(headers.iter().filter(|l| l.ends_with("): complete, no output")).count(), 4);
    // The task after the failure never ran.
    let add = log(&dir, &["add"], "failing").expect_code(ExitCode::Ok);
    assert!(add.stdout.starts_with("== tasks.add (key "), "{}", add.stdout);
    assert!(add.stdout.ends_with("): not run yet (waiting for its inputs)\n"), "{}", add.stdout);
}

#[test]
fn a_panic_shows_as_a_trap_with_its_message_and_the_output_with_the_backtrace() {
    let dir = TestDir::with_guest("log-panic", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--keep-going"])
        .arg_words(&["panic"])
        .run()
        .expect_code(ExitCode::NotDone);
    let run = log(&dir, &["explode"], "panic").expect_code(ExitCode::Ok);
    let (header, output) = run.stdout.split_once('\n').unwrap();
    assert!(header.starts_with("== tasks.explode (key "), "{header}");
    assert!(
        header.contains("): failed (trap): panicked at tests/fixtures/guests/tasks/src/lib.rs:")
            && header.ends_with(": boom at 1"),
        "{header}"
    );
    assert!(output.contains("boom at 1\n") && output.contains("wasm backtrace"), "{output}");
    assert!(!output.contains("jug-host log:"), "the record is not output: {output}");
}

#[test]
fn a_noisy_task_shows_its_output() {
    let dir = TestDir::with_guest("log-noisy", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["noisy"]).run().expect_code(ExitCode::Ok);
    let key = only_log_key(&dir);
    let run = log(&dir, &["noisy"], "noisy").expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        format!(
            "== tasks.noisy (key {}): ok\nstdout says 3\nstderr says 3\n[info] the log import says hello\n",
            &key[..12]
        )
    );
}

#[test]
fn a_task_never_run_says_so_and_nothing_is_created() {
    let dir = TestDir::with_guest("log-never-run", "tasks.wasm");
    let run = log(&dir, &["noisy"], "noisy").expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("== tasks.noisy (key "), "{}", run.stdout);
    assert!(run.stdout.ends_with("): not run yet\n"), "{}", run.stdout);
    assert!(!dir.join("tasks.jugdata").exists(), "a query created the store");
}

#[test]
fn json_is_one_array_of_every_matching_task() {
    let dir = TestDir::with_guest("log-json", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--keep-going"])
        .arg_words(&["failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    let run = log(&dir, &["fail_on", "--json"], "failing").expect_code(ExitCode::Ok);
    let tasks: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(tasks.len(), 5, "{}", run.stdout);
    let failed: Vec<_> = tasks.iter().filter(|t| !t["log"].is_null()).collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    let failed = failed[0];
    assert_eq!(failed["name"], "tasks.fail_on");
    assert_eq!(failed["key"].as_str().unwrap().len(), 64);
    assert_eq!(failed["state"], "ready"); // no --keep-failed: it is retried
    assert_eq!(failed["marked_failed"], serde_json::Value::Null);
    assert_eq!(failed["log"]["outcome"], "failed");
    assert_eq!(failed["log"]["failure"]["kind"], "guest-error");
    assert_eq!(failed["log"]["failure"]["message"], "refusing to process 2");
    assert_eq!(failed["log"]["output"], "");
    assert!(failed["log"]["ran_unix_ms"].as_u64().is_some() && failed["log"]["owner"].is_string());
    assert!(tasks.iter().filter(|t| t["log"].is_null()).all(|t| t["state"] == "complete"));
}

#[test]
fn an_unknown_name_exits_6() {
    let dir = TestDir::with_guest("log-no-match", "tasks.wasm");
    log(&dir, &["no_such_task"], "noisy")
        .expect_one_line_error(ExitCode::NoMatch, "no task matches --name 'no_such_task'");
}

#[test]
fn a_failure_marked_by_keep_failed_says_it_is_not_retried() {
    let dir = TestDir::with_guest("log-keep-failed", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--keep-going", "--keep-failed"])
        .arg_words(&["failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    let run = log(&dir, &["fail_on"], "failing").expect_code(ExitCode::Ok);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.ends_with(
            "): failed (guest-error): refusing to process 2; marked Failed: execute skips it until \
             `cleanup --failed-only`"
        ),
        "{}",
        run.stdout
    );
    let json = log(&dir, &["fail_on", "--json"], "failing").expect_code(ExitCode::Ok);
    let tasks: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    let marked: Vec<_> = tasks.iter().filter(|t| !t["marked_failed"].is_null()).collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["state"], "failed");
    assert_eq!(marked[0]["marked_failed"]["failure"]["kind"], "guest-error");
}

#[test]
fn the_log_of_an_earlier_failure_says_the_task_has_since_completed() {
    let dir = TestDir::with_guest("log-since-completed", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--keep-going"])
        .arg_words(&["failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    // fail_on(2) always fails; give it a result by hand (a result does not name its key).
    let key = only_log_key(&dir);
    let any = dir.stored("tasks.jugdata").into_values().next().unwrap();
    dir.overwrite_result("tasks.jugdata", &key, &crate::util::sealed(1, &any));

    let run = log(&dir, &["fail_on"], "failing").expect_code(ExitCode::Ok);
    assert!(
        run.stdout.starts_with(&format!(
            "== tasks.fail_on (key {}): failed (guest-error): refusing to process 2 (from an earlier run; \
             the task has since completed)\n",
            &key[..12]
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn a_log_from_before_records_is_shown_as_output() {
    let dir = TestDir::with_guest("log-old", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["noisy"]).run().expect_code(ExitCode::Ok);
    let key = only_log_key(&dir);
    std::fs::write(dir.join("tasks.jugdata/logs").join(&key), "printed by an old run\n").unwrap();
    let run = log(&dir, &["noisy"], "noisy").expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        format!(
            "== tasks.noisy (key {}): complete; the log of an earlier run, without a record (an older \
             jug-host wrote it)\nprinted by an old run\n",
            &key[..12]
        )
    );
}

/// A hostile task fails with a message full of terminal control sequences (erase the line,
/// carriage return, set the window title, an 8-bit CSI, then a forged `Executed: all tasks OK`
/// on a line of its own), prints them, and its builder logs and prints them too. Wherever
/// jug-host shows that text to a person, it arrives spelled out, not obeyed.
#[test]
fn guest_text_cannot_drive_the_terminal() {
    let dir = TestDir::with_guest("terminal-attack", "hostile.wasm");
    let words = ["terminal"];
    let execute = dir.jug(&["execute", "hostile.wasm", "-j", "1", "--keep-going"]).arg_words(&words).run();
    let execute = execute.expect_code(ExitCode::NotDone);
    let log = dir
        .jug(&["log", "hostile.wasm", "terminal_attack"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::Ok);
    let explain =
        dir.jug(&["status", "hostile.wasm", "--explain", "terminal_attack"]).arg_words(&words).run();
    let explain = explain.expect_code(ExitCode::NotDone);

    for (what, text) in [
        ("execute stdout", &execute.stdout),
        ("execute stderr", &execute.stderr),
        ("log", &log.stdout),
        ("log stderr", &log.stderr),
        ("status --explain", &explain.stdout),
    ] {
        let raw: Vec<char> = text.chars().filter(|&c| c.is_control() && c != '\n' && c != '\t').collect();
        assert!(raw.is_empty(), "{what} passes control characters {raw:?} through:\n{text}");
    }
    // The failure is one line, with the forged summary inside it rather than on a line of its own.
    let failed: Vec<&str> = execute
        .stderr
        .lines()
        .filter(|l| l.contains("hostile.terminal_attack") && l.contains("failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", execute.stderr);
    assert!(
        failed[0].contains("\\u{1b}[2K\\r\\u{1b}]0;owned\\u{7}\\u{9b}31m\\nExecuted: all tasks OK"),
        "{}",
        failed[0]
    );
    // The builder's log line, escaped on its line.
    assert!(execute.stderr.contains("[warn] \\u{1b}[2K\\r"), "{}", execute.stderr);
    // `log` keeps the task's lines but not its escape sequences; --explain is one line per task.
    assert!(log.stdout.contains("\\u{1b}[2K\\r\\u{1b}]0;owned"), "{}", log.stdout);
    assert!(explain.stdout.contains("hostile.terminal_attack"), "{}", explain.stdout);
    assert!(explain.stdout.contains("\\u{1b}[2K"), "{}", explain.stdout);
}
