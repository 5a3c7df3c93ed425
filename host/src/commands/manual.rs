//! `jug-host completions SHELL` and `jug-host man`: shell completions and the manual page,
//! both generated from the clap definitions in `cli`, so they never drift from `--help`.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit_code;

pub fn completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    clap_complete::generate(args.shell, &mut Cli::command(), "jug-host", &mut std::io::stdout());
    Ok(exit_code::OK)
}

pub fn man() -> anyhow::Result<i32> {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = std::io::stdout().lock();
    page.render(&mut out)?;
    Ok(exit_code::OK)
}
