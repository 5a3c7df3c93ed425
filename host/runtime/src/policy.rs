//! What a graph may grant its tasks: only what the user allowed on the command line.
//!
//! A graph component may be hostile (a cloned repository, a colleague's `.wasm`), so the
//! directories and files its builder hands to tasks (`jug::directory`, `jug::file`) are
//! checked when it declares them, before anything runs. The rules, for a path `P` below the
//! working directory:
//!
//! - a **writable** grant needs `P` inside a directory the user named with `--allow-write`
//!   (or inside a `--dir …:rw`, which every task can write anyway);
//! - a **read-only** grant or a **file input** needs `P` below the working directory;
//! - either kind is refused when `P` has a hidden component (`.git`, `.ssh`, `.jugrc`…),
//!   contains or lies inside the local store or the compiled-component cache, or holds a
//!   `.git` directory at its top, unless it lies inside a directory the user granted with
//!   `--dir` (which every task sees already; for a writable grant, a `--dir …:rw`);
//! - a read-only grant or file input is refused inside a **writable area**: a `--dir …:rw`,
//!   an `--allow-write` directory, or a writable grant the same graph declared (in either
//!   order). What it reads there is whatever a task wrote last, so it is not an input a key
//!   can describe, and a task with write access could plant a symbolic link in it.
//!
//! The user's own flags follow the same idea: a `--dir` nested strictly inside a `--dir …:rw`
//! or an `--allow-write` directory is refused, because a task could replace it with a
//! symbolic link that the next run's `--dir` would follow; `--allow-write` directories must
//! lie below the working directory, as the grants they authorise do.
//!
//! These checks are by name. They hold because every grant is then opened without following
//! symbolic links at all (see `files::open_dir_below`), so the name is the directory.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use jug_core::cbor::{self, References};

use crate::Grant;

/// A grant or file input the user did not allow: one line naming the path and the flag that
/// would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The user's flags (`--dir`, `--allow-write`) are inconsistent with each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadFlags(pub String);

/// What a grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read-only `jug::directory`.
    Read,
    /// A writable `jug::directory`.
    Write,
    /// A `jug::file`.
    File,
}

impl Access {
    fn noun(self) -> &'static str {
        match self {
            Access::Read => "read-only grant of",
            Access::Write => "writable grant of",
            Access::File => "input file",
        }
    }
}

/// What the user allowed, and what no graph may reach on its own.
pub struct Policy {
    /// The working directory, held open: per-task grants are opened from it, never by path.
    pub(crate) cwd: Arc<Dir>,
    /// Its canonical path, against which grant names are compared.
    cwd_path: PathBuf,
    /// The user's `--dir` grants: canonical host directory, writable.
    user: Vec<(PathBuf, bool)>,
    /// `--allow-write` directories, canonical, below the working directory; with the flag's
    /// text for messages.
    allow_write: Vec<(PathBuf, String)>,
    /// The local store and the compiled-component cache, resolved, with what they are.
    protected: Vec<(PathBuf, &'static str)>,
}

impl Policy {
    /// The policy for this process: `dirs` are the `--dir` grants, `allow_write` the
    /// `--allow-write` directories as typed, `store` the local store directory (if the store is
    /// local) and `cache` the compiled-component cache directory (if there is one).
    pub fn new(
        dirs: &[Grant],
        allow_write: &[PathBuf],
        store: Option<&Path>,
        cache: Option<&Path>,
    ) -> Result<Policy, BadFlags> {
        let mut policy =
            Policy::strict().map_err(|e| BadFlags(format!("cannot open the working directory: {e}")))?;
        for typed in allow_write {
            let shown = typed.display().to_string();
            let canonical = std::fs::canonicalize(typed)
                .ok()
                .filter(|p| p.is_dir())
                .ok_or_else(|| BadFlags(format!("`--allow-write {shown}`: not a directory")))?;
            if !canonical.starts_with(&policy.cwd_path) {
                return Err(BadFlags(format!(
                    "`--allow-write {shown}` is outside the working directory; tasks can only be granted directories below it"
                )));
            }
            policy.allow_write.push((canonical, shown));
        }
        policy.user = dirs.iter().map(|g| (g.host.clone(), g.writable)).collect();
        for grant in dirs {
            // By the name the user typed too: a link planted there leads elsewhere.
            let area = policy.writable_area(&grant.host, true, Some(grant));
            if let Some(area) = area.or_else(|| policy.writable_area(&grant.named, true, Some(grant))) {
                return Err(BadFlags(format!(
                    "`--dir {}` is inside {area}: a task could replace it with a symbolic link before the next run; grant a directory outside it",
                    grant.named.display()
                )));
            }
        }
        for (path, what) in [(store, "the store"), (cache, "the compiled-component cache")] {
            if let Some(path) = path {
                policy.protected.push((resolve(&policy.cwd_path, path), what));
            }
        }
        // A read-only grant is in every key by its content (see `grants`): one holding the
        // store would change with every result written, and no key would ever settle.
        if let Some(store) = store.map(|path| resolve(&policy.cwd_path, path))
            && let Some(grant) = dirs.iter().find(|g| !g.writable && store.starts_with(&g.host))
        {
            return Err(BadFlags(format!(
                "`--dir {}` is read-only and holds the store {}: its content, which is in every key, would change with every result; grant a directory beside the store or move the store (--store)",
                grant.named.display(),
                store.display()
            )));
        }
        Ok(policy)
    }

