//! `jug-host completions SHELL` and `jug-host man`: shell completions and the manual page,
//! both generated from the clap definitions in `cli`, so they never drift from `--help`.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;

pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    clap_complete::generate(args.shell, &mut Cli::command(), "jug-host", &mut std::io::stdout());
    Ok(ExitCode::Ok)
}

pub fn man() -> Result<ExitCode> {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = std::io::stdout().lock();
    page.render(&mut out).map_err(Error::Output)?;
    Ok(ExitCode::Ok)
}
