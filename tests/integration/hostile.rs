//! Hostile guests (`tests/fixtures/guests/hostile`, `foreign`): tasks that loop forever, eat
//! memory, overflow the stack, return or print far too much, try to read the host's files, the
//! network or the environment, call graph imports while running, or return bytes that are not
//! deterministic CBOR; and a component importing an interface no host provides.
//!
//! Each scenario declares its hostile task(s) between two harmless ones, `constant(7)` before
//! and `constant(8)` after, and runs under `execute -j 1 --keep-going --keep-failed`: the hostile
//! task fails with the right kind of failure record (or completes having learnt nothing), the
//! harmless ones complete, jug-host neither crashes nor hangs, and the store stays consistent
//! (no lock left, `status` agrees, a marked task is not run again).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::ExitCode;
use crate::util::{Run, TestDir};

/// Longer than any run here should take by far: past it, jug-host counts as hung and is killed.
const DEADLINE: Duration = Duration::from_secs(90);

/// The first word after `--` picks the scenario (see the fixture's `graph`).
const GRAPH: &str = "hostile.wasm";
const STORE: &str = "hostile.jugdata";

/// `jug-host ARGS…` in `dir`, with jug-host's test environment, killed by PID (SIGKILL, by
/// coreutils' `timeout`) if it is still running after [`DEADLINE`]. Fails the test if it hung or
/// died of a signal: jug-host's own exit codes are 0 to 7 (130 and 143 only when signalled).
#[track_caller]
fn jug(dir: &TestDir, args: &[&str]) -> Run {
    let deadline = format!("{}s", DEADLINE.as_secs());
    let mut command = vec!["--signal=KILL", deadline.as_str(), env!("CARGO_BIN_EXE_jug-host")];
    command.extend_from_slice(args);
    let started = Instant::now();
    let run = dir.command(Path::new("timeout"), &command).run();
    assert!(
        (ExitCode::Ok.code()..=ExitCode::DamagedResult.code()).contains(&run.code),
        "jug-host {args:?} hung or crashed: exit code {} after {:.1?}\nstdout:\n{}\nstderr:\n{}",
        run.code,
        started.elapsed(),
        run.stdout,
        run.stderr
    );
    run
}

/// `ARGS… -- WORDS…`
fn with_words<'a>(args: &[&'a str], words: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.push("--");
    all.extend_from_slice(words);
    all
}

/// `execute hostile.wasm -j 1 --keep-going --keep-failed FLAGS… -- WORDS…` in a fresh directory
/// holding the fixture (one task at a time, so `constant(8)` runs after the hostile tasks).
fn execute(test: &str, flags: &[&str], words: &[&str]) -> (TestDir, Run) {
    let dir = TestDir::with_guest(test, GRAPH);
    let run = execute_in(&dir, flags, words);
    (dir, run)
}

fn execute_in(dir: &TestDir, flags: &[&str], words: &[&str]) -> Run {
    let mut args = vec!["execute", GRAPH, "-j", "1", "--keep-going", "--keep-failed"];
    args.extend_from_slice(flags);
    jug(dir, &with_words(&args, words))
}

/// The stored results of the tasks named `name`, in definition order (`value --json`).
#[track_caller]
fn values(dir: &TestDir, name: &str, words: &[&str]) -> Vec<Value> {
    let run = jug(dir, &with_words(&["value", GRAPH, name, "--json"], words)).expect_code(ExitCode::Ok);
    let documents: Value = serde_json::from_str(&run.stdout).expect("value --json prints JSON");
    documents.as_array().expect("an array").iter().map(|d| d["value"].clone()).collect()
}

/// Every `failed/<key>` record (see `jug_core::failure::FailureRecord`), by key.
fn failure_records(dir: &TestDir) -> Vec<(String, Value)> {
    dir.files_under(&format!("{STORE}/failed"))
        .into_iter()
        .map(|key| {
            let text = std::fs::read_to_string(dir.join(STORE).join("failed").join(&key)).unwrap();
            let record: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            (key, record)
        })
        .collect()
}

