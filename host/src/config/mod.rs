//! Jug 2.7.0's configuration files, for every subcommand.
//!
//! Files, in rising precedence (a later one wins, key by key):
//! - the global file: the first that exists of `$XDG_CONFIG_HOME/jug/jugrc` (default
//!   `~/.config/jug/jugrc`), `~/.config/jugrc`, `~/.jug/configrc`;
//! - local files: `jugrc`, then `.jugrc` (so `.jugrc` wins, as in Jug, which lists it first
//!   and lets the first listed win), in each directory from the git root (the closest
//!   ancestor holding a `.git` directory or file) down to the current directory; with no git
//!   root, the current directory only.
//!
//! The command line and the environment variables clap reads (`JUG_STORE`, `JUG_LEASE`…) beat
//! every file. `JUG_NO_CONFIG` set to anything but empty, `0`, `false`, `off`, `no` or `n`
//! skips the files altogether (for tests and scripts that must not depend on the machine).
//!
//! Keys: `[main] k` sets `--k` of whichever subcommand runs, if it has one (otherwise it is
//! ignored, as Jug does); `[s] k` sets `--k` of subcommand `s` only, beats `[main] k` of the
//! same file, and draws a warning if `s` has no `--k`. Sections that are not subcommands of
//! ours (Jug's `[shell]`, say) are ignored, so one file can serve Jug and jug-host. `_` and `-`
//! are the same in keys; long aliases count (Jug's `jugdir` is our `--store`). A flag takes
//! Jug's booleans. `%(jugfile)s` (the graph file's stem), `%(date)s` (today, UTC, so workers in
//! different time zones agree) and `%%` are replaced in values.
//!
//! How: the command line is parsed once as it is, which finds the subcommand, the graph file
//! and what the user gave; then each configured value becomes the *default value* of its
//! clap argument and the command line is parsed again. Clap then applies the precedence by
//! itself (command line > environment > default), and the user's words are never rewritten, so
//! `--`, positionals, `--opt=value`, `-j4` and aliases need no special handling. A value is
//! checked by that same parse, with the argument's own value parser, so every option added
//! later works with no change here. The price: a configured value does not count as given
//! for clap's `required` checks, so a file cannot supply a required option (none is today).
//!
//! The module, one concept a file: this one parses twice; `files` finds and reads the files
//! (our INI reader); `resolve` picks, for each option, the value that applies; `trust` is what
//! a repository's files may not do; `placeholders` fills in `%(jugfile)s` and `%(date)s`.

mod files;
mod placeholders;
mod resolve;
mod trust;

use std::ffi::OsString;

use clap::{ArgMatches, Command, CommandFactory as _, FromArgMatches as _};

use crate::cli::Cli;
use files::{File, discover, read};
use resolve::{Setting, resolve};

/// Set (to `1`) to read no configuration file.
pub const DISABLE_VAR: &str = "JUG_NO_CONFIG";

/// Why the command line could not be turned into a [`Cli`].
#[derive(Debug)]
pub enum Error {
    /// Clap's own: a usage error, or `--help`/`--version`, printed by clap.
    Clap(clap::Error),
    /// A configuration file is unreadable, malformed or sets a bad value: one line, which
    /// names the file (and the line, or the section and key).
    Config(String),
}

impl From<clap::Error> for Error {
    fn from(error: clap::Error) -> Error {
        Error::Clap(error)
    }
}

/// Parses the command line (`args` starts with the program name), with the settings of the
/// configuration files underneath. Warnings about unknown keys go to stderr.
pub fn parse(args: Vec<OsString>) -> Result<Cli, Error> {
    let mut command = Cli::command();
    let mut matches = command.try_get_matches_from_mut(args.iter().cloned())?;
    let Some((running, given)) = matches.subcommand() else {
        return finish(&mut command, &mut matches);
    };
    if disabled() {
        return finish(&mut command, &mut matches);
    }
    let (global, local) = discover();
    let mut files: Vec<File> = global.iter().map(|path| read(path, true)).collect::<Result<_, _>>()?;
    for path in &local {
        files.push(read(path, false)?);
    }
    let settings = resolve(&command, running, given, &files)?;
    if settings.is_empty() {
        return finish(&mut command, &mut matches);
    }
    let mut configured = with_defaults(running, &settings);
    match configured.try_get_matches_from_mut(args.iter().cloned()) {
        Ok(mut matches) => finish(&mut configured, &mut matches),
        Err(error) => {
            // The command line alone parsed, so a configured value is bad: find which, to
            // name its file and key.
            for setting in &settings {
                let alone = with_defaults(running, std::slice::from_ref(setting));
                if let Err(error) = alone.try_get_matches_from(args.iter().cloned()) {
                    return Err(Error::Config(format!("{}: {}", setting.origin, first_line(&error))));
                }
            }
            Err(Error::Clap(error))
        }
    }
}

fn finish(command: &mut Command, matches: &mut ArgMatches) -> Result<Cli, Error> {
    Cli::from_arg_matches_mut(matches).map_err(|e| Error::Clap(e.format(command)))
}

/// Whether `JUG_NO_CONFIG` turns the files off.
fn disabled() -> bool {
    std::env::var(DISABLE_VAR).is_ok_and(|value| boolean(&value) != Some(false))
}

/// Jug's booleans, for flags set in a file.
fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "off" | "no" | "n" => Some(false),
        "1" | "true" | "on" | "yes" | "y" => Some(true),
        _ => None,
    }
}

/// The command line's parser, with `settings` as the defaults of the `running` subcommand.
fn with_defaults(running: &str, settings: &[Setting]) -> Command {
    Cli::command().mut_subcommand(running, |mut sub| {
        for setting in settings {
            // Without clap's `string` feature a default must be `'static`; a handful of short
            // strings, once per process.
            let value: &'static str = Box::leak(setting.value.clone().into_boxed_str());
            sub = sub.mut_arg(&setting.id, |arg| arg.default_value(value));
        }
        sub
    })
}

/// Clap's message without its `error: ` prefix and its hints.
fn first_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jugs_booleans() {
        for on in ["1", "true", "On", "YES", "y"] {
            assert_eq!(boolean(on), Some(true), "{on}");
        }
        for off in ["", "0", "False", "off", "no", "N"] {
            assert_eq!(boolean(off), Some(false), "{off}");
        }
        assert_eq!(boolean("maybe"), None);
    }
}
