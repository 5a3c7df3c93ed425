//! Bad input: one clear line on stderr, a documented exit code, and a store left as it was.

use crate::util::ExitCode;
use crate::util::TestDir;

fn snapshot(dir: &TestDir) -> Vec<(String, std::time::SystemTime)> {
    dir.modification_times("primes.jugdata")
}

/// A directory with an executed primes store, and bad graph files beside it.
fn populated(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    dir
}

#[test]
fn unusable_graph_files_are_refused() {
    let dir = populated("bad-graphs");
    std::fs::write(dir.join("notes.wasm"), "these are notes, not a component\n").unwrap();
    // The smallest valid core module: a module, but not a component.
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    dir.copy_guest("hello.wasm", "hello.wasm");
    let before = snapshot(&dir);

    for (file, needle) in [
        ("missing.wasm", "missing.wasm: no such file"),
        ("notes.wasm", "not a WebAssembly file"),
        ("core.wasm", "is a core WebAssembly module, not a component"),
        ("hello.wasm", "is not a jug task component"),
    ] {
        for command in ["status", "execute"] {
            // Point every command at the primes store: it must come out untouched.
            dir.jug(&[command, file, "--store", "primes.jugdata"])
                .run()
                .expect_one_line_error(ExitCode::BadGraph, needle);
        }
        let stem = file.trim_end_matches(".wasm");
        assert!(!dir.join(&format!("{stem}.jugdata")).exists(), "{file} created a store");
    }
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn bad_store_urls_are_refused() {
    let dir = populated("bad-store");
    for (url, needle) in [
        ("gopher://host/x", "unsupported scheme `gopher`"),
        ("file://relative/path", "needs an absolute path"),
        ("memory://somewhere", "memory:// takes no path"),
        ("primes.wasm", "is not a directory"),
        // A bad URL, not "cannot connect".
        ("redis://:99999", "needs a host"),
        ("redis://127.0.0.1:99999/", "port of a redis:// URL"),
    ] {
        dir.jug(&["execute", "primes.wasm", "--store", url])
            .run()
            .expect_one_line_error(ExitCode::Store, needle);
    }
    dir.jug(&["status", "primes.wasm"])
        .env("JUG_STORE", "s4://x")
        .run()
        .expect_one_line_error(ExitCode::Store, "s4");
}

#[test]
fn unknown_task_names_are_refused() {
    let dir = populated("bad-names");
    let before = snapshot(&dir);
    dir.jug(&["invalidate", "primes.wasm", "--name", "is_prim"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "--name 'is_prim'");
    dir.jug(&["execute", "primes.wasm", "--name", "nope"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "primes.is_prime");
    dir.jug(&["value", "primes.wasm", "--pattern", "/^x/"])
        .run()
        .expect_one_line_error(ExitCode::NoMatch, "--pattern '/^x/'");
    dir.jug(&["value", "primes.wasm", "--pattern", "/(/"])
        .run()
        .expect_one_line_error(ExitCode::Usage, "invalid regular expression");
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn builder_errors_are_refused() {
    let dir = populated("bad-builder");
    dir.copy_guest("raw.wasm", "raw.wasm");
    let before = snapshot(&dir);
    dir.jug(&["execute", "primes.wasm", "--", "-5"])
        .run()
        .expect_one_line_error(ExitCode::BuildFailed, "expected a number N, got `-5`");
    dir.jug(&["execute", "raw.wasm", "--", "bad-template"]).run().expect_one_line_error(
        ExitCode::BuildFailed,
        "the arguments of `unsorted` are not deterministic CBOR: integer or length not in its shortest form",
    );
    assert!(!dir.join("raw.jugdata").exists());
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn usage_errors_exit_2() {
    let dir = TestDir::new("usage");
    dir.jug(&["execute"]).run().expect_code(ExitCode::Usage);
    dir.jug(&["frobnicate", "x.wasm"]).run().expect_code(ExitCode::Usage);
    dir.jug(&["execute", "x.wasm", "-j", "0"]).run().expect_code(ExitCode::Usage);
    dir.jug(&["execute", "x.wasm", "--name", "a", "--pattern", "b"]).run().expect_code(ExitCode::Usage);
    dir.jug(&["execute", "x.wasm", "--wait-cycle-time", "-1"]).run().expect_code(ExitCode::Usage);
    // A negative value is a bad value, not clap's "found '-1'; use `-- -1`" (which would pass
    // it to the graph builder).
    for (option, value) in [("--lease", "-1s"), ("--timeout", "-5s"), ("-j", "-2")] {
        let run = dir.jug(&["execute", "x.wasm", option, value]).run();
        let run = run.expect_one_line_error(ExitCode::Usage, &format!("got `{value}`"));
        assert!(!run.stderr.contains("-- "), "{}", run.stderr);
    }
    let help = dir.jug(&["--help"]).run().expect_code(ExitCode::Ok);
    insta::assert_snapshot!("help", help.stdout);
}

/// Numbers no one should type, and some everyone does: zero, negative, fractions, NaN and
/// infinities, and values that overflow every integer and `Duration` there is.
const EXTREMES: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "0.5",
    "1e-9",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e16",
    "1e20",
    "1e308",
    "1e400",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "",
    "x",
];

/// The same with units, for durations and sizes.
const WITH_UNITS: &[&str] = &[
    "0ms",
    "1ns",
    "1ms",
    "99999999999999999999h",
    "18446744073709551615s",
    "1e20s",
    "600000000y",
    "-5s",
    "nanms",
    "1e30GiB",
    "18446744073709551615GiB",
    "99999999999999999999KiB",
    "0B",
    "1B",
    "infGiB",
    "16EiB",
];

/// Runs `jug-host ARGS…` on a ten-task primes graph with a fresh in-memory store, and checks
/// that whatever the value, jug-host did not panic, and either did its work (0; 1 when a limit
/// failed a task, 8 when `verify` could not run one again under it) or refused the value with
/// one line and exit code 2 (4 when a graph-builder limit stopped the build).
#[track_caller]
fn survives(dir: &TestDir, args: &[&str], env: Option<(&str, &str)>) {
    let mut command = dir.jug(args);
    if let Some((name, value)) = env {
        command = command.env(name, value);
    }
    let run = command.arg_words(&["10"]).run();
    let what = format!("{args:?} {env:?}");
    assert!(!run.stderr.contains("panicked"), "{what} panicked:\n{}", run.stderr);
    match run.exit() {
        Some(ExitCode::Ok | ExitCode::NotDone | ExitCode::Mismatch) => {}
        Some(ExitCode::Usage | ExitCode::BuildFailed) => {
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert!(
                lines.len() == 1 && lines[0].starts_with("jug-host: "),
                "{what}: not one line:\n{}",
                run.stderr
            );
        }
        _ => panic!("{what}: exit code {}\nstdout:\n{}\nstderr:\n{}", run.code, run.stdout, run.stderr),
    }
}

#[test]
fn no_number_on_the_command_line_makes_execute_panic() {
    let dir = TestDir::with_guest("extreme-options", "primes.wasm");
    let options = [
        "-j",
        "--wait-cycle-time",
        "--nr-wait-cycles",
        "--lease",
        "--timeout",
        "--fuel",
        "--max-memory",
        "--max-result",
        "--max-log",
        "--max-input",
        "--build-timeout",
        "--build-max-memory",
        "--max-graph-tasks",
        "--max-graph-bytes",
    ];
    for option in options {
        for value in EXTREMES.iter().chain(WITH_UNITS) {
            let flag = format!("{option}={value}");
            let flag = if option == "-j" { format!("-j{value}") } else { flag };
            survives(&dir, &["execute", "primes.wasm", "--store", "memory://", "--short", &flag], None);
        }
    }
}

/// (`JUG_STORE_RETRY_SECS` only matters for a network store that is down; its unit test in
/// `store::retry` sweeps it without waiting out the windows it allows.)
#[test]
fn no_number_in_the_environment_makes_execute_panic() {
    let dir = TestDir::with_guest("extreme-environment", "primes.wasm");
    let variables = [
        "JUG_MAX_TASKS",
        "JUG_MAX_HOURS",
        "JUG_MAX_MINUTES",
        "JUG_MAX_SECONDS",
        "JUG_LEASE",
        "JUG_TIMEOUT",
        "JUG_FUEL",
        "JUG_MAX_MEMORY",
        "JUG_MAX_RESULT",
        "JUG_MAX_LOG",
        "JUG_MAX_INPUT",
        "JUG_BUILD_TIMEOUT",
        "JUG_BUILD_MAX_MEMORY",
        "JUG_MAX_GRAPH_TASKS",
        "JUG_MAX_GRAPH_BYTES",
        "JUG_CACHE_MAX",
        "COLUMNS",
    ];
    for variable in variables {
        for value in EXTREMES.iter().chain(WITH_UNITS) {
            survives(&dir, &["execute", "primes.wasm", "--store", "memory://"], Some((variable, value)));
        }
    }
}

#[test]
fn no_number_makes_the_other_commands_panic() {
    let dir = TestDir::with_guest("extreme-others", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).arg_words(&["10"]).run().expect_code(ExitCode::Ok);
    for value in EXTREMES.iter().chain(WITH_UNITS) {
        for option in ["--sample", "--seed", "-j", "--timeout", "--max-memory"] {
            let flag = if option == "-j" { format!("-j{value}") } else { format!("{option}={value}") };
            survives(&dir, &["verify", "primes.wasm", &flag], None);
        }
        survives(&dir, &["sleep-until", "primes.wasm", &format!("--wait-cycle-time={value}")], None);
        survives(&dir, &["status", "primes.wasm"], Some(("COLUMNS", value)));
    }
    // Widths that parse: the table must neither overflow nor try to fill exabytes.
    for columns in ["1", "13", "27", "9223372036854775807", "18446744073709551615"] {
        let run = dir.jug(&["status", "primes.wasm"]).env("COLUMNS", columns).arg_words(&["10"]).run();
        assert!(
            run.exit() == Some(ExitCode::Ok) && !run.stderr.contains("panicked"),
            "COLUMNS={columns}: {run:?}"
        );
    }
}
