//! JavaScript tasks that use npm packages (issue 13): lodash, mathjs `create(all)` and
//! csv-parse, pinned in tests/fixtures/js/libraries/package.json and installed from npm with
//! `npm ci` during the test. Every value is compared with the same functions run by Node
//! itself (native.mjs), from the same node_modules.
//!
//! The component is 35–40 MB (mathjs), so each new build costs a minute of componentizing and
//! another of compiling: the tests share the fixture's build, skipped while its digest is
//! current, like the other SDK guests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::javascript::jug_js;
use crate::util::ExitCode;
use crate::util::{Language, Run, TestDir, guest_target_dir, sdk_guest, workspace};

const FIXTURE: &str = "tests/fixtures/js/libraries";
const SCRIPT: &str = "tests/fixtures/js/libraries/libraries.js";
/// What the fixture's own files hold, so the copies below can be checked against it.
const SOURCES: &[&str] = &["analysis.mjs", "libraries.js", "native.mjs"];

/// `program ARGS…` in `dir`, which must succeed.
fn run_in(dir: &Path, program: &str, args: &[&str]) -> Run {
    let output = Command::new(program).current_dir(dir).args(args).output();
    let run = Run::from(output.unwrap_or_else(|e| panic!("cannot run {program}: {e}")));
    assert_eq!(run.code, 0, "{program} {args:?} in {} failed:\n{}", dir.display(), run.stderr);
    run
}

/// Installs `dir`'s packages with `npm ci`, unless node_modules was installed from this very
/// package-lock.json (a copy of it is kept there).
fn npm_ci(dir: &Path) {
    let lock = std::fs::read(dir.join("package-lock.json")).expect("package-lock.json");
    let stamp = dir.join("node_modules/.jug-test-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(&lock[..]) {
        run_in(dir, "npm", &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
        std::fs::write(stamp, lock).expect("write the install stamp");
    }
}

/// The fixture built into target/guests/js/libraries.wasm, its packages installed first.
fn component() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        npm_ci(&workspace().join(FIXTURE));
        sdk_guest(Language::JavaScript, SCRIPT)
    })
}

fn libraries_dir(name: &str) -> TestDir {
    let dir = TestDir::new(name);
    std::fs::copy(component(), dir.join("libraries.wasm")).expect("copy component");
    dir
}

/// `{ "task name": [values in definition order] }` of the tasks of `names`.
fn task_values(dir: &TestDir, names: &[&str]) -> serde_json::Value {
    let mut values = serde_json::Map::new();
    for name in names {
        let run = dir.jug(&["value", "libraries.wasm", name, "--json"]).run().expect_code(ExitCode::Ok);
        let tasks: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("value --json");
        let of_name = tasks.iter().map(|t| t["value"].clone()).collect();
        values.insert(name.to_string(), serde_json::Value::Array(of_name));
    }
    serde_json::Value::Object(values)
}

/// The key prefix `status --explain` shows for each task of `name`.
fn keys(dir: &TestDir, name: &str) -> Vec<String> {
    let run = dir.jug(&["status", "libraries.wasm", "--explain", name]).run();
    let prefix = format!("libraries.{name} ");
    let keys: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(':').next().expect("a key").to_owned())
        .collect();
    assert!(!keys.is_empty(), "no task of {name} in:\n{}", run.stdout);
    keys
}

const NAMES: &[&str] = &["parse_csv", "parse_csv_stream", "totals", "describe", "evaluate", "draws"];

