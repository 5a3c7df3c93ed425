//! The Python SDK (guest-sdk/python): Jug scripts built by `jug-py` into components, run by
//! the real jug-host. Builds are slow (componentize-py, 10–30 s each), so the tests share a
//! few: examples/primes/primes.py, tests/fixtures/python/features.py (one graph per word after
//! `--`), and in one test a rebuilt and an edited copy of primes.py.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::ExitCode;
use crate::util::{Language, Run, TestDir, guest, sdk_guest, workspace};

fn primes_py() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| sdk_guest(Language::Python, "examples/primes/primes.py"))
}

fn features_py() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| sdk_guest(Language::Python, "tests/fixtures/python/features.py"))
}

/// A test directory holding a built Python component under the name `file`.
fn dir_with(name: &str, component: &Path, file: &str) -> TestDir {
    let dir = TestDir::new(name);
    std::fs::copy(component, dir.join(file)).expect("copy the component");
    dir
}

fn features_dir(name: &str) -> TestDir {
    dir_with(name, features_py(), "features.wasm")
}

/// `jug-py ARGS…` in `dir`.
pub(crate) fn jug_py(dir: &TestDir, args: &[&str]) -> Run {
    jug_py_with(dir, args, &[])
}

/// [`jug_py`] with more environment variables.
fn jug_py_with(dir: &TestDir, args: &[&str], env: &[(&str, std::ffi::OsString)]) -> Run {
    let tool = std::env::var_os("JUG_PY").expect("JUG_PY is set (scripts/sdk/python installs jug-py)");
    let mut command = Command::new(tool);
    command.current_dir(&dir.path).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    Run::from(command.output().expect("jug-py runs"))
}

/// `jug-host value features.wasm NAME -- SECTION`.
fn value(dir: &TestDir, name: &str, section: &str) -> String {
    dir.jug(&["value", "features.wasm", name]).arg_words(&[section]).run().expect_code(ExitCode::Ok).stdout
}

fn execute(dir: &TestDir, section: &str) -> Run {
    dir.jug(&["execute", "features.wasm", "--short"]).arg_words(&[section]).run()
}

#[test]
fn primes_py_is_jugs_demo_with_the_rust_examples_table_and_values() {
    let python = dir_with("python-primes", primes_py(), "primes.wasm");
    let rust = TestDir::with_guest("python-primes-rust", "primes.wasm");
    let status = |dir: &TestDir, code| dir.jug(&["status", "primes.wasm"]).run().expect_code(code).stdout;
    assert_eq!(status(&python, ExitCode::NotDone), status(&rust, ExitCode::NotDone));
    assert!(
        status(&python, ExitCode::NotDone).contains("          99           0           0  primes.is_prime")
    );

    let executed = python.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(executed.stdout, rust.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok).stdout);
    assert_eq!(status(&python, ExitCode::Ok), status(&rust, ExitCode::Ok));

    for name in ["write_output", "count_primes", "is_prime"] {
        let value =
            |dir: &TestDir| dir.jug(&["value", "primes.wasm", name]).run().expect_code(ExitCode::Ok).stdout;
        assert_eq!(value(&python), value(&rust), "{name}");
    }
    let sentence = python.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(sentence.stdout, "\"Found 25 primes <= 100.\\n\"\n");
    let again = python.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(again.stdout, "Executed:  0 tasks\nLoaded:  101 tasks\n** Total: 101 tasks.\n");
}

#[test]
fn tasklets_and_iteratetask_pass_parts_of_results() {
    let dir = features_dir("python-tasklets");
    let count = dir
        .jug(&["count", "features.wasm", "--short"])
        .arg_words(&["tasklets"])
        .run()
        .expect_code(ExitCode::Ok);
    // even_odd, stats, 3 × total, 3 × negate, describe: the parts are not tasks.
    assert_eq!(count.stdout, "Count:  9 tasks\n** Total: 9 tasks.\n");
    let run = execute(&dir, "tasklets").expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  9 tasks\nLoaded:  0 tasks\n** Total: 9 tasks.\n", "{}", run.stderr);
    // sum(evens of 0..10), sum(odds), evens[0] + odds[0] + 5
    assert_eq!(value(&dir, "total", "tasklets"), "20\n25\n6\n");
    // -evens[2], -stats["mean"], -stats["values"][3]
    assert_eq!(value(&dir, "negate", "tasklets"), "-4\n-2.5\n-4\n");
    assert_eq!(
        value(&dir, "describe", "tasklets"),
        "{\"first\":\"1\",\"whole\":\"{'mean': 2.5, 'values': [1, 2, 3, 4]}\"}\n"
    );
}

