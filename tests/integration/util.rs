//! The test harness: real guest components built from source once per run, a fresh directory
//! per test, and a builder for `jug-host` invocations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use jug_host::exit_code::ExitCode;

mod sections;
mod slow_proxy;
pub use sections::{append_custom_section, custom_sections, replace_custom_section};
pub use slow_proxy::SlowProxy;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_owned()
}

/// `target/` (or `CARGO_TARGET_DIR`): tests keep their scratch space and guest builds there.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("tmp dir is in target/").to_owned()
}

/// Guest crates built for the tests, by package name.
const GUESTS: &[&str] = &[
    "primes",
    "bench",
    "sweep",
    "wordcount",
    "stats",
    "fixture-tasks",
    "fixture-raw",
    "fixture-hello",
    "fixture-hostile",
    "fixture-hostile-graph",
    "fixture-foreign",
];

/// The target directory guests are built in: separate from the host's, so this build never
/// waits for the `cargo test` that runs it.
pub fn guest_target_dir() -> PathBuf {
    target_dir().join("guests")
}

/// Builds every guest once per test run (cargo makes repeat builds nearly free) and returns
/// the directory holding the `.wasm` components.
pub fn guests() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.current_dir(workspace()).args(["build", "--release", "--target", "wasm32-wasip2"]);
        for guest in GUESTS {
            cargo.args(["-p", guest]);
        }
        let output = cargo.env("CARGO_TARGET_DIR", guest_target_dir()).output().expect("cargo runs");
        assert!(
            output.status.success(),
            "building the guest components failed (is the wasm32-wasip2 target installed?):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        guest_target_dir().join("wasm32-wasip2").join("release")
    })
}

/// A guest component, by file name (`primes.wasm`).
pub fn guest(file: &str) -> PathBuf {
    let path = guests().join(file);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// A graph written in Python or JavaScript, built by its SDK's command (`jug-py build`,
/// `jug-js build`; `JUG_PY`/`JUG_JS` name them, `scripts/sdks` installs both) into
/// `target/guests/<language>/`. The SDK commands skip an output whose declared code digest
/// is already current, so each graph builds once per source change, across test runs.
pub fn sdk_guest(language: Language, source: &str) -> PathBuf {
    let stem = Path::new(source).file_stem().expect("a file name").to_string_lossy().into_owned();
    sdk_guest_as(language, source, &stem)
}

/// [`sdk_guest`] into `<out>.wasm`, for a source whose file name another test's source shares
/// (task names come from the file name, so a copy of Jug's primes.py is a primes.py too).
pub fn sdk_guest_as(language: Language, source: &str, out: &str) -> PathBuf {
    // One build at a time: componentize-py/js each take a core and most of a GiB.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let (variable, language_dir) = match language {
        Language::Python => ("JUG_PY", "python"),
        Language::JavaScript => ("JUG_JS", "js"),
    };
    let tool = std::env::var_os(variable).unwrap_or_else(|| {
        panic!("{variable} is not set: run the tests with scripts/test, which installs the SDKs")
    });
    let source = workspace().join(source);
    let out_dir = guest_target_dir().join(language_dir);
    std::fs::create_dir_all(&out_dir).expect("create the SDK guest directory");
    let output = out_dir.join(format!("{out}.wasm"));
    let built = Command::new(&tool).arg("build").arg(&source).arg("-o").arg(&output).output();
    let built = built.unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&tool).display()));
    assert!(
        built.status.success(),
        "building {} failed:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    output
}

/// The languages with an SDK besides Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    JavaScript,
}