#[test]
fn npm_packages_give_the_values_node_gives() {
    let dir = libraries_dir("js-libraries");
    let run = dir.jug(&["execute", "libraries.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(run.stdout, "Executed:  11 tasks\nLoaded:  0 tasks\n** Total: 11 tasks.\n", "{}", run.stderr);

    let native = run_in(&workspace().join(FIXTURE), "node", &["native.mjs"]);
    let native: serde_json::Value = serde_json::from_str(&native.stdout).expect("native.mjs prints JSON");
    let compared = ["parse_csv", "parse_csv_stream", "totals", "describe", "evaluate"];
    assert_eq!(native.as_object().map(|o| o.len()), Some(compared.len()), "{native}");
    assert_eq!(task_values(&dir, &compared), native);

    // Random numbers: mathjs's generator, seeded while loading, starts where the snapshot left
    // it in every task; Math.random is the host's, seeded by each task's key.
    let draws = task_values(&dir, &["draws"]);
    let draws = draws["draws"].as_array().expect("two draws");
    assert_eq!(draws[0]["mathjs"], draws[1]["mathjs"]);
    assert_ne!(draws[0]["host"], draws[1]["host"]);
}

#[test]
fn rebuilding_unchanged_keeps_every_key_and_value() {
    let dir = libraries_dir("js-libraries-rebuild");
    dir.jug(&["execute", "libraries.wasm"]).run().expect_code(ExitCode::Ok);
    let before = std::fs::read(dir.join("libraries.wasm")).expect("read");

    let script = workspace().join(SCRIPT);
    let forced =
        jug_js(&dir.path, &["build", "--force", script.to_str().expect("UTF-8"), "-o", "libraries.wasm"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(std::fs::read(dir.join("libraries.wasm")).expect("read"), before, "not rebuilt");
    let status = dir.jug(&["status", "libraries.wasm", "--short"]).run().expect_code(ExitCode::Ok);
    assert_eq!(status.stdout, "All tasks complete (11 tasks).\n");
    // The new snapshot behaves as the old one: every task, its random draws included (mathjs
    // seeded itself from the clock while loading), gives the same bytes again.
    let verify = dir.jug(&["verify", "libraries.wasm", "--all"]).run().expect_code(ExitCode::Ok);
    assert!(verify.stdout.contains("11 match, 0 differ, 0 failed"), "{}", verify.stdout);
}

/// The fixture with lodash 4.17.21 in place of 4.17.20, in target/guests/js/libraries-lodash/.
fn with_newer_lodash() -> PathBuf {
    let fixture = workspace().join(FIXTURE);
    let manifest = std::fs::read_to_string(fixture.join("package.json")).expect("package.json");
    assert!(manifest.contains("\"lodash\": \"4.17.20\""), "the fixture no longer pins lodash 4.17.20");
    let dir = guest_target_dir().join("js").join("libraries-lodash");
    std::fs::create_dir_all(&dir).expect("create dir");
    for file in SOURCES {
        let text = std::fs::read(fixture.join(file)).expect("fixture file");
        if std::fs::read(dir.join(file)).ok() != Some(text.clone()) {
            std::fs::write(dir.join(file), text).expect("copy fixture file");
        }
    }
    let installed = std::fs::read_to_string(dir.join("node_modules/lodash/package.json")).unwrap_or_default();
    if !installed.contains("\"version\": \"4.17.21\"") {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(fixture.join(file), dir.join(file)).expect("copy package files");
        }
        npm_ci(&dir);
        run_in(&dir, "npm", &["install", "--save-exact", "--no-audit", "--no-fund", "lodash@4.17.21"]);
    }
    let built = jug_js(&dir, &["build", "libraries.js", "-o", "libraries.wasm"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    dir.join("libraries.wasm")
}

#[test]
fn a_new_package_version_changes_the_keys_of_the_tasks_that_reach_it_only() {
    let dir = libraries_dir("js-libraries-version");
    dir.jug(&["execute", "libraries.wasm"]).run().expect_code(ExitCode::Ok);
    let before: Vec<Vec<String>> = NAMES.iter().map(|n| keys(&dir, n)).collect();

    std::fs::copy(with_newer_lodash(), dir.join("libraries.wasm")).expect("copy");
    let status = dir.jug(&["status", "libraries.wasm", "--short"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(status.stdout, "1 tasks waiting to be run, 0 failed, 10 complete, (none active).\n");
    let explain =
        dir.jug(&["status", "libraries.wasm", "--explain", "totals"]).run().expect_code(ExitCode::NotDone);
    assert!(explain.stdout.contains("the code of libraries.totals changed"), "{}", explain.stdout);
    for (name, keys_before) in NAMES.iter().zip(&before) {
        let keys_after = keys(&dir, name);
        if *name == "totals" {
            assert_ne!(&keys_after, keys_before, "{name}");
        } else {
            assert_eq!(&keys_after, keys_before, "{name}");
        }
    }
}

/// A package `name` in `dir`'s node_modules whose index.js is `code`.
fn local_package(dir: &TestDir, name: &str, code: &str) {
    let package = dir.join(&format!("node_modules/{name}"));
    std::fs::create_dir_all(&package).expect("create package");
    let manifest = format!("{{\"name\": \"{name}\", \"version\": \"1.2.3\", \"main\": \"index.js\"}}\n");
    std::fs::write(package.join("package.json"), manifest).expect("write package.json");
    std::fs::write(package.join("index.js"), code).expect("write index.js");
}

#[test]
fn node_built_ins_that_cannot_work_fail_the_build_naming_the_importer() {
    let dir = TestDir::new("js-libraries-builtins");
    let expect_error = |script: &str, text: &str, needles: &[&str]| {
        std::fs::write(dir.join(script), text).expect("write script");
        let run = jug_js(&dir.path, &["build", script]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line, got:\n{}", run.stderr);
        for needle in needles {
            assert!(lines[0].contains(needle), "`{needle}` not in {}", lines[0]);
        }
    };
    local_package(
        &dir,
        "reads-files",
        "const fs = require('fs');\nexports.read = (p) => fs.readFileSync(p);\n",
    );
    expect_error(
        "through_package.js",
        "import { read } from 'reads-files';\nexport function graph() {}\n",
        &[
            "jug-js: node_modules/reads-files/index.js:1:20: the package reads-files@1.2.3",
            "imports the Node built-in `fs`, which cannot work in a task: a task has no file system",
        ],
    );
    expect_error(
        "direct.js",
        "import { execSync } from 'node:child_process';\nexport function graph() {}\n",
        &[
            "direct.js:1:26: direct.js imports the Node built-in `node:child_process`",
            "cannot start processes",
        ],
    );
    expect_error(
        "no_polyfill.js",
        "import zlib from 'zlib';\nexport function graph() {}\n",
        &[
            "no_polyfill.js imports the Node built-in `zlib`, for which jug-js has no polyfill (it has buffer, events",
        ],
    );
    // A package drawing secure randomness while it loads is named, not the script's import.
    local_package(&dir, "makes-keys", "exports.key = crypto.getRandomValues(new Uint8Array(4));\n");
    expect_error(
        "secret.js",
        "import { key } from 'makes-keys';\nexport function graph() {}\n",
        &[
            "crypto.getRandomValues() cannot be called while the script loads",
            "(in the package makes-keys, at node_modules/makes-keys/index.js:1:",
        ],
    );
    assert!(!dir.files_under("").iter().any(|f| f.ends_with(".wasm")), "{:?}", dir.files_under(""));
}
