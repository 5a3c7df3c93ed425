//! A hostile graph (`tests/fixtures/guests/hostile_graph`): the builder itself attacks the
//! host. It grants its tasks what the user never allowed (write access to the working
//! directory, `.git`, the store, the compiled cache; a read of `.ssh`), swaps a granted
//! directory for a symbolic link to the host's `/etc` for the tasks after it, races other tasks
//! that start with a grant of it, and names files anywhere as libraries (`declare-in`).
//!
//! Each refusal is one line with exit code 4 (the builder failed) naming the path and the flag
//! that would allow it, jug-host stays up (every run ends under a deadline, with one of its
//! own exit codes), and the working directory, store included, is byte-for-byte unchanged.

use std::path::Path;

use crate::util::ExitCode;
use crate::util::{Run, TestDir, tree_snapshot};

const GRAPH: &str = "hostile_graph.wasm";
const STORE: &str = "hostile_graph.jugdata";
/// What the host answers a builder that declares what it must not.
const REFUSED: ExitCode = ExitCode::BuildFailed;

/// A working directory with what an attacker wants: a repository (`.git`), an SSH key, a
/// config file, a store with one result, and `out/ref` for the swap.
fn victim(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, GRAPH);
    for (path, content) in [
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".ssh/id", "-----BEGIN OPENSSH PRIVATE KEY-----\n"),
        (".jugrc", "[main]\n"),
        ("out/ref/marker", "the real directory\n"),
        ("data/in.txt", "input\n"),
    ] {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), content).unwrap();
    }
    // A store that already holds a result: a hostile graph must not add to it.
    jug(&dir, &["execute", GRAPH, "--", "none"]).expect_code(ExitCode::Ok);
    assert!(dir.join(STORE).is_dir());
    dir
}

/// `jug-host ARGS…` in `dir`, killed by PID if it is still running after two minutes (the
/// race runs 300 tasks: slow on a loaded 2-core machine); fails the test if it hung or died
/// of a signal.
#[track_caller]
fn jug(dir: &TestDir, args: &[&str]) -> Run {
    let mut command = vec!["--signal=KILL", "120s", env!("CARGO_BIN_EXE_jug-host")];
    command.extend_from_slice(args);
    let run = dir.command(Path::new("timeout"), &command).run();
    // Any answer of ours but the signals' (the deadline sends KILL: -1; a panic exits 101).
    let orderly =
        run.exit().is_some_and(|code| !matches!(code, ExitCode::Interrupted | ExitCode::Terminated));
    assert!(orderly, "jug-host {args:?} hung or crashed: {run:?}");
    run
}

/// Runs `execute GRAPH FLAGS… -- WORDS…` and checks that it is refused with one line that
/// contains every needle, leaving the working directory as it was.
#[track_caller]
fn refused(dir: &TestDir, flags: &[&str], words: &[&str], needles: &[&str]) -> String {
    let before = tree_snapshot(&dir.path);
    let mut args = vec!["execute", GRAPH];
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(words);
    let run = jug(dir, &args).expect_one_line_error(REFUSED, needles[0]);
    for needle in needles {
        assert!(run.stderr.contains(needle), "{words:?}: expected `{needle}` in {}", run.stderr);
    }
    assert_eq!(tree_snapshot(&dir.path), before, "{words:?} changed the working directory");
    run.stderr
}

