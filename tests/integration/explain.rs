//! `status --explain NAME`: why a task will run, from the manifests `execute` leaves per
//! commit batch (what went into the keys it stored).

use crate::util::ExitCode;
use crate::util::{TestDir, append_custom_section};

/// `status --explain PATTERN` for `graph`: its lines, with the key (12 hex digits) taken out
/// so the tests do not depend on key values: `tasks.add: an input changed: …`.
fn explain(dir: &TestDir, graph: &str, name: &str, words: &[&str], code: ExitCode) -> Vec<String> {
    let run = dir.jug(&["status", graph, "--explain", name]).arg_words(words).run().expect_code(code);
    run.stdout
        .lines()
        .map(|line| {
            let (task, why) = line.split_once(": ").unwrap_or_else(|| panic!("not `name key: why`: {line}"));
            let (name, key) = task.rsplit_once(' ').unwrap_or_else(|| panic!("no key in: {line}"));
            assert!(key.len() == 12 && key.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
            format!("{name}: {why}")
        })
        .collect()
}

#[test]
fn a_fresh_graph_never_ran() {
    let dir = TestDir::with_guest("explain-fresh", "tasks.wasm");
    let lines = explain(&dir, "tasks.wasm", "*", &["diamond", "1", "2"], ExitCode::NotDone);
    assert_eq!(lines.len(), 5, "{lines:?}");
    for (line, name) in lines.iter().zip(["constant", "constant", "add", "negate", "negate"]) {
        assert_eq!(
            line,
            &format!("tasks.{name}: never run: no result and no earlier run of tasks.{name} on record")
        );
    }
    // A query: nothing was created.
    assert!(!dir.join("tasks.jugdata").exists());
}

#[test]
fn new_arguments_and_new_inputs_are_told_apart() {
    let dir = TestDir::with_guest("explain-inputs", "tasks.wasm");
    // a = 1, b = 2, c = a + b, d = -c, e = -b
    dir.jug(&["execute", "tasks.wasm", "--", "diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    let done = explain(&dir, "tasks.wasm", "*", &["diamond", "1", "2"], ExitCode::Ok);
    assert!(done.iter().all(|line| line.ends_with(": complete")), "{done:?}");

    // b = 3: b itself has new arguments; everything downstream of it has a new input.
    assert_eq!(
        explain(&dir, "tasks.wasm", "*", &["diamond", "1", "3"], ExitCode::NotDone),
        [
            "tasks.constant: complete",
            "tasks.constant: its arguments changed",
            "tasks.add: an input changed: tasks.constant (argument 2) has a new key",
            "tasks.negate: an input changed: tasks.add (argument 1) has a new key",
            "tasks.negate: an input changed: tasks.constant (argument 1) has a new key",
        ]
    );
    // Both constants new: the sum says so.
    let add = explain(&dir, "tasks.wasm", "add", &["diamond", "5", "6"], ExitCode::NotDone);
    assert_eq!(
        add,
        ["tasks.add: an input changed: tasks.constant (argument 1) has a new key, and 1 more input"]
    );

    // One object per task name and commit batch, not one per task.
    let manifests = dir.files_under("tasks.jugdata/manifests");
    assert!(manifests.iter().all(|m| m.starts_with("tasks.")), "{manifests:?}");
    assert!(manifests.len() <= 5, "{manifests:?}");
}

#[test]
fn an_invalidated_result_was_removed() {
    let dir = TestDir::with_guest("explain-removed", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--", "diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    dir.jug(&["invalidate", "tasks.wasm", "--name", "add", "--", "diamond", "1", "2"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(
        explain(&dir, "tasks.wasm", "tasks.[an]*", &["diamond", "1", "2"], ExitCode::NotDone),
        [
            "tasks.add: its result was removed (invalidated or cleaned up)",
            "tasks.negate: its result was removed (invalidated or cleaned up)",
            "tasks.negate: complete",
        ]
    );
    // Only the names asked about count for the exit code.
    explain(&dir, "tasks.wasm", "constant", &["diamond", "1", "2"], ExitCode::Ok);
}

#[test]
fn new_code_is_named_with_both_identities() {
    let dir = TestDir::with_guest("explain-code", "primes.wasm");
    let run =
        dir.jug(&["execute", "primes.wasm", "--short"]).arg_words(&["20"]).run().expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Executed:  21 tasks"), "{}", run.stdout);
    // 19 is_prime tasks, in fewer manifests than tasks.
    let is_prime = dir.files_under("primes.jugdata/manifests/primes.is_prime");
    assert!(!is_prime.is_empty() && is_prime.len() < 19, "{is_prime:?}");

    append_custom_section(&dir.join("primes.wasm"), "jug-code-digest", b"sha256:a rebuilt primes");
    let run = dir.jug(&["status", "primes.wasm", "--explain", "count_primes"]).arg_words(&["20"]).run();
    let line = run.expect_code(ExitCode::NotDone).stdout;
    let (task, why) = line.trim_end().split_once(": ").unwrap();
    assert!(task.starts_with("primes.count_primes "), "{line}");
    let rest = why
        .strip_prefix(
            "the code of primes changed: stored results of primes.count_primes were computed by code ",
        )
        .unwrap_or_else(|| panic!("{line}"));
    let (was, now) = rest.split_once(", now ").unwrap();
    assert!(was.len() == 12 && now.len() == 12 && was != now, "{line}");
    let lines = explain(&dir, "primes.wasm", "is_prime", &["20"], ExitCode::NotDone);
    assert_eq!(lines.len(), 19);
    assert!(
        lines.iter().all(|l| l.starts_with("primes.is_prime: the code of primes changed: ")),
        "{lines:?}"
    );
}

#[test]
fn a_failure_is_reported_with_its_message() {
    let dir = TestDir::with_guest("explain-failed", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--keep-going", "--", "failing"]).run().expect_code(ExitCode::NotDone);
    let lines = explain(&dir, "tasks.wasm", "*", &["failing"], ExitCode::NotDone);
    assert_eq!(
        lines,
        [
            "tasks.fail_on: complete",
            "tasks.fail_on: complete",
            "tasks.fail_on: failed in the last run: guest-error: refusing to process 2",
            "tasks.fail_on: complete",
            "tasks.fail_on: complete",
            "tasks.add: never run: no result and no earlier run of tasks.add on record",
        ]
    );
    // With --keep-failed the failure is a mark that execute respects.
    dir.jug(&["execute", "tasks.wasm", "--keep-failed", "--", "failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    let lines = explain(&dir, "tasks.wasm", "fail_on", &["failing"], ExitCode::NotDone);
    assert_eq!(
        lines[2],
        "tasks.fail_on: failed in the last run: guest-error: refusing to process 2 \
         (marked failed: execute skips it until `cleanup --failed-only`)"
    );
}

#[test]
fn cleanup_keeps_the_manifests_explain_needs() {
    let dir = TestDir::with_guest("explain-cleanup", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm", "--", "diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    dir.jug(&["execute", "tasks.wasm", "--", "diamond", "1", "3"]).run().expect_code(ExitCode::Ok);
    assert_eq!(dir.files_under("tasks.jugdata/manifests/tasks.add").len(), 2);
    let run = dir.jug(&["cleanup", "tasks.wasm", "--", "diamond", "1", "3"]).run().expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Removed 4 objects\n"), "{}", run.stdout);
    // add(1, 2) is gone, and so is the manifest of its run; that of the current add stays.
    assert_eq!(dir.files_under("tasks.jugdata/manifests/tasks.add").len(), 1);
    assert_eq!(
        explain(&dir, "tasks.wasm", "add", &["diamond", "1", "2"], ExitCode::NotDone),
        ["tasks.add: an input changed: tasks.constant (argument 2) has a new key"]
    );
    // negate(constant(3)) reused the result of the first run's negate(add(1, 2)): the same
    // code on the same input value, 3 (early cutoff).
    let lines = explain(&dir, "tasks.wasm", "*", &["diamond", "1", "3"], ExitCode::Ok);
    assert!(lines.iter().all(|l| l.contains(": complete")), "{lines:?}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("complete (reused the result of key")).count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn explain_is_not_combined_with_other_formats() {
    let dir = TestDir::with_guest("explain-usage", "tasks.wasm");
    dir.jug(&["status", "tasks.wasm", "--explain", "add", "--json", "--", "diamond", "1", "2"])
        .run()
        .expect_code(ExitCode::Usage);
    dir.jug(&["status", "tasks.wasm", "--explain", "nothing_like_it", "--", "diamond", "1", "2"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "no task matches --name 'nothing_like_it'");
}

#[test]
fn a_changed_grant_is_named() {
    let dir = TestDir::with_guest("explain-grant", "tasks.wasm");
    for (path, text) in [("data/in.txt", "twelve bytes"), ("other/x.txt", "x")] {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), text).unwrap();
    }
    // read_in(data), read_in(other), constant(1): a directory of each reader's own.
    let words = ["grant-readers"];
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    std::fs::write(dir.join("data/in.txt"), "other bytes").unwrap();
    assert_eq!(
        explain(&dir, "tasks.wasm", "*", &words, ExitCode::NotDone),
        [
            "tasks.read_in: the content of the granted directory /data changed",
            "tasks.read_in: complete",
            "tasks.constant: complete",
        ]
    );

    // A `--dir` grant: every task sees it, so every task names it.
    let lines = |grant: &str, code: ExitCode| {
        let run =
            dir.jug(&["status", "tasks.wasm", "--explain", "*", "--dir", grant]).arg_words(&words).run();
        let stdout = run.expect_code(code).stdout;
        stdout.lines().map(|l| l.split_once(": ").unwrap().1.to_owned()).collect::<Vec<_>>()
    };
    // (Its own directory: what tasks may write, nothing may read through a grant of its own.)
    std::fs::create_dir_all(dir.join("shared")).unwrap();
    std::fs::write(dir.join("shared/x.txt"), "x").unwrap();
    dir.jug(&["execute", "tasks.wasm", "--dir", "shared:/o"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::Ok);
    std::fs::write(dir.join("shared/x.txt"), "y").unwrap();
    assert_eq!(lines("shared:/o", ExitCode::NotDone), ["the content of the granted directory /o changed"; 3]);
    assert_eq!(
        lines("shared:/o:rw", ExitCode::NotDone)[2],
        "the directory /o is granted read-write now, read-only before",
    );
    assert_eq!(
        lines("shared:/elsewhere", ExitCode::NotDone)[2],
        "the directory /elsewhere is granted now, and was not in earlier runs of tasks.constant"
    );
}
