//! `cargo jug build`: builds a Rust Jug graph as a component that carries, beside itself, one
//! *variant* per task function: the same program linked so that it can run only that function.
//! `jug-host` hashes and runs each task in its function's variant, so a task's key covers the
//! code that function can reach (its body, the helpers, generics and library code it calls, the
//! data they read) and nothing else: editing one function re-runs its tasks only.
//!
//! How: the crate is compiled once (`cargo rustc`, so every dependency is shared with plain
//! `cargo build`) with this program as its linker. Called as the linker, it links the component
//! as asked, then links it again once per task function, in parallel, from the same object
//! files with `wasm-ld --wrap` pointing the component's dispatcher at that function and its
//! builder at a stub; `--gc-sections` drops everything else (see the SDK's `__private`
//! module). The variants go into the component as custom sections `jug-variant:<function>`.
//!
//! Two settings keep a variant the same when other code changes: one codegen unit for the
//! graph crate (how rustc splits a crate into several depends on all of its functions), and a
//! fixed `-C metadata` for it (see [`cargo::wrap_rustc`]).
//!
//! Plain `cargo build` still works: its component has no variants, and every task is keyed
//! by the whole component's code, as before.

mod cargo;
mod link;
mod wasm;

use std::process::ExitCode;

/// Exit codes: 0 built, 1 the build failed (cargo or the linker said why), 2 a usage error.
fn main() -> ExitCode {
    if std::env::var_os(link::LINKER_MODE).is_some() {
        // cargo runs the wrapper (`RUSTC_WORKSPACE_WRAPPER`) with rustc's path first; rustc
        // runs the linker with linker flags.
        let first = std::env::args_os().nth(1).map(|a| a.to_string_lossy().into_owned());
        if first.is_some_and(|first| !first.starts_with('-') && !first.starts_with('@')) {
            return cargo::wrap_rustc();
        }
        return link::main();
    }
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // As a cargo subcommand, the first argument is the subcommand's name.
    if args.first().map(String::as_str) == Some("jug") {
        args.remove(0);
    }
    match args.first().map(String::as_str) {
        Some("build") => cargo::main(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{}", cargo::USAGE);
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("cargo-jug {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command `{other}`; the command is `cargo jug build`")),
        None => usage_error("no command given; the command is `cargo jug build`"),
    }
}

/// A usage mistake: one line, exit 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("cargo jug: {message} (see `cargo jug --help`)");
    ExitCode::from(2)
}
