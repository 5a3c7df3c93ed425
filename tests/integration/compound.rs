//! Compound tasks: a task whose result comes from a sub-graph; once it is stored, only the
//! compound task is left in the graph.

use crate::util::TestDir;

#[test]
fn a_compound_task_replaces_its_sub_graph_once_done() {
    let dir = TestDir::with_guest("compound", "tasks.wasm");
    let graph = ["compound", "4"]; // pipeline(4) = sum(square(0..4)), then negate(pipeline)
    let count = dir.jug(&["count", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(0);
    assert_eq!(count.stdout, "Count:  7 tasks\n** Total: 7 tasks.\n");
    let run = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(0);
    assert_eq!(run.stdout, "Executed:  7 tasks\nLoaded:  0 tasks\n** Total: 7 tasks.\n", "{}", run.stderr);

    // Done: the sub-graph is no longer declared, and the result is the sub-graph's.
    let count = dir.jug(&["count", "tasks.wasm"]).arg_words(&graph).env("COLUMNS", "60").run().expect_code(0);
    assert!(count.stdout.contains("           1  tasks.pipeline") && !count.stdout.contains("square"));
    let values =
        dir.jug(&["value", "tasks.wasm", "--pattern", "/.*/"]).arg_words(&graph).run().expect_code(0);
    assert_eq!(values.stdout, "14\n-14\n"); // 0 + 1 + 4 + 9
    let again = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(0);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  2 tasks\n** Total: 2 tasks.\n");

    // Invalidated, it is built again from its sub-graph, whose results are still there.
    let invalidated =
        dir.jug(&["invalidate", "tasks.wasm", "--name", "pipeline", "--short"]).arg_words(&graph).run();
    assert_eq!(invalidated.expect_code(0).stdout, "Invalidated:  2 tasks\n** Total: 2 tasks.\n");
    let rerun = dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(0);
    assert_eq!(rerun.stdout, "Executed:  2 tasks\nLoaded:  5 tasks\n** Total: 7 tasks.\n");
    let value = dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&graph).run().expect_code(0);
    assert_eq!(value.stdout, "-14\n");
}
