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
//! ## What a repository's files may not do
//!
//! A repository's files (every file but the global one) come with the graph, and a graph may
//! be hostile (a cloned repository, a fork's CI job), so they are trusted no more than it:
//! - they cannot grant anything: `dir` (and `allow-write`, any option in [`GRANTS`]) in them
//!   is a one-line error, exit 2, wherever it is and whatever the command line says;
//! - they cannot loosen the limits that keep the host up while it runs the graph's builder and
//!   splices its inputs ([`HOST_LIMITS`]: `max-input`, `build-timeout`, `build-max-memory`,
//!   `max-graph-tasks`, `max-graph-bytes`), which is the same one-line error. Per-task limits
//!   (`timeout`, `fuel`, `max-memory`…) stay settable: they bound one sandbox, not the host;
//! - the store they name is used only if it is inside the working directory (a path that
//!   stays there once `..` and symbolic links are followed, or `memory://`). Any other store
//!   (`s3://team/…`, `redis://elsewhere/`, `../x`) would send the results — and whatever a
//!   graph puts in them — out of the working directory, or read results someone else
//!   planted, so the user confirms it first: `JUG_TRUST_STORE=URL` in the environment
//!   (several separated by spaces), or `store = URL` under `[trust]` in the global file. A
//!   confirmed URL also covers the stores below it (`s3://team` covers `s3://team/exp1`).
//!   Without it, the command stops with a one-line error naming the file, the key, and both
//!   ways to confirm. `--store`/`JUG_STORE` need no confirmation: the user typed them.
//!
//! The global file is the user's own, so it may do all of that.
//!
//! The INI reader is ours (fifty lines): Python's `configparser` dialect as Jug uses it
//! (`RawConfigParser`: no interpolation, no inline comments, lower-cased keys), minus
//! multi-line values, which no option needs and which are reported rather than misread. A
//! crate would bring its own dialect (quotes, escapes, inline comments) that Jug does not
//! have.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory as _, FromArgMatches as _};

use crate::cli::Cli;

/// Set (to `1`) to read no configuration file.
pub const DISABLE_VAR: &str = "JUG_NO_CONFIG";

/// Stores a repository's configuration may name although they are outside the working
/// directory: URLs (or paths) separated by white space.
pub const TRUST_STORE_VAR: &str = "JUG_TRUST_STORE";

/// Options that widen what tasks may touch: only the user grants them, so a repository's
/// file may not set them (see the module docs).
const GRANTS: &[&str] = &["dir", "allow-write"];

/// Limits that keep the host itself (its memory, its time) safe from the graph: a graph's
/// own repository may not loosen them, so it may not set them at all (see the module docs).
const HOST_LIMITS: &[&str] =
    &["max-input", "build-timeout", "build-max-memory", "max-graph-tasks", "max-graph-bytes"];

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

/// The configuration files that exist, in rising precedence: the global file, then the
/// repository's files.
fn discover() -> (Option<PathBuf>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        let dirs: Vec<&Path> = match cwd.ancestors().position(|dir| dir.join(".git").exists()) {
            Some(root) => cwd.ancestors().take(root + 1).collect(),
            None => vec![&cwd],
        };
        for dir in dirs.iter().rev() {
            files.extend(["jugrc", ".jugrc"].map(|name| dir.join(name)).into_iter().filter(|f| f.is_file()));
        }
    }
    (global_file(), files)
}

fn global_file() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = var("HOME");
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    let xdg =
        var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()).or_else(|| Some(home.as_ref()?.join(".config")));
    let candidates = [
        xdg.map(|dir| dir.join("jug").join("jugrc")),
        home.as_ref().map(|home| home.join(".config").join("jugrc")),
        home.map(|home| home.join(".jug").join("configrc")),
    ];
    candidates.into_iter().flatten().find(|path| path.is_file())
}

/// One `key = value` line of a file.
#[derive(Debug, PartialEq)]
struct Entry {
    line: usize,
    section: String,
    /// Lower-cased, as `configparser` does.
    key: String,
    value: String,
}

struct File {
    path: PathBuf,
    entries: Vec<Entry>,
    /// The user's global file, rather than one of the repository's.
    trusted: bool,
}

fn read(path: &Path, trusted: bool) -> Result<File, Error> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{shown}: {e}")))?;
    let entries = parse_ini(&text).map_err(|(line, why)| Error::Config(format!("{shown}:{line}: {why}")))?;
    Ok(File { path: path.to_owned(), entries, trusted })
}

