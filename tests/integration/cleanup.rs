//! `cleanup` removes only what it is sure about: a dry run first, never another graph's
//! results in a shared store, and nothing but expired locks while the graph is at a barrier.

use crate::util::ExitCode;
use crate::util::{TestDir, tree_snapshot};

#[test]
fn a_dry_run_lists_what_would_go_and_removes_nothing() {
    let dir = TestDir::with_guest("cleanup-dry-run", "tasks.wasm");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&["diamond", "1", "3"]).run().expect_code(ExitCode::Ok);
    let before = tree_snapshot(&dir.join("tasks.jugdata"));

    let dry = dir.jug(&["cleanup", "tasks.wasm", "--dry-run"]).arg_words(&["diamond", "1", "3"]).run();
    let dry = dry.expect_code(ExitCode::Ok);
    assert_eq!(tree_snapshot(&dir.join("tasks.jugdata")), before, "a dry run removed something");
    let listed: Vec<&str> = dry.stdout.lines().filter(|l| l.starts_with("would remove the result")).collect();
    assert_eq!(listed.len(), 4, "{}", dry.stdout);
    assert!(listed.iter().any(|l| l.ends_with("(tasks.constant)")), "{}", dry.stdout);
    assert!(dry.stdout.ends_with("Would remove 4 objects\nWould remove 0 locks\n"), "{}", dry.stdout);

    // The real thing removes exactly what was listed.
    let run =
        dir.jug(&["cleanup", "tasks.wasm"]).arg_words(&["diamond", "1", "3"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Removed 4 objects\nRemoved 0 locks\n");
    let stored = dir.stored("tasks.jugdata");
    for line in listed {
        let key = line.split_whitespace().nth(6).unwrap();
        assert!(!stored.contains_key(key), "{line}");
    }
}

#[test]
fn another_graphs_results_in_a_shared_store_are_kept_unless_all_graphs() {
    let dir = TestDir::with_guest("cleanup-shared", "tasks.wasm");
    dir.copy_guest("primes.wasm", "primes.wasm");
    let shared = ["--store", "shared"];
    dir.jug(&["execute", "primes.wasm", shared[0], shared[1]]).run().expect_code(ExitCode::Ok);
    dir.jug(&["execute", "tasks.wasm", shared[0], shared[1]])
        .arg_words(&["diamond", "1", "2"])
        .run()
        .expect_code(ExitCode::Ok);
    dir.jug(&["execute", "tasks.wasm", shared[0], shared[1]])
        .arg_words(&["diamond", "1", "3"])
        .run()
        .expect_code(ExitCode::Ok);

    // tasks' own old results go; primes' 101 stay, and cleanup says so.
    let run =
        dir.jug(&["cleanup", "tasks.wasm", shared[0], shared[1]]).arg_words(&["diamond", "1", "3"]).run();
    let run = run.expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Removed 4 objects\nRemoved 0 locks\n");
    assert!(
        run.stderr.contains("kept 101 unused result(s) that nothing ties to this graph"),
        "{}",
        run.stderr
    );
    let status = dir.jug(&["status", "primes.wasm", "--short", shared[0], shared[1]]).run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (101 tasks).\n");
    assert!(!dir.files_under("shared/manifests").iter().all(|m| m.starts_with("tasks.")));

    // A result nothing records (stored alone by a jug-host from before packs, which name each
    // result's task, and before manifests) is kept too.
    std::fs::remove_dir_all(dir.join("shared/manifests")).unwrap();
    let before = dir.stored("shared");
    dir.jug(&["execute", "tasks.wasm", shared[0], shared[1]])
        .arg_words(&["diamond", "1", "2"])
        .run()
        .expect_code(ExitCode::Ok);
    std::fs::remove_dir_all(dir.join("shared/manifests")).unwrap();
    for (key, payload) in dir.stored("shared").into_iter().filter(|(key, _)| !before.contains_key(key)) {
        dir.overwrite_result("shared", &key, &crate::util::sealed(1, &payload));
    }
    let run =
        dir.jug(&["cleanup", "tasks.wasm", shared[0], shared[1]]).arg_words(&["diamond", "1", "3"]).run();
    let run = run.expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Removed 0 objects\nRemoved 0 locks\n");
    assert!(run.stderr.contains("kept 105 unused result(s)"), "{}", run.stderr);

    let all = dir.jug(&["cleanup", "tasks.wasm", "--all-graphs", shared[0], shared[1]]);
    let all = all.arg_words(&["diamond", "1", "3"]).run().expect_code(ExitCode::Ok);
    assert_eq!(all.stdout, "Removed 105 objects\nRemoved 0 locks\n");
    let status =
        dir.jug(&["status", "tasks.wasm", "--short", shared[0], shared[1]]).arg_words(&["diamond", "1", "3"]);
    assert_eq!(status.run().expect_code(ExitCode::Ok).stdout, "All tasks complete (5 tasks).\n");
    assert_eq!(dir.result_count("shared"), 5);
}

#[test]
fn a_graph_stopped_at_a_barrier_removes_expired_locks_only() {
    let dir = TestDir::with_guest("cleanup-barrier", "tasks.wasm");
    let graph = ["barrier"];
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    // constant(2) gone: the builder stops at its barrier again, and negate(3), declared after
    // it, looks unused although it is this graph's.
    dir.jug(&["invalidate", "tasks.wasm", "--name", "constant"])
        .arg_words(&graph)
        .run()
        .expect_code(ExitCode::Ok);
    let results = dir.stored("tasks.jugdata");
    assert_eq!(results.len(), 1, "negate(3) is left");
    let expired = dir.join("tasks.jugdata/locks").join("ab".repeat(32));
    std::fs::write(
        &expired,
        r#"{"owner":"gone:1:x","host":"gone","pid":1,"acquired_unix_ms":0,"lease_ms":1}"#,
    )
    .unwrap();

    let run = dir.jug(&["cleanup", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Removed 1 locks\n");
    assert!(run.stderr.contains("stopped at a barrier"), "{}", run.stderr);
    assert!(run.stderr.contains("removing expired locks only"), "{}", run.stderr);
    assert_eq!(dir.stored("tasks.jugdata"), results);
    assert!(!expired.exists());
}
