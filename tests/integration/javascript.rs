//! The JavaScript SDK (guest-sdk/js): graphs written in JavaScript and built by `jug-js` into
//! components behave like the Rust graphs they mirror — same status tables, same values, same
//! CBOR bytes — and their keys follow the code, not the build.
//!
//! componentize-js takes 5–30 s per build, so the tests share few components: the examples'
//! primes.js and the fixture tests/fixtures/js/features.js (its graphs are chosen by the words
//! after `--`), built once into target/guests/js/ and skipped while their digest is current.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::ExitCode;
use crate::util::{Language, Run, TestDir, guest, guest_target_dir, sdk_guest, workspace};

const FEATURES: &str = "tests/fixtures/js/features.js";

/// A test directory holding the component built from `source` as `as_name`.
fn js_dir(name: &str, source: &str, as_name: &str) -> TestDir {
    let dir = TestDir::new(name);
    std::fs::copy(sdk_guest(Language::JavaScript, source), dir.join(as_name)).expect("copy component");
    dir
}

fn features_dir(name: &str) -> TestDir {
    js_dir(name, FEATURES, "features.wasm")
}

/// `jug-js ARGS…` in `dir`.
pub(crate) fn jug_js(dir: &Path, args: &[&str]) -> Run {
    let tool = std::env::var_os("JUG_JS").unwrap_or_else(|| {
        panic!("JUG_JS is not set: run the tests with scripts/test, which installs the SDKs")
    });
    let output = Command::new(&tool).current_dir(dir).args(args).output().expect("jug-js runs");
    Run::from(output)
}