/// What every scenario must leave behind: `constant(7)` and `constant(8)` complete, `failed`
/// tasks marked failed and `complete` complete (results and records on disk, and `status`
/// agreeing), and no lock but the worker records' directory.
#[track_caller]
fn check_store(dir: &TestDir, words: &[&str], failed: usize, complete: usize) {
    assert_eq!(values(dir, "constant", words), [json!(7), json!(8)], "the harmless tasks completed");
    let locks = dir.files_under(&format!("{STORE}/locks"));
    assert!(locks.iter().all(|f| f.starts_with("owners")), "stray locks: {locks:?}");
    assert_eq!(dir.result_count(STORE), complete, "results stored");
    assert_eq!(failure_records(dir).len(), failed, "failure records");
    let status = jug(dir, &with_words(&["status", GRAPH, "--json"], words));
    let status = status.expect_code(if failed == 0 { ExitCode::Ok } else { ExitCode::NotDone });
    let json: Value = serde_json::from_str(&status.stdout).expect("status --json prints JSON");
    assert_eq!(
        json["totals"],
        json!({"failed": failed, "waiting": 0, "ready": 0, "complete": complete, "active": 0}),
        "{json:#}"
    );
}

/// Runs a scenario in which one task, `hostile.<name>`, must fail with `kind`; checks the
/// failure record, the store, and that a second `execute` (without the limit flags) leaves the
/// marked task alone rather than running it again. Returns the directory and the record.
#[track_caller]
fn one_task_fails(test: &str, flags: &[&str], words: &[&str], name: &str, kind: &str) -> (TestDir, Value) {
    let (dir, run) = execute(test, flags, words);
    let run = run.expect_code(ExitCode::NotDone);
    let name = format!("hostile.{name}");
    assert!(run.stderr.contains(&format!("task {name} (key ")), "{}", run.stderr);
    let records = failure_records(&dir);
    assert_eq!(records.len(), 1, "{records:?}");
    let (key, record) = records.into_iter().next().unwrap();
    assert_eq!(record["name"], name, "{record:#}");
    assert_eq!(record["failure"]["kind"], kind, "{record:#}");
    assert!(run.stderr.contains(record["failure"]["message"].as_str().unwrap()), "{}", run.stderr);
    assert!(!record["owner"].as_str().unwrap().is_empty() && record["failed_unix_ms"].as_u64().unwrap() > 0);
    check_store(&dir, words, 1, 2);

    let again = jug(&dir, &with_words(&["execute", GRAPH, "-j", "1"], words)).expect_code(ExitCode::Ok);
    assert!(again.stderr.contains("marked failed by --keep-failed were not run"), "{}", again.stderr);
    assert_eq!(failure_records(&dir), [(key, record.clone())], "the record is left as it was");
    check_store(&dir, words, 1, 2);
    (dir, record)
}

#[track_caller]
fn message(record: &Value) -> &str {
    record["failure"]["message"].as_str().expect("a message")
}

// --- Limits -------------------------------------------------------------------------------

