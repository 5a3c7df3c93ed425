//! The compiled-code cache: bounded by `JUG_CACHE_MAX` (least recently used out first, safe
//! under concurrent processes), shown and pruned by `jug-host cache`, warmed by `--warm`, and
//! a note on stderr whenever a command must compile.

use crate::util::ExitCode;
use crate::util::{JugCommand, Run, TestDir};

/// A test directory whose commands use a cache of their own.
fn cache_dir(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, "primes.wasm");
    dir.copy_guest("tasks.wasm", "tasks.wasm");
    dir
}

fn jug(dir: &TestDir, args: &[&str]) -> JugCommand {
    dir.jug(args).env("JUG_CACHE_DIR", dir.join("cache").to_str().unwrap())
}

/// The number of entries `jug-host cache` reports.
fn entries(dir: &TestDir) -> usize {
    let shown = jug(dir, &["cache"]).run().expect_code(ExitCode::Ok).stdout;
    let line = shown.lines().nth(1).unwrap_or_else(|| panic!("{shown}"));
    line.split_whitespace().next().unwrap().parse().unwrap()
}

fn compiles(run: &Run) -> Vec<&str> {
    run.stderr.lines().filter(|l| l.starts_with("jug-host: compiling ")).collect()
}

#[test]
fn a_compile_is_announced_once_and_cached() {
    let dir = cache_dir("cache-notes");
    assert_eq!(entries(&dir), 0);
    let first =
        jug(&dir, &["execute", "primes.wasm"]).env("JUG_PROGRESS", "always").run().expect_code(ExitCode::Ok);
    let notes = compiles(&first);
    assert_eq!(notes.len(), 1, "{first:?}");
    assert!(notes[0].starts_with("jug-host: compiling primes.wasm ("), "{first:?}");
    assert!(first.stderr.contains("jug-host: compiled primes.wasm in "), "{first:?}");
    assert_eq!(entries(&dir), 1);
    // Cached: nothing to say the second time, and nothing at all without a terminal.
    let second =
        jug(&dir, &["status", "primes.wasm"]).env("JUG_PROGRESS", "always").run().expect_code(ExitCode::Ok);
    assert!(compiles(&second).is_empty(), "{second:?}");
    jug(&dir, &["cache", "--clear"]).run().expect_code(ExitCode::Ok);
    let quiet = jug(&dir, &["status", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert_eq!(quiet.stderr, "", "no notes on a pipe unless JUG_PROGRESS=always");
}

#[test]
fn the_cache_keeps_the_most_recently_used_within_its_limit() {
    let dir = cache_dir("cache-bound");
    jug(&dir, &["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
    jug(&dir, &["status", "tasks.wasm"])
        .arg_words(&["diamond", "1", "2"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(entries(&dir), 2);
    let sizes: Vec<u64> = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    let room_for_one = sizes.iter().max().unwrap() + 1;
    let limit = room_for_one.to_string();

    // Used last: tasks.wasm. Pruning to room for one keeps it; primes must compile again.
    let pruned = jug(&dir, &["cache", "--prune", "--max", &limit]).run().expect_code(ExitCode::Ok);
    assert!(pruned.stdout.starts_with("removed 1 entry ("), "{pruned:?}");
    assert_eq!(entries(&dir), 1);
    let again = jug(&dir, &["status", "primes.wasm"]).env("JUG_PROGRESS", "always").run();
    assert_eq!(compiles(&again).len(), 1, "primes.wasm was the one pruned: {again:?}");

    // The limit applies as entries are written: with JUG_CACHE_MAX at room for one, each
    // compile pushes the one before out.
    jug(&dir, &["cache", "--clear"]).run().expect_code(ExitCode::Ok);
    for graph in ["primes.wasm", "tasks.wasm"] {
        jug(&dir, &["status", graph]).env("JUG_CACHE_MAX", &limit).run();
    }
    assert_eq!(entries(&dir), 1, "written one after the other, the first went");
}

/// Four processes, each compiling components that push the others' out of a cache with room
/// for one: each reads an entry another may be removing. All of them must finish, right.
#[test]
fn concurrent_processes_evicting_each_other_all_succeed() {
    let dir = cache_dir("cache-concurrent");
    jug(&dir, &["status", "primes.wasm"]).run();
    let one =
        std::fs::read_dir(dir.join("cache")).unwrap().flatten().map(|e| e.metadata().unwrap().len()).max();
    let limit = (one.unwrap() + 1).to_string();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (graph, words) =
                [("primes.wasm", &[][..]), ("tasks.wasm", &["diamond", "1", "2"][..])][i % 2];
            let store = format!("store-{i}");
            let command = jug(&dir, &["execute", graph, "--store", &store]).arg_words(words);
            command.env("JUG_CACHE_MAX", &limit).spawn()
        })
        .collect();
    for worker in workers {
        worker.wait().expect_code(ExitCode::Ok);
    }
    let value = jug(&dir, &["value", "primes.wasm", "write_output", "--store", "store-0"]).run();
    assert_eq!(value.expect_code(ExitCode::Ok).stdout, "\"Found 25 primes <= 100.\\n\"\n");
    assert!(entries(&dir) <= 1);
}

#[test]
fn warming_compiles_ahead_and_bad_settings_are_one_line() {
    let dir = cache_dir("cache-warm");
    let warmed = jug(&dir, &["cache", "--warm", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert!(warmed.stdout.starts_with("primes.wasm: compiled with 0 variants in "), "{warmed:?}");
    let run =
        jug(&dir, &["execute", "primes.wasm"]).env("JUG_PROGRESS", "always").run().expect_code(ExitCode::Ok);
    assert!(compiles(&run).is_empty(), "{run:?}");
    jug(&dir, &["status", "primes.wasm"])
        .env("JUG_CACHE_MAX", "lots")
        .run()
        .expect_one_line_error(ExitCode::Usage, "JUG_CACHE_MAX: expected a size like 4096");
    jug(&dir, &["status", "primes.wasm"])
        .env("JUG_PROGRESS", "yes")
        .run()
        .expect_one_line_error(ExitCode::Usage, "JUG_PROGRESS must be auto, always or never, not `yes`");
    jug(&dir, &["cache", "--max", "1GiB"]).run().expect_one_line_error(ExitCode::Usage, "--prune");
    jug(&dir, &["cache", "--warm", "nothing.wasm"])
        .run()
        .expect_one_line_error(ExitCode::BadGraph, "nothing.wasm");
}

/// A command on a component unchanged since an earlier one does not read it again (see
/// `load_memo`): what it remembers must be what the bytes give, and a component edited in
/// place, or replaced, must be read afresh.
#[test]
fn an_unchanged_component_is_not_read_again_and_an_edited_one_is() {
    let dir = cache_dir("cache-memo");
    let remembered = |run: &Run| run.stderr.contains("primes.wasm as remembered, without reading it");
    let debug = |args: &[&str]| jug(&dir, args).env("RUST_LOG", "debug");
    // Just copied: within the racy window, so the first load is not remembered.
    let fresh = debug(&["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
    let again = debug(&["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
    assert!(!remembered(&fresh) && !remembered(&again), "{again:?}");

    // Old enough: remembered by one command, used by the next.
    std::thread::sleep(std::time::Duration::from_millis(3_200));
    debug(&["status", "primes.wasm"]).run().expect_code(ExitCode::NotDone);
    let recalled = debug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert!(remembered(&recalled), "{recalled:?}");
    // The keys it ran under are the ones the bytes give: a cache of its own (no memo) finds
    // every result.
    let elsewhere =
        dir.jug(&["status", "primes.wasm"]).env("JUG_CACHE_DIR", dir.join("other-cache").to_str().unwrap());
    elsewhere.run().expect_code(ExitCode::Ok);

    // Edited in place (same inode, same name): read again, and it is the new graph that runs.
    std::fs::write(dir.join("primes.wasm"), std::fs::read(dir.join("tasks.wasm")).unwrap()).unwrap();
    let edited = debug(&["status", "primes.wasm"]).arg_words(&["diamond", "1", "2"]).run();
    assert!(!remembered(&edited), "{edited:?}");
    assert!(edited.expect_code(ExitCode::NotDone).stdout.contains("primes.negate"), "tasks.wasm's graph");
}