/// `payload` sealed as a lone result (see `jug_core::store::envelope`), in format `version`:
/// what a test plants with [`TestDir::overwrite_result`].
pub fn sealed(version: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = b"JUGR".to_vec();
    bytes.extend_from_slice(&[version, 0, 0, 0]);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(blake3::hash(payload).as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// A scratch directory of its own for one test, emptied first.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = target_dir().join("jug-tests").join(format!("{name}-{n}"));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        TestDir { path }
    }

    /// Copies a guest component in, so task names and the default store follow its name.
    pub fn with_guest(name: &str, file: &str) -> TestDir {
        let dir = TestDir::new(name);
        dir.copy_guest(file, file);
        dir
    }

    pub fn copy_guest(&self, file: &str, as_name: &str) {
        std::fs::copy(guest(file), self.path.join(as_name)).expect("copy guest");
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.path.join(relative)
    }

    /// `jug-host ARGS…` run in this directory.
    pub fn jug(&self, args: &[&str]) -> JugCommand {
        self.command(Path::new(env!("CARGO_BIN_EXE_jug-host")), args)
    }

    /// Any program (a script that runs jug-host, say) in this directory, with jug-host's
    /// test environment; `JUG_HOST` names the binary under test.
    pub fn command(&self, program: &Path, args: &[&str]) -> JugCommand {
        let mut command = Command::new(program);
        command
            .current_dir(&self.path)
            .args(args)
            .env("JUG_HOST", env!("CARGO_BIN_EXE_jug-host"))
            // No jugrc of the user's or of this checkout changes what a test sees (the
            // configuration tests remove this).
            .env("JUG_NO_CONFIG", "1")
            // Stable table width, a shared compiled-component cache, no user settings.
            .env("COLUMNS", "100")
            .env("JUG_CACHE_DIR", target_dir().join("jug-test-cache"))
            .env_remove("JUG_STORE")
            .env_remove("RUST_LOG");
        JugCommand { command }
    }

    /// Every file under `relative`, as paths relative to it, sorted.
    pub fn files_under(&self, relative: &str) -> Vec<String> {
        let root = self.join(relative);
        let mut found = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path.strip_prefix(&root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }
}

impl TestDir {
    /// The results of the local store at `relative`, by key hex, as the store reads them (packed
    /// or alone): what a test checks instead of the store's files, whose layout is the
    /// store's business.
    pub fn stored(&self, relative: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
        let store = self.open_store(relative);
        let keys = store.list_results().expect("list the results");
        keys.iter()
            .filter_map(|key| match store.get_result(key).expect("read a result") {
                jug_core::store::Stored::Present(bytes) => Some((key.to_hex(), bytes)),
                _ => None,
            })
            .collect()
    }

    /// How many results the local store at `relative` lists.
    pub fn result_count(&self, relative: &str) -> usize {
        self.open_store(relative).list_results().expect("list the results").len()
    }

    /// The local store at `relative`, read-only (empty if it does not exist).
    pub fn open_store(&self, relative: &str) -> jug_core::store::Store {
        let location = jug_core::store::StoreLocation::Local(self.join(relative));
        jug_core::store::Store::open(&location, jug_core::store::Access::ReadOnly).expect("open the store")
    }

    /// Replaces the bytes of a stored result as they are (damage, a planted result): through
    /// the store, which keeps them where it reads them.
    pub fn overwrite_result(&self, relative: &str, key_hex: &str, bytes: &[u8]) {
        self.overwrite_result_at(&jug_core::store::StoreLocation::Local(self.join(relative)), key_hex, bytes);
    }

    /// The store that `store_args` (from [`Backend::store_args`]) name, or without any, the
    /// local one at `relative`.
    pub fn store_location(&self, store_args: &[String], relative: &str) -> jug_core::store::StoreLocation {
        match store_args {
            [flag, url] if flag == "--store" => {
                jug_core::store::StoreLocation::parse(url).expect("a store URL")
            }
            _ => jug_core::store::StoreLocation::Local(self.join(relative)),
        }
    }

    /// That store, read-only.
    pub fn open_store_at(&self, store_args: &[String], relative: &str) -> jug_core::store::Store {
        let location = self.store_location(store_args, relative);
        jug_core::store::Store::open(&location, jug_core::store::Access::ReadOnly).expect("open the store")
    }

    /// [`TestDir::overwrite_result`] in the store at `location`, of any backend.
    pub fn overwrite_result_at(
        &self,
        location: &jug_core::store::StoreLocation,
        key_hex: &str,
        bytes: &[u8],
    ) {
        let store = jug_core::store::Store::open(location, jug_core::store::Access::ReadWrite).expect("open");
        let key = jug_core::Key::from_hex(key_hex).expect("a key");
        store.overwrite_result_bytes(&key, bytes).expect("overwrite the result");
    }

    /// Every file under `relative` with its modification time: equal before and after a
    /// command means the command wrote nothing there.
    pub fn modification_times(&self, relative: &str) -> Vec<(String, std::time::SystemTime)> {
        self.files_under(relative)
            .into_iter()
            .map(|f| {
                let modified = std::fs::metadata(self.join(relative).join(&f)).and_then(|m| m.modified());
                (f, modified.expect("file metadata"))
            })
            .collect()
    }
}

/// Everything under a directory, as it is now: each entry's path relative to it, with its
/// kind and content (a file's blake3, a symbolic link's target). Equal snapshots before and
/// after a command mean the command changed nothing there, to the byte; unlike
/// modification times, this also sees new directories, links and permission-preserving
/// rewrites.
pub fn tree_snapshot(root: &Path) -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let kind = entry.file_type().expect("file type");
            let content = if kind.is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).expect("read link").display())
            } else if kind.is_dir() {
                pending.push(path);
                "dir".to_owned()
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                format!("file {}", blake3::hash(&bytes).to_hex())
            };
            found.insert(relative, content);
        }
    }
    found
}

