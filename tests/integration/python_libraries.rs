//! Python tasks using PyPI packages (issue 13): `jug-py build` installs a script's requirements
//! for the component's CPython 3.14 from PyPI, locks them, and bundles them. The graphs in
//! tests/fixtures/python/libraries/ (networkx, sympy) are checked value for value against the
//! same functions run by the host's `python3` with the same pinned wheels, installed by pip
//! into a test-private directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::python::jug_py;
use crate::util::ExitCode;
use crate::util::{Language, TestDir, sdk_guest, workspace};

const FIXTURES: &str = "tests/fixtures/python/libraries";

fn fixture(relative: &str) -> PathBuf {
    workspace().join(FIXTURES).join(relative)
}

fn networkx_py() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| sdk_guest(Language::Python, &format!("{FIXTURES}/networkx/paths.py")))
}

fn sympy_py() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| sdk_guest(Language::Python, &format!("{FIXTURES}/sympy/algebra.py")))
}

/// A test directory holding a copy of a fixture directory and its built component.
fn dir_with(name: &str, fixture_dir: &str, component: &Path) -> TestDir {
    let dir = TestDir::new(name);
    for entry in std::fs::read_dir(fixture(fixture_dir)).expect("read the fixture").flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.join(&entry.file_name().to_string_lossy())).unwrap();
        }
    }
    let file = component.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(component, dir.join(&file)).expect("copy the component");
    dir
}

/// Values as sorted, normalised JSON texts (maps with sorted keys), one per task.
fn normalised(lines: &str) -> Vec<String> {
    let mut values: Vec<String> = lines
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON value").to_string())
        .collect();
    values.sort();
    values
}

/// The host's Python with pip: the SDK toolchain's venv (`scripts/sdks` makes it; a bare
/// `python3` need not have pip on a fresh machine).
fn native_python() -> PathBuf {
    let jug_py = std::env::var_os("JUG_PY").expect("JUG_PY is set: run the tests with scripts/test");
    PathBuf::from(jug_py).with_file_name("python")
}

/// The values of `function`'s tasks run natively: the host's Python with the wheels of the
/// script's lock file installed by pip into a test-private directory (once per lock).
fn native_values(script: &str, function: &str) -> Vec<String> {
    static INSTALLED: std::sync::Mutex<Vec<(PathBuf, TestDir)>> = std::sync::Mutex::new(Vec::new());
    let script = fixture(script);
    let lock = script.with_extension("lock");
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !installed.iter().any(|(l, _)| *l == lock) {
        let dir = TestDir::new(&format!("python-native-{}", script.file_stem().unwrap().to_string_lossy()));
        let lock_text = lock.to_str().unwrap();
        let args = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"];
        let args =
            [&args[..], &["--require-hashes", "--only-binary=:all:", "--target", "site", "-r", lock_text]]
                .concat();
        dir.command(&native_python(), &args).run().expect_status(0);
        installed.push((lock.clone(), dir));
    }
    let dir = &installed.iter().find(|(l, _)| *l == lock).unwrap().1;
    let path =
        format!("{}:{}", dir.join("site").display(), workspace().join("guest-sdk/python/src").display());
    let runner = fixture("native.py");
    let args = [runner.to_str().unwrap(), script.to_str().unwrap(), function];
    let run = dir.command(&native_python(), &args).env("PYTHONPATH", &path).run().expect_status(0);
    assert!(!run.stdout.is_empty(), "no task of {function} ran natively");
    normalised(&run.stdout)
}

fn component_values(dir: &TestDir, component: &str, function: &str) -> Vec<String> {
    normalised(&dir.jug(&["value", component, function]).run().expect_code(ExitCode::Ok).stdout)
}

#[test]
fn networkx_graph_gives_native_networkx_values() {
    let dir = dir_with("python-networkx", "networkx", networkx_py());
    dir.jug(&["execute", "paths.wasm"]).run().expect_code(ExitCode::Ok);
    for function in ["shortest", "route", "triangles"] {
        let values = component_values(&dir, "paths.wasm", function);
        assert_eq!(values, native_values("networkx/paths.py", function), "{function}");
    }
}

#[test]
fn sympy_graph_gives_native_sympy_values() {
    let dir = dir_with("python-sympy", "sympy", sympy_py());
    dir.jug(&["execute", "algebra.wasm"]).run().expect_code(ExitCode::Ok);
    for function in ["factor", "integrate", "digits_of_pi"] {
        let values = component_values(&dir, "algebra.wasm", function);
        assert_eq!(values, native_values("sympy/algebra.py", function), "{function}");
    }
}

