//! Files of the working directory as task inputs (`jug::file`), and directories granted to one
//! task (`jug::directory`), through `cap-std`.
//!
//! A graph is untrusted code, and its results may be shared: it must not be able to read
//! `/etc/passwd` or `../secrets` into a result. What it may name at all is `policy`'s business;
//! here every path is opened from a held handle of a directory (the working directory, or the
//! graph's own for libraries) one component at a time, **without following any symbolic
//! link**: each component is looked at with `lstat`, opened, and the opened handle must be the
//! same device and inode. So a name is its directory, a task that swaps a directory for a
//! link between two runs (or while other tasks start) makes the next open fail instead of
//! leading elsewhere, and a FIFO or device is refused before it is opened.
//!
//! A file input's content digest goes into the task's key; when the task runs, the file is
//! read again the same way, checked against that digest, and copied into a private directory
//! that is the only thing mounted for it (read-only).

use std::io::Read;

use cap_std::fs::{Dir, File, Metadata, MetadataExt, OpenOptions};
use jug_core::cbor::FileInput;

/// Why a path below a directory cannot be used. Messages name the path as the caller gave it.
#[derive(Debug)]
pub enum Problem {
    NotFound,
    /// A component is a symbolic link.
    Link,
    /// The end is not what was asked for (a directory, or a regular file).
    WrongKind,
    /// A regular file larger than the limit.
    TooLarge(u64),
    Io(std::io::Error),
}

impl Problem {
    fn from_io(e: std::io::Error) -> Problem {
        match e.kind() {
            std::io::ErrorKind::NotFound => Problem::NotFound,
            _ => Problem::Io(e),
        }
    }

    /// "`data/x` does not exist" and so on, for `what` (e.g. "input file").
    pub fn describe(&self, what: &str, path: &str) -> String {
        match self {
            Problem::NotFound => format!("{what} `{path}` does not exist"),
            Problem::Link => format!("{what} `{path}` goes through a symbolic link; name the real path"),
            Problem::WrongKind => format!("{what} `{path}` is not a regular file"),
            Problem::TooLarge(max) => format!("{what} `{path}` is larger than {} MiB", max >> 20),
            Problem::Io(e) => format!("cannot open {what} `{path}`: {e}"),
        }
    }
}

fn same(a: &Metadata, b: &Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// The directory at `path` below `root` (`.` or empty: `root` itself), reached without
/// following a symbolic link. `path` must not be absolute or contain `..` (checked by callers;
/// cap-std refuses them anyway).
pub fn open_dir_below(root: &Dir, path: &str) -> Result<Dir, Problem> {
    let mut dir = root.try_clone().map_err(Problem::Io)?;
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let seen = dir.symlink_metadata(part).map_err(Problem::from_io)?;
        if seen.file_type().is_symlink() {
            return Err(Problem::Link);
        }
        if !seen.is_dir() {
            return Err(Problem::WrongKind);
        }
        let next = dir.open_dir(part).map_err(Problem::from_io)?;
        // Swapped for a link (or anything else) between the look and the open.
        if !same(&seen, &next.dir_metadata().map_err(Problem::Io)?) {
            return Err(Problem::Link);
        }
        dir = next;
    }
    Ok(dir)
}

/// Reads the regular file at `path` below `root`, at most `max` bytes, reached without
/// following a symbolic link; a FIFO, device or directory is refused without being opened.
pub fn read_below(root: &Dir, path: &str, max: u64) -> Result<Vec<u8>, Problem> {
    let (parent, name) = match path.rsplit_once('/') {
        Some((parent, name)) => (open_dir_below(root, parent)?, name),
        None => (root.try_clone().map_err(Problem::Io)?, path),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(Problem::WrongKind);
    }
    let seen = parent.symlink_metadata(name).map_err(Problem::from_io)?;
    if seen.file_type().is_symlink() {
        return Err(Problem::Link);
    }
    if !seen.is_file() {
        return Err(Problem::WrongKind);
    }
    if seen.len() > max {
        return Err(Problem::TooLarge(max));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    // Never block: if a FIFO took the file's place after the look, opening must not hang.
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file: File = parent.open_with(name, &options).map_err(Problem::from_io)?;
    let opened = file.metadata().map_err(Problem::Io)?;
    if !same(&seen, &opened) || !opened.is_file() {
        return Err(Problem::Link);
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(Problem::Io)?;
    if bytes.len() as u64 > max {
        return Err(Problem::TooLarge(max));
    }
    Ok(bytes)
}

/// Reads a file of the working directory; errors name the path and why it is refused.
pub fn read(cwd: &Dir, path: &str) -> Result<Vec<u8>, String> {
    if path.starts_with('/') || path.split('/').any(|part| part == "..") {
        return Err(format!(
            "input file `{path}` is outside the working directory; inputs must be files below it"
        ));
    }
    read_below(cwd, path, u64::MAX - 1).map_err(|problem| problem.describe("input file", path))
}

/// The digest of an input's content, as the key records it.
pub fn digest(cwd: &Dir, path: &str) -> Result<[u8; 32], String> {
    read(cwd, path).map(|bytes| *blake3::hash(&bytes).as_bytes())
}

/// A task's inputs, copied into a temporary directory per content digest.
pub struct Mounted {
    pub root: tempfile::TempDir,
    pub files: Vec<FileInput>,
}

/// Copies and checks `files`; `None` when there are none.
pub fn mount(cwd: &Dir, files: &[FileInput]) -> Result<Option<Mounted>, String> {
    if files.is_empty() {
        return Ok(None);
    }
    let root = tempfile::Builder::new().prefix("jug-inputs-").tempdir().map_err(|e| e.to_string())?;
    for file in files {
        let bytes = read(cwd, &file.path)?;
        if blake3::hash(&bytes).as_bytes() != &file.digest {
            return Err(format!(
                "input file `{}` changed since the graph was built; run execute again",
                file.path
            ));
        }
        let dir = root.path().join(file.guest_dir().trim_start_matches('/'));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(file.file_name()), &bytes).map_err(|e| e.to_string())?;
    }
    Ok(Some(Mounted { root, files: files.to_vec() }))
}

/// A directory granted to one task (`jug::directory`), opened now from the working directory
/// handle (the policy already allowed its name when the builder declared it).
pub fn grant(policy: &crate::policy::Policy, dir: &jug_core::cbor::DirInput) -> Result<crate::Grant, String> {
    if dir.path.starts_with('/') || dir.path.split('/').any(|part| part == "..") {
        return Err(format!(
            "granted directory `{}` is outside the working directory; grants must be directories below it",
            dir.path
        ));
    }
    let handle = open_dir_below(&policy.cwd, &dir.path).map_err(|problem| match problem {
        Problem::WrongKind => format!("granted directory `{}` is not a directory", dir.path),
        problem => problem.describe("granted directory", &dir.path),
    })?;
    let host = policy.working_directory().join(&dir.path);
    Ok(crate::Grant::opened(host, dir.guest.clone(), dir.writable, handle))
}