pub struct JugCommand {
    command: Command,
}

impl JugCommand {
    pub fn env(mut self, key: &str, value: &str) -> JugCommand {
        self.command.env(key, value);
        self
    }

    /// Words for the graph builder, after `--`.
    pub fn arg_words(mut self, words: &[&str]) -> JugCommand {
        self.command.arg("--").args(words);
        self
    }

    pub fn env_remove(mut self, key: &str) -> JugCommand {
        self.command.env_remove(key);
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Run {
        Run::from(self.command.output().expect("jug-host runs"))
    }

    /// Starts in the background, for tests that signal the process.
    pub fn spawn(mut self) -> Running {
        let child = self
            .command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("jug-host starts");
        Running { child, stderr_read: String::new() }
    }
}

/// A `jug-host` started with [`JugCommand::spawn`].
pub struct Running {
    child: std::process::Child,
    /// What [`Running::wait_for_stderr`] read of its stderr so far.
    stderr_read: String,
}

impl Running {
    /// Sends a real signal to the process (`libc::SIGKILL`, `SIGTERM`…).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the PID of a child we started and have not reaped.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0, "signal {signal}");
    }

    pub fn wait(self) -> Run {
        let mut run = Run::from(self.child.wait_with_output().expect("jug-host ends"));
        run.stderr.insert_str(0, &self.stderr_read);
        run
    }

    /// Reads the process's stderr, a line at a time, until a line contains `needle`: what a
    /// test waits for before changing the world under the process (not a fixed sleep, which a
    /// loaded machine outruns). False if stderr ended first. What was read stays part of the
    /// [`Running::wait`] output.
    pub fn wait_for_stderr(&mut self, needle: &str) -> bool {
        use std::io::Read as _;
        let Some(stderr) = self.child.stderr.as_mut() else { return false };
        let mut line = Vec::new();
        let mut byte = [0u8];
        while stderr.read(&mut byte).unwrap_or(0) == 1 {
            line.push(byte[0]);
            if byte[0] == b'\n' {
                let text = String::from_utf8_lossy(&line).into_owned();
                self.stderr_read.push_str(&text);
                line.clear();
                if text.contains(needle) {
                    return true;
                }
            }
        }
        self.stderr_read.push_str(&String::from_utf8_lossy(&line));
        false
    }

