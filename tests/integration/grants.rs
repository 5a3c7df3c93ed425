//! `--dir`: a task sees exactly the directories granted, read-only unless `rw`, and cannot
//! leave them; a read-write grant changes every key and shows in `status`.

use crate::util::TestDir;

fn grants_dir(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, "tasks.wasm");
    std::fs::create_dir_all(dir.join("data")).expect("mkdir");
    std::fs::write(dir.join("data/in.txt"), "twelve bytes").expect("write");
    std::fs::write(dir.join("secret.txt"), "not for tasks").expect("write");
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("data/link")).expect("symlink");
    dir
}

/// What `read_anything(path)` returns for each path under `grant` (its byte count), or
/// `None` where it failed.
fn reads(dir: &TestDir, grant: &[&str], paths: &[&str]) -> Vec<Option<u64>> {
    let command = |verb: &str, path: &str| {
        let mut words = vec![verb, "tasks.wasm"];
        if verb == "value" {
            words.push("read_anything");
        }
        words.extend_from_slice(grant);
        dir.jug(&words).arg_words(&["read", path]).run()
    };
    paths
        .iter()
        .map(|path| {
            command("execute", path);
            let value = command("value", path);
            (value.code == 0).then(|| value.stdout.trim().parse().expect("a byte count"))
        })
        .collect()
}

#[test]
fn a_task_sees_only_what_is_granted_and_cannot_leave_it() {
    let dir = grants_dir("grants-read");
    let paths = ["/data/in.txt", "/data/../secret.txt", "/data/link", "/etc/passwd"];
    // Without a grant nothing is readable.
    assert_eq!(reads(&dir, &[], &paths), [None, None, None, None]);
    // With one, only the granted file: `..`, the symlink out and /etc/passwd all fail.
    let dir = grants_dir("grants-read-granted");
    assert_eq!(reads(&dir, &["--dir", "data"], &paths), [Some(12), None, None, None]);
    let log = dir.jug(&["log", "tasks.wasm", "read_anything"]).arg_words(&["read", "/data/link"]).run();
    assert!(log.stdout.contains("cannot read /data/link"), "{}", log.stdout);
    let status =
        dir.jug(&["status", "tasks.wasm", "--dir", "data"]).arg_words(&["read", "/data/in.txt"]).run();
    assert!(!status.stdout.contains("may write"), "a read-only grant is not announced: {}", status.stdout);
}

#[test]
fn writing_needs_rw_which_changes_the_keys_and_shows_in_status() {
    let dir = grants_dir("grants-write");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    let words = ["write", "/out/result.txt", "written by a task"];
    let read_only =
        dir.jug(&["execute", "tasks.wasm", "--dir", "out"]).arg_words(&words).run().expect_code(1);
    assert!(read_only.stderr.contains("cannot write /out/result.txt"), "{}", read_only.stderr);
    assert!(!dir.join("out/result.txt").exists());

    dir.jug(&["execute", "tasks.wasm", "--dir", "out:/out:rw"]).arg_words(&words).run().expect_code(0);
    assert_eq!(std::fs::read_to_string(dir.join("out/result.txt")).expect("written"), "written by a task");
    let status =
        dir.jug(&["status", "tasks.wasm", "--dir", "out:/out:rw"]).arg_words(&words).run().expect_code(0);
    assert!(
        status.stdout.contains("Tasks may write to ") && status.stdout.contains("(as /out)"),
        "{}",
        status.stdout
    );
    // The same task without the read-write grant is another task: not complete.
    dir.jug(&["status", "tasks.wasm", "--dir", "out"]).arg_words(&words).run().expect_code(1);
    dir.jug(&["status", "tasks.wasm"]).arg_words(&words).run().expect_code(1);
}

#[test]
fn bad_grants_are_usage_errors() {
    let dir = grants_dir("grants-bad");
    for grant in ["missing", "data:relative", "data:/a/../b", "data:/inputs", "data:/x:rx:rw"] {
        let run = dir.jug(&["status", "tasks.wasm", "--dir", grant]).run();
        assert_eq!(run.code, 2, "--dir {grant}: {}", run.stderr);
        assert!(run.stderr.contains("--dir"), "--dir {grant}: {}", run.stderr);
    }
}

#[test]
fn a_task_can_be_granted_a_directory_of_its_own() {
    let dir = grants_dir("grants-own");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    // The graph asks for write access to `out`: only the user's `--allow-write` grants it.
    dir.jug(&["execute", "tasks.wasm"])
        .arg_words(&["own-dirs"])
        .run()
        .expect_one_line_error(4, "writable grant of `out` is not inside a directory you allowed tasks to write; allow it with `--allow-write out`");
    assert!(!dir.join("out/result.txt").exists());
    let run = dir
        .jug(&["execute", "tasks.wasm", "--keep-going", "--short", "--allow-write", "out"])
        .arg_words(&["own-dirs"])
        .run();
    let run = run.expect_code(1);
    // in.txt is read and out/result.txt written; writing through the read-only grant fails.
    assert!(run.stdout.starts_with("Executed:  2 tasks\n"), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("cannot write /data/new.txt"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("out/result.txt")).expect("written"), "from a task");
    // Every command builds the graph, so every command needs the flag.
    let value = ["value", "tasks.wasm", "read_in", "--allow-write", "out"];
    let read = dir.jug(&value).arg_words(&["own-dirs"]).run().expect_code(0);
    assert_eq!(read.stdout, "12\n");

    // Leaving a grant fails, and a grant outside the working directory is refused while the
    // graph is built, before anything runs.
    let allow = ["execute", "tasks.wasm", "--keep-going", "--allow-write", "out"];
    let escape = dir.jug(&allow).arg_words(&["own-dirs", "data"]).run();
    assert!(escape.stderr.contains("cannot read /granted/../secret.txt"), "{}", escape.stderr);
    dir.jug(&allow)
        .arg_words(&["own-dirs", "../.."])
        .run()
        .expect_one_line_error(4, "read-only grant of `../..` is outside the working directory");
}
