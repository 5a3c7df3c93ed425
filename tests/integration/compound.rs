//! Compound tasks: a task whose result comes from a sub-graph; once it is stored, only the
//! compound task is left in the graph.

use crate::util::ExitCode;
use crate::util::{TestDir, append_custom_section};

#[test]
fn a_compound_task_replaces_its_sub_graph_once_done() {
    let dir = TestDir::with_guest("compound", "tasks.wasm");
    let graph = ["compound", "4"]; // pipeline(4) = sum(square(0..4)), then negate(pipeline)
    let count =
        dir.jug(&["count", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(count.stdout, "Count:  7 tasks\n** Total: 7 tasks.\n");
    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  7 tasks\nLoaded:  0 tasks\n** Total: 7 tasks.\n", "{}", run.stderr);

    // Done: the sub-graph is no longer declared, and the result is the sub-graph's.
    let count = dir
        .jug(&["count", "tasks.wasm"])
        .arg_words(&graph)
        .env("COLUMNS", "60")
        .run()
        .expect_code(ExitCode::Ok);
    assert!(count.stdout.contains("           1  tasks.pipeline") && !count.stdout.contains("square"));
    let values = dir
        .jug(&["value", "tasks.wasm", "--pattern", "/.*/"])
        .arg_words(&graph)
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(values.stdout, "14\n-14\n"); // 0 + 1 + 4 + 9
    let again =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  2 tasks\n** Total: 2 tasks.\n");

    // Invalidated, it is built again from its sub-graph, whose results are still there.
    let invalidated =
        dir.jug(&["invalidate", "tasks.wasm", "--name", "pipeline", "--short"]).arg_words(&graph).run();
    assert_eq!(invalidated.expect_code(ExitCode::Ok).stdout, "Invalidated:  2 tasks\n** Total: 2 tasks.\n");
    let rerun =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(rerun.stdout, "Executed:  2 tasks\nLoaded:  5 tasks\n** Total: 7 tasks.\n");
    let value = dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "-14\n");
}

/// `compound-library primes.wasm 20`: a compound task whose sub-graph counts primes with
/// tasks of the library primes.wasm, and negate(compound).
const WITH_LIBRARY: [&str; 3] = ["compound-library", "primes.wasm", "20"];

#[test]
fn a_compound_task_reruns_when_a_library_its_sub_graph_used_changes() {
    let dir = TestDir::with_guest("compound-library", "tasks.wasm");
    dir.copy_guest("primes.wasm", "primes.wasm");
    let execute = || dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&WITH_LIBRARY).run();
    // 19 × is_prime, count_primes, the compound task and negate.
    let run = execute().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  22 tasks\nLoaded:  0 tasks\n** Total: 22 tasks.\n", "{}", run.stderr);
    let unchanged = execute().expect_code(ExitCode::Ok);
    assert_eq!(unchanged.stdout, "Executed:  0 tasks\nLoaded:  2 tasks\n** Total: 2 tasks.\n");
    // `cleanup` keeps what says which libraries the stored result is valid for.
    dir.jug(&["cleanup", "tasks.wasm"]).arg_words(&WITH_LIBRARY).run().expect_code(ExitCode::Ok);
    assert_eq!(
        execute().expect_code(ExitCode::Ok).stdout,
        unchanged.stdout,
        "the sub-graph stays out after cleanup"
    );

    // Another build of the library: the compound task's stored result was computed with the
    // old one, so it runs again with its sub-graph; negate, downstream of it, has a new key
    // too, but its input (the count) is the same value, so its result is reused.
    append_custom_section(&dir.join("primes.wasm"), "jug-code-digest", b"sha256:a rebuilt library");
    let status = dir
        .jug(&["status", "tasks.wasm", "--short"])
        .arg_words(&WITH_LIBRARY)
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(!status.stdout.starts_with("All tasks complete"), "{}", status.stdout);
    let rerun = execute().expect_code(ExitCode::Ok);
    assert_eq!(
        rerun.stdout,
        "Executed:  21 tasks\nLoaded:  1 tasks\n** Total: 22 tasks.\n1 result reused: their inputs' results were unchanged\n",
        "{}",
        rerun.stderr
    );
    let value =
        dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&WITH_LIBRARY).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "-8\n"); // 8 primes up to 20
    assert_eq!(
        execute().expect_code(ExitCode::Ok).stdout,
        unchanged.stdout,
        "nothing runs while nothing changes"
    );

    // Back to the first build: its results are still stored under their keys.
    dir.copy_guest("primes.wasm", "primes.wasm");
    assert_eq!(
        execute().expect_code(ExitCode::Ok).stdout,
        "Executed:  0 tasks\nLoaded:  2 tasks\n** Total: 2 tasks.\n"
    );
}