#[test]
fn a_rebuild_keeps_the_keys_and_a_new_pin_changes_only_its_users() {
    let dir = dir_with("python-networkx-pins", "networkx", networkx_py());
    dir.jug(&["execute", "paths.wasm"]).run().expect_code(ExitCode::Ok);
    let status = |code| dir.jug(&["status", "paths.wasm", "--short"]).run().expect_code(code).stdout;

    let up_to_date = jug_py(&dir, &["build", "paths.py", "--locked"]).expect_status(0);
    assert_eq!(up_to_date.stdout, "jug-py: paths.wasm is up to date\n");
    jug_py(&dir, &["build", "paths.py", "--locked", "--force"]).expect_status(0);
    assert_eq!(status(ExitCode::Ok), "All tasks complete (8 tasks).\n");

    // Another networkx: --locked refuses the drift in one line; a plain build locks it anew.
    let lock = std::fs::read_to_string(dir.join("paths.lock")).unwrap();
    std::fs::write(dir.join("requirements.txt"), "networkx==3.5\n").unwrap();
    let drift = jug_py(&dir, &["build", "paths.py", "--locked"]).expect_status(1);
    assert_eq!(
        drift.stderr,
        "jug-py: --locked: requirements.txt changed since paths.lock was written; build without --locked to update it\n"
    );
    jug_py(&dir, &["build", "paths.py"]).expect_status(0);
    let relocked = std::fs::read_to_string(dir.join("paths.lock")).unwrap();
    assert!(relocked.contains("\nnetworkx==3.5 --hash=sha256:"), "{relocked}");
    assert_ne!(relocked, lock);

    // shortest and route import networkx: their 6 tasks have new keys; triangles' 2 do not.
    assert_eq!(
        status(ExitCode::NotDone),
        "6 tasks waiting to be run, 0 failed, 2 complete, (none active).\n"
    );
    let explain =
        dir.jug(&["status", "paths.wasm", "--explain", "route"]).run().expect_code(ExitCode::NotDone);
    assert!(explain.stdout.contains(": the code of paths.route changed"), "{explain:?}");
}

#[test]
fn a_package_with_c_extensions_fails_the_build_in_one_line() {
    let dir = TestDir::new("python-numpy");
    std::fs::write(dir.join("graph.py"), "import numpy\nx = 1\n").unwrap();
    std::fs::write(dir.join("requirements.txt"), "numpy\n").unwrap();
    let run = jug_py(&dir, &["build", "graph.py"]).expect_status(1);
    assert_eq!(
        run.stderr,
        "jug-py: numpy has no pure-Python wheel, only builds with C extensions, which cannot load in the \
         component's CPython (WebAssembly): only pure-Python packages can be dependencies; remove numpy\n"
    );
    assert!(!dir.join("graph.wasm").exists() && !dir.join("graph.lock").exists());
}

#[test]
fn missing_c_modules_are_stubs_and_late_imports_say_how_to_include_them() {
    let dir = TestDir::new("python-imports");
    std::fs::copy(fixture("imports/imports.py"), dir.join("imports.py")).unwrap();
    std::fs::create_dir_all(dir.join("own")).unwrap();
    std::fs::copy(fixture("imports/own/lzma.py"), dir.join("own/lzma.py")).unwrap();
    let value = |name| dir.jug(&["value", "imports.wasm", name]).run().expect_code(ExitCode::Ok).stdout;

    // bz2, ctypes, lzma and ssl import; the user's own lzma (-p own) wins over the stub.
    jug_py(&dir, &["build", "imports.py", "-p", "own"]).expect_status(0);
    let run = dir.jug(&["execute", "imports.wasm", "--keep-going"]).run().expect_code(ExitCode::NotDone);
    let unavailable = "is not available in a jug-host component (its C extension cannot be loaded";
    assert!(
        run.stderr.contains(&format!("failed: UnavailableModuleError: bz2 {unavailable}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("failed: UnavailableModuleError: ssl {unavailable}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "failed: ModuleNotFoundError: No module named 'xml' in this component: it was not imported while \
             the component was built (nothing can be imported later); import it at the top level of the \
             script, or build with `jug-py build --include xml`"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(value("own_lzma"), "\"the user's lzma\"\n");
    assert_eq!(value("long_size"), "4\n", "sizeof(c_long) of wasm32, without _ctypes");

    // --include of a package that does not exist fails the build in one line.
    let missing =
        jug_py(&dir, &["build", "imports.py", "-p", "own", "--include", "nosuchpkg"]).expect_status(1);
    let last = missing.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "jug-py: imports.py failed while the component was built: ImportError: --include nosuchpkg: "
        ) && last.contains("No module named 'nosuchpkg'"),
        "{}",
        missing.stderr
    );

    // With --include xml, the module a task imports at run time is in the component.
    jug_py(&dir, &["build", "imports.py", "-p", "own", "--include", "xml"]).expect_status(0);
    dir.jug(&["execute", "imports.wasm", "--keep-going"]).run().expect_code(ExitCode::NotDone);
    assert_eq!(value("load"), "\"xml.dom.minidom\"\n");
}