/// Sections, `key = value` or `key: value` lines, `#` and `;` comment lines, blank lines. An
/// error is a line number and what is wrong with it.
fn parse_ini(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries = Vec::new();
    let mut section: Option<&str> = None;
    // configparser reads a line indented deeper than the key before it as more of its value.
    let mut key_indent: Option<usize> = None;
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = index + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with(['#', ';']) {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if key_indent.is_some_and(|key| indent > key) {
            return Err((line, "values cannot continue on another line".into()));
        }
        if let Some(header) = text.strip_prefix('[') {
            let name = header.strip_suffix(']').map(str::trim).filter(|name| !name.is_empty());
            section =
                Some(name.ok_or_else(|| (line, format!("expected a section like [execute], got `{text}`")))?);
            key_indent = None;
            continue;
        }
        let Some((key, value)) = text.split_once(['=', ':']) else {
            return Err((line, format!("expected `key = value`, got `{text}`")));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err((line, format!("expected `key = value`, got `{text}`")));
        }
        let Some(section) = section else {
            return Err((line, format!("`{key}` comes before any [section]")));
        };
        key_indent = Some(indent);
        let (section, key, value) = (section.to_owned(), key.to_lowercase(), value.trim().to_owned());
        entries.push(Entry { line, section, key, value });
    }
    Ok(entries)
}

/// A configured value for one argument of the running subcommand.
#[derive(Clone)]
struct Setting {
    id: String,
    /// What clap will parse: the file's value with placeholders replaced, or `true`/`false`.
    value: String,
    /// Whether it acts as if given: any value, or a flag that is on (`--short` given).
    present: bool,
    /// `<file>: [section] key`, for messages.
    origin: String,
}

/// The settings of `files` that apply to the `running` subcommand, where the command line
/// (`given`) leaves room; warns about unknown keys in subcommand sections.
fn resolve(root: &Command, running: &str, given: &ArgMatches, files: &[File]) -> Result<Vec<Setting>, Error> {
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

/// Refuses an entry of a repository's file that sets an option of [`GRANTS`] or
/// [`HOST_LIMITS`], by its name or an alias of it, in `[main]` or a subcommand's section.
fn refuse_grant(root: &Command, file: &File, entry: &Entry) -> Result<(), Error> {
    let long = entry.key.replace('_', "-");
    let reserved = |list: &[&str]| {
        let names = |arg: &Arg| arg.get_long().is_some_and(|long| list.contains(&long));
        list.contains(&long.as_str())
            || root.get_subcommands().any(|sub| option(sub, &entry.key).is_some_and(names))
    };
    let what = if reserved(GRANTS) {
        "grant tasks access to the host"
    } else if reserved(HOST_LIMITS) {
        "loosen the limits that keep the host safe from its graph"
    } else {
        return Ok(());
    };
    let (path, section, key) = (file.path.display(), &entry.section, &entry.key);
    Err(Error::Config(format!(
        "{path}: [{section}] {key}: a repository's configuration cannot {what}; give --{long} on the command \
         line (or set it in your own {})",
        global_file_shown()
    )))
}

/// Lets a store that a repository's file names through if it is inside the working
/// directory or the user confirmed it (see the module docs); `origin` names the file and key.
fn confirm_store(value: &str, origin: &str, files: &[File], stem: Option<&str>) -> Result<(), Error> {
    if inside_working_directory(value) {
        return Ok(());
    }
    let from_env = std::env::var(TRUST_STORE_VAR).unwrap_or_default();
    let mut trusted: Vec<String> = from_env.split_whitespace().map(str::to_owned).collect();
    for file in files.iter().filter(|file| file.trusted) {
        for entry in file.entries.iter().filter(|e| e.section == "trust" && e.key == "store") {
            // A bad placeholder in the user's own [trust] line trusts nothing.
            trusted.extend(substitute(&entry.value, stem).ok());
        }
    }
    if trusted.iter().any(|trusted| covers(trusted, value)) {
        return Ok(());
    }
    let shown = jug_core::store::mask_credentials(value);
    Err(Error::Config(format!(
        "{origin}: this repository's configuration sends results to {shown}, outside the working directory; \
         if you trust it, confirm it with {TRUST_STORE_VAR}={shown} or a line `store = {shown}` under [trust] \
         in {}, or give --store",
        global_file_shown()
    )))
}

/// Whether a trusted URL or path confirms `store`: the same, or a store below it.
fn covers(trusted: &str, store: &str) -> bool {
    let base = trusted.trim_end_matches('/');
    !base.is_empty()
        && (store == trusted || store.trim_end_matches('/') == base || {
            store.strip_prefix(base).is_some_and(|rest| rest.starts_with(['/', '?']))
        })
}

/// Whether a store location stays in the working directory: `memory://`, or a path (or
/// `file://` URL) that is still below the working directory once symbolic links and `..`
/// are followed. Anything else, and anything that cannot be told, is outside.
fn inside_working_directory(value: &str) -> bool {
    let path = match value.split_once("://") {
        None => Path::new(value),
        Some(("memory", "")) => return true,
        Some(("file", path)) => Path::new(path),
        Some(_) => return false,
    };
    let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) else { return false };
    let full = cwd.join(path);
    // Resolve the part that exists (links included); what does not exist yet cannot be a
    // link, but may not climb out with `..` either.
    let mut existing = full.as_path();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(existing).is_err() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else { return false };
        rest.push(name);
        existing = parent;
    }
    let Ok(resolved) = std::fs::canonicalize(existing) else { return false };
    let climbs = rest.iter().any(|part| *part == "..");
    !climbs && resolved.starts_with(&cwd)
}

