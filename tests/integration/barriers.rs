//! Graphs that depend on results (Jug's `barrier()` and `bvalue()`): building stops at the
//! barrier, and one `execute` runs what is declared, builds again and goes on until done.

use crate::util::ExitCode;
use crate::util::TestDir;

#[test]
fn a_dynamic_graph_runs_to_the_end_in_one_execute() {
    let dir = TestDir::with_guest("dynamic", "tasks.wasm");
    let graph = ["dynamic", "5"];
    // Before anything runs, only the task the builder needs is known.
    let status =
        dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::NotDone);
    assert_eq!(
        status.stdout,
        "1 tasks waiting to be run, 0 failed, 0 complete, (none active).\n\
         The graph builder stopped at a barrier: more tasks follow once these are complete.\n"
    );

    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  7 tasks\nLoaded:  0 tasks\n** Total: 7 tasks.\n", "{}", run.stderr);
    let status =
        dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (7 tasks).\n");
    let value = dir.jug(&["value", "tasks.wasm", "add"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "5\n"); // add(negate(0), constant(5))
    dir.jug(&["check", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::Ok);

    let again =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  7 tasks\n** Total: 7 tasks.\n");

    // A different result upstream changes what the builder declares downstream.
    let other = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&["dynamic", "2"]).run();
    assert_eq!(
        other.expect_code(ExitCode::Ok).stdout,
        "Executed:  2 tasks\nLoaded:  2 tasks\n** Total: 4 tasks.\n"
    );
}

#[test]
fn a_barrier_holds_back_what_follows_it() {
    let dir = TestDir::with_guest("barrier", "tasks.wasm");
    let graph = ["barrier"];
    let count =
        dir.jug(&["count", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(count.stdout, "Count:  2 tasks\n** Total: 2 tasks.\n", "the barrier hides the rest");
    dir.jug(&["check", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::NotDone);

    // Stopping after the first task: the barrier is not passed, and nothing after it runs.
    let partial = dir
        .jug(&["execute", "tasks.wasm", "--short", "-j", "1"])
        .arg_words(&graph)
        .env("JUG_MAX_TASKS", "1")
        .run();
    assert!(partial.expect_code(ExitCode::Ok).stdout.starts_with("Executed:  1 tasks\n"));
    let status =
        dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::NotDone);
    assert!(status.stdout.starts_with("1 tasks waiting to be run, 0 failed, 1 complete, (none active).\n"));

    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  3 tasks\nLoaded:  1 tasks\n** Total: 4 tasks.\n");
    let status =
        dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (4 tasks).\n");
}