    /// No flags: nothing writable, nothing protected beyond the rules themselves.
    pub fn strict() -> std::io::Result<Policy> {
        let cwd = Dir::open_ambient_dir(".", ambient_authority())?;
        let cwd_path = std::fs::canonicalize(".")?;
        Ok(Policy {
            cwd: Arc::new(cwd),
            cwd_path,
            user: Vec::new(),
            allow_write: Vec::new(),
            protected: Vec::new(),
        })
    }

    /// The working directory's canonical path.
    pub fn working_directory(&self) -> &Path {
        &self.cwd_path
    }

    /// The writable area (described for a message) that contains `path` (strictly, for a
    /// user's `--dir`, which may be writable itself), other than the grant `except`.
    fn writable_area(&self, path: &Path, strictly: bool, except: Option<&Grant>) -> Option<String> {
        let inside = |area: &Path| path.starts_with(area) && !(strictly && path == area);
        if let Some((_, shown)) = self.allow_write.iter().find(|(area, _)| inside(area)) {
            return Some(format!(
                "`{shown}`, which tasks may be granted write access to (`--allow-write {shown}`)"
            ));
        }
        let user =
            self.user.iter().filter(|(host, writable)| *writable && except.is_none_or(|g| g.host != *host));
        user.map(|(host, _)| host)
            .find(|host| inside(host))
            .map(|host| format!("`{}`, which every task may write (`--dir …:rw`)", host.display()))
    }

    /// Checks one path a graph declares; `Ok` gives its normalised form (components joined by
    /// `/`, `.` for the working directory itself).
    pub fn check(&self, path: &str, access: Access) -> Result<String, Refused> {
        let noun = access.noun();
        let parts = components(path).ok_or_else(|| {
            Refused(format!(
                "{noun} `{path}` is outside the working directory (absolute, or with `..`); tasks can only be granted paths below it"
            ))
        })?;
        let real = parts.iter().fold(self.cwd_path.clone(), |p, part| p.join(part));
        let user_dir =
            |writable: bool| self.user.iter().any(|(host, w)| real.starts_with(host) && (*w || !writable));
        match access {
            Access::Write if user_dir(true) => return Ok(join(&parts)),
            Access::Write => {
                if !self.allow_write.iter().any(|(area, _)| real.starts_with(area)) {
                    return Err(Refused(format!(
                        "{noun} `{path}` is not inside a directory you allowed tasks to write; allow it with `--allow-write {path}`"
                    )));
                }
            }
            Access::Read | Access::File => {
                if let Some(area) = self.writable_area(&real, false, None) {
                    return Err(Refused(format!(
                        "{noun} `{path}` is inside {area}; a task could change it under the key or plant a symbolic link: grant it writable, or keep inputs outside"
                    )));
                }
                if user_dir(false) {
                    return Ok(join(&parts));
                }
            }
        }
        if let Some(at) = parts.iter().position(|p| p.starts_with('.')) {
            return Err(Refused(format!(
                "{noun} `{path}` has the hidden component `{}`; only the user can grant it, with `--dir {}`",
                parts[at],
                parts[..=at].join("/")
            )));
        }
        // Either way round: a grant inside the store could forge results as surely as one
        // holding it.
        let overlaps = |p: &Path| p.starts_with(&real) || real.starts_with(p);
        let protected = self.protected.iter().find(|(p, _)| overlaps(p)).map(|(_, what)| *what);
        let git = real.join(".git").symlink_metadata().is_ok().then_some("a `.git` directory");
        if let Some(what) = protected.or(git) {
            return Err(Refused(format!(
                "{noun} `{path}` overlaps {what}; only the user can grant it, with `--dir {path}`"
            )));
        }
        Ok(join(&parts))
    }
}

/// What one graph declared so far, to refuse a read-only grant nested in a writable one in
/// either order; and the first refusal, which ends the build.
pub struct Checker {
    policy: Arc<Policy>,
    writable: Vec<PathBuf>,
    readable: Vec<PathBuf>,
    pub refused: Option<Refused>,
}

impl Checker {
    pub fn new(policy: Arc<Policy>) -> Checker {
        Checker { policy, writable: Vec::new(), readable: Vec::new(), refused: None }
    }

