//! `jug-host verify`: complete tasks run again in fresh sandboxes reproduce their stored
//! results byte for byte; a tampered result is reported and exits 8. And the same audit
//! across builds: the primes example built twice (another source path, another target
//! directory; Python and JavaScript rebuilt with `--force`) gives the same keys and the same
//! result bytes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::util::ExitCode;
use crate::util::{self, Language, TestDir};

const ALL_MATCH: &str =
    "Verified 101 tasks: 101 match, 0 differ, 0 failed (101 complete, 0 not complete, skipped).\n";

/// The key (hex) of the only task named `name`.
fn key_of(dir: &TestDir, graph: &str, name: &str) -> String {
    let run = dir.jug(&["value", graph, name, "--json"]).run().expect_code(ExitCode::Ok);
    let documents: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    documents[0]["key"].as_str().unwrap().to_owned()
}

/// Where a result planted with `TestDir::overwrite_result` lies: alone, as format 1 kept every
/// result.
fn result_path(dir: &TestDir, store: &str, key: &str) -> std::path::PathBuf {
    dir.join(&format!("{store}/results/{}/{key}", &key[..2]))
}

/// A result as the store seals it (store/envelope.rs): header, then the CBOR payload.
fn seal(payload: &[u8]) -> Vec<u8> {
    crate::util::sealed(1, payload)
}

/// A CBOR text string (shorter than 256 bytes).
fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = match text.len() {
        n if n < 24 => vec![0x60 + n as u8],
        n => vec![0x78, u8::try_from(n).unwrap()],
    };
    out.extend_from_slice(text.as_bytes());
    out
}

fn short_blake3(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..12].to_owned()
}

