//! Per-task code identity of Rust graphs (`cargo jug build`): a task is keyed by the variant
//! of the component that holds exactly the code its function can run, so an edit re-runs the
//! tasks of the functions that can reach the edited code, and nothing else.

use crate::rust_crate::RustCrate;
use crate::util::ExitCode;
use crate::util::{Run, TestDir};

/// `execute --short`'s counts: (executed, loaded).
fn counts(run: &Run) -> (u64, u64) {
    let count = |title: &str| {
        let line = run.stdout.lines().find(|l| l.starts_with(title)).unwrap_or_else(|| panic!("{run:?}"));
        line[title.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    (count("Executed:"), count("Loaded:"))
}

/// How many results the run reused (early cutoff).
fn reused(run: &Run) -> u64 {
    let line = run.stdout.lines().find(|l| l.contains(" reused: their inputs' results were unchanged"));
    line.map_or(0, |l| l.split_whitespace().next().unwrap().parse().unwrap())
}

fn execute(dir: &TestDir, graph: &str, words: &[&str]) -> Run {
    dir.jug(&["execute", graph, "--short"]).arg_words(words).run().expect_code(ExitCode::Ok)
}

fn status(dir: &TestDir, graph: &str, words: &[&str]) -> String {
    dir.jug(&["status", graph, "--short"]).arg_words(words).run().stdout
}

#[test]
fn editing_one_primes_function_reruns_its_tasks_only() {
    let mut primes = RustCrate::primes("per-task-primes");
    let said = primes.build_per_task();
    assert!(
        said.contains("(4 task functions, each with its own variant: count_primes, is_prime, jug.identity, write_output)"),
        "{said}"
    );
    let n = ["10000"];
    let all_complete = "All tasks complete (10001 tasks).\n";
    assert_eq!(counts(&execute(&primes.dir, "primes.wasm", &n)), (10_001, 0));

    // Jug's demo edit, a typo fixed in write_output's message: write_output alone re-runs.
    primes.edit("primes <= {limit}", "primes up to {limit}");
    primes.build_per_task();
    assert_eq!(
        status(&primes.dir, "primes.wasm", &n),
        "1 tasks waiting to be run, 0 failed, 10000 complete, (none active).\n"
    );
    let explain = primes.dir.jug(&["status", "primes.wasm", "--explain", "write_output"]).arg_words(&n).run();
    assert!(explain.stdout.contains(": the code of primes.write_output changed"), "{explain:?}");
    let run = execute(&primes.dir, "primes.wasm", &n);
    assert_eq!((counts(&run), reused(&run)), ((1, 10_000), 0), "{run:?}");

    // count_primes counted another way: its task and write_output's have new keys; the count
    // is the same, so write_output's result is reused, not run.
    primes.edit(
        "flags.into_iter().filter(|&is_prime| is_prime).count() as u64",
        "flags.iter().filter(|p| **p).count() as u64",
    );
    primes.build_per_task();
    assert_eq!(
        status(&primes.dir, "primes.wasm", &n),
        "2 tasks waiting to be run, 0 failed, 9999 complete, (none active).\n"
    );
    let run = execute(&primes.dir, "primes.wasm", &n);
    assert_eq!((counts(&run), reused(&run)), ((1, 10_000), 1), "{run:?}");

    // is_prime by another algorithm with the same answers: its 9,999 tasks run, and the two
    // after them are reused.
    primes.edit(
        "n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)",
        "n == 2 || (n > 2 && n % 2 == 1 && (3..).step_by(2).take_while(|d| d * d <= n).all(|d| n % d != 0))",
    );
    primes.build_per_task();
    let run = execute(&primes.dir, "primes.wasm", &n);
    assert_eq!((counts(&run), reused(&run)), ((9_999, 2), 2), "{run:?}");
    let sentence = primes.dir.jug(&["value", "primes.wasm", "write_output"]).arg_words(&n).run();
    assert_eq!(sentence.expect_code(ExitCode::Ok).stdout, "\"Found 1229 primes up to 10000.\\n\"\n");

    // Rebuilding the same sources changes no key: touched, cleaned, or in another directory.
    primes.edit("fn is_prime", "fn is_prime");
    primes.build_per_task();
    assert_eq!(status(&primes.dir, "primes.wasm", &n), all_complete, "touched");
    primes.clean();
    primes.build_per_task();
    assert_eq!(status(&primes.dir, "primes.wasm", &n), all_complete, "cleaned");
    primes.move_to("elsewhere");
    primes.build_per_task();
    assert_eq!(status(&primes.dir, "primes.wasm", &n), all_complete, "another directory");
}

/// Three task functions: `first` and `second` share a helper (`second` through a trait
/// object), `third` has one of its own, and `fourth` calls a crate of its own.
const HELPERS: &str = r#"
fn shared(x: u64) -> u64 {
    x * 3
}

fn own(x: u64) -> u64 {
    x + 7
}

trait Scale {
    fn scale(&self, x: u64) -> u64;
}

struct Shared;

impl Scale for Shared {
    fn scale(&self, x: u64) -> u64 {
        shared(x)
    }
}

#[jug::task]
fn first(x: u64) -> u64 {
    shared(x) + 1
}

#[jug::task]
fn second(x: u64) -> u64 {
    let scale: Box<dyn Scale> = Box::new(Shared);
    scale.scale(x) * 2
}

#[jug::task]
fn third(x: u64) -> u64 {
    own(x)
}

#[jug::task]
fn fourth(x: u64) -> String {
    helper_crate::describe(x)
}

fn graph(args: &[String]) -> jug::Result {
    let n: u64 = args.first().map_or(Ok(3), |n| n.parse())?;
    for x in 0..n {
        first(x);
        second(x);
        third(x);
        fourth(x);
    }
    Ok(())
}

jug::export!(graph, [first, second, third, fourth]);
"#;

const HELPER_CRATE: &str = "pub fn describe(x: u64) -> String {\n    format!(\"x = {x}\")\n}\n";

#[test]
fn editing_a_helper_reruns_exactly_the_functions_that_can_call_it() {
    let graph = RustCrate::new(
        "per-task-helpers",
        "helpers",
        HELPERS,
        "helper_crate = { path = \"helper_crate\", version = \"0.1.0\" }\n",
    );
    graph.write(
        "helper_crate/Cargo.toml",
        "[package]\nname = \"helper_crate\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    graph.write("helper_crate/src/lib.rs", HELPER_CRATE);
    graph.build_per_task();
    let dir = &graph.dir;
    let value = |name: &str| dir.jug(&["value", "helpers.wasm", name]).run().expect_code(ExitCode::Ok).stdout;
    assert_eq!(counts(&execute(dir, "helpers.wasm", &[])), (12, 0));
    assert_eq!(value("second"), "0\n6\n12\n");

    // The helper of first and second (second reaches it through a trait object).
    graph.edit("x * 3", "x * 5");
    graph.build_per_task();
    assert_eq!(counts(&execute(dir, "helpers.wasm", &[])), (6, 6));
    assert_eq!((value("first"), value("second")), ("1\n6\n11\n".into(), "0\n10\n20\n".into()));

    // third's own helper.
    graph.edit("x + 7", "x + 8");
    graph.build_per_task();
    assert_eq!(counts(&execute(dir, "helpers.wasm", &[])), (3, 9));
    assert_eq!(value("third"), "8\n9\n10\n");

    // A new version of the crate fourth calls: fourth re-runs, nothing else.
    graph.write("helper_crate/src/lib.rs", &HELPER_CRATE.replace("x = {x}", "x is {x}"));
    graph.edit_file("helper_crate/Cargo.toml", "0.1.0", "0.2.0");
    graph.edit_file("Cargo.toml", "version = \"0.1.0\" }", "version = \"0.2.0\" }");
    graph.build_per_task();
    assert_eq!(counts(&execute(dir, "helpers.wasm", &[])), (3, 9));
    assert_eq!(value("fourth"), "\"x is 0\"\n\"x is 1\"\n\"x is 2\"\n");

    // The builder declares one x more: that x's four tasks run, the rest are loaded.
    graph.edit("map_or(Ok(3)", "map_or(Ok(4)");
    graph.build_per_task();
    assert_eq!(counts(&execute(dir, "helpers.wasm", &[])), (4, 12));
}

/// Plain `cargo build` still gives a working component, with one identity for all of it: an
/// edit to one function gives every task a new key.
#[test]
fn a_plain_cargo_build_keys_every_task_by_the_whole_component() {
    let graph = RustCrate::primes("per-task-plain");
    graph.build();
    let dir = &graph.dir;
    assert_eq!(counts(&execute(dir, "primes.wasm", &[])), (101, 0));
    graph.edit("primes <= {limit}", "primes up to {limit}");
    graph.build();
    assert_eq!(counts(&execute(dir, "primes.wasm", &[])), (101, 0));
    // Built per task, the keys are the variants': every task runs once more, then edits
    // re-run only what they reach.
    graph.build_per_task();
    assert_eq!(counts(&execute(dir, "primes.wasm", &[])), (101, 0));
    let value = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(value.stdout, "\"Found 25 primes up to 100.\\n\"\n");
}

/// A library built per task (here primes, whose tasks a `tasks.wasm` graph declares with
/// `declare-in`) is keyed per function as well: an edit to a function the graph does not use
/// changes nothing, and one to count_primes re-runs it alone.
#[test]
fn a_library_built_per_task_is_keyed_per_function_too() {
    let library = RustCrate::primes("per-task-library");
    library.build_per_task();
    let dir = &library.dir;
    dir.copy_guest("tasks.wasm", "tasks.wasm");
    let graph = ["library", "primes.wasm", "20"];
    assert_eq!(counts(&execute(dir, "tasks.wasm", &graph)), (22, 0));
    library.edit("primes <= {limit}", "primes up to {limit}");
    library.build_per_task();
    assert_eq!(status(dir, "tasks.wasm", &graph), "All tasks complete (22 tasks).\n");
    library.edit(
        "flags.into_iter().filter(|&is_prime| is_prime).count() as u64",
        "flags.iter().filter(|p| **p).count() as u64",
    );
    library.build_per_task();
    let run = execute(dir, "tasks.wasm", &graph);
    assert_eq!((counts(&run), reused(&run)), ((1, 21), 1), "{run:?}");
}

/// What a task is keyed by is what it runs in, and the host, not the component, says what
/// that is: a declared digest cannot give a function another identity, a task runs in its
/// function's variant (here, a variant of another function, which cannot run it), and a
/// variant that is not a component is refused with the rest of the component.
#[test]
fn a_task_runs_in_the_variant_its_key_names() {
    let primes = RustCrate::primes("per-task-variants");
    primes.build_per_task();
    let dir = &primes.dir;
    let graph = dir.join("primes.wasm");
    assert_eq!(counts(&execute(dir, "primes.wasm", &[])), (101, 0));
    // `verify` runs each task again, in its variant, and gets the same bytes.
    dir.jug(&["verify", "primes.wasm"]).run().expect_code(ExitCode::Ok);

    // A forged claim beside the variants: is_prime's identity stays its variant's. (The
    // component's own identity changes with any section, and no task is keyed by it.)
    crate::util::append_custom_section(&graph, "jug-function-digests", br#"{"is_prime": "forged"}"#);
    assert_eq!(status(dir, "primes.wasm", &[]), "All tasks complete (101 tasks).\n");

    // write_output's variant swapped for is_prime's: a new identity for write_output, and its
    // task runs in that variant, which has no write_output.
    let variant = |name: &str| {
        let sections = crate::util::custom_sections(&graph);
        sections.into_iter().find(|(n, _)| n == &format!("jug-variant:{name}")).expect("a variant").1
    };
    let is_prime = variant("is_prime");
    crate::util::replace_custom_section(&graph, "jug-variant:write_output", Some(&is_prime));
    assert_eq!(
        status(dir, "primes.wasm", &[]),
        "1 tasks waiting to be run, 0 failed, 100 complete, (none active).\n"
    );
    let run = dir.jug(&["execute", "primes.wasm", "--keep-going"]).run();
    assert!(run.stderr.contains("this component has no task function `write_output`"), "{run:?}");

    // Not a component: the graph is refused as malformed, naming the variant.
    crate::util::replace_custom_section(&graph, "jug-variant:write_output", Some(b"not wasm"));
    let refused = dir.jug(&["status", "primes.wasm"]).run();
    refused.expect_one_line_error(ExitCode::BadGraph, "the variant of `write_output` is not a component");
}

#[test]
fn cargo_jug_refuses_what_it_cannot_build() {
    let primes = RustCrate::primes("per-task-usage");
    let refused = |args: &[&str], needle: &str| {
        let run = primes.dir.command(crate::rust_crate::cargo_jug(), args).run().expect_status(2);
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(run.stderr.starts_with("cargo jug: ") && run.stderr.contains(needle), "{run:?}");
    };
    refused(&["jug", "build", "--target", "wasm32-unknown-unknown"], "always built for wasm32-wasip2");
    refused(&["jug", "build", "--jobs", "0"], "`--jobs` takes a positive number, not `0`");
    refused(&["jug", "publish"], "unknown command `publish`");
}
