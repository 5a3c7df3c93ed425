//! Early cutoff (`jug_core::trace`): a task whose key changed only because an upstream key
//! did, while the upstream task gave the same bytes again, reuses its earlier result instead
//! of running, on every store; `invalidate` drops the traces that could bring a removed
//! result back.

use crate::util::ExitCode;
use crate::util::{Backend, Run, TestDir, each_backend};

each_backend!(an_unchanged_result_stops_the_reruns_downstream);

/// `execute --short`'s counts: (executed, loaded).
fn counts(run: &Run) -> (u64, u64) {
    let count = |title: &str| {
        let line = run.stdout.lines().find(|l| l.starts_with(title)).unwrap_or_else(|| panic!("{run:?}"));
        line[title.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    (count("Executed:"), count("Loaded:"))
}

fn an_unchanged_result_stops_the_reruns_downstream(backend: Backend) {
    let dir = TestDir::with_guest(&format!("cutoff-{backend:?}"), "tasks.wasm");
    let store = backend.store_args("cutoff");
    let jug = |command: &[&str]| {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(store.iter().map(String::as_str));
        dir.jug(&args).arg_words(&["cutoff", "notes.txt"]).run()
    };
    let execute = || jug(&["execute", "tasks.wasm", "--short"]).expect_code(ExitCode::Ok);
    let reused = "results reused: their inputs' results were unchanged";

    // line_count(notes.txt) = 2, scaled(2, 10) = 20, scaled(20, 2) = 40.
    std::fs::write(dir.join("notes.txt"), "one\ntwo\n").unwrap();
    assert_eq!(counts(&execute()), (3, 0));

    // Trailing blanks: the file's digest (so line_count's key, and every key downstream)
    // changes, but line_count gives 2 again; the two tasks after it are not run.
    std::fs::write(dir.join("notes.txt"), "one\ntwo   \n").unwrap();
    let run = execute();
    assert_eq!(counts(&run), (1, 2), "{run:?}");
    assert!(run.stdout.contains(&format!("2 {reused}")), "{run:?}");
    let value = jug(&["value", "tasks.wasm", "scaled"]).expect_code(ExitCode::Ok);
    assert_eq!(value.stdout.lines().collect::<Vec<_>>(), ["20", "40"], "{value:?}");
    // Where the results came from, in `status --explain` and `log`.
    let explain = jug(&["status", "tasks.wasm", "--explain", "scaled"]).expect_code(ExitCode::Ok);
    let lines: Vec<&str> = explain.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{explain:?}");
    for line in lines {
        assert!(line.contains("complete (reused the result of key "), "{explain:?}");
    }
    let log = jug(&["log", "tasks.wasm", "scaled"]).expect_code(ExitCode::Ok);
    assert_eq!(log.stdout.matches("reused the result of key ").count(), 2, "{log:?}");
    let line_count = jug(&["status", "tasks.wasm", "--explain", "line_count"]).expect_code(ExitCode::Ok);
    assert!(line_count.stdout.ends_with(": complete\n"), "{line_count:?}");

    // Nothing to do: no reuse, nothing run.
    let run = execute();
    assert_eq!(counts(&run), (0, 3));
    assert!(!run.stdout.contains(reused), "{run:?}");

    // An invalidated result is computed again, not copied back from the key before it.
    jug(&["invalidate", "tasks.wasm", "--name", "tasks.scaled"]).expect_code(ExitCode::Ok);
    let run = execute();
    assert_eq!(counts(&run), (2, 1), "{run:?}");
    assert!(!run.stdout.contains(reused), "{run:?}");

    // Another line: another count, and everything after it runs.
    std::fs::write(dir.join("notes.txt"), "one\ntwo\nthree\n").unwrap();
    let run = execute();
    assert_eq!(counts(&run), (3, 0), "{run:?}");
    let value = jug(&["value", "tasks.wasm", "scaled"]).expect_code(ExitCode::Ok);
    assert_eq!(value.stdout.lines().collect::<Vec<_>>(), ["30", "60"], "{value:?}");

    // Back to the first text: every key is one stored before, so nothing runs or is reused.
    std::fs::write(dir.join("notes.txt"), "one\ntwo\n").unwrap();
    let run = execute();
    assert_eq!(counts(&run), (0, 3), "{run:?}");
}

/// How many results a run's summary says it reused.
fn reused(run: &Run) -> u64 {
    let line = run.stdout.lines().find(|l| l.contains(" reused: their inputs' results were unchanged"));
    line.map_or(0, |l| l.split_whitespace().next().unwrap().parse().unwrap())
}

/// Two workers in two directories share an S3 store after an edit: between them the parser
/// runs once and each of the two results after it is reused once, and a third directory's
/// `status` sees every task complete.
#[test]
fn two_workers_reuse_each_result_once() {
    let store = Backend::S3.store_args("cutoff-workers");
    let dirs: Vec<TestDir> =
        (0..3).map(|i| TestDir::with_guest(&format!("cutoff-workers-{i}"), "tasks.wasm")).collect();
    let jug = |dir: &TestDir, command: &[&str]| {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(store.iter().map(String::as_str));
        dir.jug(&args).arg_words(&["cutoff", "notes.txt"])
    };
    for dir in &dirs {
        std::fs::write(dir.join("notes.txt"), "one\ntwo\n").unwrap();
    }
    jug(&dirs[0], &["execute", "tasks.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    for dir in &dirs {
        std::fs::write(dir.join("notes.txt"), "one\ntwo   \n").unwrap();
    }
    let workers: Vec<_> =
        dirs[..2].iter().map(|dir| jug(dir, &["execute", "tasks.wasm", "--short"]).spawn()).collect();
    let runs: Vec<Run> = workers.into_iter().map(|worker| worker.wait().expect_code(ExitCode::Ok)).collect();
    let executed: u64 = runs.iter().map(|run| counts(run).0).sum();
    let reused: u64 = runs.iter().map(reused).sum();
    assert_eq!((executed, reused), (1, 2), "{runs:?}");
    let status = jug(&dirs[2], &["status", "tasks.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert!(status.stdout.starts_with("All tasks complete"), "{status:?}");
}