/// The stored CBOR of every task named `name` (definition order), graph words after `--`.
fn stored(dir: &TestDir, graph: &str, name: &str, words: &[&str]) -> Vec<String> {
    let run = dir.jug(&["value", graph, name, "--json"]).arg_words(words).run().expect_code(ExitCode::Ok);
    let values: serde_json::Value = serde_json::from_str(&run.stdout).expect("value --json");
    let store = graph.replace(".wasm", ".jugdata");
    values
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| {
            let key = v["key"].as_str().expect("a key");
            let stored = dir.stored(&store);
            stored[key].iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect()
}

fn value(dir: &TestDir, graph: &str, name: &str, words: &[&str]) -> String {
    dir.jug(&["value", graph, name]).arg_words(words).run().expect_code(ExitCode::Ok).stdout
}

/// The 1-based line of the fixture that contains `marker`.
fn fixture_line(marker: &str) -> usize {
    let text = std::fs::read_to_string(workspace().join(FEATURES)).expect("fixture");
    text.lines().position(|l| l.contains(marker)).expect("marker in the fixture") + 1
}

#[test]
fn primes_js_is_the_rust_primes_graph() {
    let rust = TestDir::with_guest("js-primes-rust", "primes.wasm");
    let js = js_dir("js-primes", "examples/primes/primes.js", "primes.wasm");

    let before =
        |dir: &TestDir| dir.jug(&["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone).stdout;
    assert_eq!(before(&js), before(&rust));
    assert!(before(&js).contains("          99           0           0  primes.is_prime"), "{}", before(&js));

    let executed =
        |dir: &TestDir| dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok).stdout;
    assert_eq!(executed(&js), executed(&rust));
    let after = |dir: &TestDir| dir.jug(&["status", "primes.wasm"]).run().expect_code(ExitCode::Ok).stdout;
    assert_eq!(after(&js), after(&rust));

    assert_eq!(value(&js, "primes.wasm", "write_output", &[]), "\"Found 25 primes <= 100.\\n\"\n");
    for name in ["write_output", "count_primes", "is_prime"] {
        assert_eq!(value(&js, "primes.wasm", name, &[]), value(&rust, "primes.wasm", name, &[]), "{name}");
    }
    // The same values are the same bytes: count_primes is the integer 25, not a float.
    assert_eq!(stored(&js, "primes.wasm", "count_primes", &[]), ["1819"]);
    assert_eq!(
        stored(&js, "primes.wasm", "write_output", &[]),
        stored(&rust, "primes.wasm", "write_output", &[])
    );

    // Graph arguments reach graph(args); its errors are one-line build errors.
    let status = js
        .jug(&["status", "primes.wasm", "--short"])
        .arg_words(&["1000"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "902 tasks waiting to be run, 0 failed, 99 complete, (none active).\n");
    js.jug(&["status", "primes.wasm"])
        .arg_words(&["ten"])
        .run()
        .expect_one_line_error(ExitCode::BuildFailed, "expected a number N, got `ten`");
}

#[test]
fn tasklets_mapreduce_identity_and_wrappers() {
    let dir = features_dir("js-basics");
    let count = dir.jug(&["count", "features.wasm"]).run().expect_code(ExitCode::Ok).stdout;
    let counts: Vec<(String, String)> = count
        .lines()
        .filter_map(|line| match line.split_whitespace().collect::<Vec<_>>()[..] {
            [n, name] if name.starts_with("features.") => Some((name.to_owned(), n.to_owned())),
            _ => None,
        })
        .collect();
    let count_of = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| c.as_str());
    // 10 inputs, 3 per map task (4 tasks), 2 per reduce task (5 + 3 + 2 + 1); the curried map
    // of 3 inputs, 2 per task; a map step of 1 declares plain tasks.
    for (name, expected) in [
        ("features.add.reduce", "11"),
        ("features.square.map", "4"),
        ("features.scaled.map", "2"),
        ("features.square", "4"),
        ("features.negate", "7"),
        ("features.jug.identity", "1"),
        ("features.pipeline", "1"),
        ("features.triple", "1"),
    ] {
        assert_eq!(count_of(name), Some(expected), "{name} in\n{count}");
    }
    let run = dir.jug(&["execute", "features.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  42 tasks\nLoaded:  0 tasks\n** Total: 42 tasks.\n", "{}", run.stderr);

    // sum(evens), sum(odds), sum([summary.count, 100, 5]), sum(currymap), sum(plain map); the
    // compound task's sum of squares left the graph once the compound task had its result.
    assert_eq!(value(&dir, "features.wasm", "sum", &[]), "20\n25\n109\n44\n-3\n");
    // evens[2], odds[0], summary.total, the mapreduce total, the plain map, task(negate, 6).
    assert_eq!(value(&dir, "features.wasm", "negate", &[]), "-4\n-1\n-10\n-285\n-1\n-2\n-6\n");
    assert_eq!(value(&dir, "features.wasm", "summarize", &[]), "{\"count\":4,\"total\":10}\n");
    assert_eq!(value(&dir, "features.wasm", "jug.identity", &[]), "[1,2,3]\n");
    assert_eq!(value(&dir, "features.wasm", "triple", &[]), "12\n");
    assert_eq!(value(&dir, "features.wasm", "scaled", &[]), "14\n15\n");
    assert_eq!(value(&dir, "features.wasm", "pipeline", &[]), "14\n");
    assert_eq!(value(&dir, "features.wasm", "square.map", &[]), "[0,1,4]\n[9,16,25]\n[36,49,64]\n[81]\n");

    // Again: nothing runs, and the compound task stands alone for its sub-graph (4 squares and
    // a sum).
    let again = dir.jug(&["execute", "features.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  37 tasks\n** Total: 37 tasks.\n");
}

#[test]
fn a_chain_declared_in_batches_has_the_keys_of_one_declared_task_by_task() {
    let dir = features_dir("js-chain");
    let words = ["chain", "300"];
    let run = dir.jug(&["execute", "features.wasm", "--short"]).arg_words(&words).run();
    assert_eq!(
        run.expect_code(ExitCode::Ok).stdout,
        "Executed:  304 tasks\nLoaded:  0 tasks\n** Total: 304 tasks.\n"
    );
    assert_eq!(value(&dir, "features.wasm", "negate", &words), "-600\n");
    // The same graph with every task's key read as it is declared, so that every reference
    // goes by key: the same keys, so all of it is complete already.
    let keyed = dir.jug(&["status", "features.wasm", "--short", "--", "chain", "300", "keyed"]).run();
    assert_eq!(keyed.expect_code(ExitCode::Ok).stdout, "All tasks complete (304 tasks).\n");
}

#[test]
fn values_round_trip_through_cbor_byte_for_byte() {
    let dir = features_dir("js-values");
    let words = ["values"];
    dir.jug(&["execute", "features.wasm"]).arg_words(&words).run().expect_code(ExitCode::Ok);

    let echoed = value(&dir, "features.wasm", "echo", &words);
    let mut lines = echoed.lines();
    let sample: serde_json::Value = serde_json::from_str(lines.next().expect("echo(SAMPLE)")).expect("json");
    let expected = serde_json::json!({
        "__proto__": "an ordinary key",
        "big": [i64::MAX, i64::MIN, u64::MAX],
        "bools": [true, false],
        "bytes": "AAH+/w==",
        "floats": [0.5, 1.5, -2.75, 0.1, std::f64::consts::PI, 1e300, -1e-300, 65504.5, 1.0 / 3.0],
        "ints": [0, 1, -1, 23, 24, -24, -25, 255, 256, -257, 65536, 4294967296u64, 9007199254740991i64, -9007199254740991i64],
        "nested": {"a": [1, [2, [3, {"b": "", "c": null}]]], "f": false, "t": true},
        "null": null,
        "strings": ["", "jug", "naïve café", "日本語", "emoji 🎉", "tab\tnew\nline"],
    });
    assert_eq!(sample, expected);
    assert_eq!(lines.next(), Some("{\"got\":{\"a\":1,\"b\":[1.5,2]},\"n\":1}"));

    // What the graph encoded (identity keeps the argument's bytes) is what the task decoded
    // and encoded again.
    let identity = stored(&dir, "features.wasm", "jug.identity", &words);
    let echo = stored(&dir, "features.wasm", "echo", &words);
    assert_eq!(echo[0], identity[0]);
    // The bytes the Rust and Python SDKs write for this value.
    assert_eq!(echo[1], "a2616e0163676f74a2616101616282f93e0002");
    // NaN, ±Infinity as half floats; -0 is the integer 0; 2^53 and 2^64 (Numbers beyond the
    // safe integers) as the shortest floats; 1e300 as a double; BigInts as 64-bit integers.
    assert_eq!(
        stored(&dir, "features.wasm", "specials", &words),
        ["89f97e00f97c00f9fc0000fa5a000000fa5f800000fb7e37e43c8800759c1bffffffffffffffff3bffffffffffffffff"]
    );
    // A task that returns nothing returns null.
    assert_eq!(stored(&dir, "features.wasm", "nothing", &words), ["f6"]);

    // The types the task saw.
    let kinds: serde_json::Value =
        serde_json::from_str(&value(&dir, "features.wasm", "kinds", &words)).expect("json");
    assert_eq!(kinds["big"], serde_json::json!(["bigint", "bigint", "bigint"]));
    assert_eq!(kinds["ints"][13], "number");
    assert_eq!(kinds["bytes"], "Uint8Array");
    assert_eq!(kinds["null"], "null");
    assert_eq!(kinds["nested"]["a"][1][1][1], serde_json::json!({"b": "Uint8Array", "c": "null"}));
    assert_eq!(kinds["__proto__"], "string");
}

#[test]
fn bvalue_and_barrier_build_the_graph_in_rounds() {
    let dir = features_dir("js-dynamic");
    let words = ["dynamic", "4"];
    let status = dir.jug(&["status", "features.wasm"]).arg_words(&words).run().expect_code(ExitCode::NotDone);
    assert!(status.stdout.contains("The graph builder stopped at a barrier"), "{}", status.stdout);
    assert!(status.stdout.contains("           0           0           1           0           0  Total"));

    // constant(4); then negate(0..4); a barrier; then sum and even_odd(4); then add(2, 2).
    let run =
        dir.jug(&["execute", "features.wasm", "--short"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  8 tasks\nLoaded:  0 tasks\n** Total: 8 tasks.\n", "{}", run.stderr);
    assert_eq!(value(&dir, "features.wasm", "negate", &words), "0\n-1\n-2\n-3\n");
    assert_eq!(value(&dir, "features.wasm", "sum", &words), "-6\n");
    assert_eq!(value(&dir, "features.wasm", "add", &words), "4\n");
    let done =
        dir.jug(&["status", "features.wasm", "--short"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(done.stdout, "All tasks complete (8 tasks).\n");
}

#[test]
fn tasks_with_limits_of_their_own() {
    let dir = features_dir("js-limits");
    let run = dir.jug(&["execute", "features.wasm", "--keep-going", "--keep-failed", "--short"]);
    let run = run.arg_words(&["limits"]).run().expect_code(ExitCode::NotDone);
    // Only constant(7), which has no limits of its own, completed.
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  0 tasks\n** Total: 1 tasks.\n", "{}", run.stderr);
    assert_eq!(value(&dir, "features.wasm", "constant", &["limits"]), "7\n");
    // The same failures as the Python fixture's `limits` graph: timeoutMs, fuel and maxMemory
    // reached the host as the WIT record's fields.
    crate::python::expect_own_limits_hit(&dir, &run.stderr);
}

#[test]
fn tasks_of_a_rust_component() {
    let dir = features_dir("js-library");
    std::fs::copy(guest("primes.wasm"), dir.join("primes.wasm")).expect("copy primes.wasm");
    let words = ["library", "30"];
    let run = dir.jug(&["execute", "features.wasm"]).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert!(run.stdout.contains("          29           0  primes.is_prime"), "{}", run.stdout);
    assert!(run.stdout.contains("           1           0  primes.count_primes"), "{}", run.stdout);
    assert_eq!(value(&dir, "features.wasm", "negate", &words), "-10\n");
    // The Rust tasks are the very tasks the Rust primes graph declares (the same keys): only
    // its write_output is left to run.
    let primes = dir
        .jug(&["execute", "primes.wasm", "--short", "--store", "features.jugdata"])
        .arg_words(&["30"])
        .run();
    assert_eq!(
        primes.expect_code(ExitCode::Ok).stdout,
        "Executed:  1 tasks\nLoaded:  30 tasks\n** Total: 31 tasks.\n"
    );
}

#[test]
fn directories_granted_to_one_task() {
    let dir = crate::python::with_grantable_dirs(features_dir("js-directories"));
    std::fs::copy(guest("tasks.wasm"), dir.join("tasks.wasm")).expect("copy tasks.wasm");
    let words = ["directories"];
    // The writable grant of `out` needs the user's `--allow-write out`, on every command.
    let run =
        dir.jug(&["execute", "features.wasm", "--short", "--allow-write", "out"]).arg_words(&words).run();
    let run = run.expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  3 tasks\nLoaded:  0 tasks\n** Total: 3 tasks.\n", "{}", run.stderr);
    // A JS task gets the guest path as a string; the Rust tasks read data/in.txt through it and
    // wrote out/out.txt through the read-write grant, at /results.
    let value = |name: &str| {
        let command = ["value", "features.wasm", name, "--allow-write", "out"];
        dir.jug(&command).arg_words(&words).run().expect_code(ExitCode::Ok).stdout
    };
    assert_eq!(value("echo"), "\"/data\"\n");
    assert_eq!(value("tasks.read_in"), "12\n");
    assert_eq!(value("tasks.write_in"), "\"/results/out.txt\"\n");
    let written = std::fs::read_to_string(dir.join("out/out.txt")).expect("out/out.txt on the host");
    assert_eq!(written, "from a task");

    // Neither writing through a read-only grant nor reading /data/../secret.txt works.
    let words = ["directory-escape"];
    let run = dir
        .jug(&["execute", "features.wasm", "--keep-going"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::NotDone);
    let failed = |message: &str| run.stderr.lines().any(|l| l.contains(" failed: ") && l.contains(message));
    assert!(failed("cannot write /data/new.txt"), "{}", run.stderr);
    assert!(failed("cannot read /data/../secret.txt"), "{}", run.stderr);
    assert!(!dir.join("data/new.txt").exists());
}

#[test]
fn a_throwing_task_fails_with_its_message_and_logs_its_stack() {
    let dir = features_dir("js-fail");
    let run = dir
        .jug(&["execute", "features.wasm", "--keep-going"])
        .arg_words(&["fail"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(run.stderr.contains("task features.explode (key "), "{}", run.stderr);
    assert!(run.stderr.contains("failed: RangeError: no positive numbers, got 1\n"), "{}", run.stderr);
    assert!(
        run.stderr.contains("the result of unencodable is a Date: only null, booleans, numbers"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("           1           0  features.constant"), "{}", run.stdout);

    let logs = dir.files_under("features.jugdata/logs");
    let texts: Vec<String> = logs
        .iter()
        .map(|f| std::fs::read_to_string(dir.join("features.jugdata/logs").join(f)).expect("log"))
        .collect();
    let log = texts.iter().find(|t| t.contains("RangeError")).unwrap_or_else(|| panic!("{texts:?}"));
    // The stack, in the script's own lines (through the source map jug-js embeds), with the
    // functions' own names.
    let throw_line = fixture_line("explode's error");
    let call_line = fixture_line("return checkInput(x);");
    assert!(log.starts_with("RangeError: no positive numbers, got 1\n"), "{log}");
    assert!(log.contains(&format!("    at checkInput (features.js:{throw_line}:")), "{log}");
    assert!(log.contains(&format!("    at explode (features.js:{call_line}:")), "{log}");
    assert!(!log.contains("jug-sdk/"), "{log}");
}

#[test]
fn graph_builder_errors_are_one_line() {
    let dir = features_dir("js-build-errors");
    let status = |words: &[&str]| dir.jug(&["status", "features.wasm"]).arg_words(words).run();
    status(&["mistake", "plain"])
        .expect_one_line_error(ExitCode::BuildFailed, ": a plain error, reported by its message");
    let line = fixture_line("undefined.property");
    let type_error = status(&["mistake", "type"])
        .expect_one_line_error(ExitCode::BuildFailed, &format!(", at mistake (features.js:{line}:"));
    assert!(type_error.stderr.contains("failed: TypeError: "), "{}", type_error.stderr);
    status(&["mistake", "encode"]).expect_one_line_error(
        ExitCode::BuildFailed,
        "argument 1 of constant is a Map with a key that is not a string (1)",
    );
    status(&["mistake", "generator"]).expect_one_line_error(
        ExitCode::BuildFailed,
        "argument 1 of constant is the task function constant; call it to declare a task",
    );
    status(&["nosuch"]).expect_one_line_error(ExitCode::BuildFailed, "unknown graph \"nosuch\"");
}

/// A copy of examples/primes/primes.js with `edit` applied, in its own directory under
/// target/guests/js/ (so its build is skipped while it is current, like the others).
fn edited_primes(dir_name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let original = std::fs::read_to_string(workspace().join("examples/primes/primes.js")).expect("primes.js");
    let dir = guest_target_dir().join("js").join(dir_name);
    std::fs::create_dir_all(&dir).expect("create dir");
    let source = dir.join("primes.js");
    let text = edit(&original);
    assert_ne!(text, original, "the edit changed nothing");
    if std::fs::read_to_string(&source).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&source, text).expect("write the edited script");
    }
    source
}

#[test]
fn keys_follow_the_code_not_the_build() {
    let dir = js_dir("js-rebuild", "examples/primes/primes.js", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let source = workspace().join("examples/primes/primes.js");
    let source = source.to_str().expect("a UTF-8 path");

    // Unchanged source: nothing to do, the file is left alone.
    let modified = std::fs::metadata(dir.join("primes.wasm")).and_then(|m| m.modified()).expect("mtime");
    let skipped = jug_js(&dir.path, &["build", source, "-o", "primes.wasm"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(skipped.stderr, "jug-js: primes.wasm is up to date\n");
    assert_eq!(
        std::fs::metadata(dir.join("primes.wasm")).and_then(|m| m.modified()).expect("mtime"),
        modified
    );

    // Componentized again: other bytes (componentize-js is not reproducible), same digest,
    // same keys, so every result still counts.
    let before = std::fs::read(dir.join("primes.wasm")).expect("read");
    let forced = jug_js(&dir.path, &["build", "--force", source, "-o", "primes.wasm"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(forced.stderr.contains("jug-js: built primes.wasm"), "{}", forced.stderr);
    let after = std::fs::read(dir.join("primes.wasm")).expect("read");
    let digest = |bytes: &[u8]| bytes[bytes.len() - 71..].to_vec(); // sha256:<64 hex>
    assert!(digest(&before).starts_with(b"sha256:"), "no digest at the end of the component");
    assert_eq!(digest(&after), digest(&before));
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");

    // An edited function is other code: its tasks get new keys, and only its tasks (each task
    // function has an identity of its own, over the bundle: see function-digests.mjs).
    let edited = edited_primes("edited", |text| text.replace("`Found ${n} primes", "`There are ${n} primes"));
    let built = sdk_built(&edited);
    // Built away from the SDK, and nothing in it says where the SDK was: esbuild's module
    // paths are named as two checkouts agree on (`jug-sdk/...`), and the digest covers them.
    let bytes = std::fs::read(&built).expect("read");
    let sdk_path = b"guest-sdk/js/";
    assert!(!bytes.windows(sdk_path.len()).any(|w| w == sdk_path), "the component names the SDK's path");
    std::fs::copy(built, dir.join("primes.wasm")).expect("copy");
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 0 failed, 100 complete, (none active).\n");
    let explain =
        dir.jug(&["status", "primes.wasm", "--explain", "write_output"]).run().expect_code(ExitCode::NotDone);
    assert!(explain.stdout.contains(": the code of primes.write_output changed"), "{explain:?}");
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  100 tasks\n** Total: 101 tasks.\n");
    assert_eq!(value(&dir, "primes.wasm", "write_output", &[]), "\"There are 25 primes <= 100.\\n\"\n");

    // is_prime by another loop with the same answers: its 99 tasks run, and the two after
    // them are reused (early cutoff).
    let rewritten = edited_primes("rewritten", |text| {
        text.replace("`Found ${n} primes", "`There are ${n} primes")
            .replace("d * d <= n", "d <= Math.sqrt(n)")
    });
    std::fs::copy(sdk_built(&rewritten), dir.join("primes.wasm")).expect("copy");
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        "Executed:  99 tasks\nLoaded:  2 tasks\n** Total: 101 tasks.\n2 results reused: their inputs' results were unchanged\n"
    );
}

/// Builds a script outside the workspace's sources next to itself (skipped while current).
fn sdk_built(source: &Path) -> PathBuf {
    let output = source.with_extension("wasm");
    let dir = source.parent().expect("a directory");
    let run = jug_js(dir, &["build", source.to_str().expect("UTF-8"), "-o", output.to_str().expect("UTF-8")]);
    assert_eq!(run.code, 0, "building {} failed:\n{}", source.display(), run.stderr);
    output
}

#[test]
fn jug_js_reports_mistakes_before_componentizing() {
    let dir = TestDir::new("js-tool-errors");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write script");

    let usage = jug_js(&dir.path, &[]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert_eq!(usage.stderr.lines().count(), 1, "{}", usage.stderr);
    assert_eq!(jug_js(&dir.path, &["build"]).code, 2);
    assert_eq!(jug_js(&dir.path, &["build", "a.js", "--frobnicate"]).code, 2);
    let help = jug_js(&dir.path, &["--help"]);
    assert!(help.code == 0 && help.stdout.starts_with("usage: jug-js build"), "{}", help.stdout);

    let expect_error = |args: &[&str], needle: &str| {
        let run = jug_js(&dir.path, args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line, got:\n{}", run.stderr);
        assert!(
            lines[0].starts_with("jug-js: ") && lines[0].contains(needle),
            "`{needle}` not in {}",
            lines[0]
        );
    };
    expect_error(&["build", "missing.js"], "missing.js: no such file");

    write("syntax.js", "import { taskGenerator } from 'jug';\nexport function graph() { return 1 +; }\n");
    expect_error(&["build", "syntax.js"], "syntax.js:2:");

    write("missing_import.js", "import { nothing } from './nowhere.js';\nexport function graph() {}\n");
    expect_error(&["build", "missing_import.js"], "Could not resolve \"./nowhere.js\"");

    write(
        "twice.js",
        "import { taskGenerator } from 'jug';\n\
         const a = taskGenerator('same', (x) => x);\n\
         const b = taskGenerator('same', (x) => x + 1);\n\
         export function graph() { a(1); b(2); }\n",
    );
    expect_error(&["build", "twice.js"], "two different task functions are named `same`");

    write(
        "anonymous.js",
        "import { taskGenerator } from 'jug';\nconst f = taskGenerator((x) => x);\nexport function graph() { f(1); }\n",
    );
    expect_error(&["build", "anonymous.js"], "f has no name");

    // Math.random() and the clock are fixed while the script loads (src/prelude.js); secure
    // randomness is refused.
    write(
        "random.js",
        "import { taskGenerator } from 'jug';\nconst seed = crypto.getRandomValues(new Uint8Array(4));\nexport function graph() {}\n",
    );
    expect_error(&["build", "random.js"], "crypto.getRandomValues() cannot be called while the script loads");
    expect_error(&["build", "random.js"], "(at random.js:2:");

    write(
        "declares.js",
        "import { taskGenerator } from 'jug';\n\
         const f = taskGenerator(function f(x) { return x; });\n\
         f(1);\n\
         export function graph() {}\n",
    );
    expect_error(&["build", "declares.js"], "f(…) was called at the top level of the script: only graph()");
    expect_error(&["build", "declares.js"], "declares.js:3:");

    // Nothing was componentized, so nothing was written.
    assert!(!dir.files_under("").iter().any(|f| f.ends_with(".wasm")), "{:?}", dir.files_under(""));
}

#[test]
fn sdk_unit_tests_pass() {
    // The CBOR codec, argument layout and stack mapping, in plain Node.js against a mock host.
    let sdk = workspace().join("guest-sdk/js");
    let run = Command::new("node").current_dir(&sdk).args(["--test", "test/"]).output();
    let run = Run::from(run.expect("node runs")).expect_status(0);
    assert!(run.stdout.contains("# fail 0"), "{}", run.stdout);
}