#[test]
fn primes_reproduce_and_a_tampered_result_is_a_mismatch() {
    let dir = TestDir::with_guest("verify-primes", "primes.wasm");
    dir.jug(&["execute", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    let before = dir.modification_times("primes.jugdata");

    let all = dir.jug(&["verify", "primes.wasm", "--all", "-j", "4"]).run().expect_code(ExitCode::Ok);
    assert_eq!(all.stdout, ALL_MATCH);
    // A sample: 5 tasks, the same ones again for the same seed.
    let sample = |seed: &str| {
        let run = dir.jug(&["verify", "primes.wasm", "--sample", "5", "--seed", seed, "--json"]).run();
        let json: serde_json::Value = serde_json::from_str(&run.expect_code(ExitCode::Ok).stdout).unwrap();
        assert_eq!((json["verified"].as_u64(), json["match"].as_u64()), (Some(5), Some(5)), "{json:#}");
        assert_eq!(json["seed"].as_u64(), Some(seed.parse().unwrap()));
        json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["key"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(sample("7"), sample("7"));
    let clock = dir.jug(&["verify", "primes.wasm", "--sample", "5"]).run().expect_code(ExitCode::Ok);
    assert!(
        clock
            .stdout
            .starts_with("Verified 5 tasks: 5 match, 0 differ, 0 failed (a random 5 of 101 complete, seed ")
    );
    assert!(clock.stdout.ends_with(", 0 not complete, skipped).\n"), "{}", clock.stdout);
    // The default sample is 20.
    let default = dir.jug(&["verify", "primes.wasm"]).run().expect_code(ExitCode::Ok);
    assert!(default.stdout.starts_with("Verified 20 tasks: 20 match"), "{}", default.stdout);
    // verify only reads: nothing in the store was written, created or removed.
    assert_eq!(dir.modification_times("primes.jugdata"), before);

    // Another sentence, sealed properly: only a re-run can tell it is not write_output's.
    let key = key_of(&dir, "primes.wasm", "write_output");
    let path = result_path(&dir, "primes.jugdata", &key);
    let genuine = cbor_text("Found 25 primes <= 100.\n");
    assert_eq!(dir.stored("primes.jugdata")[&key], genuine);
    let forged = cbor_text("Found 26 primes <= 100.\n");
    dir.overwrite_result("primes.jugdata", &key, &seal(&forged));
    assert_eq!(
        dir.jug(&["value", "primes.wasm", "write_output"]).run().stdout,
        "\"Found 26 primes <= 100.\\n\"\n"
    );

    let run = dir.jug(&["verify", "primes.wasm", "--all"]).run().expect_code(ExitCode::Mismatch);
    assert_eq!(
        run.stdout,
        format!(
            "MISMATCH primes.write_output (key {}): stored 26 bytes (blake3 {}), now 26 bytes (blake3 {})\n\
             Verified 101 tasks: 100 match, 1 differ, 0 failed (101 complete, 0 not complete, skipped).\n",
            &key[..12],
            short_blake3(&forged),
            short_blake3(&genuine)
        )
    );
    let json = dir.jug(&["verify", "primes.wasm", "--all", "--json"]).run().expect_code(ExitCode::Mismatch);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!((json["match"].as_u64(), json["differ"].as_u64()), (Some(100), Some(1)));
    let differ: Vec<_> =
        json["tasks"].as_array().unwrap().iter().filter(|t| t["verdict"] == "differ").collect();
    assert_eq!(differ.len(), 1);
    assert_eq!(differ[0]["key"], key.as_str());
    assert_eq!(differ[0]["now"]["blake3"], blake3::hash(&genuine).to_hex().as_str());
    assert_eq!(differ[0]["stored"]["bytes"], 26);
    // Still nothing written: the forged result stays for the user to look at.
    assert_eq!(std::fs::read(&path).unwrap(), seal(&forged));
    dir.overwrite_result("primes.jugdata", &key, &seal(&genuine));

    // is_prime(2) stored as 5: it differs, and count_primes, run on that input, fails.
    let is_prime_2 = dir.jug(&["value", "primes.wasm", "is_prime", "--json"]).run().expect_code(ExitCode::Ok);
    let is_prime_2: serde_json::Value = serde_json::from_str(&is_prime_2.stdout).unwrap();
    let is_prime_2 = is_prime_2[0]["key"].as_str().unwrap().to_owned();
    dir.overwrite_result("primes.jugdata", &is_prime_2, &seal(&[0x05]));
    let run = dir.jug(&["verify", "primes.wasm", "--all"]).run().expect_code(ExitCode::Mismatch);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with(&format!(
        "MISMATCH primes.is_prime (key {}): stored 1 byte (blake3",
        &is_prime_2[..12]
    )));
    assert!(lines[1].starts_with("FAILED primes.count_primes (key "), "{}", lines[1]);
    assert_eq!(
        lines[2],
        "Verified 101 tasks: 99 match, 1 differ, 1 failed (101 complete, 0 not complete, skipped)."
    );

    // A damaged result (bad checksum) is reported, not removed.
    let damaged = seal(&[0x05]).into_iter().chain([0]).collect::<Vec<u8>>();
    dir.overwrite_result("primes.jugdata", &is_prime_2, &damaged);
    let run = dir.jug(&["verify", "primes.wasm", "--all"]).run().expect_code(ExitCode::Mismatch);
    assert!(run.stdout.contains("FAILED primes.is_prime (key "), "{}", run.stdout);
    assert!(run.stdout.contains("): the stored result is damaged ("), "{}", run.stdout);
    assert!(run.stdout.contains("its input primes.is_prime (key "), "{}", run.stdout);
    assert_eq!(std::fs::read(result_path(&dir, "primes.jugdata", &is_prime_2)).unwrap(), damaged);
}

#[test]
fn only_complete_tasks_are_verified() {
    let dir = TestDir::with_guest("verify-incomplete", "tasks.wasm");
    // Nothing stored: nothing to verify, which is not a failure (`check` says whether all is done).
    let empty =
        dir.jug(&["verify", "tasks.wasm", "--all"]).arg_words(&["failing"]).run().expect_code(ExitCode::Ok);
    assert_eq!(
        empty.stdout,
        "Verified 0 tasks: 0 match, 0 differ, 0 failed (0 complete, 6 not complete, skipped).\n"
    );
    assert!(!dir.join("tasks.jugdata").exists(), "verify created the store");

    // fail_on(0, 1, 3, 4) complete; fail_on(2) failed and add(…) waits on it.
    dir.jug(&["execute", "tasks.wasm", "--keep-going"])
        .arg_words(&["failing"])
        .run()
        .expect_code(ExitCode::NotDone);
    let expected = "Verified 4 tasks: 4 match, 0 differ, 0 failed (4 complete, 2 not complete, skipped).\n";
    let all =
        dir.jug(&["verify", "tasks.wasm", "--all"]).arg_words(&["failing"]).run().expect_code(ExitCode::Ok);
    assert_eq!(all.stdout, expected);
    // A sample larger than what is complete is all of it, and has no seed to print.
    let sample = dir
        .jug(&["verify", "tasks.wasm", "--sample", "5"])
        .arg_words(&["failing"])
        .run()
        .expect_code(ExitCode::Ok);
    assert_eq!(sample.stdout, expected);

    // Bad usage and a bad graph keep their usual codes.
    dir.jug(&["verify", "tasks.wasm", "--all", "--sample", "3"]).run().expect_code(ExitCode::Usage);
    dir.jug(&["verify", "tasks.wasm", "--sample", "0"]).run().expect_code(ExitCode::Usage);
    dir.jug(&["verify", "missing.wasm"]).run().expect_code(ExitCode::BadGraph);
}

/// Every result of a store, by key, with its bytes.
fn results(dir: &TestDir, store: &str) -> BTreeMap<String, Vec<u8>> {
    dir.stored(store)
}

/// Runs `component` (as `primes.wasm`) in a fresh directory: execute, then `verify --all`.
fn execute_and_verify(name: &str, component: &Path) -> TestDir {
    let dir = TestDir::new(name);
    std::fs::copy(component, dir.join("primes.wasm")).unwrap();
    dir.jug(&["execute", "primes.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    let verify = dir.jug(&["verify", "primes.wasm", "--all"]).run().expect_code(ExitCode::Ok);
    assert_eq!(verify.stdout, ALL_MATCH);
    dir
}

/// Two builds of one graph give the same keys and the same result bytes, and each build
/// finds the other's store complete and reproduces it.
fn assert_reproducible(one: &TestDir, two: &TestDir) {
    let (first, second) = (results(one, "primes.jugdata"), results(two, "primes.jugdata"));
    assert_eq!(first.len(), 101);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>(), "the keys differ");
    assert!(first == second, "the keys are the same but some result bytes differ");
    let other_store = two.join("primes.jugdata");
    let cross = one.jug(&["verify", "primes.wasm", "--all", "--store", other_store.to_str().unwrap()]).run();
    assert_eq!(cross.expect_code(ExitCode::Ok).stdout, ALL_MATCH);
}

/// Copies what `cargo build -p primes` needs of the workspace to `to`, in the same layout:
/// the manifest and lock file (with the members it needs), the WIT, the SDK, the example.
fn copy_primes_workspace(to: &Path) {
    let workspace = util::workspace();
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "target" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &to.join(&name));
            } else {
                std::fs::copy(entry.path(), to.join(&name)).unwrap();
            }
        }
    }
    for tree in ["wit", "guest-sdk/rust", "examples/primes"] {
        copy_tree(&workspace.join(tree), &to.join(tree));
    }
    std::fs::copy(workspace.join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap();
    let (start, end) = (manifest.find("members = [").unwrap(), manifest.find("[workspace.package]").unwrap());
    let members = "members = [\"guest-sdk/rust\", \"guest-sdk/rust/macros\", \"examples/primes\"]\n\n";
    let mut manifest = format!("{}{members}{}", &manifest[..start], &manifest[end..]);
    // The host's patched wasmtime (`vendor/`) is not copied: no guest crate depends on it.
    if let Some(patch) = manifest.find("\n[patch.crates-io]") {
        let rest = &manifest[patch + 1..];
        let len = rest.find("\n[").map_or(rest.len(), |next| next + 1);
        manifest.replace_range(patch + 1..patch + 1 + len, "");
    }
    std::fs::write(to.join("Cargo.toml"), manifest).unwrap();
}

#[test]
fn two_builds_of_the_primes_example_give_the_same_keys_and_results() {
    // One build from the workspace (target/guests), one from a copy of its source at another
    // path, into another target directory.
    let workspace_build = util::guest("primes.wasm");
    let copy = TestDir::new("verify-repro-source");
    copy_primes_workspace(&copy.join("tree"));
    let target = util::guest_target_dir().with_file_name("guests-repro");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(copy.join("tree"))
        .args(["build", "--release", "--target", "wasm32-wasip2", "-p", "primes"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let copy_build = target.join("wasm32-wasip2/release/primes.wasm");

    let one = execute_and_verify("verify-repro-workspace", &workspace_build);
    let two = execute_and_verify("verify-repro-copy", &copy_build);
    assert_reproducible(&one, &two);
}

/// Python and JavaScript: `jug-py`/`jug-js build --force` of a copy of the script gives a new
/// component (componentize-py and -js never give the same bytes twice) that declares the
/// same code digest, hence the same keys, and the same result bytes.
fn sdk_rebuild_gives_the_same_keys_and_results(language: Language, variable: &str, script: &str) {
    let first = util::sdk_guest(language, script); // fails with a clear message without the SDK
    let tool = std::env::var_os(variable).expect("sdk_guest checked it");
    let rebuild = TestDir::new(&format!("verify-repro-{variable}"));
    let source = Path::new(script).file_name().unwrap().to_str().unwrap();
    std::fs::copy(util::workspace().join(script), rebuild.join(source)).unwrap();
    let built = Command::new(&tool)
        .current_dir(&rebuild.path)
        .args(["build", "--force", source, "-o", "other.wasm"])
        .output();
    let built = built.unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let second = rebuild.join("other.wasm");
    assert_ne!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap(),
        "{language:?}: the same bytes"
    );

    let one = execute_and_verify(&format!("verify-repro-{variable}-one"), &first);
    let two = execute_and_verify(&format!("verify-repro-{variable}-two"), &second);
    assert_reproducible(&one, &two);
}

#[test]
fn a_python_rebuild_gives_the_same_keys_and_results() {
    sdk_rebuild_gives_the_same_keys_and_results(Language::Python, "JUG_PY", "examples/primes/primes.py");
}

#[test]
fn a_javascript_rebuild_gives_the_same_keys_and_results() {
    sdk_rebuild_gives_the_same_keys_and_results(Language::JavaScript, "JUG_JS", "examples/primes/primes.js");
}