/// The global file as messages name it: where it is, or where it would be.
fn global_file_shown() -> String {
    global_file().map_or_else(|| "~/.config/jug/jugrc".to_owned(), |path| path.display().to_string())
}

/// The entry that sets an argument so far, and its precedence: file, then section (over
/// `[main]`), then line.
struct Candidate<'f> {
    precedence: (usize, bool, usize),
    file: &'f File,
    entry: &'f Entry,
}

/// The argument of `command` that `--key` names, if a file may set it.
fn option<'c>(command: &'c Command, key: &str) -> Option<&'c Arg> {
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

/// The graph file's stem, for `%(jugfile)s`.
fn graph_stem(given: &ArgMatches) -> Option<String> {
    let mut values = given.try_get_raw("graph").ok()??;
    let stem = Path::new(values.next()?).file_stem()?;
    Some(stem.to_string_lossy().into_owned())
}

/// Jug's placeholders, as Python's `%` formatting reads them; a `%` before anything else is
/// left as it is (URLs have them).
fn substitute(value: &str, stem: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(jugfile)s") {
            out.push_str(stem.ok_or("%(jugfile)s needs a graph file, and this command has none")?);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(date)s") {
            out.push_str(&today());
            rest = after;
        } else if rest.starts_with("%(") {
            let name = rest.split_once(')').map_or(rest, |(name, _)| name);
            return Err(format!("unknown placeholder `{name})s`: only %(jugfile)s and %(date)s are known"));
        } else {
            out.push('%');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Today as YYYY-MM-DD, in UTC.
fn today() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    civil_date(now.map_or(0, |d| d.as_secs() / 86_400) as i64)
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
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
    fn reads_configparser_files() {
        // Keys may be indented under their section, as long as no key is deeper than the last.
        let text = "\u{feff}# comment\n; comment\n\n[main]\njugdir = %(jugfile)s.rcdata\n[execute]\n  \
                    Wait_Cycle_Time: 3\n  short =\n";
        let entries = parse_ini(text).unwrap();
        let pairs: Vec<_> = entries.iter().map(|e| (e.line, &*e.section, &*e.key, &*e.value)).collect();
        assert_eq!(
            pairs,
            [
                (5, "main", "jugdir", "%(jugfile)s.rcdata"),
                (7, "execute", "wait_cycle_time", "3"),
                (8, "execute", "short", ""),
            ]
        );
        assert_eq!(parse_ini("[main]\nstore = redis://h:6379/ # x").unwrap()[0].value, "redis://h:6379/ # x");
    }

    #[test]
    fn reports_malformed_lines() {
        assert_eq!(parse_ini("short = on\n").unwrap_err().0, 1);
        assert_eq!(parse_ini("[main]\n\nshort\n").unwrap_err().0, 3);
        assert_eq!(parse_ini("[main\n").unwrap_err().0, 1);
        assert_eq!(parse_ini("[main]\n= on\n").unwrap_err().0, 2);
        assert_eq!(parse_ini("[main]\nstore = a\n    b\n").unwrap_err().0, 3);
    }

    #[test]
    fn replaces_placeholders() {
        assert_eq!(substitute("%(jugfile)s.rcdata", Some("primes")).unwrap(), "primes.rcdata");
        assert_eq!(substitute("s3://b/a%20b/100%%", Some("p")).unwrap(), "s3://b/a%20b/100%");
        assert_eq!(substitute("%(date)s", None).unwrap().len(), 10);
        assert!(substitute("%(user)s", None).unwrap_err().contains("%(user)s"));
        assert!(substitute("%(jugfile)s", None).is_err());
    }

    #[test]
    fn a_trusted_store_covers_the_stores_below_it() {
        assert!(covers("s3://team", "s3://team"));
        assert!(covers("s3://team/", "s3://team/exp1/run2"));
        assert!(covers("redis://h:1", "redis://h:1/2?prefix=p"));
        assert!(covers("redis://h:1/", "redis://h:1"));
        assert!(!covers("s3://team", "s3://teammate/x"));
        assert!(!covers("redis://h:1", "redis://h:10/"));
        assert!(!covers("", "anything"));
    }

    #[test]
    fn counts_days_like_a_calendar() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(-1), "1969-12-31");
    }

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
