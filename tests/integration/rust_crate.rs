//! A Rust graph crate of the test's own, outside the workspace, that the test edits and
//! rebuilds: with plain `cargo build` (one identity for the whole component) or with
//! `cargo jug build` (a variant, so an identity, per task function).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::util::{self, TestDir};

pub struct RustCrate {
    pub dir: TestDir,
    /// The component's name: `<name>.wasm` in the test directory (task names follow it).
    name: String,
    /// The package's name, unique to the test (see [`RustCrate::new`]).
    package: String,
    /// The directory the crate is in, below the test directory.
    source: PathBuf,
}

/// Builds go one at a time: every crate shares one target directory (so the SDK and its
/// dependencies build once), where same-named components would overwrite each other.
static BUILDING: Mutex<()> = Mutex::new(());

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// `cargo-jug`, built once per test run into the guests' target directory.
pub fn cargo_jug() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let output = cargo()
            .current_dir(util::workspace())
            .args(["build", "--release", "-p", "cargo-jug"])
            .env("CARGO_TARGET_DIR", util::guest_target_dir())
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "building cargo-jug failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        util::guest_target_dir().join("release/cargo-jug")
    })
}

/// `cargo jug build -p PACKAGE -o OUT` of a guest crate of the workspace.
pub fn build_workspace_guest(package: &str, out: &Path) {
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let output = Command::new(cargo_jug())
        .current_dir(util::workspace())
        .args(["jug", "build", "-p", package, "-o"])
        .arg(out)
        .env("CARGO_TARGET_DIR", RustCrate::target())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

impl RustCrate {
    /// A crate with `lib_rs` as its source, the SDK and `dependencies` (TOML lines), built
    /// into `<name>.wasm`. Its package is named after the test as well: cargo fingerprints a
    /// workspace's root package by its path relative to the workspace, so two tests' crates of
    /// one name in the shared target directory were one unit to cargo, and a build could find
    /// the other test's build "fresh" and hand back its component.
    pub fn new(test: &str, name: &str, lib_rs: &str, dependencies: &str) -> RustCrate {
        let package = format!("{name}-{test}").replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let dir = TestDir::new(test);
        let source = dir.join("crate");
        std::fs::create_dir_all(source.join("src")).unwrap();
        std::fs::write(source.join("src/lib.rs"), lib_rs).unwrap();
        std::fs::copy(util::workspace().join("Cargo.lock"), source.join("Cargo.lock")).unwrap();
        let manifest = format!(
            "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\njug = {{ package = \"jug-sdk\", path = {:?} }}\n{dependencies}\n[workspace]\n",
            util::workspace().join("guest-sdk/rust")
        );
        std::fs::write(source.join("Cargo.toml"), manifest).unwrap();
        RustCrate { dir, name: name.to_owned(), package, source }
    }

    /// A copy of `examples/primes`.
    pub fn primes(test: &str) -> RustCrate {
        let source = std::fs::read_to_string(util::workspace().join("examples/primes/src/lib.rs")).unwrap();
        RustCrate::new(test, "primes", &source, "")
    }

    fn target() -> PathBuf {
        util::guest_target_dir().with_file_name("guests-edited")
    }

    /// `cargo build`: the component goes to `<name>.wasm` in the test directory.
    pub fn build(&self) {
        let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let output = cargo()
            .current_dir(&self.source)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .env("CARGO_TARGET_DIR", RustCrate::target())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let built = RustCrate::target()
            .join(format!("wasm32-wasip2/release/{}.wasm", self.package.replace('-', "_")));
        std::fs::copy(built, self.dir.join(&format!("{}.wasm", self.name))).unwrap();
    }

    /// `cargo jug build -o <name>.wasm`; returns what it said on stderr.
    pub fn build_per_task(&self) -> String {
        let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let output = Command::new(cargo_jug())
            .current_dir(&self.source)
            .args(["jug", "build", "-o"])
            .arg(self.dir.join(&format!("{}.wasm", self.name)))
            .env("CARGO_TARGET_DIR", RustCrate::target())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    }

    /// Replaces `from` (which must be there) by `to` in `path`, relative to the crate.
    pub fn edit_file(&self, path: &str, from: &str, to: &str) {
        let path = self.source.join(path);
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(source.contains(from), "{} has no `{from}`", path.display());
        std::fs::write(&path, source.replace(from, to)).unwrap();
    }

    /// Replaces `from` by `to` in `src/lib.rs`.
    pub fn edit(&self, from: &str, to: &str) {
        self.edit_file("src/lib.rs", from, to);
    }

    /// Writes a file of the crate (a module, a local dependency).
    pub fn write(&self, path: &str, content: &str) {
        let path = self.source.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Moves the crate to another directory of the test: the next build is from there.
    pub fn move_to(&mut self, relative: &str) {
        let to = self.dir.join(relative);
        std::fs::rename(&self.source, &to).unwrap();
        self.source = to;
    }

    /// `cargo clean -p <name>`: the next build compiles the crate from scratch.
    pub fn clean(&self) {
        let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let output = cargo()
            .current_dir(&self.source)
            .args(["clean", "--release", "--target", "wasm32-wasip2", "-p", &self.package])
            .env("CARGO_TARGET_DIR", RustCrate::target())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
}