#[test]
fn a_graph_cannot_grant_itself_write_access() {
    let dir = victim("hostile-graph-write");
    // Without `--allow-write`, no writable grant at all; the message names the flag.
    for target in [".", ".git", STORE, ".jugrc", "out"] {
        refused(
            &dir,
            &[],
            &["self-grant", target, ".jugrc"],
            &[&format!("writable grant of `{target}`"), &format!("--allow-write {target}")],
        );
    }
    // With `--allow-write .`, still not what holds the repository, the store or the cache,
    // nor a hidden directory.
    let allow = ["--allow-write", "."];
    refused(&dir, &allow, &["self-grant", ".", ".jugrc"], &["writable grant of `.`", "overlaps the store"]);
    refused(&dir, &allow, &["self-grant", STORE, "x"], &["overlaps the store", &format!("--dir {STORE}")]);
    let inside_store = format!("{STORE}/results");
    refused(&dir, &allow, &["self-grant", &inside_store, "x"], &["overlaps the store"]);
    refused(&dir, &allow, &["self-grant", ".git", "hooks"], &["hidden component `.git`", "--dir .git"]);
    refused(&dir, &allow, &["self-grant", "out/.hidden", "x"], &["hidden component `.hidden`"]);
    let elsewhere = ["--allow-write", ".", "--store", "memory://"];
    refused(&dir, &elsewhere, &["self-grant", ".", ".jugrc"], &["overlaps a `.git` directory"]);

    // The compiled cache, when the working directory holds it (running from `$HOME`).
    let cache = dir.join("cache");
    let with_cache = |words: &[&str]| {
        let mut args = vec!["execute", GRAPH, "--allow-write", ".", "--"];
        args.extend_from_slice(words);
        let command = dir.command(Path::new(env!("CARGO_BIN_EXE_jug-host")), &args);
        command.env("JUG_CACHE_DIR", cache.to_str().unwrap()).run()
    };
    with_cache(&["self-grant", "cache", "planted.cwasm"])
        .expect_one_line_error(REFUSED, "overlaps the compiled-component cache");
    assert!(!cache.join("planted.cwasm").exists());
}

#[test]
fn a_graph_cannot_read_hidden_or_protected_paths() {
    let dir = victim("hostile-graph-read");
    refused(&dir, &[], &["read-grant", ".ssh", "id"], &["read-only grant of `.ssh`", "--dir .ssh"]);
    refused(&dir, &[], &["read-grant", ".", ".ssh/id"], &["read-only grant of `.`", "overlaps the store"]);
    refused(&dir, &[], &["read-grant", "./.git/", "HEAD"], &["hidden component `.git`"]);
    refused(&dir, &[], &["read-grant", "../..", "etc/passwd"], &["outside the working directory"]);
    refused(&dir, &[], &["file", ".ssh/id"], &["input file `.ssh/id`", "--dir .ssh"]);
    refused(
        &dir,
        &[],
        &["file", "/etc/passwd"],
        &["input file `/etc/passwd`", "outside the working directory"],
    );
    // A link to the key under an innocent name is not followed.
    std::os::unix::fs::symlink(".ssh/id", dir.join("notes.txt")).unwrap();
    refused(&dir, &[], &["file", "notes.txt"], &["input file `notes.txt`", "symbolic link"]);
    // What the user grants with `--dir`, the graph may hand on.
    jug(&dir, &["execute", GRAPH, "--dir", ".ssh", "--", "read-grant", ".ssh", "id"])
        .expect_code(ExitCode::Ok);
}

#[test]
fn nothing_is_read_inside_what_tasks_may_write() {
    let dir = victim("hostile-graph-nested");
    let allow = ["--allow-write", "out"];
    refused(
        &dir,
        &allow,
        &["read-grant", "out/ref", "marker"],
        &["read-only grant of `out/ref`", "--allow-write out"],
    );
    std::fs::write(dir.join("out/in.txt"), "x").unwrap();
    refused(&dir, &allow, &["file", "out/in.txt"], &["input file `out/in.txt`", "inside `out`"]);
    // The user's own flags: a `--dir` inside what tasks may write could be swapped for a
    // link before the next run (the attack of the issue: data rw, data/ref read-only).
    let before = tree_snapshot(&dir.path);
    for flags in [
        ["--dir", "out:/data:rw", "--dir", "out/ref:/ref"],
        ["--allow-write", "out", "--dir", "out/ref:/ref"],
        ["--allow-write", "..", "--dir", "data"],
    ] {
        let mut args = vec!["execute", GRAPH];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["--", "none"]);
        jug(&dir, &args).expect_one_line_error(
            ExitCode::Usage,
            if flags[0] == "--dir" { "inside" } else { "--allow-write" },
        );
    }
    assert_eq!(tree_snapshot(&dir.path), before);
}