    /// The next line the process prints on stdout (a server's address, say), without its
    /// newline; None if stdout ended first.
    pub fn read_stdout_line(&mut self) -> Option<String> {
        use std::io::Read as _;
        let stdout = self.child.stdout.as_mut()?;
        let (mut line, mut byte) = (Vec::new(), [0u8]);
        while stdout.read(&mut byte).unwrap_or(0) == 1 {
            if byte[0] == b'\n' {
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            line.push(byte[0]);
        }
        None
    }

    /// Waits for the process, and returns what it printed with its peak resident memory in
    /// bytes (`wait4`'s `ru_maxrss`: of it and of the children it waited for).
    pub fn wait_with_peak_memory(mut self) -> (Run, u64) {
        use std::io::Read as _;
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    pipe.read_to_end(&mut bytes).expect("read the child's output");
                }
                bytes
            })
        };
        let stdout = drain(self.child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = drain(self.child.stderr.take().map(|p| Box::new(p) as _));
        let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
        // SAFETY: wait4 on the PID of a child we started and have not reaped; both out
        // pointers are valid for the call.
        let waited = unsafe { libc::wait4(self.child.id() as i32, &mut status, 0, &mut usage) };
        assert_eq!(waited, self.child.id() as i32, "wait4");
        let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        let run = Run { code, stdout: text(stdout.join().unwrap()), stderr: text(stderr.join().unwrap()) };
        (run, usage.ru_maxrss as u64 * 1024)
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What a `jug-host` run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// jug-host's exit code, if it exited with one (not killed by a signal, not a panic's 101).
    pub fn exit(&self) -> Option<ExitCode> {
        ExitCode::from_code(self.code)
    }

    /// Asserts jug-host's exit code, showing everything on mismatch.
    #[track_caller]
    pub fn expect_code(self, code: ExitCode) -> Run {
        self.expect_status(code.code())
    }

    /// Asserts the exit status of another program (jug-py, jug-js, cargo-jug, Python…),
    /// whose codes are its own.
    #[track_caller]
    pub fn expect_status(self, status: i32) -> Run {
        assert_eq!(
            self.code, status,
            "unexpected exit code {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts a jug-host failure reported as exactly one line on stderr that mentions `needle`.
    #[track_caller]
    pub fn expect_one_line_error(self, code: ExitCode, needle: &str) -> Run {
        let run = self.expect_code(code);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{}", run.stderr);
        assert!(lines[0].starts_with("jug-host: "), "{}", run.stderr);
        assert!(lines[0].contains(needle), "expected `{needle}` in: {}", run.stderr);
        run
    }
}

/// The number in a summary line such as "Executed:  2314 tasks" or "3 duplicate executions":
/// the word just before `suffix` on the first line that starts with `prefix` and has one (so
/// "1 task taken over from an expired lease; 3 duplicate executions" counts 3 duplicates).
/// 0 when no line says.
pub fn count(text: &str, prefix: &str, suffix: &str) -> usize {
    text.lines()
        .find_map(|line| {
            let (before, _) = line.strip_prefix(prefix)?.split_once(suffix)?;
            before.split_whitespace().last()?.parse().ok()
        })
        .unwrap_or(0)
}

/// `jug-host WORDS… --store …`: a command's words with a test's store arguments (from
/// [`Backend::store_args`]; none for the local default).
pub fn with_store<'a>(words: &[&'a str], store: &'a [String]) -> Vec<&'a str> {
    words.iter().copied().chain(store.iter().map(String::as_str)).collect()
}

/// The stores a scenario can run against (ripgrep-style: one scenario, every backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Local,
    S3,
    Redis,
}

impl Backend {
    /// A fresh, empty store of this kind for one test: `--store` arguments (none for the
    /// default local directory). S3 and Redis are the servers `scripts/test` starts; without
    /// them the test fails rather than skips.
    pub fn store_args(self, name: &str) -> Vec<String> {
        let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let required = |var: &str| {
            std::env::var(var).unwrap_or_else(|_| {
                panic!("{var} is not set: run the tests with scripts/test, which starts SeaweedFS and Redis")
            })
        };
        match self {
            Backend::Local => Vec::new(),
            Backend::S3 => vec!["--store".into(), format!("{}/{name}-{nonce}", required("JUG_TEST_S3"))],
            Backend::Redis => {
                vec!["--store".into(), format!("{}?prefix={name}-{nonce}", required("JUG_TEST_REDIS"))]
            }
        }
    }
}

/// Runs a scenario `fn(Backend)` once per store backend, as `<scenario>::<backend>` tests.
macro_rules! each_backend {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn local() { super::$scenario(crate::util::Backend::Local) }
                #[test]
                fn s3() { super::$scenario(crate::util::Backend::S3) }
                #[test]
                fn redis() { super::$scenario(crate::util::Backend::Redis) }
            }
        )*
    };
}
pub(crate) use each_backend;
