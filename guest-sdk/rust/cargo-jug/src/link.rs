//! Linker mode: rustc calls this program to link the graph's crate. It links the component as
//! asked, then one variant per task function, and appends the variants to the component.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Set (by `cargo jug build`) when this program is run as rustc's linker.
pub const LINKER_MODE: &str = "CARGO_JUG_LINKER";
/// The linker to call: the toolchain's `wasm-component-ld`.
pub const REAL_LINKER: &str = "CARGO_JUG_REAL_LINKER";
/// The compiler for the stubs each variant is linked with.
pub const RUSTC: &str = "CARGO_JUG_RUSTC";
/// How many variants to link at once.
pub const JOBS: &str = "CARGO_JUG_JOBS";

/// The symbol prefix of a task function's entry point (`#[jug::task]` defines it).
const TASK_SYMBOL: &str = "__jug_task.";
/// The custom section a variant is stored in: this prefix, then the function's name.
const VARIANT_SECTION: &str = "jug-variant:";

pub fn main() -> ExitCode {
    match link() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // rustc shows the linker's output when it fails.
            eprintln!("cargo jug: {message}");
            ExitCode::FAILURE
        }
    }
}

fn link() -> Result<(), String> {
    let args = expand_response_files(std::env::args().skip(1).collect())?;
    let linker = std::env::var_os(REAL_LINKER).ok_or("run me through `cargo jug build`")?;
    run(Command::new(&linker).args(&args), "linking the component")?;
    let out = args
        .iter()
        .position(|a| a == "-o")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .ok_or("the linker was not given `-o`")?;
    let tasks = task_functions(&args);
    if tasks.is_empty() {
        return Ok(());
    }
    let scratch = out.with_extension("jug-variants");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let common = variant_args(&args);
    let variants = link_all(&tasks, |task| link_variant(task, &common, &linker, &scratch))?;
    let mut component = std::fs::read(&out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
    for (task, variant) in tasks.iter().zip(variants) {
        crate::wasm::push_custom(&mut component, &format!("{VARIANT_SECTION}{task}"), &variant);
    }
    std::fs::write(&out, component).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The task functions, from the entry points rustc asks the linker to export, sorted.
fn task_functions(args: &[String]) -> Vec<String> {
    let mut tasks: Vec<String> =
        exports(args).filter_map(|e| e.strip_prefix(TASK_SYMBOL)).map(String::from).collect();
    tasks.sort();
    tasks.dedup();
    tasks
}

/// The symbols named by `--export NAME` and `--export=NAME`.
fn exports(args: &[String]) -> impl Iterator<Item = &str> {
    args.iter().enumerate().filter_map(|(i, arg)| match arg.strip_prefix("--export=") {
        Some(name) => Some(name),
        None if arg == "--export" => args.get(i + 1).map(String::as_str),
        None => None,
    })
}

/// The component's link line minus what keeps every task alive: the SDK's symbols are not
/// exported (they would be roots for `--gc-sections`), and `-o` is set per variant.
fn variant_args(args: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut args = args.iter().peekable();
    while let Some(arg) = args.next() {
        let sdk_export = arg == "--export" && args.peek().is_some_and(|name| name.starts_with("__jug"));
        if sdk_export || arg == "-o" {
            args.next(); // and its value
        } else if !arg.starts_with("--export=__jug") {
            kept.push(arg.clone());
        }
    }
    kept
}

/// Runs `work` on every task, `CARGO_JUG_JOBS` (default: every CPU) at a time, in order.
fn link_all(
    tasks: &[String],
    work: impl Fn(&str) -> Result<Vec<u8>, String> + Sync,
) -> Result<Vec<Vec<u8>>, String> {
    let jobs = std::env::var(JOBS)
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Vec<u8>, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(tasks.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(task) = tasks.get(i) else { break mine };
                        mine.push((i, work(task)));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    if done.len() != tasks.len() {
        return Err("a thread linking variants stopped before its work was done".into());
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, variant)| variant).collect()
}

/// Links the variant of `task`: the component's objects plus a stub object that points the
/// dispatcher at `task`'s entry point and the builder at nothing.
fn link_variant(
    task: &str,
    common: &[String],
    linker: &std::ffi::OsStr,
    scratch: &Path,
) -> Result<Vec<u8>, String> {
    let file = |ext: &str| scratch.join(format!("{task}.{ext}"));
    std::fs::write(file("rs"), stub_source(task))
        .map_err(|e| format!("cannot write {}: {e}", file("rs").display()))?;
    let rustc = std::env::var_os(RUSTC).unwrap_or_else(|| "rustc".into());
    run(
        Command::new(rustc)
            .args([
                "--edition",
                "2024",
                "--crate-type",
                "lib",
                "--crate-name",
                "jug_variant",
                "--emit",
                "obj",
            ])
            .args([
                "--target",
                "wasm32-wasip2",
                "-C",
                "opt-level=3",
                "-C",
                "panic=abort",
                "-C",
                "debuginfo=0",
            ])
            .arg(file("rs"))
            .arg("-o")
            .arg(file("o")),
        &format!("compiling the stub of `{task}`"),
    )?;
    run(
        Command::new(linker)
            .args(common)
            .args(["--wrap=__jug_dispatch", "--wrap=__jug_build"])
            .arg(file("o"))
            .arg("-o")
            .arg(file("wasm")),
        &format!("linking the variant of `{task}`"),
    )?;
    std::fs::read(file("wasm")).map_err(|e| format!("cannot read {}: {e}", file("wasm").display()))
}

/// The stub: `--wrap` sends the component's calls of `__jug_dispatch` and `__jug_build` here.
fn stub_source(task: &str) -> String {
    format!(
        r#"#![no_std]
unsafe extern "C" {{
    #[link_name = "{TASK_SYMBOL}{task}"]
    fn task(call: *const u8, out: *mut u8);
}}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap___jug_dispatch(call: *const u8, out: *mut u8) {{
    unsafe {{ task(call, out) }}
}}
/// A variant has no graph builder: the SDK's `build` says so.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap___jug_build(_: *const u8, _: *mut u8) -> u32 {{
    1
}}
"#
    )
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output =
        command.output().map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// rustc passes `@FILE` (one argument per line) when the command line is too long.
fn expand_response_files(args: Vec<String>) -> Result<Vec<String>, String> {
    let mut expanded = Vec::new();
    for arg in args {
        match arg.strip_prefix('@') {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
                expanded.extend(text.lines().map(unquote));
            }
            None => expanded.push(arg),
        }
    }
    Ok(expanded)
}

/// rustc quotes response-file arguments GNU-style when they need it.
fn unquote(line: &str) -> String {
    match line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => line.to_owned(),
    }
}

/// The functions a built component has variants for, from its top-level custom sections.
pub fn variant_names(bytes: &[u8]) -> Vec<String> {
    let customs =
        crate::wasm::sections(bytes).filter(|(id, _)| *id == 0).filter_map(|(_, c)| crate::wasm::custom(c));
    customs.filter_map(|(name, _)| name.strip_prefix(VARIANT_SECTION)).map(String::from).collect()
}
