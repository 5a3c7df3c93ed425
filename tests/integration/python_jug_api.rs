//! Jug's API beyond plain tasks in the Python SDK, as Jug scripts use it: compound tasks,
//! `CachedFunction`, `return_tuple`, `timed_path`, and `jug_execute`, which a sandbox cannot
//! run. One component, tests/fixtures/python/jug_api.py (one graph per word after `--`),
//! built once for all of them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::{ExitCode, Language, Run, TestDir, sdk_guest};

fn jug_api_dir(name: &str) -> TestDir {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let component: &Path =
        BUILT.get_or_init(|| sdk_guest(Language::Python, "tests/fixtures/python/jug_api.py"));
    let dir = TestDir::new(name);
    std::fs::copy(component, dir.join("jug_api.wasm")).expect("copy the component");
    dir
}

fn jug(dir: &TestDir, command: &str, words: &[&str]) -> Run {
    dir.jug(&[command, "jug_api.wasm", "--short"]).arg_words(words).run()
}

fn value(dir: &TestDir, name: &str, words: &[&str]) -> String {
    dir.jug(&["value", "jug_api.wasm", name]).arg_words(words).run().expect_code(ExitCode::Ok).stdout
}

fn summary(executed: usize, loaded: usize) -> String {
    format!("Executed:  {executed} tasks\nLoaded:  {loaded} tasks\n** Total: {} tasks.\n", executed + loaded)
}

#[test]
fn compound_tasks_replace_their_sub_graph_and_are_keyed_by_their_task_arguments() {
    let dir = jug_api_dir("python-jug-api-compound");
    // four = double(2); tadd(twice(four)) where twice returns (double(four), double(four));
    // double_after_barrier(four) stops at a barrier inside its sub-graph the first time.
    let graph = ["compound", "2"];
    assert_eq!(
        jug(&dir, "count", &graph).expect_code(ExitCode::Ok).stdout,
        "Count:  5 tasks\n** Total: 5 tasks.\n"
    );
    // double(2), double(four), the tuple (a jug.identity task), twice, tadd; then, past the
    // barrier, double(8) and double_after_barrier.
    let run = jug(&dir, "execute", &graph).expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, summary(7, 0), "{}", run.stderr);
    assert_eq!(value(&dir, "tadd", &graph), "16\n");
    assert_eq!(value(&dir, "twice", &graph), "[8,8]\n");
    assert_eq!(value(&dir, "double_after_barrier", &graph), "16\n");

    // Done: the sub-graphs are never declared again; the compound tasks stand for them.
    assert_eq!(jug(&dir, "execute", &graph).expect_code(ExitCode::Ok).stdout, summary(0, 4));
    let status = dir.jug(&["status", "jug_api.wasm"]).arg_words(&graph).env("COLUMNS", "100").run();
    let status = status.expect_code(ExitCode::Ok).stdout;
    let names =
        ["Task", "jug_api.double", "jug_api.double_after_barrier", "jug_api.tadd", "jug_api.twice", "Total"];
    assert_eq!(status.lines().filter_map(|line| line.split_whitespace().nth(5)).collect::<Vec<_>>(), names);

    // Another task argument is another compound task, with a sub-graph of its own...
    let other = ["compound", "3"];
    assert_eq!(jug(&dir, "execute", &other).expect_code(ExitCode::Ok).stdout, summary(7, 0));
    assert_eq!(value(&dir, "tadd", &other), "24\n");
    // ...and the first one's results are still there under their keys.
    assert_eq!(jug(&dir, "execute", &graph).expect_code(ExitCode::Ok).stdout, summary(0, 4));
}

#[test]
fn cached_function_is_a_value_of_the_graph_code_and_return_tuple_unpacks() {
    let dir = jug_api_dir("python-jug-api-values");
    // CachedFunction(count_to, 4) is a barrier until it ran: only it is declared at first.
    assert_eq!(
        jug(&dir, "count", &["cached"]).expect_code(ExitCode::Ok).stdout,
        "Count:  1 tasks\n** Total: 1 tasks.\n"
    );
    assert_eq!(jug(&dir, "execute", &["cached"]).expect_code(ExitCode::Ok).stdout, summary(6, 0));
    assert_eq!(value(&dir, "total", &["cached"]), "14\n"); // 0 + 1 + 4 + 9

    // evens, odds = split([1, 2, 3, 4, 5]): one task, two parts, each a task's input.
    assert_eq!(jug(&dir, "execute", &["tuple"]).expect_code(ExitCode::Ok).stdout, summary(3, 0));
    assert_eq!(value(&dir, "split", &["tuple"]), "[[1,3,5],[2,4]]\n");
    assert_eq!(value(&dir, "total", &["tuple"]), "9\n6\n");

    // The size return_tuple promises is checked when the task runs.
    let failed = jug(&dir, "execute", &["bad-tuple"]).expect_code(ExitCode::NotDone);
    assert!(
        failed.stderr.contains(
            "ValueError: three_of_two is declared with return_tuple(3), so it must return 3 values; it returned 2"
        ),
        "{}",
        failed.stderr
    );
}

#[test]
fn timed_path_reruns_exactly_the_tasks_of_a_file_whose_content_changed() {
    let dir = jug_api_dir("python-jug-api-timed");
    std::fs::write(dir.join("data.txt"), "a\nb\n").unwrap();
    assert_eq!(jug(&dir, "execute", &["timed"]).expect_code(ExitCode::Ok).stdout, summary(2, 0));
    assert_eq!(value(&dir, "line_count", &["timed"]), "2\n");
    std::fs::write(dir.join("data.txt"), "a\nb\nc\n").unwrap();
    assert_eq!(jug(&dir, "execute", &["timed"]).expect_code(ExitCode::Ok).stdout, summary(1, 1));
    assert_eq!(value(&dir, "line_count", &["timed"]), "3\n");
    // Jug's timed_path would re-run on a new mtime; the content digest does not.
    std::fs::write(dir.join("data.txt"), "a\nb\nc\n").unwrap();
    assert_eq!(jug(&dir, "execute", &["timed"]).expect_code(ExitCode::Ok).stdout, summary(0, 2));
}

#[test]
fn jug_execute_fails_the_build_with_one_line_saying_what_to_do() {
    let dir = jug_api_dir("python-jug-api-execute");
    for command in ["execute", "status"] {
        let run = jug(&dir, command, &["execute"]).expect_one_line_error(
            ExitCode::BuildFailed,
            "jug-host: the graph builder of jug_api.wasm failed: jug.utils.jug_execute runs a program outside \
             the sandbox, which a jug-host task cannot; write that step as a Python task function",
        );
        assert!(run.stderr.trim_end().ends_with("(jug_api.py, line 96)"), "{}", run.stderr);
    }
}
