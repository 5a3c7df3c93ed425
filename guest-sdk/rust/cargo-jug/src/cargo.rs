//! The `build` command: runs `cargo rustc` for the graph's crate with this program as its
//! linker, then says what it built.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::link;

pub const USAGE: &str = "\
usage: cargo jug build [-o FILE] [-j N] [CARGO OPTIONS]

Builds the graph crate (a cdylib using the `jug` SDK) for wasm32-wasip2 in release mode, with
one variant per task function, so that each task's key covers only the code its function can
run. CARGO OPTIONS go to `cargo rustc` (-p PACKAGE, --manifest-path, --features, --locked…).

  -o, --out FILE   also copy the component to FILE
  -j, --jobs N     variants linked at once (default: the number of CPUs)
";

/// What the user asked for.
struct Options {
    out: Option<PathBuf>,
    jobs: Option<String>,
    cargo: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options { out: None, jobs: None, cargo: Vec::new() };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or_else(|| format!("`{flag}` needs a value"));
        match arg.as_str() {
            "-o" | "--out" => options.out = Some(value(arg)?.into()),
            "-j" | "--jobs" => {
                let jobs = value(arg)?;
                match jobs.parse::<usize>() {
                    Ok(n) if n > 0 => options.jobs = Some(jobs),
                    _ => return Err(format!("`--jobs` takes a positive number, not `{jobs}`")),
                }
            }
            "--target" => {
                return Err("a Jug graph is always built for wasm32-wasip2; leave `--target` out".into());
            }
            "--" => return Err("options after `--` are not supported; set RUSTFLAGS instead".into()),
            _ if arg.starts_with("--target=") => {
                return Err("a Jug graph is always built for wasm32-wasip2; leave `--target` out".into());
            }
            _ => options.cargo.push(arg.clone()),
        }
    }
    Ok(options)
}

pub fn main(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => return crate::usage_error(&message),
    };
    match build(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cargo jug: {message}");
            ExitCode::FAILURE
        }
    }
}

fn build(options: &Options) -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let linker = real_linker(Path::new(&rustc))?;
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program's own path: {e}"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["rustc", "--release", "--target", "wasm32-wasip2", "--lib"])
        .arg("--message-format=json-render-diagnostics")
        .args(&options.cargo)
        .arg("--")
        .arg("-C")
        .arg(format!("linker={}", me.display()))
        // One codegen unit: how rustc spreads a crate's functions over several depends on all
        // of them, so an edit to one task function would reorder, and so change, the code of
        // the others' variants. With one, each variant's functions keep their order.
        .args(["-C", "codegen-units=1"])
        .env(link::LINKER_MODE, "1")
        .env("RUSTC_WORKSPACE_WRAPPER", &me)
        .env(link::REAL_LINKER, &linker)
        .env(link::RUSTC, &rustc)
        .stdout(Stdio::piped());
    if let Some(jobs) = &options.jobs {
        command.env(link::JOBS, jobs);
    }
    let output = command
        .spawn()
        .and_then(|child| child.wait_with_output())
        .map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        return Err("the build failed (cargo said why above)".into());
    }
    let components = artifacts(&output.stdout);
    let [component] = &components[..] else {
        return Err(format!(
            "expected one component from cargo, got {}; name the graph's package with `-p`",
            components.len()
        ));
    };
    let bytes = std::fs::read(component).map_err(|e| format!("cannot read {}: {e}", component.display()))?;
    let variants = link::variant_names(&bytes);
    if variants.is_empty() {
        eprintln!(
            "cargo jug: warning: {} has no task functions (does the crate call `jug::export!`?)",
            component.display()
        );
    }
    eprintln!(
        "cargo jug: built {} ({} task functions, each with its own variant: {})",
        component.display(),
        variants.len(),
        variants.join(", ")
    );
    if let Some(out) = &options.out {
        std::fs::copy(component, out)
            .map_err(|e| format!("cannot copy the component to {}: {e}", out.display()))?;
        eprintln!("cargo jug: copied to {}", out.display());
    }
    Ok(())
}

/// The linker rustc would use for wasm32-wasip2: the toolchain's own `wasm-component-ld`.
fn real_linker(rustc: &Path) -> Result<PathBuf, String> {
    let ask = |args: &[&str]| -> Result<String, String> {
        let output = Command::new(rustc)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", rustc.display()))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let sysroot = ask(&["--print", "sysroot"])?;
    let version = ask(&["-vV"])?;
    let host = version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .ok_or_else(|| format!("`{} -vV` did not name the host", rustc.display()))?;
    let linker = Path::new(sysroot.trim()).join("lib/rustlib").join(host).join("bin/wasm-component-ld");
    match linker.is_file() {
        true => Ok(linker),
        false => Err(format!(
            "the toolchain has no {}; install the target with `rustup target add wasm32-wasip2`",
            linker.display()
        )),
    }
}

/// The `.wasm` files among the artifacts cargo reported (one JSON message per line).
fn artifacts(stdout: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for line in stdout.split(|&b| b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let files = message["filenames"].as_array().into_iter().flatten().filter_map(|f| f.as_str());
        found.extend(files.filter(|f| f.ends_with(".wasm")).map(PathBuf::from));
    }
    found
}

/// As `RUSTC_WORKSPACE_WRAPPER`: runs rustc, with the graph crate's `-C metadata` fixed.
///
/// rustc orders a crate's code and data partly by symbol name, and symbol names carry a hash
/// of the crate's metadata, which cargo derives from the crate's version and from every
/// dependency's. So a new version of one dependency would move the code of every variant, and
/// give every task a new key. The graph crate is a cdylib that no other crate links against:
/// a metadata of its own name alone is unique in its link, and keeps the other variants as
/// they were.
pub fn wrap_rustc() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let rustc = args.remove(0);
    let text: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let cdylib = text.windows(2).any(|w| w[0] == "--crate-type" && w[1] == "cdylib");
    let name = text.windows(2).find(|w| w[0] == "--crate-name").map(|w| w[1].clone());
    if let (true, Some(name)) = (cdylib, name) {
        for i in 1..args.len() {
            if text[i - 1] == "-C" && text[i].starts_with("metadata=") {
                args[i] = format!("metadata=jug-graph-{name}").into();
            }
        }
    }
    match Command::new(&rustc).args(&args).status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("cargo jug: cannot run {}: {e}", Path::new(&rustc).display());
            ExitCode::FAILURE
        }
    }
}
