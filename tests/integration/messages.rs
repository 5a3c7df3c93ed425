//! What jug-host tells the user to do next: the `execute` command `value` hints at (pasted into
//! a shell, it computes what was asked for), and why `execute` left tasks unfinished.

use std::time::Duration;

use jug_core::store::{Access, LockName, LockRecord, Locking, Store, StoreLocation};

use crate::util::{ExitCode, TestDir};

/// The text between the first pair of backticks of a message.
fn quoted(message: &str) -> &str {
    message.split('`').nth(1).unwrap_or_else(|| panic!("no `command` in: {message}"))
}

#[test]
fn value_hints_the_execute_command_with_the_same_store_dirs_and_builder_words() {
    let dir = TestDir::with_guest("value-hint", "tasks.wasm");
    std::fs::create_dir(dir.join("data")).unwrap();
    // A writable --dir goes into every key and the store is not the default one: an
    // `execute tasks.wasm` without them would compute other tasks, in another store.
    let value = ["value", "tasks.wasm", "--store", "my store", "--dir", "data:/in:rw", "negate"];
    let words = ["diamond", "1", "2", "it's ignored"];
    let run =
        dir.jug(&value).arg_words(&words).run().expect_one_line_error(ExitCode::NotDone, "has no result yet");
    let hint = quoted(&run.stderr);
    let data = std::fs::canonicalize(dir.join("data")).unwrap();
    assert_eq!(
        hint,
        format!(
            r"jug-host execute tasks.wasm --store 'my store' --dir {}:/in:rw -- diamond 1 2 'it'\''s ignored'",
            data.display()
        )
    );

    // Pasted into a shell as it is, it computes what `value` asked for.
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_jug-host")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    dir.command(std::path::Path::new("sh"), &["-c", hint]).env("PATH", &path).run().expect_status(0);
    let run = dir.jug(&value).arg_words(&words).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "-3\n-2\n");
}

#[test]
fn a_worker_says_which_locked_tasks_it_gave_up_waiting_for_and_who_holds_them() {
    let dir = TestDir::with_guest("gave-up-locked", "tasks.wasm");
    // Another worker, alive (this test process), holds every shard of the key space for ten
    // minutes: each task is locked by it.
    let store = Store::open(&StoreLocation::Local(dir.join("tasks.jugdata")), Access::ReadWrite).unwrap();
    let other = LockRecord::for_this_process("another-worker", Duration::from_secs(600));
    for shard in 0..=255u8 {
        let taken = store.try_lock(&LockName::Shard(shard), &other).unwrap();
        assert!(matches!(taken, Locking::Acquired { .. }));
    }

    let execute = ["execute", "tasks.wasm", "--wait-cycle-time", "0.1", "--nr-wait-cycles", "3"];
    let run = dir.jug(&execute).arg_words(&["diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains("gave up")).collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    let expected = format!(
        "jug-host: gave up after waiting 0.3 s without progress (--nr-wait-cycles 3 × --wait-cycle-time \
         0.1 s) for 2 tasks locked by other workers (pid {} on {} holds tasks.constant (2)), and 3 \
         tasks that need their results; run `jug-host execute tasks.wasm -- diamond 1 2` again once they \
         finish, or wait longer with a larger --nr-wait-cycles",
        other.pid, other.host
    );
    assert!(lines[0].starts_with(&expected), "expected\n{expected}\nin\n{}", lines[0]);

    // Once the other worker is gone, the command the message names finishes the graph.
    for shard in 0..=255u8 {
        store.unlock(&LockName::Shard(shard)).unwrap();
    }
    let run =
        dir.jug(&["execute", "tasks.wasm"]).arg_words(&["diamond", "1", "2"]).run().expect_code(ExitCode::Ok);
    assert!(!run.stderr.contains("gave up"), "{}", run.stderr);
}

#[test]
fn a_worker_names_the_failed_tasks_that_kept_others_from_running() {
    let dir = TestDir::with_guest("gave-up-failed", "tasks.wasm");
    let run = dir
        .jug(&["execute", "tasks.wasm", "--keep-going", "--", "failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains("not run for want of")).collect();
    assert_eq!(
        lines,
        ["jug-host: 1 task not run for want of the results of failed tasks (tasks.fail_on); fix those \
          (`jug-host log` shows why they failed) and run `jug-host execute tasks.wasm -- failing` again"],
        "{}",
        run.stderr
    );
    // A failure is not a wait: nothing said it gave up waiting.
    assert!(!run.stderr.contains("gave up"), "{}", run.stderr);
}
