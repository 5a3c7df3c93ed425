//! `--dir`: a task sees exactly the directories granted, read-only unless `rw`, and cannot
//! leave them; a read-write grant changes every key and shows in `status`.

use crate::util::ExitCode;
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
            (value.exit() == Some(ExitCode::Ok)).then(|| value.stdout.trim().parse().expect("a byte count"))
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
    // The grant is in the key: the log is that of the task that ran with it.
    let log = dir
        .jug(&["log", "tasks.wasm", "read_anything", "--dir", "data"])
        .arg_words(&["read", "/data/link"])
        .run();
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
    let read_only = dir
        .jug(&["execute", "tasks.wasm", "--dir", "out"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::NotDone);
    assert!(read_only.stderr.contains("cannot write /out/result.txt"), "{}", read_only.stderr);
    assert!(!dir.join("out/result.txt").exists());

    dir.jug(&["execute", "tasks.wasm", "--dir", "out:/out:rw"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(std::fs::read_to_string(dir.join("out/result.txt")).expect("written"), "written by a task");
    let status = dir
        .jug(&["status", "tasks.wasm", "--dir", "out:/out:rw"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::Ok);
    assert!(
        status.stdout.contains("Tasks may write to ") && status.stdout.contains("(as /out)"),
        "{}",
        status.stdout
    );
    // The same task without the read-write grant is another task: not complete.
    dir.jug(&["status", "tasks.wasm", "--dir", "out"]).arg_words(&words).run().expect_code(ExitCode::NotDone);
    dir.jug(&["status", "tasks.wasm"]).arg_words(&words).run().expect_code(ExitCode::NotDone);
}

#[test]
fn bad_grants_are_usage_errors() {
    let dir = grants_dir("grants-bad");
    for grant in ["missing", "data:relative", "data:/a/../b", "data:/inputs", "data:/x:rx:rw"] {
        let run = dir.jug(&["status", "tasks.wasm", "--dir", grant]).run();
        assert_eq!(run.exit(), Some(ExitCode::Usage), "--dir {grant}: {}", run.stderr);
        assert!(run.stderr.contains("--dir"), "--dir {grant}: {}", run.stderr);
    }
    // A read-only grant holding the store would be in every key by a content that changes with
    // every result: refused, before anything is written.
    for grant in [".", ".:/w:ro"] {
        dir.jug(&["execute", "tasks.wasm", "--dir", grant])
            .run()
            .expect_one_line_error(ExitCode::Usage, "is read-only and holds the store");
    }
    assert!(!dir.join("tasks.jugdata").exists());
    // Writable, or with the store elsewhere, it is the user's choice.
    let status = ["status", "tasks.wasm", "--dir", ".", "--store", "memory://"];
    dir.jug(&status).arg_words(&["read", "/x"]).run().expect_code(ExitCode::NotDone);
}

#[test]
fn a_task_can_be_granted_a_directory_of_its_own() {
    let dir = grants_dir("grants-own");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    // The graph asks for write access to `out`: only the user's `--allow-write` grants it.
    dir.jug(&["execute", "tasks.wasm"])
        .arg_words(&["own-dirs"])
        .run()
        .expect_one_line_error(ExitCode::BuildFailed, "writable grant of `out` is not inside a directory you allowed tasks to write; allow it with `--allow-write out`");
    assert!(!dir.join("out/result.txt").exists());
    let run = dir
        .jug(&["execute", "tasks.wasm", "--keep-going", "--short", "--allow-write", "out"])
        .arg_words(&["own-dirs"])
        .run();
    let run = run.expect_code(ExitCode::NotDone);
    // in.txt is read and out/result.txt written; writing through the read-only grant fails.
    assert!(run.stdout.starts_with("Executed:  2 tasks\n"), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("cannot write /data/new.txt"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("out/result.txt")).expect("written"), "from a task");
    // Every command builds the graph, so every command needs the flag.
    let value = ["value", "tasks.wasm", "read_in", "--allow-write", "out"];
    let read = dir.jug(&value).arg_words(&["own-dirs"]).run().expect_code(ExitCode::Ok);
    assert_eq!(read.stdout, "12\n");

    // Leaving a grant fails, and a grant outside the working directory is refused while the
    // graph is built, before anything runs.
    let allow = ["execute", "tasks.wasm", "--keep-going", "--allow-write", "out"];
    let escape = dir.jug(&allow).arg_words(&["own-dirs", "data"]).run();
    assert!(escape.stderr.contains("cannot read /granted/../secret.txt"), "{}", escape.stderr);
    dir.jug(&allow).arg_words(&["own-dirs", "../.."]).run().expect_one_line_error(
        ExitCode::BuildFailed,
        "read-only grant of `../..` is outside the working directory",
    );
}

/// How many tasks an `execute --short` ran.
fn executed(run: &crate::util::Run) -> usize {
    let count = run.stdout.strip_prefix("Executed:").and_then(|rest| rest.split_whitespace().next());
    count
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no task count in: {}{}", run.stdout, run.stderr))
}

/// Writes `text` to `path` under `dir`, creating its directory.
fn write(dir: &TestDir, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn another_data_set_under_the_same_path_is_another_task() {
    let dir = grants_dir("grants-content");
    write(&dir, "d1/in.txt", "first data set");
    write(&dir, "d2/in.txt", "other data set");
    write(&dir, "d3/in.txt", "first data set");
    let words = ["read", "/data/in.txt"];
    let status =
        |grant: &str| dir.jug(&["status", "tasks.wasm", "--dir", grant]).arg_words(&words).run().code;
    dir.jug(&["execute", "tasks.wasm", "--dir", "d1:/data"])
        .arg_words(&words)
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(status("d1:/data"), 0);
    assert_eq!(status("d2:/data"), 1, "another data set under the same guest path");
    assert_eq!(status("d3:/data"), 0, "the same content elsewhere on the host is the same input");
    let value =
        dir.jug(&["value", "tasks.wasm", "read_anything", "--dir", "d3:/data"]).arg_words(&words).run();
    assert_eq!(value.expect_code(ExitCode::Ok).stdout, "14\n");
}

#[test]
fn editing_a_file_reruns_exactly_the_tasks_that_see_it() {
    let dir = grants_dir("grants-edit");
    write(&dir, "other/x.txt", "x");
    // read_in(data), read_in(other), constant(1): each reader sees its own directory.
    let execute = |grant: &[&str]| {
        let run =
            dir.jug(&[&["execute", "tasks.wasm", "--short"], grant].concat()).arg_words(&["grant-readers"]);
        executed(&run.run().expect_code(ExitCode::Ok))
    };
    assert_eq!(execute(&[]), 3);
    assert_eq!(execute(&[]), 0);
    write(&dir, "data/in.txt", "twelve BYTES");
    assert_eq!(execute(&[]), 1, "only the task granted data");
    write(&dir, "other/x.txt", "y");
    assert_eq!(execute(&[]), 1, "only the task granted other");
    // A file no task reads, in a directory one task sees: that task may read it.
    write(&dir, "data/unread.txt", "new");
    assert_eq!(execute(&[]), 1);
    // Back to the content of an earlier run: its result is found again.
    std::fs::remove_file(dir.join("data/unread.txt")).expect("rm");
    assert_eq!(execute(&[]), 0);
    let read = dir.jug(&["value", "tasks.wasm", "read_in"]).arg_words(&["grant-readers"]).run();
    assert_eq!(read.expect_code(ExitCode::Ok).stdout, "12\n1\n");

    // A `--dir` grant is seen by every task: in every key.
    assert_eq!(execute(&["--dir", "other:/o"]), 3);
    write(&dir, "other/x.txt", "z");
    assert_eq!(execute(&["--dir", "other:/o"]), 3);
    assert_eq!(execute(&["--dir", "other:/o"]), 0);
}

#[test]
fn touching_files_reruns_nothing() {
    let dir = grants_dir("grants-touch");
    write(&dir, "other/x.txt", "x");
    let execute = || {
        let run =
            dir.jug(&["execute", "tasks.wasm", "--short", "--dir", "other:/o"]).arg_words(&["grant-readers"]);
        executed(&run.run().expect_code(ExitCode::Ok))
    };
    assert_eq!(execute(), 3);
    let touched = std::process::Command::new("touch")
        .current_dir(&dir.path)
        .args(["data", "data/in.txt", "other", "other/x.txt"])
        .status()
        .expect("touch");
    assert!(touched.success());
    // Written again with the same bytes: the same content.
    write(&dir, "other/x.txt", "x");
    assert_eq!(execute(), 0);
}

/// Overwrites `path` with `text` of the same length and puts its modification time back: all
/// a stat shows unchanged but the change time.
fn edit_in_place(dir: &TestDir, path: &str, text: &str) {
    let path = dir.join(path);
    let before = std::fs::metadata(&path).expect("stat");
    assert_eq!(before.len(), text.len() as u64);
    std::fs::write(&path, text).expect("write");
    let file = std::fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(before.modified().expect("mtime")).expect("set mtime");
}

#[test]
fn an_edit_right_after_a_run_is_seen() {
    let dir = grants_dir("grants-racy");
    let words = ["read", "/data/in.txt"];
    let grant = ["--dir", "data:/data"];
    let run = |verb: &str| dir.jug(&[&[verb, "tasks.wasm"], &grant[..]].concat()).arg_words(&words).run();
    // Written just before the run, edited just after: within one timestamp tick on a coarse
    // file system, and never trusted from the cache.
    write(&dir, "data/in.txt", "aaaa aaaa aa");
    run("execute").expect_code(ExitCode::Ok);
    edit_in_place(&dir, "data/in.txt", "bbbb bbbb bb");
    run("status").expect_code(ExitCode::NotDone);
    // Old enough to be cached when hashed: the edit changes the change time, so it is seen.
    std::thread::sleep(std::time::Duration::from_millis(3_300));
    run("execute").expect_code(ExitCode::Ok);
    run("status").expect_code(ExitCode::Ok);
    edit_in_place(&dir, "data/in.txt", "cccc cccc cc");
    run("status").expect_code(ExitCode::NotDone);
}

#[test]
fn a_special_file_in_a_read_only_grant_is_refused_in_one_line() {
    let dir = grants_dir("grants-fifo");
    let made = std::process::Command::new("mkfifo").arg(dir.join("data/pipe")).status().expect("mkfifo");
    assert!(made.success());
    let run =
        dir.jug(&["status", "tasks.wasm", "--dir", "data:/data"]).arg_words(&["read", "/data/in.txt"]).run();
    run.expect_one_line_error(ExitCode::BuildFailed, "`pipe` is a FIFO, whose content cannot enter a key");
    // Read-write, its content is not an input: allowed.
    let rw =
        dir.jug(&["status", "tasks.wasm", "--dir", "data:/data:rw"]).arg_words(&["read", "/data/in.txt"]);
    rw.run().expect_code(ExitCode::NotDone);
}
