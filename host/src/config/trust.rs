//! What a repository's configuration files may not do.
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

use std::path::Path;

use clap::{Arg, Command};

use super::Error;
use super::files::{Entry, File, global_file_shown};
use super::placeholders::substitute;
use super::resolve::option;

/// Stores a repository's configuration may name although they are outside the working
/// directory: URLs (or paths) separated by white space.
pub const TRUST_STORE_VAR: &str = "JUG_TRUST_STORE";

/// Options that widen what tasks may touch: only the user grants them, so a repository's
/// file may not set them (see the module docs).
const GRANTS: &[&str] = &["dir", "allow-write", "workdir"];

/// Limits that keep the host itself (its memory, its time) safe from the graph: a graph's
/// own repository may not loosen them, so it may not set them at all (see the module docs).
const HOST_LIMITS: &[&str] =
    &["max-input", "build-timeout", "build-max-memory", "max-graph-tasks", "max-graph-bytes"];

/// Refuses an entry of a repository's file that sets an option of [`GRANTS`] or
/// [`HOST_LIMITS`], by its name or an alias of it, in `[main]` or a subcommand's section.
pub(super) fn refuse_grant(root: &Command, file: &File, entry: &Entry) -> Result<(), Error> {
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
pub(super) fn confirm_store(
    value: &str,
    origin: &str,
    files: &[File],
    stem: Option<&str>,
) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
