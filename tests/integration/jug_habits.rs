//! What a Jug user's fingers and job scripts already do: Jug's option spellings, `demo`, and
//! the shell completions and manual page that come with an installed command.

use crate::util::ExitCode;
use crate::util::{Language, TestDir, sdk_guest, sdk_guest_as, workspace};

#[test]
fn jugs_option_spellings_are_accepted() {
    let dir = TestDir::with_guest("jug-spellings", "primes.wasm");
    // A job script's `jug execute --target … --aggressive-unload --will-cite --verbose INFO`.
    let run = dir
        .jug(&["execute", "primes.wasm", "--target", "is_prime", "--aggressive-unload", "--will-cite"])
        .run();
    let run = run.expect_code(ExitCode::Ok);
    assert_eq!(run.stderr.matches("--aggressive-unload changes nothing").count(), 1, "{}", run.stderr);
    let status = dir
        .jug(&["status", "primes.wasm", "--short", "--verbose", "INFO"])
        .run()
        .expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "2 tasks waiting to be run, 0 failed, 99 complete, (none active).\n");

    // invalidate's two spellings of --name.
    let run = dir.jug(&["invalidate", "primes.wasm", "--invalid", "count_primes", "--short"]).run();
    assert_eq!(run.expect_code(ExitCode::Ok).stdout, "Tasks invalidated, but no results removed\n");
    dir.jug(&["execute", "primes.wasm", "--will-cite"]).run().expect_code(ExitCode::Ok);
    let run = dir.jug(&["invalidate", "primes.wasm", "--target", "write_output", "--short"]).run();
    assert_eq!(run.expect_code(ExitCode::Ok).stdout, "Invalidated:  1 tasks\n** Total: 1 tasks.\n");
    dir.jug(&["invalidate", "primes.wasm", "--invalid", "x", "--name", "y"])
        .run()
        .expect_code(ExitCode::Usage);

    // --debug: the builder's and scheduler's debug lines appear; --verbose takes Jug's levels.
    let debug = dir.jug(&["status", "primes.wasm", "--debug"]).env_remove("RUST_LOG").run();
    assert!(debug.expect_code(ExitCode::NotDone).stderr.contains("DEBUG"), "no debug lines with --debug");
    dir.jug(&["status", "primes.wasm", "--verbose", "loud"])
        .run()
        .expect_one_line_error(ExitCode::Usage, "debug, info, warning");
}

#[test]
fn demo_writes_jugs_primes_example_and_it_runs() {
    let dir = TestDir::new("demo");
    let run = dir.jug(&["demo"]).run().expect_code(ExitCode::Ok);
    assert!(run.stdout.contains("jug-py build primes.py"), "{}", run.stdout);
    let source = std::fs::read(workspace().join("examples/primes/primes.py")).unwrap();
    assert_eq!(std::fs::read(dir.join("primes.py")).unwrap(), source);

    // What it wrote builds and runs as the instructions say (the same bytes as the example, so
    // the example's build is this file's).
    std::fs::copy(sdk_guest(Language::Python, "examples/primes/primes.py"), dir.join("primes.wasm")).unwrap();
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let value = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(ExitCode::Ok);
    assert!(value.stdout.contains("Found 25 primes <= 100."), "{}", value.stdout);

    // A primes.py of the user's own is not overwritten without --force.
    std::fs::write(dir.join("primes.py"), "# mine\n").unwrap();
    dir.jug(&["demo"]).run().expect_one_line_error(ExitCode::Usage, "--force");
    assert_eq!(std::fs::read_to_string(dir.join("primes.py")).unwrap(), "# mine\n");
    dir.jug(&["demo", "--force"]).run().expect_code(ExitCode::Ok);
    assert_eq!(std::fs::read(dir.join("primes.py")).unwrap(), source);
}

/// Jug 2.7.0's own `jug demo` primes.py, byte for byte (tests/fixtures/python/jug_demo): its
/// write_output opens `output.txt` in the working directory, and each is_prime sleeps a second.
#[test]
fn jugs_own_demo_runs_unchanged_in_a_working_directory() {
    let dir = TestDir::new("jug-demo-unchanged");
    let built = sdk_guest_as(Language::Python, "tests/fixtures/python/jug_demo/primes.py", "jug_demo_primes");
    std::fs::copy(built, dir.join("primes.wasm")).unwrap();
    // 99 seconds of sleeping: threads that sleep cost nothing, so many of them.
    let run = dir.jug(&["execute", "primes.wasm", "--workdir", "out", "-j", "25", "--short"]).run();
    assert_eq!(
        run.expect_code(ExitCode::Ok).stdout,
        "Executed:  101 tasks\nLoaded:  0 tasks\n** Total: 101 tasks.\n"
    );
    assert_eq!(std::fs::read_to_string(dir.join("out/output.txt")).unwrap(), "Found 25 primes <= 100.\n");

    // The working directory is in every key, as a writable grant is: without it, no task of
    // this graph has run; with it, all have.
    let status = dir.jug(&["status", "primes.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "101 tasks waiting to be run, 0 failed, 0 complete, (none active).\n");
    dir.jug(&["check", "primes.wasm", "--workdir", "out"]).run().expect_code(ExitCode::Ok);

    // Without a working directory the task has nowhere to write, and says so.
    let run = dir.jug(&["execute", "primes.wasm", "-j", "25", "--short"]).run();
    assert!(
        run.expect_code(ExitCode::NotDone).stderr.contains("No such file or directory: 'output.txt'"),
        "the failure names the file"
    );

    // A repository's configuration may not hand tasks a working directory.
    std::fs::create_dir(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".jugrc"), "[main]\nworkdir = out\n").unwrap();
    let run = dir.jug(&["status", "primes.wasm"]).env_remove("JUG_NO_CONFIG").run();
    run.expect_one_line_error(ExitCode::Usage, "workdir");
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line() {
    let dir = TestDir::new("completions");
    for shell in ["bash", "zsh", "fish"] {
        let script = dir.jug(&["completions", shell]).run().expect_code(ExitCode::Ok).stdout;
        for word in ["execute", "invalidate", "keep-going", "store", "will-cite"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    dir.jug(&["completions", "tcsh-9"]).run().expect_one_line_error(ExitCode::Usage, "tcsh-9");
    let page = dir.jug(&["man"]).run().expect_code(ExitCode::Ok).stdout;
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "not roff: {}", &page[..40.min(page.len())]);
    for word in ["jug\\-host", "execute", "ENVIRONMENT", "JUG_STORE", "NO_COLOR", "RUST_LOG"] {
        assert!(page.contains(word), "the manual page lacks {word}");
    }
}
