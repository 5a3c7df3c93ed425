//! Exhausting the host: a graph builder that loops, eats memory, declares a huge graph or
//! floods the log (`tests/fixtures/guests/hostile_graph`, `resources.rs`); a task that floods
//! the log or is given one big result many times (`hostile`); a task that kills every worker
//! that runs it; and more tasks at once than the sandbox has slots. Each is refused with one
//! line or one failure record, the host stays up, and its memory stays bounded.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::ExitCode;
use crate::util::{Run, TestDir, tree_snapshot};

const GRAPH: &str = "hostile_graph.wasm";
const STORE: &str = "hostile_graph.jugdata";

/// `jug-host ARGS…` in `dir`, killed (SIGKILL, by coreutils' `timeout`) if it still runs after
/// a minute, which fails the test; with its peak resident memory in bytes.
#[track_caller]
fn measured(dir: &TestDir, args: &[&str]) -> (Run, u64) {
    let mut command = vec!["--signal=KILL", "60s", env!("CARGO_BIN_EXE_jug-host")];
    command.extend_from_slice(args);
    let (run, peak) = dir.command(Path::new("timeout"), &command).spawn().wait_with_peak_memory();
    // Any answer of ours but the signals' (the deadline sends KILL: -1; a panic exits 101).
    let orderly =
        run.exit().is_some_and(|code| !matches!(code, ExitCode::Interrupted | ExitCode::Terminated));
    assert!(orderly, "jug-host {args:?} hung or crashed: {run:?}");
    (run, peak)
}

#[track_caller]
fn jug(dir: &TestDir, args: &[&str]) -> Run {
    measured(dir, args).0
}

const MIB: u64 = 1 << 20;

/// A builder attack under `flags`: refused with one line and the build-failure exit code,
/// leaving the directory as it was; returns the line and the host's peak memory.
#[track_caller]
fn refused_build(test: &str, flags: &[&str], words: &[&str], needle: &str) -> (String, u64) {
    let dir = TestDir::with_guest(test, GRAPH);
    let before = tree_snapshot(&dir.path);
    let mut args = vec!["execute", GRAPH];
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(words);
    let (run, peak) = measured(&dir, &args);
    let run = run.expect_one_line_error(ExitCode::BuildFailed, needle);
    assert_eq!(tree_snapshot(&dir.path), before, "the build changed the directory");
    (run.stderr, peak)
}