    /// The working directory's handle, to read file inputs from.
    pub fn working_directory(&self) -> &Dir {
        &self.policy.cwd
    }

    /// Checks the grants and file inputs in a task's arguments (tags 27256 and 27257). Bytes
    /// that are not a valid template are left for the declaration to report.
    pub fn check_template(&mut self, args: &[u8]) -> Result<(), String> {
        // A tag in 27256..=27257 is encoded as 0xd9 0x6a 0x78..0x79: most arguments have none.
        if !args.windows(3).any(|w| w[0] == 0xd9 && w[1] == 0x6a && (w[2] == 0x78 || w[2] == 0x79)) {
            return Ok(());
        }
        let Ok((_, wrappers)) = cbor::validate_template(args, References::Allowed) else {
            return Ok(());
        };
        for wrapper in wrappers {
            if let Some(dir) = wrapper.dir {
                let access = if dir.writable { Access::Write } else { Access::Read };
                self.check(&dir.path, access)?;
            }
            if let Some(file) = wrapper.file {
                self.check(&file.path, Access::File)?;
            }
        }
        Ok(())
    }

    /// Checks one path; a refusal is remembered (it ends the build) and returned as text for
    /// the builder.
    pub fn check(&mut self, path: &str, access: Access) -> Result<(), String> {
        let result = self.policy.check(path, access).and_then(|normal| self.nested(&normal, path, access));
        result.map_err(|refused| {
            let message = refused.0.clone();
            self.refused.get_or_insert(refused);
            message
        })
    }

    /// Records `normal` and refuses it when it nests a read-only path inside a writable one.
    fn nested(&mut self, normal: &str, path: &str, access: Access) -> Result<(), Refused> {
        let real = self.policy.cwd_path.join(normal);
        let shown = |p: &Path| p.strip_prefix(&self.policy.cwd_path).unwrap_or(p).display().to_string();
        let conflict = match access {
            Access::Write => {
                self.readable.iter().find(|r| r.starts_with(&real)).map(|r| (shown(r), path.to_owned()))
            }
            Access::Read | Access::File => {
                self.writable.iter().find(|w| real.starts_with(w)).map(|w| (path.to_owned(), shown(w)))
            }
        };
        if let Some((inner, outer)) = conflict {
            return Err(Refused(format!(
                "`{inner}` is granted read-only or as an input inside `{outer}`, which a task of the same graph may write; grant it writable, or keep inputs outside"
            )));
        }
        let seen = match access {
            Access::Write => &mut self.writable,
            Access::Read | Access::File => &mut self.readable,
        };
        if !seen.contains(&real) {
            seen.push(real);
        }
        Ok(())
    }
}

/// `path`'s components below the working directory, without `.`; `None` for an absolute path
/// or one with `..`.
fn components(path: &str) -> Option<Vec<&str>> {
    if path.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    (!parts.contains(&"..")).then_some(parts)
}

fn join(parts: &[&str]) -> String {
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// `path` made absolute with symbolic links resolved as far as it exists (a store that is not
/// created yet still has a place).
fn resolve(cwd: &Path, path: &Path) -> PathBuf {
    let absolute = cwd.join(path);
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(Component::Normal(name))) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}
