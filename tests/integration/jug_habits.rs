//! What a Jug user's fingers and job scripts already do: Jug's option spellings, `demo`, and
//! the shell completions and manual page that come with an installed command.

use crate::util::{Language, TestDir, sdk_guest, workspace};

#[test]
fn jugs_option_spellings_are_accepted() {
    let dir = TestDir::with_guest("jug-spellings", "primes.wasm");
    // A job script's `jug execute --target … --aggressive-unload --will-cite --verbose INFO`.
    let run = dir
        .jug(&["execute", "primes.wasm", "--target", "is_prime", "--aggressive-unload", "--will-cite"])
        .run();
    let run = run.expect_code(0);
    assert_eq!(run.stderr.matches("--aggressive-unload changes nothing").count(), 1, "{}", run.stderr);
    let status = dir.jug(&["status", "primes.wasm", "--short", "--verbose", "INFO"]).run().expect_code(1);
    assert_eq!(status.stdout, "2 tasks waiting to be run, 0 failed, 99 complete, (none active).\n");

    // invalidate's two spellings of --name.
    let run = dir.jug(&["invalidate", "primes.wasm", "--invalid", "count_primes", "--short"]).run();
    assert_eq!(run.expect_code(0).stdout, "Tasks invalidated, but no results removed\n");
    dir.jug(&["execute", "primes.wasm", "--will-cite"]).run().expect_code(0);
    let run = dir.jug(&["invalidate", "primes.wasm", "--target", "write_output", "--short"]).run();
    assert_eq!(run.expect_code(0).stdout, "Invalidated:  1 tasks\n** Total: 1 tasks.\n");
    dir.jug(&["invalidate", "primes.wasm", "--invalid", "x", "--name", "y"]).run().expect_code(2);

    // --debug: the builder's and scheduler's debug lines appear; --verbose takes Jug's levels.
    let debug = dir.jug(&["status", "primes.wasm", "--debug"]).env_remove("RUST_LOG").run();
    assert!(debug.expect_code(1).stderr.contains("DEBUG"), "no debug lines with --debug");
    dir.jug(&["status", "primes.wasm", "--verbose", "loud"])
        .run()
        .expect_one_line_error(2, "debug, info, warning");
}

#[test]
fn demo_writes_jugs_primes_example_and_it_runs() {
    let dir = TestDir::new("demo");
    let run = dir.jug(&["demo"]).run().expect_code(0);
    assert!(run.stdout.contains("jug-py build primes.py"), "{}", run.stdout);
    let source = std::fs::read(workspace().join("examples/primes/primes.py")).unwrap();
    assert_eq!(std::fs::read(dir.join("primes.py")).unwrap(), source);

    // What it wrote builds and runs as the instructions say (the same bytes as the example, so
    // the example's build is this file's).
    std::fs::copy(sdk_guest(Language::Python, "examples/primes/primes.py"), dir.join("primes.wasm")).unwrap();
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(0);
    let value = dir.jug(&["value", "primes.wasm", "write_output"]).run().expect_code(0);
    assert!(value.stdout.contains("Found 25 primes <= 100."), "{}", value.stdout);

    // A primes.py of the user's own is not overwritten without --force.
    std::fs::write(dir.join("primes.py"), "# mine\n").unwrap();
    dir.jug(&["demo"]).run().expect_one_line_error(2, "--force");
    assert_eq!(std::fs::read_to_string(dir.join("primes.py")).unwrap(), "# mine\n");
    dir.jug(&["demo", "--force"]).run().expect_code(0);
    assert_eq!(std::fs::read(dir.join("primes.py")).unwrap(), source);
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line() {
    let dir = TestDir::new("completions");
    for shell in ["bash", "zsh", "fish"] {
        let script = dir.jug(&["completions", shell]).run().expect_code(0).stdout;
        for word in ["execute", "invalidate", "keep-going", "store", "will-cite"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    dir.jug(&["completions", "tcsh-9"]).run().expect_one_line_error(2, "tcsh-9");
    let page = dir.jug(&["man"]).run().expect_code(0).stdout;
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "not roff: {}", &page[..40.min(page.len())]);
    for word in ["jug\\-host", "execute", "ENVIRONMENT", "JUG_STORE", "NO_COLOR", "RUST_LOG"] {
        assert!(page.contains(word), "the manual page lacks {word}");
    }
}
