//! `jug-host`: the command-line front of jug-core and jug-runtime.
//!
//! Each subcommand is one file in `commands/`; they all start the same way (load the
//! component, build the graph, open the store) and differ in what they do with it. Errors
//! travel as [`errors::Error`], one variant per kind, and `ExitCode::of` turns them into the
//! documented exit codes (both in this package's library, which the integration tests use).
//! What they print is laid out here, not in the libraries: `table` (Jug's summary tables) and
//! `json` (stored values for `value`).

mod cli;
mod commands;
mod config;
mod json;
mod progress;
mod table;

use jug_host::exit_code::ExitCode;
use jug_host::{errors, exit_code};

use std::io::Write as _;

fn main() {
    // The command line over the configuration files (jugrc); see `config`.
    let cli = match config::parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(config::Error::Clap(e)) if e.use_stderr() => {
            eprintln!("jug-host: {}", usage_line(&e));
            std::process::exit(ExitCode::Usage.code());
        }
        // --help, --version
        Err(config::Error::Clap(e)) => {
            let _ = e.print();
            std::process::exit(ExitCode::Ok.code());
        }
        Err(config::Error::Config(line)) => {
            eprintln!("jug-host: {}", jug_core::store::mask_credentials_in(&line));
            std::process::exit(ExitCode::Usage.code());
        }
    };
    init_logs(&cli.jug);
    let code = match commands::run(cli.command) {
        Ok(code) => code,
        Err(errors::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::Ok,
        Err(e) => {
            eprintln!("jug-host: {}", one_line(&e));
            ExitCode::of(&e)
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code.code());
}

/// Logs go to stderr, filtered by RUST_LOG if set, else by `--debug` (jug-host's own crates at
/// debug) or Jug's `--verbose LEVEL`, else warnings only; in colour only on a terminal and
/// without NO_COLOR (https://no-color.org: set to anything but the empty string).
fn init_logs(habits: &cli::JugHabits) {
    let filter = match (std::env::var("RUST_LOG"), habits.debug, habits.verbose) {
        (Ok(filter), _, _) if !filter.is_empty() => filter,
        (_, true, _) => "warn,jug_core=debug,jug_runtime=debug,jug_host=debug".to_owned(),
        (_, false, Some(level)) => level.to_owned(),
        _ => "warn".to_owned(),
    };
    if habits.debug {
        // Read by wasmtime when the engine is configured (before any component is loaded):
        // backtraces of traps then name source files and lines from the component's DWARF.
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("WASMTIME_BACKTRACE_DETAILS", "1") };
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(!no_color && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}

/// The error and its causes on a single line (see `jug_core::error_line`). A library's message
/// may quote a URL it was given, so passwords in URLs are masked here, whatever the error came
/// from.
fn one_line(error: &errors::Error) -> String {
    let line = jug_core::error_line(error);
    // Errors quote guest text (a builder's message), which must not reach the terminal raw.
    jug_core::text::one_line(&jug_core::store::mask_credentials_in(&line.replace('\n', " "))).into_owned()
}

/// A usage error on one line, like every other error: clap's message without its `error: `
/// prefix, with its lines joined and the usage block and tips left out.
fn usage_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let message = text.split("\n\n").next().unwrap_or_default();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    let words: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("{} (try --help)", words.join(" "))
}