#[test]
fn allow_write_lets_a_task_write_below_it_only() {
    let dir = victim("hostile-graph-allowed");
    std::fs::create_dir_all(dir.join("out/sub")).unwrap();
    let run =
        jug(&dir, &["execute", GRAPH, "--allow-write", "out", "--", "self-grant", "out/sub", "result.txt"]);
    run.expect_code(ExitCode::Ok);
    assert_eq!(
        std::fs::read_to_string(dir.join("out/sub/result.txt")).unwrap(),
        "[main]\ndir = /:/host:rw\n"
    );
    // `--allow-write` mounts nothing by itself and changes no key: the harmless task is done.
    let status =
        jug(&dir, &["status", GRAPH, "--allow-write", "out", "--", "none"]).expect_code(ExitCode::Ok);
    assert!(status.stdout.contains("hostile_graph.constant"), "{}", status.stdout);
}

/// Every result and failure record in the store, as text, for what tasks returned.
fn stored_text(dir: &TestDir) -> String {
    let mut text = String::new();
    for (path, _) in tree_snapshot(&dir.join(STORE)) {
        text.push_str(&String::from_utf8_lossy(
            &std::fs::read(dir.join(STORE).join(path)).unwrap_or_default(),
        ));
    }
    text
}

#[test]
fn a_task_that_swaps_a_granted_directory_for_a_link_reaches_nothing() {
    let dir = victim("hostile-graph-swap");
    let run = jug(&dir, &["execute", GRAPH, "--allow-write", "out", "--keep-going", "--", "swap"])
        .expect_code(ExitCode::NotDone);
    // The attack happened: `out/ref` is now a link climbing to the host's /etc…
    let link = std::fs::symlink_metadata(dir.join("out/ref")).unwrap();
    assert!(link.file_type().is_symlink(), "the swap did not happen: {run:?}");
    // …and the task granted `out/ref` after it did not get /etc.
    assert!(
        run.stderr.contains("granted directory `out/ref` goes through a symbolic link"),
        "{}",
        run.stderr
    );
    assert!(!stored_text(&dir).contains("passwd"), "a task listed the host's /etc");
    // Nor does a later run, whichever way the link is reached.
    let again = jug(&dir, &["execute", GRAPH, "--allow-write", "out", "--keep-going", "--", "swap"]);
    assert!(!again.stdout.contains("passwd") && !stored_text(&dir).contains("passwd"));
    jug(&dir, &["execute", GRAPH, "--allow-write", "out", "--dir", "out/ref", "--", "none"])
        .expect_one_line_error(ExitCode::Usage, "inside `out`");
}

#[test]
fn tasks_starting_while_another_flips_a_link_never_leave_the_working_directory() {
    let dir = victim("hostile-graph-race");
    let run = jug(
        &dir,
        &["execute", GRAPH, "-j", "4", "--allow-write", "out", "--keep-going", "--", "race", "300", "20000"],
    );
    let stored = stored_text(&dir);
    let flips: u64 = stored
        .split("linked ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the flipping task did not finish: {run:?}"));
    assert!(flips > 0, "the link was never planted");
    let listed = stored.matches("marker").count();
    assert!(listed > 0, "no task saw the real directory: {run:?}");
    assert!(!stored.contains("passwd"), "a task listed the host's /etc");
    assert!(!run.stderr.contains("passwd"), "{}", run.stderr);
}

