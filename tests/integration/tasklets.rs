//! Tasklets (Jug's `t[0]`, `iteratetask`): parts of a result passed on without being stored,
//! with dependencies and invalidation flowing through them.

use crate::util::ExitCode;
use crate::util::TestDir;

#[test]
fn parts_of_a_result_feed_other_tasks_and_are_never_stored() {
    let dir = TestDir::with_guest("tasklets", "tasks.wasm");
    let graph = ["tasklets"];
    let count =
        dir.jug(&["count", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(count.stdout, "Count:  4 tasks\n** Total: 4 tasks.\n", "tasklets are not tasks");
    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  4 tasks\nLoaded:  0 tasks\n** Total: 4 tasks.\n", "{}", run.stderr);
    assert_eq!(dir.result_count("tasks.jugdata"), 4);

    let sums = dir.jug(&["value", "tasks.wasm", "sum"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(sums.stdout, "20\n25\n"); // 0+2+4+6+8, 1+3+5+7+9
    let negated =
        dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(negated.stdout, "-4\n"); // -(evens[2])

    // Invalidating the task the parts come from reaches every task that used a part.
    let invalidated =
        dir.jug(&["invalidate", "tasks.wasm", "--name", "even_odd", "--short"]).arg_words(&graph).run();
    assert_eq!(invalidated.expect_code(ExitCode::Ok).stdout, "Invalidated:  4 tasks\n** Total: 4 tasks.\n");
}

#[test]
fn a_part_that_is_not_there_fails_the_task_that_wanted_it() {
    let dir = TestDir::with_guest("tasklet-missing", "tasks.wasm");
    let run =
        dir.jug(&["execute", "tasks.wasm", "--keep-going", "--short"]).arg_words(&["tasklets", "99"]).run();
    let run = run.expect_code(ExitCode::NotDone);
    assert!(
        run.stderr.contains(
            "failed: an argument taken from tasks.even_odd: the result[1] has 5 elements, so there is no [99]"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "Executed:  4 tasks\nLoaded:  0 tasks\n** Total: 4 tasks.\n");
}
