//! Tasks of another component (`graph.declare-in`) and declared code identities: the
//! mechanisms mixed-language graphs rest on, exercised with Rust components.

use crate::util::ExitCode;
use crate::util::{TestDir, append_custom_section};

const GRAPH: [&str; 3] = ["library", "primes.wasm", "20"];

fn library_dir(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, "tasks.wasm");
    dir.copy_guest("primes.wasm", "primes.wasm");
    dir
}

#[test]
fn a_graph_runs_tasks_of_another_component_under_its_names() {
    let dir = library_dir("library-run");
    let status = dir
        .jug(&["status", "tasks.wasm"])
        .arg_words(&GRAPH)
        .env("COLUMNS", "120")
        .run()
        .expect_code(ExitCode::NotDone);
    let rows: Vec<&str> = status
        .stdout
        .lines()
        .filter(|l| l.contains("  primes.") || l.contains("  tasks."))
        .map(str::trim_end)
        .collect();
    assert_eq!(rows.len(), 4, "{}", status.stdout);
    assert!(
        rows[0].ends_with("primes.count_primes")
            && rows[0].contains(" 1           0           0           0  ")
    );
    assert!(rows[1].ends_with("primes.is_prime") && rows[1].contains(" 19 "), "{}", rows[1]);
    assert!(rows[2].ends_with("tasks.constant") && rows[3].ends_with("tasks.negate"), "{}", status.stdout);

    dir.jug(&["execute", "tasks.wasm"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    // 8 primes up to 20, counted by the library, negated by the graph's own task.
    let value = dir.jug(&["value", "tasks.wasm", "negate"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "-8\n");
    let flags =
        dir.jug(&["value", "tasks.wasm", "is_prime"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    // One value per task, in definition order: is 2, 3, 4, 5 prime?
    let first: Vec<&str> = flags.stdout.lines().take(4).collect();
    assert_eq!(first, ["true", "true", "false", "true"], "{}", flags.stdout);
}

#[test]
fn changing_the_library_reruns_its_tasks_and_their_dependents_only() {
    let dir = library_dir("library-change");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    append_custom_section(&dir.join("primes.wasm"), "jug-code-digest", b"sha256:a rebuilt library");
    let status =
        dir.jug(&["status", "tasks.wasm", "--json"]).arg_words(&GRAPH).run().expect_code(ExitCode::NotDone);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("status --json");
    let count = |name: &str, column: &str| json["tasks"][name][column].as_u64().unwrap_or(0);
    assert_eq!(count("primes.is_prime", "ready"), 19, "{}", status.stdout);
    assert_eq!(count("primes.count_primes", "waiting"), 1);
    assert_eq!(count("tasks.negate", "waiting"), 1);
    assert_eq!(count("tasks.constant", "complete"), 1, "a task of the graph's own code stays");
    // The library's 20 tasks run; negate, of the graph's own code, has a new key but the same
    // input value (the count), so its result is reused (early cutoff).
    let run =
        dir.jug(&["execute", "tasks.wasm", "--short"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        "Executed:  20 tasks\nLoaded:  2 tasks\n** Total: 22 tasks.\n1 result reused: their inputs' results were unchanged\n"
    );
}

#[test]
fn a_declared_code_digest_is_the_identity() {
    let dir = library_dir("declared-digest");
    append_custom_section(&dir.join("primes.wasm"), "jug-code-digest", b"sha256:release 1");
    dir.jug(&["execute", "tasks.wasm"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    // Different bytes, as a rebuild by componentize-py gives, but the same declaration:
    // nothing to run.
    dir.copy_guest("primes.wasm", "primes.wasm");
    append_custom_section(&dir.join("primes.wasm"), "build-noise", b"2026-11-26T05:00:00Z");
    append_custom_section(&dir.join("primes.wasm"), "jug-code-digest", b"sha256:release 1");
    let status =
        dir.jug(&["status", "tasks.wasm", "--short"]).arg_words(&GRAPH).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (22 tasks).\n");
}

#[test]
fn a_missing_or_foreign_library_is_a_one_line_build_error() {
    let dir = library_dir("library-missing");
    dir.jug(&["status", "tasks.wasm"])
        .arg_words(&["library", "stats.wasm", "5"])
        .run()
        .expect_one_line_error(
            ExitCode::BuildFailed,
            "cannot use the task component stats.wasm: library `stats.wasm` does not exist",
        );
    std::fs::write(dir.join("notes.wasm"), "not wasm").expect("write");
    dir.jug(&["execute", "tasks.wasm"])
        .arg_words(&["library", "notes.wasm", "5"])
        .run()
        .expect_one_line_error(ExitCode::BuildFailed, "notes.wasm is not a WebAssembly file");
    let mut twice = std::fs::read(dir.join("primes.wasm")).expect("read");
    twice.truncate(twice.len() / 2);
    std::fs::write(dir.join("half.wasm"), twice).expect("write");
    dir.jug(&["status", "tasks.wasm"])
        .arg_words(&["library", "half.wasm", "5"])
        .run()
        .expect_one_line_error(ExitCode::BuildFailed, "half.wasm is not a valid component");
    assert!(!dir.join("tasks.jugdata/results").exists(), "nothing was stored");
}