#[test]
fn an_endless_loop_is_stopped_by_the_timeout() {
    let started = Instant::now();
    let (_dir, record) =
        one_task_fails("hostile-spin-timeout", &["--timeout", "1s"], &["spin"], "spin", "timeout");
    assert!(message(&record).contains("--timeout"), "{record:#}");
    // Two executes, a value and two statuses: a 1 s timeout must not take much longer.
    assert!(started.elapsed() < Duration::from_secs(45), "took {:?}", started.elapsed());
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let flags = ["--fuel", "100000000"];
    let (_dir, record) = one_task_fails("hostile-spin-fuel", &flags, &["spin"], "spin", "fuel");
    assert!(message(&record).contains("--fuel"), "{record:#}");
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let flags = ["--max-memory", "64MiB"];
    let (_dir, record) = one_task_fails("hostile-bomb", &flags, &["bomb"], "bomb", "memory");
    assert!(message(&record).contains("--max-memory"), "{record:#}");
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_trap() {
    let (_dir, record) = one_task_fails("hostile-recurse", &[], &["recurse"], "recurse", "trap");
    assert!(message(&record).contains("stack"), "{record:#}");
}

#[test]
fn exit_ends_the_task_not_the_host() {
    let (_dir, record) = one_task_fails("hostile-exit", &[], &["exit"], "exit_now", "trap");
    // WASI 0.2's `exit` only says success or failure: exit(3) arrives as exit(1).
    assert!(message(&record).contains("called exit(1) instead of returning"), "{record:#}");
}

#[test]
fn a_huge_result_is_refused() {
    // 200 MiB of valid CBOR against a 1 MiB limit.
    let flags = ["--max-result", "1MiB"];
    let (_dir, record) =
        one_task_fails("hostile-huge-result", &flags, &["huge_result"], "huge_result", "output-too-large");
    assert!(message(&record).contains("--max-result"), "{record:#}");
}

#[test]
fn huge_output_is_refused_and_not_kept() {
    // 100 MiB to stdout against a 1 MiB limit.
    let flags = ["--max-log", "1MiB"];
    let (dir, record) =
        one_task_fails("hostile-huge-output", &flags, &["huge_output"], "huge_output", "output-too-large");
    assert!(message(&record).contains("--max-log"), "{record:#}");
    // What is kept of the output is bounded by the limit (plus the host's record of the run).
    for log in dir.files_under(&format!("{STORE}/logs")) {
        let size = std::fs::metadata(dir.join(STORE).join("logs").join(&log)).unwrap().len();
        assert!(size <= (1 << 20) + (64 << 10), "a log of {size} bytes was kept");
    }
}

/// The limits refuse what is over them, and only that: a 130 MiB result under a 256 MiB
/// `--max-result` (the default) is stored. (wasmtime refuses to copy more than 128 MiB out of a
/// guest in one call unless the store's hostcall fuel is raised.)
#[test]
fn a_big_result_under_the_limit_is_kept() {
    let words = ["huge_result", "130"];
    let (dir, run) = execute("hostile-big-result", &["--max-result", "256MiB"], &words);
    assert_eq!(failure_records(&dir), [], "{}", run.stderr);
    run.expect_code(ExitCode::Ok);
    check_store(&dir, &words, 0, 3);
    let sizes: Vec<u64> = dir.stored(STORE).values().map(|r| r.len() as u64).collect();
    assert!(sizes.iter().any(|&s| s > 130 << 20), "{sizes:?}");
    std::fs::remove_dir_all(&dir.path).unwrap(); // 130 MiB
}

/// Output of exactly `--max-log` is within the limit, and kept whole.
#[test]
fn output_up_to_the_log_limit_is_kept() {
    let words = ["huge_output", "1"];
    let (dir, run) = execute("hostile-log-at-limit", &["--max-log", "1MiB"], &words);
    assert_eq!(failure_records(&dir), [], "{}", run.stderr);
    run.expect_code(ExitCode::Ok);
    check_store(&dir, &words, 0, 3);
    assert_eq!(values(&dir, "huge_output", &words), [json!(1 << 20)]);
    let logs = dir.files_under(&format!("{STORE}/logs"));
    assert_eq!(logs.len(), 1);
    let log = std::fs::read(dir.join(STORE).join("logs").join(&logs[0])).unwrap();
    assert!(log.starts_with(&[b'y'; 1 << 20]) && log.get(1 << 20) != Some(&b'y'), "{} bytes", log.len());
}

/// The same for arguments: two results of 65 and 66 MiB reach one task, 131 MiB of input.
#[test]
fn big_inputs_reach_the_task() {
    let words = ["huge_input", "65"];
    let (dir, run) = execute("hostile-big-input", &[], &words);
    run.expect_code(ExitCode::Ok);
    check_store(&dir, &words, 0, 5);
    let size = values(&dir, "measure", &words)[0].as_u64().expect("the size of the input");
    assert!(size > 131 << 20, "{size}");
    std::fs::remove_dir_all(&dir.path).unwrap(); // 131 MiB
}

// --- What a task can see ------------------------------------------------------------------

#[test]
fn probes_see_only_the_virtual_environment() {
    let words = ["probes"]; // probe_env(1), probe_time(1), probe_random(1), probe_random(2)
    let (dir, run) = execute("hostile-probes", &[], &words);
    run.expect_code(ExitCode::Ok);
    check_store(&dir, &words, 0, 6);
    // No variables, no arguments (not even a program name), an empty stdin, `/` as the
    // working directory (WASI has none; this is what wasi-libc reports).
    assert_eq!(values(&dir, "probe_env", &words), [json!([0, [], "Ok(0)", "Ok(\"/\")"])]);
    // The fixed wall clock, to the nanosecond, and one virtual microsecond per monotonic read.
    assert_eq!(values(&dir, "probe_time", &words), [json!([1_700_000_000u64, 0, 1000, true])]);

    let random = values(&dir, "probe_random", &words);
    assert_eq!(random.len(), 2);
    for bytes in &random {
        let bytes = bytes.as_array().expect("a byte list");
        assert_eq!(bytes.len(), 16);
        assert!(bytes.iter().any(|b| b != 0), "{random:?}");
    }
    // Different keys, different seeds: the hashed values are the same in both tasks.
    assert_ne!(random[0], random[1], "two tasks saw the same randomness");

    // Another process, another store, tasks spread over threads: the same bytes.
    let other = TestDir::with_guest("hostile-probes-again", GRAPH);
    let args = ["execute", GRAPH, "-j", "2", "--pattern", "probe_random"];
    jug(&other, &with_words(&args, &words)).expect_code(ExitCode::Ok);
    assert_eq!(values(&other, "probe_random", &words), random);
    // And the same task run once more in the first store.
    jug(&dir, &with_words(&["invalidate", GRAPH, "--name", "probe_random"], &words))
        .expect_code(ExitCode::Ok);
    jug(&dir, &with_words(&["execute", GRAPH], &words)).expect_code(ExitCode::Ok);
    assert_eq!(values(&dir, "probe_random", &words), random);
}

/// A fresh instance per task means a task sees nothing of the one before it in the same
/// sandbox slot, however the slot is reset in between: the pooling allocator copies back the
/// pages a task wrote (up to a budget; patched to follow any number of separate dirty
/// regions, see `vendor/README.md`) and returns the rest to the kernel. Each `residue` task
/// checks that its image data and freshly grown memory are zero, then scribbles on hundreds of
/// scattered pages; two of them on more than the in-place budget.
#[test]
fn a_task_sees_nothing_of_the_previous_one_in_its_slot() {
    let words = ["residue"];
    let (dir, run) = execute("hostile-residue", &[], &words);
    run.expect_code(ExitCode::Ok);
    check_store(&dir, &words, 0, 7);
    assert_eq!(values(&dir, "residue", &words), vec![json!([0, 0]); 5]);
}

#[test]
fn files_network_and_environment_stay_out_of_reach() {
    let dir = TestDir::with_guest("hostile-escape", GRAPH);
    std::fs::write(dir.join("public.txt"), "public line\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "root:x:0:0:secret\n").unwrap();
    let secret = dir.join("secret.txt").to_string_lossy().into_owned();
    // read_file of 5 fixed paths and the 2 below, write_file twice, connect, snoop(public.txt).
    let words = ["escape", "public.txt", secret.as_str(), "secret.txt"];
    execute_in(&dir, &[], &words).expect_code(ExitCode::Ok);
    check_store(&dir, &words, 0, 2 + 7 + 2 + 1 + 1);

    let is_err = |v: &Value| v.as_str().is_some_and(|s| s.starts_with("Err("));
    let reads = values(&dir, "read_file", &words);
    assert_eq!(reads.len(), 7);
    assert!(reads.iter().all(is_err), "{reads:#?}");
    let writes = values(&dir, "write_file", &words);
    assert!(writes.iter().all(|w| is_err(w) && w.as_str().unwrap().contains(" then Err(")), "{writes:#?}");
    assert!(!dir.join("written-by-a-task.txt").exists());
    let network = values(&dir, "connect", &words);
    assert_eq!(network[0].as_array().map(Vec::len), Some(4), "{network:?}");
    assert!(network[0].as_array().unwrap().iter().all(is_err), "{network:#?}");
    // The input is readable where it is mounted, and nothing around it.
    let snoop = values(&dir, "snoop", &words);
    let snoop = snoop[0].as_array().expect("a list");
    assert_eq!(snoop[0], json!("Ok(\"public line\\n\")"), "{snoop:#?}");
    assert!(snoop[1..].iter().all(is_err), "{snoop:#?}");
    assert_eq!(std::fs::read_to_string(dir.join("public.txt")).unwrap(), "public line\n");

    let everything =
        jug(&dir, &with_words(&["value", GRAPH, "--pattern", "hostile."], &words)).expect_code(ExitCode::Ok);
    assert!(!everything.stdout.contains("root:"), "{}", everything.stdout);
}

#[test]
fn a_granted_directory_does_not_lead_out() {
    let dir = TestDir::with_guest("hostile-grant", GRAPH);
    std::fs::create_dir(dir.join("granted")).unwrap();
    std::fs::write(dir.join("granted/ok.txt"), "granted\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "root:x:0:0:secret\n").unwrap();
    std::os::unix::fs::symlink("../secret.txt", dir.join("granted/link-out")).unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("granted/abs-link")).unwrap();
    // read_file of ok.txt, link-out, abs-link, ../secret.txt, ../../etc/passwd,
    // x/../../secret.txt under /data, and write_file of /data/new.txt.
    let words = ["grant", "/data"];
    execute_in(&dir, &["--dir", "granted:/data"], &words).expect_code(ExitCode::Ok);
    assert_eq!(dir.result_count(STORE), 2 + 6 + 1, "results stored");
    assert!(failure_records(&dir).is_empty());
    // The grant's content is in every key: its tasks are those run with it.
    let values = |_: &TestDir, name: &str, words: &[&str]| -> Vec<Value> {
        let run = jug(&dir, &with_words(&["value", GRAPH, name, "--json", "--dir", "granted:/data"], words));
        let documents: Value = serde_json::from_str(&run.expect_code(ExitCode::Ok).stdout).expect("JSON");
        documents.as_array().expect("an array").iter().map(|d| d["value"].clone()).collect()
    };
    assert_eq!(values(&dir, "constant", &words), [json!(7), json!(8)]);
    let reads = values(&dir, "read_file", &words);
    assert_eq!(reads[0], json!("Ok(\"granted\\n\")"), "{reads:#?}");
    assert!(reads[1..].iter().all(|r| r.as_str().unwrap().starts_with("Err(")), "{reads:#?}");
    let write = values(&dir, "write_file", &words);
    assert!(write[0].as_str().unwrap().starts_with("Err("), "{write:?}");
    assert!(!dir.join("granted/new.txt").exists());
}

#[test]
fn graph_imports_refuse_inside_a_task() {
    // declare, declare-in, input-file, compound, declare-compound and set-limits all fail,
    // barrier says false and value none; the task fails with the (one, shared) refusal.
    let (_dir, record) =
        one_task_fails("hostile-graph-in-run", &[], &["graph_in_run"], "call_graph_in_run", "guest-error");
    assert_eq!(
        message(&record),
        "graph functions can only be called while building the graph, not inside a task",
        "{record:#}"
    );
}

#[test]
fn results_that_are_not_deterministic_cbor_are_refused() {
    let words = ["bad_cbor"];
    let (dir, run) = execute("hostile-bad-cbor", &[], &words);
    let run = run.expect_code(ExitCode::NotDone);
    // One task per variant of the fixture's BAD_CBOR.
    const VARIANTS: usize = 20;
    let records = failure_records(&dir);
    assert_eq!(records.len(), VARIANTS, "{}", run.stderr);
    for (_, record) in &records {
        assert_eq!(record["name"], "hostile.bad_cbor", "{record:#}");
        assert_eq!(record["failure"]["kind"], "bad-result", "{record:#}");
        assert!(message(record).contains("not deterministic CBOR"), "{record:#}");
    }
    let messages: Vec<&str> = records.iter().map(|(_, r)| message(r)).collect();
    for reason in [
        "ends early",
        "trailing bytes",
        "reserved",
        "sorted order",
        "map key is not a text string",
        "shortest form",
        "indefinite-length",
        "UTF-8",
        "nested too deeply",
    ] {
        assert!(messages.iter().any(|m| m.contains(reason)), "no `{reason}` in {messages:#?}");
    }
    check_store(&dir, &words, VARIANTS, 2);
}

#[test]
fn a_component_importing_what_the_host_lacks_is_refused() {
    let dir = TestDir::with_guest("hostile-foreign", "foreign.wasm");
    for command in ["status", "execute", "count"] {
        let run = jug(&dir, &[command, "foreign.wasm"])
            .expect_one_line_error(ExitCode::BadGraph, "is not a jug task component");
        assert!(run.stderr.contains("jug:extra/evil"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    assert!(!dir.join("foreign.jugdata").exists());
}