#[test]
fn barriers_and_bvalue_build_the_graph_in_rounds() {
    let dir = features_dir("python-barrier");
    let status = dir
        .jug(&["status", "features.wasm", "--short"])
        .arg_words(&["barrier"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(
        status.stdout.starts_with("5 tasks waiting to be run, 0 failed, 0 complete, (none active).\n")
            && status.stdout.contains("stopped at a barrier"),
        "{}",
        status.stdout
    );
    // Round 1: five squares; 2: three more and their total; 3: after_barrier.
    let run = execute(&dir, "barrier").expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  10 tasks\nLoaded:  0 tasks\n** Total: 10 tasks.\n", "{}", run.stderr);
    assert_eq!(value(&dir, "square", "barrier"), "0\n1\n4\n9\n16\n256\n289\n324\n");
    assert_eq!(value(&dir, "total", "barrier"), "869\n");
    // A task function (and the constant it reads) defined after the barrier at top level.
    assert_eq!(value(&dir, "after_barrier", "barrier"), "969\n");
    dir.jug(&["status", "features.wasm"]).arg_words(&["barrier"]).run().expect_code(ExitCode::Ok);
}

#[test]
fn mapreduce_declares_the_batches_of_the_rust_sdk() {
    let dir = features_dir("python-mapreduce");
    let count = dir.jug(&["count", "features.wasm"]).arg_words(&["mapreduce"]).env("COLUMNS", "60").run();
    let count = count.expect_code(ExitCode::Ok).stdout;
    for row in [
        "           4  features.square.map", // 10 inputs, 3 per task
        "          10  features.add.reduce", // 4 + 2 + 1 over the squares, 2 + 1 in mapreduce
        "           2  features.power.map",
        "           1  features.power", // a map_step of 1: plain tasks
        "           2  features.scale.map",
        "           2  features.total",
    ] {
        assert!(count.contains(row), "{row:?} in\n{count}");
    }
    execute(&dir, "mapreduce").expect_code(ExitCode::Ok);
    let squares: i64 = (0..10).map(|x| x * x).sum();
    assert_eq!(value(&dir, "total", "mapreduce"), format!("{squares}\n1024\n"));
    assert_eq!(value(&dir, "square.map", "mapreduce"), "[0,1,4]\n[9,16,25]\n[36,49,64]\n[81]\n");
    assert_eq!(value(&dir, "power.map", "mapreduce"), "[8,9]\n[1]\n");
    // The reduce tree over the squares, then mapreduce(add, scale, [1, 2, 3], 2, 2).
    assert_eq!(
        value(&dir, "add.reduce", "mapreduce"),
        format!("5\n50\n149\n81\n204\n81\n{squares}\n6\n6\n12\n")
    );
}

#[test]
fn values_of_every_supported_kind_round_trip() {
    let dir = features_dir("python-values");
    let run = execute(&dir, "values").expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Executed:  40 tasks\n"), "{}{}", run.stdout, run.stderr);
    // Each value through its own task, all of them in one list, and as an argument: the
    // task compares what it got with the script's own VALUES, type and sign of zero included.
    assert_eq!(value(&dir, "mismatches", "values"), "[]\n[]\n[]\n");
    let types = value(&dir, "type_names", "values");
    assert!(types.starts_with("[\"NoneType\",\"bool\",\"bool\",\"int\","), "{types}");
    assert!(types.ends_with("\"bytes\",\"list\",\"list\",\"list\",\"dict\",\"dict\"]\n"), "{types}");
    let echoed = value(&dir, "echo", "values");
    let lines: Vec<&str> = echoed.lines().collect();
    assert_eq!(&lines[..7], ["null", "true", "false", "0", "1", "-1", "23"]);
    assert!(lines.contains(&"\"héllo ✓\"") && lines.contains(&"[1,\"a\"]") && lines.contains(&"1.5"));
}

#[test]
fn keyword_arguments_defaults_and_local_modules() {
    let dir = features_dir("python-kwargs");
    execute(&dir, "kwargs").expect_code(ExitCode::Ok);
    assert_eq!(
        value(&dir, "signature", "kwargs"),
        "[1,2,[],3,4,{}]\n[1,2,[3,4],5,4,{\"e\":6}]\n[0,2,[],-1,null,{}]\n"
    );
    assert_eq!(value(&dir, "plain_function", "kwargs"), "1001\n"); // Task(plain_function, 1)
    assert_eq!(value(&dir, "scale", "kwargs"), "42\n10\n"); // from helpers.py
    assert_eq!(value(&dir, "as_json", "kwargs"), "\"{\\\"a\\\": null, \\\"b\\\": [1, 2]}\"\n");
}

#[test]
fn nohash_customhash_and_identity() {
    let dir = features_dir("python-keys");
    dir.jug(&["execute", "features.wasm"]).arg_words(&["keys", "4"]).run().expect_code(ExitCode::Ok);
    // NoHash: another thread count is the same task, already complete.
    let status = dir.jug(&["status", "features.wasm", "--short"]).arg_words(&["keys", "16"]).run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (4 tasks).\n");
    assert_eq!(value(&dir, "threads_used", "keys"), "[1,4]\n");
    assert_eq!(value(&dir, "total", "keys"), "6\n15\n"); // CustomHash([1, 2, 3]), identity([4, 5, 6])
    assert_eq!(value(&dir, "jug.identity", "keys"), "[4,5,6]\n");
}

#[test]
fn tasks_of_another_component_are_declared_in_it() {
    let dir = features_dir("python-library");
    std::fs::copy(guest("tasks.wasm"), dir.join("tasks.wasm")).expect("copy the Rust library");
    let count = dir.jug(&["count", "features.wasm"]).arg_words(&["library"]).env("COLUMNS", "60").run();
    let count = count.expect_code(ExitCode::Ok).stdout;
    assert!(
        count.contains("           1  tasks.add") && count.contains("           1  features.square"),
        "{count}"
    );
    execute(&dir, "library").expect_code(ExitCode::Ok);
    let run =
        dir.jug(&["value", "features.wasm", "--pattern", "/negate|total/"]).arg_words(&["library"]).run();
    assert_eq!(run.expect_code(ExitCode::Ok).stdout, "-25\n21\n"); // -(add(2, 3)²), add(2, 3) + square(4)
}

#[test]
fn file_inputs_rerun_when_the_content_changes() {
    let dir = features_dir("python-file");
    std::fs::write(dir.join("data.txt"), "one\ntwo\nthree\n").unwrap();
    execute(&dir, "file").expect_code(ExitCode::Ok);
    assert_eq!(value(&dir, "line_count", "file"), "3\n");
    std::fs::write(dir.join("data.txt"), "one\ntwo\nthree\nfour\nfive\n").unwrap();
    let status = dir
        .jug(&["status", "features.wasm", "--short"])
        .arg_words(&["file"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");
    execute(&dir, "file").expect_code(ExitCode::Ok);
    assert_eq!(value(&dir, "line_count", "file"), "5\n");
    std::fs::remove_file(dir.join("data.txt")).unwrap();
    let missing = dir.jug(&["status", "features.wasm"]).arg_words(&["file"]).run();
    missing.expect_one_line_error(ExitCode::BuildFailed, "data.txt");
}

/// Early cutoff with a Python graph: an edit that leaves the line count as it was re-runs
/// the count only; the square after it is reused.
#[test]
fn an_unchanged_python_result_stops_the_reruns_downstream() {
    let dir = features_dir("python-cutoff");
    std::fs::write(dir.join("data.txt"), "one\ntwo\n").unwrap();
    let run = execute(&dir, "cutoff").expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  2 tasks\nLoaded:  0 tasks\n** Total: 2 tasks.\n", "{run:?}");
    std::fs::write(dir.join("data.txt"), "one\ntwo   \n").unwrap();
    let run = execute(&dir, "cutoff").expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        "Executed:  1 tasks\nLoaded:  1 tasks\n** Total: 2 tasks.\n1 result reused: their inputs' results were unchanged\n",
        "{run:?}"
    );
    assert_eq!(value(&dir, "square", "cutoff"), "4\n");
}

/// A test directory for the directory grants: data/in.txt (12 bytes), an empty out/, and
/// secret.txt next to data/.
pub(crate) fn with_grantable_dirs(dir: TestDir) -> TestDir {
    std::fs::create_dir_all(dir.join("data")).expect("mkdir data");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir out");
    std::fs::write(dir.join("data/in.txt"), "twelve bytes").expect("write data/in.txt");
    std::fs::write(dir.join("secret.txt"), "not for tasks").expect("write secret.txt");
    dir
}

#[test]
fn directories_granted_to_one_task() {
    let dir = with_grantable_dirs(features_dir("python-directories"));
    // The writable grant of `out` needs the user's `--allow-write out`, on every command.
    let flags = ["execute", "features.wasm", "--short", "--allow-write", "out"];
    let run = dir.jug(&flags).arg_words(&["directories"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  2 tasks\nLoaded:  0 tasks\n** Total: 2 tasks.\n", "{}", run.stderr);
    // The task got the guest path as a str, read data/in.txt through it, and wrote out/out.txt
    // through the read-write grant, at /results.
    let value = |name: &str| {
        let words = ["value", "features.wasm", name, "--allow-write", "out"];
        dir.jug(&words).arg_words(&["directories"]).run().expect_code(ExitCode::Ok).stdout
    };
    assert_eq!(value("read_in"), "12\n");
    assert_eq!(value("write_in"), "\"/results/out.txt\"\n");
    let written = std::fs::read_to_string(dir.join("out/out.txt")).expect("out/out.txt on the host");
    assert_eq!(written, "written by a task");
    // A grant is in the key, its content is not: writing out/ changed nothing to do.
    let status = dir
        .jug(&["status", "features.wasm", "--short", "--allow-write", "out"])
        .arg_words(&["directories"])
        .run();
    assert_eq!(status.expect_code(ExitCode::Ok).stdout, "All tasks complete (2 tasks).\n");

    // Neither writing through a read-only grant nor reading /data/../secret.txt works.
    let run = dir.jug(&["execute", "features.wasm", "--keep-going"]).arg_words(&["directory-escape"]).run();
    let run = run.expect_code(ExitCode::NotDone);
    assert!(run.stderr.contains("task features.write_in (key "), "{}", run.stderr);
    assert!(run.stderr.contains("task features.read_in (key "), "{}", run.stderr);
    let failed = |path: &str| run.stderr.lines().any(|l| l.contains(" failed: ") && l.contains(path));
    assert!(failed("'/data/new.txt'"), "{}", run.stderr);
    assert!(failed("'/data/../secret.txt'"), "{}", run.stderr);
    assert!(!dir.join("data/new.txt").exists());
}

#[test]
fn a_raising_task_fails_with_its_traceback_in_the_log() {
    let dir = features_dir("python-failing");
    let run = dir.jug(&["execute", "features.wasm", "--keep-going"]).arg_words(&["failing"]).run();
    let run = run.expect_code(ExitCode::NotDone);
    assert!(run.stderr.contains("task features.explode (key "), "{}", run.stderr);
    assert!(run.stderr.contains("failed: ValueError: boom at 1"), "{}", run.stderr);
    assert!(run.stdout.contains("           1           0  features.constant"), "{}", run.stdout);
    let logs = dir.files_under("features.jugdata/logs");
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(dir.join("features.jugdata/logs").join(&logs[0])).unwrap();
    assert!(log.contains("Traceback (most recent call last):"), "{log}");
    assert!(log.contains("features.py\", line ") && log.contains("in explode"), "{log}");
    assert!(log.contains("raise ValueError(f\"boom at {n}\")"), "the source line: {log}");
    assert!(log.contains("ValueError: boom at 1"), "{log}");
    assert!(!log.contains("_runtime.py"), "no SDK frames: {log}");
}

/// The failure records of `store`, `failed/<key hex>` each: JSON `{name, failure: {kind,
/// message}, …}`, as (key, record).
fn failure_records(dir: &TestDir, store: &str) -> Vec<(String, serde_json::Value)> {
    let failed = format!("{store}/failed");
    dir.files_under(&failed)
        .iter()
        .map(|file| {
            let key = Path::new(file).file_name().unwrap().to_string_lossy().into_owned();
            let hex = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
            assert!(hex, "failed/{file}: not a key");
            let text = std::fs::read_to_string(dir.join(&failed).join(file)).expect("failure record");
            (key, serde_json::from_str(&text).expect("a JSON failure record"))
        })
        .collect()
}

/// Checks the failures of the `limits` graph of a features fixture (Python or JavaScript):
/// forever(0) timed out at its own 200 ms, forever(1) ran out of its own 100,000 instructions,
/// hoard(256 MiB) hit its own 64 MiB of memory, each as a record `failed/<key hex>` and a line
/// on stderr naming the key. The command line set no limits.
pub(crate) fn expect_own_limits_hit(dir: &TestDir, stderr: &str) {
    let records = failure_records(dir, "features.jugdata");
    assert_eq!(records.len(), 3, "{records:?}");
    let message = |name: &str, kind: &str| {
        let found: Vec<_> =
            records.iter().filter(|(_, r)| r["name"] == name && r["failure"]["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "one {name} failed with {kind}: {records:?}");
        let (key, record) = found[0];
        let message = record["failure"]["message"].as_str().expect("a message").to_owned();
        let line = format!("task {name} (key {}) failed: {message}", &key[..12]);
        assert!(stderr.contains(&line), "{line:?} in\n{stderr}");
        message
    };
    assert_eq!(
        message("features.forever", "timeout"),
        "ran longer than the --timeout of 0.2s; raise it with --timeout"
    );
    assert_eq!(
        message("features.forever", "fuel"),
        "used up its fuel (100000 instructions, --fuel); raise it with --fuel"
    );
    let memory = message("features.hoard", "memory");
    let limit = ", past the --max-memory limit of 64 MiB; raise it with --max-memory";
    assert!(memory.starts_with("tried to grow its memory to ") && memory.ends_with(limit), "{memory}");
}

#[test]
fn tasks_with_limits_of_their_own() {
    let dir = features_dir("python-limits");
    let run = dir.jug(&["execute", "features.wasm", "--keep-going", "--keep-failed", "--short"]);
    let run = run.arg_words(&["limits"]).run().expect_code(ExitCode::NotDone);
    // Only constant(), which has no limits of its own, completed.
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  0 tasks\n** Total: 1 tasks.\n", "{}", run.stderr);
    assert_eq!(value(&dir, "constant", "limits"), "42\n");
    expect_own_limits_hit(&dir, &run.stderr);
}

#[test]
fn graph_and_value_errors_are_one_line_messages() {
    let dir = features_dir("python-errors");
    let broken = dir.jug(&["status", "features.wasm"]).arg_words(&["broken"]).run();
    broken.expect_one_line_error(
        ExitCode::BuildFailed,
        "ZeroDivisionError: division by zero (features.py, line ",
    );
    let argument = dir.jug(&["status", "features.wasm"]).arg_words(&["bad-argument"]).run();
    argument.expect_one_line_error(
        ExitCode::BuildFailed,
        "an argument of task echo contains a set, which cannot cross to jug-host",
    );
    let result = dir
        .jug(&["execute", "features.wasm"])
        .arg_words(&["bad-result"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(result.stderr.contains("the result of task make_set contains a set"), "{}", result.stderr);
}

#[test]
fn a_rebuild_keeps_the_keys_and_an_edit_changes_them() {
    let dir = dir_with("python-rebuild", primes_py(), "primes.wasm");
    let source = std::fs::read_to_string(workspace().join("examples/primes/primes.py")).unwrap();
    std::fs::write(dir.join("primes.py"), &source).unwrap();
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);

    // Same source (in another directory): up to date without --force; with it, new bytes
    // that declare the same code digest, so every task is still complete.
    let up_to_date = jug_py(&dir, &["build", "primes.py"]).expect_status(0);
    assert_eq!(up_to_date.stdout, "jug-py: primes.wasm is up to date\n");
    let rebuilt = jug_py(&dir, &["build", "primes.py", "--force"]).expect_status(0);
    assert!(rebuilt.stdout.starts_with("jug-py: built primes.wasm ("), "{}", rebuilt.stdout);
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (101 tasks).\n");
    // Nothing in it says where it was built: two checkouts build the same component.
    let bytes = std::fs::read(dir.join("primes.wasm")).expect("read the component");
    let here = dir.path.to_string_lossy().into_owned();
    assert!(!bytes.windows(here.len()).any(|w| w == here.as_bytes()), "the component names {here}");

    // An edited function: a new code digest for the component, but each task function has an
    // identity of its own, so only count_primes has new keys (and write_output after it).
    // count_primes still gives 25, so write_output's result is reused (early cutoff).
    let digest = jug_py(&dir, &["digest", "primes.py"]).expect_status(0).stdout;
    let edited = source.replace("return sum(ps)", "return sum(1 for p in ps if p)");
    assert_ne!(edited, source);
    std::fs::write(dir.join("primes.py"), &edited).unwrap();
    assert_ne!(jug_py(&dir, &["digest", "primes.py"]).expect_status(0).stdout, digest);
    jug_py(&dir, &["build", "primes.py"]).expect_status(0);
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "2 tasks waiting to be run, 0 failed, 99 complete, (none active).\n");
    let explain =
        dir.jug(&["status", "primes.wasm", "--explain", "count_primes"]).run().expect_code(ExitCode::NotDone);
    assert!(explain.stdout.contains(": the code of primes.count_primes changed"), "{explain:?}");
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        "Executed:  1 tasks\nLoaded:  100 tasks\n** Total: 101 tasks.\n1 result reused: their inputs' results were unchanged\n"
    );
    let sentence = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(sentence.stdout, "\"Found 25 primes <= 100.\\n\"\n");

    // Jug's demo edit: a typo fixed in write_output's message re-runs write_output alone.
    let fixed = edited.replace("Found {0} primes", "Found {0} prime numbers");
    assert_ne!(fixed, edited);
    std::fs::write(dir.join("primes.py"), &fixed).unwrap();
    jug_py(&dir, &["build", "primes.py"]).expect_status(0);
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  1 tasks\nLoaded:  100 tasks\n** Total: 101 tasks.\n");
    let sentence = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert_eq!(sentence.stdout, "\"Found 25 prime numbers <= 100.\\n\"\n");

    // is_prime by trial division up to the square root, with the same answers: its 99 tasks
    // run, and the two after them are reused (early cutoff).
    let rewritten = fixed.replace("range(2, n - 1)", "range(2, int(n ** 0.5) + 1)");
    assert_ne!(rewritten, fixed);
    std::fs::write(dir.join("primes.py"), rewritten).unwrap();
    jug_py(&dir, &["build", "primes.py"]).expect_status(0);
    let run = dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(
        run.stdout,
        "Executed:  99 tasks\nLoaded:  2 tasks\n** Total: 101 tasks.\n2 results reused: their inputs' results were unchanged\n"
    );
}

/// A script that imports `extmod`, which is not next to it: it comes from a `-p` directory or
/// from nowhere.
const USES_EXTMOD: &str = "from jug import TaskGenerator\nimport extmod\n\n\
    @TaskGenerator\ndef version():\n    return extmod.VERSION\n\nversion()\n";

#[test]
fn only_named_directories_go_into_a_component() {
    // A virtualenv and a `python3` on PATH whose site-packages hold extmod: componentize-py's
    // command line would bundle it on its own, without the digest knowing.
    let dir = TestDir::new("python-ambient");
    std::fs::write(dir.join("ambient.py"), USES_EXTMOD).unwrap();
    for site in ["venv/lib/python3.14/site-packages", "site"] {
        std::fs::create_dir_all(dir.join(site)).unwrap();
        std::fs::write(dir.join(&format!("{site}/extmod.py")), "VERSION = '1'\n").unwrap();
    }
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let python3 = dir.join("bin/python3");
    std::fs::write(&python3, format!("#!/bin/sh\necho '{}'\n", dir.join("site").display())).unwrap();
    std::fs::set_permissions(&python3, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(
        std::iter::once(dir.join("bin"))
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let ambient = [("PATH", path), ("VIRTUAL_ENV", dir.join("venv").into_os_string())];
    let run = jug_py_with(&dir, &["build", "ambient.py"], &ambient).expect_status(1);
    assert!(run.stderr.contains("No module named 'extmod'"), "{}", run.stderr);
    assert!(!dir.join("ambient.wasm").exists());

    // Named with -p, it is bundled, and its content is in the digest.
    jug_py_with(&dir, &["build", "ambient.py", "-p", "site"], &ambient).expect_status(0);
    dir.jug(&["execute", "ambient.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(
        dir.jug(&["value", "ambient.wasm", "version"]).run().expect_code(ExitCode::Ok).stdout,
        "\"1\"\n"
    );
    let digest = |dir: &TestDir| jug_py(dir, &["digest", "ambient.py", "-p", "site"]).expect_status(0).stdout;
    let before = digest(&dir);
    std::fs::write(dir.join("site/extmod.py"), "VERSION = '2'\n").unwrap();
    assert_ne!(digest(&dir), before, "an edit in a -p directory is a new digest");
    let up_to_date = jug_py_with(&dir, &["build", "ambient.py", "-p", "site"], &ambient).expect_status(0);
    assert!(!up_to_date.stdout.contains("up to date"), "{}", up_to_date.stdout);
}

#[test]
fn every_file_of_a_local_package_is_in_the_digest() {
    // A data file the script reads, and a module it loads with importlib: not imports the
    // digest can see in the source, but in the component all the same.
    let dir = TestDir::new("python-package-data");
    std::fs::write(dir.join("graph.py"), "import pkg\nx = 1\n").unwrap();
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("pkg/__init__.py"), "").unwrap();
    std::fs::write(dir.join("pkg/table.csv"), "a,b\n").unwrap();
    std::fs::write(dir.join("pkg/plugin.py"), "VALUE = 1\n").unwrap();
    let digest = || jug_py(&dir, &["digest", "graph.py"]).expect_status(0).stdout;
    let first = digest();
    std::fs::write(dir.join("pkg/table.csv"), "a,b,c\n").unwrap();
    let second = digest();
    assert_ne!(second, first, "the data file");
    std::fs::write(dir.join("pkg/plugin.py"), "VALUE = 2\n").unwrap();
    assert_ne!(digest(), second, "the module");
    // Caches are not bundled: they change nothing.
    std::fs::create_dir_all(dir.join("pkg/__pycache__")).unwrap();
    std::fs::write(dir.join("pkg/__pycache__/plugin.cpython-314.pyc"), "junk").unwrap();
    let third = digest();
    std::fs::write(dir.join("pkg/__pycache__/plugin.cpython-314.pyc"), "other junk").unwrap();
    assert_eq!(digest(), third);
}

#[test]
fn jug_py_reports_mistakes_in_one_line() {
    let dir = TestDir::new("python-jug-py-errors");
    let missing = jug_py(&dir, &["build", "nosuch.py"]).expect_status(2);
    assert_eq!(missing.stderr, "jug-py: no such script: nosuch.py\n");
    std::fs::write(dir.join("graph.py"), "x = 1\n").unwrap();
    let no_dir = jug_py(&dir, &["build", "graph.py", "-p", "nosuch"]).expect_status(2);
    assert_eq!(no_dir.stderr, "jug-py: -p nosuch: no such directory\n");
    jug_py(&dir, &["build"]).expect_status(2);

    // Two task functions with one name: refused while the component is built, with the
    // script's traceback (and not componentize-py's whole output).
    let duplicate = workspace().join("tests/fixtures/python/bad/duplicate.py");
    let run = jug_py(&dir, &["build", duplicate.to_str().unwrap(), "-o", "duplicate.wasm"]).expect_status(1);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("jug-py: ") && last.contains("failed while the component was built"),
        "{}",
        run.stderr
    );
    assert!(
        last.contains("two different task functions are named `work` (duplicate.py:6 and duplicate.py:11)")
    );
    assert!(run.stderr.contains("duplicate.py\", line 11, in <module>"), "{}", run.stderr);
    assert!(run.stderr.lines().count() < 12, "{}", run.stderr);
    assert!(!dir.join("duplicate.wasm").exists());
}

#[test]
fn sdk_unit_tests_pass() {
    // The codec against cbor2, define mode, argument layout and the digest, in plain CPython.
    let tool = PathBuf::from(std::env::var_os("JUG_PY").expect("JUG_PY is set"));
    let python = tool.parent().expect("jug-py is in a venv's bin/").join("python");
    let sdk = workspace().join("guest-sdk/python");
    let run =
        Command::new(python).current_dir(&sdk).args(["-m", "unittest", "discover", "-s", "tests"]).output();
    let run = Run::from(run.expect("python runs")).expect_status(0);
    assert!(run.stderr.contains("\nOK"), "{}", run.stderr);
}
