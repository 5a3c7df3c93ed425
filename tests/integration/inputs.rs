//! File inputs (`jug::file`): the content's digest is in the key, the task reads exactly that
//! file through a read-only mount, and nothing outside the working directory can be named.

use crate::util::ExitCode;
use crate::util::TestDir;

#[test]
fn editing_an_input_file_reruns_exactly_its_readers() {
    let dir = TestDir::with_guest("file-input", "tasks.wasm");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/lines.txt"), "a\nb\nc\n").unwrap();
    let graph = ["file", "data/lines.txt"]; // line_count(file(..)), constant(1)
    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  2 tasks\nLoaded:  0 tasks\n** Total: 2 tasks.\n", "{}", run.stderr);
    let value =
        dir.jug(&["value", "tasks.wasm", "line_count"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "3\n");

    // Touching the file without changing it re-runs nothing; changing it re-runs its reader.
    std::fs::write(dir.join("data/lines.txt"), "a\nb\nc\n").unwrap();
    let same =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(same.stdout, "Executed:  0 tasks\nLoaded:  2 tasks\n** Total: 2 tasks.\n");
    std::fs::write(dir.join("data/lines.txt"), "a\nb\nc\nd\n").unwrap();
    let edited =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(edited.stdout, "Executed:  1 tasks\nLoaded:  1 tasks\n** Total: 2 tasks.\n");
    let value =
        dir.jug(&["value", "tasks.wasm", "line_count"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "4\n");
}

#[test]
fn a_task_sees_only_its_inputs_and_a_graph_only_the_working_directory() {
    let dir = TestDir::with_guest("file-escape", "tasks.wasm");
    std::fs::write(dir.join("lines.txt"), "one\n").unwrap();
    // A task that opens a path it was not given finds nothing there.
    let snoop = dir
        .jug(&["execute", "tasks.wasm", "--keep-going"])
        .arg_words(&["file", "lines.txt", "lines.txt"])
        .run();
    let snoop = snoop.expect_code(ExitCode::NotDone);
    assert!(
        snoop.stderr.contains("failed: cannot read lines.txt: No such file or directory"),
        "{}",
        snoop.stderr
    );

    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd-link")).unwrap();
    for (path, why) in [
        ("/etc/passwd", "is outside the working directory"),
        ("../file-escape-outside.txt", "is outside the working directory"),
        ("passwd-link", "goes through a symbolic link"),
        ("missing.txt", "does not exist"),
    ] {
        let run = dir.jug(&["execute", "tasks.wasm"]).arg_words(&["file", path]).run();
        let run = run.expect_one_line_error(ExitCode::BuildFailed, &format!("input file `{path}`"));
        assert!(run.stderr.contains(why), "{path}: expected `{why}` in {}", run.stderr);
    }
}
