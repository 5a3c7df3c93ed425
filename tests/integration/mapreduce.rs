//! `jug::mapreduce`: map and reduce in fewer, bigger tasks, with the same answer as the
//! plain computation.

use crate::util::ExitCode;
use crate::util::TestDir;

fn sum_of_squares(n: i64) -> i64 {
    (0..n).map(|x| x * x).sum()
}

#[test]
fn grouped_map_and_tree_reduce_give_the_plain_answer() {
    let dir = TestDir::with_guest("mapreduce", "tasks.wasm");
    // 10 inputs, 3 per map task (4 tasks), 2 per reduce task (5 + 3 + 2 + 1), then negate.
    let graph = ["mapreduce", "10", "3", "2"];
    let count = dir
        .jug(&["count", "tasks.wasm"])
        .arg_words(&graph)
        .env("COLUMNS", "60")
        .run()
        .expect_code(ExitCode::Ok);
    assert!(count.stdout.contains("          11  tasks.add.reduce"), "{}", count.stdout);
    assert!(count.stdout.contains("           4  tasks.square.map"), "{}", count.stdout);
    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  16 tasks\nLoaded:  0 tasks\n** Total: 16 tasks.\n", "{}", run.stderr);
    let value = dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, format!("{}\n", -sum_of_squares(10)));

    // Other groupings, same answer; a map_step of 1 declares plain square tasks, as Jug does.
    let plain = dir.jug(&["count", "tasks.wasm", "--short"]).arg_words(&["mapreduce", "37", "1", "8"]).run();
    assert_eq!(plain.expect_code(ExitCode::Ok).stdout, "Count:  44 tasks\n** Total: 44 tasks.\n"); // 37 + 5 + 1 + 1
    for (map_step, reduce_step) in [("1", "8"), ("50", "2"), ("4", "100")] {
        let graph = ["mapreduce", "37", map_step, reduce_step];
        dir.jug(&["execute", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
        let value =
            dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
        assert_eq!(value.stdout, format!("{}\n", -sum_of_squares(37)), "steps {map_step}/{reduce_step}");
    }
}

#[test]
fn empty_input_declares_nothing() {
    let dir = TestDir::with_guest("mapreduce-empty", "tasks.wasm");
    let graph = ["mapreduce", "0", "3", "2"];
    let count =
        dir.jug(&["count", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(count.stdout, "Count:  0 tasks\n** Total: 0 tasks.\n");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
}
