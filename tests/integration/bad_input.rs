//! Bad input: one clear line on stderr, a documented exit code, and a store left as it was.

use crate::util::TestDir;

fn snapshot(dir: &TestDir) -> Vec<(String, std::time::SystemTime)> {
    dir.modification_times("primes.jugdata")
}

/// A directory with an executed primes store, and bad graph files beside it.
fn populated(name: &str) -> TestDir {
    let dir = TestDir::with_guest(name, "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(0);
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
            dir.jug(&[command, file, "--store", "primes.jugdata"]).run().expect_one_line_error(3, needle);
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
    ] {
        dir.jug(&["execute", "primes.wasm", "--store", url]).run().expect_one_line_error(5, needle);
    }
    dir.jug(&["status", "primes.wasm"]).env("JUG_STORE", "s4://x").run().expect_one_line_error(5, "s4");
}

#[test]
fn unknown_task_names_are_refused() {
    let dir = populated("bad-names");
    let before = snapshot(&dir);
    dir.jug(&["invalidate", "primes.wasm", "--name", "is_prim"])
        .run()
        .expect_one_line_error(6, "--name 'is_prim'");
    dir.jug(&["execute", "primes.wasm", "--name", "nope"]).run().expect_one_line_error(6, "primes.is_prime");
    dir.jug(&["value", "primes.wasm", "--pattern", "/^x/"])
        .run()
        .expect_one_line_error(6, "--pattern '/^x/'");
    dir.jug(&["value", "primes.wasm", "--pattern", "/(/"])
        .run()
        .expect_one_line_error(2, "invalid regular expression");
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn builder_errors_are_refused() {
    let dir = populated("bad-builder");
    dir.copy_guest("raw.wasm", "raw.wasm");
    let before = snapshot(&dir);
    dir.jug(&["execute", "primes.wasm", "--", "-5"])
        .run()
        .expect_one_line_error(4, "expected a number N, got `-5`");
    dir.jug(&["execute", "raw.wasm", "--", "bad-template"]).run().expect_one_line_error(
        4,
        "the arguments of `unsorted` are not deterministic CBOR: integer or length not in its shortest form",
    );
    assert!(!dir.join("raw.jugdata").exists());
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn usage_errors_exit_2() {
    let dir = TestDir::new("usage");
    dir.jug(&["execute"]).run().expect_code(2);
    dir.jug(&["frobnicate", "x.wasm"]).run().expect_code(2);
    dir.jug(&["execute", "x.wasm", "-j", "0"]).run().expect_code(2);
    dir.jug(&["execute", "x.wasm", "--name", "a", "--pattern", "b"]).run().expect_code(2);
    dir.jug(&["execute", "x.wasm", "--wait-cycle-time", "-1"]).run().expect_code(2);
    let help = dir.jug(&["--help"]).run().expect_code(0);
    insta::assert_snapshot!("help", help.stdout);
}