#[test]
fn declare_in_reaches_only_regular_files_below_the_graph() {
    let dir = victim("hostile-graph-declare-in");
    refused(
        &dir,
        &[],
        &["declare-in", "/dev/zero"],
        &["library `/dev/zero` is not below the graph's directory"],
    );
    // A graph cannot tell a file that exists outside from one that does not.
    let passwd = refused(&dir, &[], &["declare-in", "/etc/passwd"], &["/etc/passwd"]);
    let missing = refused(&dir, &[], &["declare-in", "/etc/nonexistent"], &["/etc/nonexistent"]);
    assert_eq!(passwd.replace("/etc/passwd", "P"), missing.replace("/etc/nonexistent", "P"));
    // `../x.wasm`: a real component, one directory up from the graph.
    std::fs::create_dir_all(dir.join("graph")).unwrap();
    dir.copy_guest(GRAPH, &format!("graph/{GRAPH}"));
    let up = jug(&dir, &["execute", &format!("graph/{GRAPH}"), "--", "declare-in", &format!("../{GRAPH}")]);
    up.expect_one_line_error(REFUSED, "is not below the graph's directory");

    // Below it: no FIFO (it would hang), no link, nothing huge. They sit with a copy of the
    // graph in a directory of their own (a snapshot would hang on the FIFO).
    let lib = TestDir::with_guest("hostile-graph-declare-in-lib", GRAPH);
    let fifo = std::ffi::CString::new(lib.join("fifo.wasm").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("/etc/passwd", lib.join("link.wasm")).unwrap();
    let huge = std::fs::File::create(lib.join("huge.wasm")).unwrap();
    huge.set_len(300 << 20).unwrap(); // sparse: no disk space used
    let graph = lib.join(GRAPH);
    let graph = graph.to_str().unwrap();
    for (library, why) in [
        ("fifo.wasm", "library `fifo.wasm` is not a regular file"),
        ("link.wasm", "library `link.wasm` goes through a symbolic link"),
        ("huge.wasm", "library `huge.wasm` is larger than 256 MiB"),
    ] {
        let before = tree_snapshot(&dir.path);
        jug(&dir, &["execute", graph, "--", "declare-in", library]).expect_one_line_error(REFUSED, why);
        assert_eq!(tree_snapshot(&dir.path), before);
    }
    // The graph's own component is capped too, before compiling.
    let huge = lib.join("huge.wasm");
    jug(&dir, &["status", huge.to_str().unwrap()])
        .expect_one_line_error(ExitCode::BadGraph, "huge.wasm is larger than 256 MiB");
    let fifo = lib.join("fifo.wasm");
    jug(&dir, &["status", fifo.to_str().unwrap()])
        .expect_one_line_error(ExitCode::BadGraph, "fifo.wasm is not a regular file");
}

#[test]
fn declare_many_refuses_what_declare_refuses_and_bytes_that_are_not_a_batch() {
    let dir = victim("hostile-graph-declare-many");
    // The `self-grant` attack inside a batch (the import the JavaScript SDK declares with):
    // refused with the same line, nothing written.
    refused(&dir, &[], &["declare-many-grant", ".", ".jugrc"], &["writable grant of `.`", "--allow-write ."]);
    let allow = ["--allow-write", "."];
    refused(&dir, &allow, &["declare-many-grant", STORE, "x"], &["overlaps the store"]);

    let run = jug(&dir, &["execute", GRAPH, "--", "declare-many"]);
    let outcomes: Vec<&str> = run.stderr.lines().filter_map(|l| l.strip_prefix("[info] ")).collect();
    let expected = [
        ("empty", "refused after 0 bytes of keys: declare-many: ", "value ends early"),
        ("garbage", "refused after 0 bytes of keys: declare-many: ", "indefinite-length item"),
        ("huge", "refused after 0 bytes of keys: declare-many: ", "value ends early"),
        ("not text", "refused after 0 bytes of keys: declare-many: ", "expected a text string"),
        ("four items", "refused after 0 bytes of keys: declare-many: ", "not 4 items"),
        ("trailing", "refused after 0 bytes of keys: declare-many: ", "bytes after the array of calls"),
        ("good", "ok, 64 bytes of keys", ""),
        ("halfway", "refused after 32 bytes of keys: ", "which was not declared before it"),
    ];
    assert_eq!(outcomes.len(), expected.len(), "{}", run.stderr);
    for (line, (what, start, end)) in outcomes.iter().zip(expected) {
        assert!(line.starts_with(&format!("{what}: {start}")), "{what}: {line}");
        assert!(line.contains(end), "{what}: {line}");
    }
    // The builder carried on, so the build stands: constant(7), 1 and 2 of the good batch,
    // and 3, declared before the forged reference (4, after it, was not).
    run.expect_code(ExitCode::Ok);
    let status = jug(&dir, &["status", GRAPH, "--", "declare-many"]);
    assert!(status.stdout.contains("hostile_graph.constant"), "{}", status.stdout);
    let count = status.stdout.lines().find(|l| l.contains("hostile_graph.constant")).unwrap_or_default();
    assert!(count.split_whitespace().any(|w| w == "4"), "{}", status.stdout);
}