#[test]
fn an_endless_builder_is_stopped_by_its_timeout() {
    let started = Instant::now();
    let (line, _) = refused_build(
        "exhaust-build-loop",
        &["--build-timeout", "1s", "--timeout", "1s", "--fuel", "1000"],
        &["build-loop"],
        "ran longer than the --build-timeout of 1s; raise it with --build-timeout",
    );
    assert!(line.contains("the graph builder of hostile_graph.wasm"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

/// Without a limit of its own, the builder grew to the 4 GiB a wasm32 guest can address, in
/// the host's memory.
#[test]
fn a_builder_memory_bomb_is_stopped_and_host_memory_stays_bounded() {
    let (line, peak) = refused_build(
        "exhaust-build-bomb",
        &["--build-max-memory", "64MiB"],
        &["build-bomb"],
        "past the --build-max-memory limit of 64 MiB; raise it with --build-max-memory",
    );
    assert!(line.contains("tried to grow its memory to"), "{line}");
    assert!(peak < 400 * MIB, "host peak memory {} MiB", peak / MIB);
}

/// A million tasks with 1 MiB of arguments each would need a TiB of host memory: the graph
/// stops at its limits, well before the host's.
#[test]
fn a_huge_graph_is_refused_at_its_limits() {
    let (_, peak) = refused_build(
        "exhaust-graph-tasks",
        &["--max-graph-tasks", "1000"],
        &["huge-graph", "1000000", "1"],
        "declared more than 1000 tasks, the --max-graph-tasks limit; raise it with --max-graph-tasks",
    );
    assert!(peak < 400 * MIB, "host peak memory {} MiB", peak / MIB);
    let (_, peak) = refused_build(
        "exhaust-graph-bytes",
        &["--max-graph-bytes", "64MiB"],
        &["huge-graph", "1000000", "1048576"],
        "declared tasks whose arguments take more than 64 MiB, the --max-graph-bytes limit; raise it \
         with --max-graph-bytes",
    );
    assert!(peak < 400 * MIB, "host peak memory {} MiB", peak / MIB);
}

#[test]
fn a_builder_flooding_the_log_is_stopped_at_max_log() {
    let (line, peak) = refused_build(
        "exhaust-build-log",
        &["--max-log", "1MiB"],
        &["build-log-flood", "200"],
        "wrote more than the --max-log limit of 1 MiB to stdout, stderr and the log; raise it with --max-log",
    );
    assert!(line.len() < 1000, "{line}");
    assert!(peak < 400 * MIB, "host peak memory {} MiB", peak / MIB);
}

/// Every `failed/<key>` record of `store`.
fn failure_records(dir: &TestDir, store: &str) -> Vec<Value> {
    let failed = format!("{store}/failed");
    let records = dir.files_under(&failed).into_iter();
    records
        .map(|f| serde_json::from_slice(&std::fs::read(dir.join(&failed).join(f)).unwrap()).unwrap())
        .collect()
}

/// A task writing 200 MiB through the log import, against a 1 MiB `--max-log`, used to
/// complete "ok" with all 200 MiB kept in host memory and in its stored log.
#[test]
fn a_task_flooding_the_log_fails_and_keeps_no_more_than_the_limit() {
    let dir = TestDir::with_guest("exhaust-task-log", GRAPH);
    let args =
        ["execute", GRAPH, "--keep-going", "--keep-failed", "--max-log", "1MiB", "--", "log-flood", "200"];
    let (run, peak) = measured(&dir, &args);
    let run = run.expect_code(ExitCode::NotDone);
    let records = failure_records(&dir, STORE);
    assert_eq!(records.len(), 1, "{}", run.stderr);
    assert_eq!(records[0]["name"], "hostile_graph.log_flood");
    assert_eq!(records[0]["failure"]["kind"], "output-too-large");
    let message = records[0]["failure"]["message"].as_str().unwrap();
    assert!(message.contains("the --max-log limit of 1 MiB"), "{message}");
    let logs = dir.files_under(&format!("{STORE}/logs"));
    assert_eq!(logs.len(), 1);
    let size = std::fs::metadata(dir.join(STORE).join("logs").join(&logs[0])).unwrap().len();
    assert!(size <= MIB + (64 << 10), "a log of {size} bytes was kept");
    assert!(peak < 400 * MIB, "host peak memory {} MiB", peak / MIB);
    assert_eq!(dir.result_count(STORE), 1, "constant(7) completed");
}

/// One 2 MiB result in a task's arguments 20 times would be a 40 MiB input: refused before
/// it is built, as `--max-input` says; 5 times fits and runs.
#[test]
fn one_result_spliced_many_times_is_refused_before_it_is_built() {
    let dir = TestDir::with_guest("exhaust-splice", "hostile.wasm");
    let execute = |words: &[&str]| {
        let mut args =
            vec!["execute", "hostile.wasm", "--keep-going", "--keep-failed", "--max-input", "16MiB"];
        args.push("--");
        args.extend_from_slice(words);
        jug(&dir, &args)
    };
    let run = execute(&["amplify", "2", "20"]).expect_code(ExitCode::NotDone);
    let records = failure_records(&dir, "hostile.jugdata");
    assert_eq!(records.len(), 1, "{}", run.stderr);
    assert_eq!(records[0]["name"], "hostile.measure_all");
    assert_eq!(records[0]["failure"]["kind"], "input-too-large");
    let message = records[0]["failure"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("would take an input of 40 MiB (its arguments with 20 task results spliced in)")
            && message.ends_with("more than the --max-input limit of 16 MiB; raise it with --max-input"),
        "{message}"
    );
    assert!(run.stderr.contains(message), "{}", run.stderr);

    execute(&["amplify", "2", "5"]).expect_code(ExitCode::Ok);
    let value = jug(&dir, &["value", "hostile.wasm", "measure_all", "--", "amplify", "2", "5"])
        .expect_code(ExitCode::Ok);
    let size: u64 = value.stdout.trim().parse().expect("a size");
    assert!(size > 10 * MIB && size < 11 * MIB, "{size}");
}

/// The record of the one lock in `store`, if there is one.
fn lock_record(dir: &TestDir, store: &str) -> Option<Value> {
    let locks = dir.join(store).join("locks");
    let entries = std::fs::read_dir(&locks).ok()?;
    let lock = entries.flatten().find(|e| e.file_type().is_ok_and(|t| t.is_file()))?;
    serde_json::from_slice(&std::fs::read(lock.path()).ok()?).ok()
}

/// A task that kills its worker (here: the test kills it with SIGKILL while it runs) is
/// taken over by the next worker once the lease expires, which it kills too. After three
/// such takeovers in a row the next worker marks it failed instead of running it, and runs
/// the rest of the graph.
#[test]
fn a_task_that_kills_its_workers_is_marked_failed() {
    let dir = TestDir::with_guest("exhaust-crashed-workers", "hostile.wasm");
    let store = "hostile.jugdata";
    for takeovers in 0..3u64 {
        // Only the endless task, so the only lock is its.
        let args = ["execute", "hostile.wasm", "-j", "1", "--lease", "500ms", "--name", "hostile.spin"];
        let worker = dir.jug(&args).arg_words(&["spin"]).spawn();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let record = lock_record(&dir, store);
            let seen = record.as_ref().map(|r| r.get("takeovers").and_then(Value::as_u64).unwrap_or(0));
            if seen == Some(takeovers) {
                break;
            }
            assert!(Instant::now() < deadline, "worker {takeovers} never took the task: {record:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        worker.signal(libc::SIGKILL);
        let killed = worker.wait();
        assert_eq!(killed.code, -1, "{killed:?}");
    }

    let run =
        jug(&dir, &["execute", "hostile.wasm", "-j", "1", "--lease", "500ms", "--keep-going", "--", "spin"]);
    let run = run.expect_code(ExitCode::NotDone);
    let records = failure_records(&dir, store);
    assert_eq!(records.len(), 1, "marked failed without --keep-failed: {}", run.stderr);
    assert_eq!(records[0]["name"], "hostile.spin");
    assert_eq!(records[0]["failure"]["kind"], "crashed-workers");
    let message = records[0]["failure"]["message"].as_str().unwrap();
    assert!(message.starts_with("the 3 workers that ran it in a row died before finishing it"), "{message}");
    assert!(run.stderr.contains(message), "{}", run.stderr);

    let status =
        jug(&dir, &["status", "hostile.wasm", "--json", "--", "spin"]).expect_code(ExitCode::NotDone);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["totals"]["failed"], 1, "{status:#}");
    assert_eq!(status["totals"]["complete"], 2, "{status:#}");
    let log = jug(&dir, &["log", "hostile.wasm", "spin", "--", "spin"]).expect_code(ExitCode::Ok);
    assert!(log.stdout.contains("crashed-workers"), "{}", log.stdout);
    // Marked, it is left alone: nothing runs, nothing hangs.
    let again = jug(&dir, &["execute", "hostile.wasm", "--", "spin"]).expect_code(ExitCode::Ok);
    assert!(again.stderr.contains("were not run"), "{}", again.stderr);
}

/// The sandbox's pool has 256 instance slots: 300 tasks at once used to fail the ones that
/// found it full ("maximum concurrent limit of 256 for component instances reached"), and
/// `--keep-failed` marked them for good. Now they wait for a slot.
#[test]
fn more_tasks_at_once_than_sandbox_slots_wait_for_a_slot() {
    let dir = TestDir::with_guest("exhaust-slots", "tasks.wasm");
    let args = ["execute", "tasks.wasm", "-j", "300", "--keep-going", "--keep-failed", "--short"];
    let run = jug(&dir, &[&args[..], &["--", "spin", "600", "5"]].concat());
    assert_eq!(dir.files_under("tasks.jugdata/failed"), Vec::<String>::new(), "{}", run.stderr);
    let run = run.expect_code(ExitCode::Ok);
    assert!(run.stdout.starts_with("Executed:  600 tasks"), "{}", run.stdout);
}
