//! Tasks run ahead of the scheduler while the graph is built (`jug_runtime::ahead`): on the
//! cores the builder leaves idle, never for a task already stored, and never keeping the
//! process alive once the build is over.

use std::time::{Duration, Instant};

use crate::util::ExitCode;
use crate::util::{TestDir, count};

/// The debug line `execute` ends the first round with: (runs made ahead, runs used).
fn ran_ahead(stderr: &str) -> (usize, usize) {
    let line = stderr.lines().find(|l| l.contains("ran while the graph was built")).expect(stderr);
    let (ran, used) = line.split_once("; ").expect(line);
    (count(ran, "", "task(s) ran while"), count(used, "", "of those runs were used"))
}

/// A test directory with the tasks fixture, or `None` on one core, where nothing runs ahead.
fn two_cores(name: &str) -> Option<TestDir> {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("one core: nothing runs ahead");
        return None;
    }
    Some(TestDir::with_guest(name, "tasks.wasm"))
}

#[test]
fn a_task_declared_early_runs_while_the_builder_works_and_its_run_is_stored() {
    let Some(dir) = two_cores("ahead-used") else { return };
    // spin(0, 1) takes about a millisecond; the builder works about 300 ms after declaring it.
    let graph = ["ahead", "300", "1"];
    let execute = ["execute", "tasks.wasm", "-j", "2", "--short"];
    let debug = ("RUST_LOG", "jug_host=debug,jug_runtime=debug");
    let first = dir.jug(&execute).arg_words(&graph).env(debug.0, debug.1).run();
    let first = first.expect_code(ExitCode::Ok);
    let (ran, used) = ran_ahead(&first.stderr);
    assert!(ran >= 1, "spin ran while the builder worked: {}", first.stderr);
    assert_eq!(used, ran, "every run made ahead was used: {}", first.stderr);
    // Beside the threads running ahead, the builder's memory was populated before it ran (see
    // `jug_runtime::engine::prefault_for_writing`), and the results are those of a builder
    // left alone (below).
    let prefaulted = count(&first.stderr, "", "bytes of the builder's memory");
    assert!(prefaulted >= 64 << 10, "at least a wasm page: {}", first.stderr);
    assert_eq!(count(&first.stdout, "Executed:", "tasks"), 2, "{first:?}");
    let value = dir.jug(&["value", "tasks.wasm", "spin"]).arg_words(&graph).run().expect_code(ExitCode::Ok);
    let single = dir.jug(&["execute", "tasks.wasm", "-j", "1", "--store", "alone"]).arg_words(&graph);
    let single = single.env(debug.0, debug.1).run().expect_code(ExitCode::Ok);
    assert!(!single.stderr.contains("prefaulted"), "alone, the builder is not prefaulted: {}", single.stderr);
    let alone = dir.jug(&["value", "tasks.wasm", "spin", "--store", "alone"]).arg_words(&graph).run();
    assert_eq!(
        value.stdout,
        alone.expect_code(ExitCode::Ok).stdout,
        "the same result as a run by the scheduler"
    );

    // Everything is stored: nothing runs again, ahead or not.
    let again = dir.jug(&execute).arg_words(&graph).env(debug.0, debug.1).run();
    let again = again.expect_code(ExitCode::Ok);
    assert_eq!(ran_ahead(&again.stderr), (0, 0), "{}", again.stderr);
    assert_eq!(count(&again.stdout, "Loaded:", "tasks"), 2, "{again:?}");
}

#[test]
fn a_long_task_run_ahead_stops_when_the_build_ends() {
    let Some(dir) = two_cores("ahead-stopped") else { return };
    // spin(0, 60000): about a minute. One worker takes its lease and runs it.
    let graph = ["ahead", "300", "60000"];
    let holder = dir.jug(&["execute", "tasks.wasm", "-j", "1"]).arg_words(&graph).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::path::Path::new(&dir.join("tasks.jugdata")).exists()
        || dir.open_store("tasks.jugdata").list_locks().unwrap().is_empty()
    {
        assert!(Instant::now() < deadline, "the first worker never took a lease");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A second worker's builder works 300 ms after declaring spin: spin starts ahead on the
    // other core. When the build is over, spin is another worker's, and this one gives up
    // waiting at once; the run ahead must not keep it alive for a minute.
    let started = Instant::now();
    let second = dir
        .jug(&["execute", "tasks.wasm", "-j", "2", "--nr-wait-cycles", "0"])
        .arg_words(&graph)
        .env("RUST_LOG", "jug_host=debug")
        .run();
    let took = started.elapsed();
    holder.signal(libc::SIGKILL);
    let _ = holder.wait();
    let second = second.expect_code(ExitCode::Ok);
    assert!(took < Duration::from_secs(20), "the run ahead kept the worker {took:?}: {}", second.stderr);
    assert!(second.stderr.contains("locked by other workers"), "{}", second.stderr);
    assert_eq!(ran_ahead(&second.stderr), (0, 0), "the stopped run was not kept: {}", second.stderr);
}
