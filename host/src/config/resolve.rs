//! Which configured value applies to each option of the running subcommand: the closest file
//! wins, a subcommand's section beats `[main]`, and the command line (or the environment)
//! beats every file, also over a setting it conflicts with.

use std::collections::HashMap;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::files::{Entry, File};
use super::placeholders::{graph_stem, substitute};
use super::trust::{confirm_store, refuse_grant};
use super::{Error, boolean};

/// A configured value for one argument of the running subcommand.
#[derive(Clone)]
pub(super) struct Setting {
    pub(super) id: String,
    /// What clap will parse: the file's value with placeholders replaced, or `true`/`false`.
    pub(super) value: String,
    /// Whether it acts as if given: any value, or a flag that is on (`--short` given).
    pub(super) present: bool,
    /// `<file>: [section] key`, for messages.
    pub(super) origin: String,
}

/// The settings of `files` that apply to the `running` subcommand, where the command line
/// (`given`) leaves room; warns about unknown keys in subcommand sections.
pub(super) fn resolve(
    root: &Command,
    running: &str,
    given: &ArgMatches,
    files: &[File],
) -> Result<Vec<Setting>, Error> {
    let Some(sub) = root.find_subcommand(running) else { return Ok(Vec::new()) };
    let mut chosen: HashMap<&str, Candidate> = HashMap::new();
    for (rank, file) in files.iter().enumerate() {
        for entry in &file.entries {
            let specific = entry.section == running;
            let ours = entry.section == "main" || root.find_subcommand(&entry.section).is_some();
            if ours && !file.trusted {
                refuse_grant(root, file, entry)?;
            }
            if entry.section != "main" {
                // Other programs' sections (Jug's `[shell]`) are none of our business.
                let Some(section) = root.find_subcommand(&entry.section) else { continue };
                if option(section, &entry.key).is_none() {
                    let (path, name, key) = (file.path.display(), &entry.section, &entry.key);
                    eprintln!("jug-host: warning: {path}: [{name}] unknown option `{key}`");
                    continue;
                }
                if !specific {
                    continue;
                }
            }
            // A `[main]` key the running subcommand has no option for is ignored, as in Jug.
            let Some(arg) = option(sub, &entry.key) else { continue };
            let precedence = (rank, specific, entry.line);
            let id = arg.get_id().as_str();
            if chosen.get(id).is_none_or(|other| other.precedence < precedence) {
                chosen.insert(id, Candidate { precedence, file, entry });
            }
        }
    }

    let mut chosen: Vec<_> = chosen.into_iter().collect();
    chosen.sort_by_key(|(_, candidate)| std::cmp::Reverse(candidate.precedence));
    let stem = graph_stem(given);
    let mut settings: Vec<Setting> = Vec::new();
    for (id, Candidate { file, entry, .. }) in chosen {
        let Some(arg) = sub.get_arguments().find(|arg| arg.get_id() == id) else { continue };
        // The command line wins, also over a setting it conflicts with (`status --json`
        // against `short = on`); so does a closer setting.
        let conflicts = conflicting(sub, arg);
        if explicit(given, id) || conflicts.iter().any(|other| explicit(given, other)) {
            continue;
        }
        let origin = format!("{}: [{}] {}", file.path.display(), entry.section, entry.key);
        let value = substitute(&entry.value, stem.as_deref())
            .map_err(|why| Error::Config(format!("{origin}: {why}")))?;
        if id == STORE_ID && !file.trusted {
            confirm_store(&value, &origin, files, stem.as_deref())?;
        }
        let (value, present) = match (arg.get_action(), boolean(&value)) {
            (ArgAction::SetTrue, Some(on)) => (on.to_string(), on),
            (ArgAction::SetFalse, Some(on)) => ((!on).to_string(), on),
            (ArgAction::SetTrue | ArgAction::SetFalse, None) => {
                let why = format!("expected on/off, yes/no, true/false or 1/0, got `{value}`");
                return Err(Error::Config(format!("{origin}: {why}")));
            }
            _ => (value, true),
        };
        if present && settings.iter().any(|s| s.present && conflicts.contains(&s.id.as_str())) {
            continue;
        }
        settings.push(Setting { id: id.to_owned(), value, present, origin });
    }
    Ok(settings)
}

/// The id of `--store` (Jug's `jugdir`) in every subcommand.
const STORE_ID: &str = "store";

/// The entry that sets an argument so far, and its precedence: file, then section (over
/// `[main]`), then line.
struct Candidate<'f> {
    precedence: (usize, bool, usize),
    file: &'f File,
    entry: &'f Entry,
}

/// The argument of `command` that `--key` names, if a file may set it.
pub(super) fn option<'c>(command: &'c Command, key: &str) -> Option<&'c Arg> {
    let long = key.replace('_', "-");
    command.get_arguments().find(|arg| {
        let settable = matches!(
            arg.get_action(),
            ArgAction::Set | ArgAction::Append | ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
        );
        let named =
            arg.get_long() == Some(&long) || arg.get_all_aliases().is_some_and(|a| a.contains(&&*long));
        settable && named
    })
}

/// Whether the user gave `id` on the command line or through its environment variable.
fn explicit(matches: &ArgMatches, id: &str) -> bool {
    matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
}

/// The ids of the arguments `arg` cannot be used with: either side's `conflicts_with`, and the
/// other members of a group that allows one.
fn conflicting<'c>(command: &'c Command, arg: &Arg) -> Vec<&'c str> {
    let id = arg.get_id();
    let mut ids: Vec<&str> = Vec::new();
    for other in command.get_arguments().filter(|other| other.get_id() != id) {
        let with_other = command.get_arg_conflicts_with(arg).iter().any(|a| a.get_id() == other.get_id());
        let with_arg = command.get_arg_conflicts_with(other).iter().any(|a| a.get_id() == id);
        let grouped = command.get_groups().any(|group| {
            let members: Vec<_> = group.get_args().collect();
            !group.clone().is_multiple() && members.contains(&id) && members.contains(&other.get_id())
        });
        if with_other || with_arg || grouped {
            ids.push(other.get_id().as_str());
        }
    }
    ids
}
