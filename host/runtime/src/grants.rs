//! Directories a task may see: `--dir HOST[:GUEST][:ro|rw]`.
//!
//! By default a task sees no file at all (its `jug.file` inputs aside). A grant mounts one
//! host directory at a path of the guest's, read-only unless `rw` is asked for, through a
//! WASI preopen: paths are resolved with cap-std inside it, so `..` and symbolic links that
//! lead out of it fail.
//!
//! Each grant is opened **once**, as a directory handle, when it is parsed (`--dir`) or when
//! its task starts (a graph's `jug::directory`, see `files::grant`), and sandboxes are given
//! that handle, never the path again: a task that replaces a granted directory with a
//! symbolic link cannot redirect the tasks that start after it. wasmtime-wasi's preopens take
//! a path, so on Linux the sandbox opens `/proc/self/fd/N` of the held handle, which is the
//! same directory whatever happened to its name since. On other Unix systems the sandbox
//! opens the grant's path after the host has checked that it still leads to the held handle
//! (device and inode): that narrows a swap to the instant between the check and the open,
//! but does not close it. (Other systems get the path alone.)
//!
//! What a grant puts in every key ([`environment`]):
//! - a read-only grant, its guest path and the digest of its content (see `tree`): what the
//!   tasks read there is their input, so another data set under the same path is another
//!   task, and editing a file re-runs every task that sees it;
//! - a read-write grant, its guest path only (the same on every machine). What it holds is
//!   the tasks' effect, not their input: hashing it would change the keys by the tasks' own
//!   writes, so no result would ever be found again. `status` says such a grant is there.
//!
//! A directory granted to one task (`jug::directory`) counts the same way, in that task's key
//! only (see [`Contents`]).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use jug_core::Key;
use jug_core::manifest::Granted;

/// One directory a task may see.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The host directory, absolute and with symbolic links resolved (for messages and
    /// policy; the sandbox uses `dir`).
    pub host: PathBuf,
    /// Where the task sees it.
    pub guest: String,
    pub writable: bool,
    /// The host directory as named, made absolute without resolving links or `..`: a grant
    /// whose name leads through a directory tasks may write is refused (see `policy`).
    pub(crate) named: PathBuf,
    /// The directory, opened once.
    dir: Arc<Dir>,
}

/// Grants are the same when they say the same thing (the handle is how, not what).
impl PartialEq for Grant {
    fn eq(&self, other: &Grant) -> bool {
        (&self.host, &self.guest, self.writable) == (&other.host, &other.guest, other.writable)
    }
}

impl Eq for Grant {}

impl Grant {
    /// A grant of a directory already opened.
    pub(crate) fn opened(host: PathBuf, guest: String, writable: bool, dir: Dir) -> Grant {
        Grant { named: host.clone(), host, guest, writable, dir: Arc::new(dir) }
    }

    /// The path the sandbox's preopen opens: one that leads to the held handle.
    pub(crate) fn preopen_path(&self) -> Result<PathBuf, String> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            Ok(PathBuf::from(format!("/proc/self/fd/{}", self.dir.as_raw_fd())))
        }
        #[cfg(all(unix, not(target_os = "linux")))]
        {
            self.check_unchanged()?;
            Ok(self.host.clone())
        }
        #[cfg(not(unix))]
        Ok(self.host.clone())
    }

    /// Whether the grant's path still leads to the held directory (device and inode).
    #[cfg(all(unix, not(target_os = "linux")))]
    fn check_unchanged(&self) -> Result<(), String> {
        use cap_std::fs::MetadataExt;
        use std::os::unix::fs::MetadataExt as _;
        let held = self.dir.dir_metadata().map_err(|e| e.to_string())?;
        let now = std::fs::metadata(&self.host).map_err(|e| format!("{}: {e}", self.host.display()))?;
        if (held.dev(), held.ino()) != (now.dev(), now.ino()) {
            return Err(format!(
                "{} was replaced since it was granted; refusing to mount it",
                self.host.display()
            ));
        }
        Ok(())
    }
}

impl Grant {
    /// `--workdir DIR`: DIR (created if missing) as the task's working directory, writable.
    /// Every SDK's runtime (wasi-libc under CPython and Rust's std) resolves a relative path
    /// against the guest's current directory, which is `/` and cannot be changed from outside,
    /// so the directory is mounted at `/`: `open("output.txt", "w")` in a task writes
    /// DIR/output.txt. Other mounts (`/inputs`, `--dir` grants) lie below it and win, being the
    /// longer prefix. Like any writable grant it goes into every key by its guest path.
    pub fn workdir(text: &str) -> Result<Grant, String> {
        std::fs::create_dir_all(text)
            .map_err(|e| format!("cannot create the working directory `{text}`: {e}"))?;
        let host = std::fs::canonicalize(text).map_err(|e| format!("`{text}`: {e}"))?;
        if !host.is_dir() {
            return Err(format!("`{text}` is not a directory (in `--workdir {text}`)"));
        }
        let dir = Dir::open_ambient_dir(&host, ambient_authority())
            .map_err(|e| format!("cannot open `{}` (in `--workdir {text}`): {e}", host.display()))?;
        let named = std::path::absolute(text).map_err(|e| format!("`{text}`: {e}"))?;
        Ok(Grant { named, ..Grant::opened(host, "/".to_owned(), true, dir) })
    }
}

impl std::str::FromStr for Grant {
    type Err = String;

    fn from_str(text: &str) -> Result<Grant, String> {
        let mut parts: Vec<&str> = text.split(':').collect();
        let writable = match parts.last().copied() {
            Some("rw") => {
                parts.pop();
                true
            }
            Some("ro") => {
                parts.pop();
                false
            }
            _ => false,
        };
        let (host, guest) = match parts.as_slice() {
            [host] => (*host, None),
            [host, guest] => (*host, Some(*guest)),
            _ => return Err(format!("expected HOST[:GUEST][:ro|rw], got `{text}`")),
        };
        let host = std::fs::canonicalize(host)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| format!("`{host}` is not a directory (in `--dir {text}`)"))?;
        let guest = match guest {
            Some(guest) => guest.to_owned(),
            None => format!("/{}", host.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
        };
        if !jug_core::cbor::guest_path_is_valid(&guest) {
            return Err(format!(
                "the guest path `{guest}` must be absolute, without empty, `.` or `..` parts, and not under /inputs (in `--dir {text}`)"
            ));
        }
        let dir = Dir::open_ambient_dir(&host, ambient_authority())
            .map_err(|e| format!("cannot open `{}` (in `--dir {text}`): {e}", host.display()))?;
        let named = std::path::absolute(parts[0]).map_err(|e| format!("`{text}`: {e}"))?;
        Ok(Grant { named, ..Grant::opened(host, guest, writable, dir) })
    }
}

/// What `--dir` grants make of every task: [`Environment::key`] goes into every key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// `None` without any grant, so that keys without grants do not change.
    pub key: Option<Key>,
    /// Each grant by guest path: how it went into the key (for `status --explain`).
    pub grants: BTreeMap<String, Granted>,
}

/// A grant whose content could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("cannot take the content of `--dir {host}` (seen at {guest}): {source}")]
pub struct ContentError {
    pub host: String,
    pub guest: String,
    #[source]
    pub source: crate::tree::TreeError,
}

/// What the grants add to every key: the read-only ones by guest path and content digest,
/// the read-write ones by guest path. Walks every read-only grant (see `tree`: with the
/// cache, an unchanged tree is only stat'ed).
pub fn environment(grants: &[Grant]) -> Result<Environment, ContentError> {
    let mut granted = BTreeMap::new();
    for grant in grants {
        let how = match grant.writable {
            true => Granted::Writable,
            false => Granted::Content(content(grant).map_err(|source| ContentError {
                host: grant.host.display().to_string(),
                guest: grant.guest.clone(),
                source,
            })?),
        };
        granted.insert(grant.guest.clone(), how);
    }
    if granted.is_empty() {
        return Ok(Environment { key: None, grants: granted });
    }
    let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-11 directory grants");
    for (guest, how) in &granted {
        hasher.update(&(guest.len() as u64).to_le_bytes());
        hasher.update(guest.as_bytes());
        match how {
            Granted::Writable => hasher.update(&[0]),
            Granted::Content(digest) => hasher.update(&[1]).update(&digest.0),
        };
    }
    Ok(Environment { key: Some(Key(*hasher.finalize().as_bytes())), grants: granted })
}

/// The content digest of a read-only grant's directory: walked through the handle the grant
/// holds, so what is hashed is what the tasks will be given, whatever happened to its path.
fn content(grant: &Grant) -> Result<Key, crate::tree::TreeError> {
    crate::tree::digest(&grant.dir)
}

/// The content digests of directories granted to single tasks, each taken once per build
/// however many tasks are granted it.
pub struct Contents {
    policy: Arc<crate::policy::Policy>,
    taken: HashMap<(String, String), Key>,
}

impl Contents {
    /// Digests directories opened under `policy` (the working directory it holds).
    pub fn new(policy: Arc<crate::policy::Policy>) -> Contents {
        Contents { policy, taken: HashMap::new() }
    }

    /// The digest of the directory `dir` names, opened like the grant it is (see
    /// `files::grant`), so the tree hashed is the one the task will be given.
    pub fn of(&mut self, dir: &jug_core::cbor::DirInput) -> Result<Key, String> {
        let id = (dir.path.clone(), dir.guest.clone());
        if let Some(&key) = self.taken.get(&id) {
            return Ok(key);
        }
        let grant = crate::files::grant(&self.policy, dir)?;
        let key = content(&grant).map_err(|e| e.to_string())?;
        self.taken.insert(id, key);
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_read_like_docker_volumes() {
        let dir = std::env::temp_dir();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let plain: Grant = dir.to_str().unwrap().parse().unwrap();
        assert_eq!((plain.guest.as_str(), plain.writable), (format!("/{name}").as_str(), false));
        let rw: Grant = format!("{}:/scratch:rw", dir.display()).parse().unwrap();
        assert_eq!((rw.guest.as_str(), rw.writable), ("/scratch", true));
        let ro: Grant = format!("{}:/data:ro", dir.display()).parse().unwrap();
        assert!(!ro.writable);
        for bad in [
            "/no/such/dir",
            "/tmp:relative",
            "/tmp:/a/../b",
            "/tmp:/inputs/x",
            "/tmp://inputs",
            "/tmp:/a:xx:rw",
        ] {
            assert!(bad.parse::<Grant>().is_err(), "{bad}");
        }
    }

    #[test]
    fn read_only_grants_count_by_content_and_read_write_ones_by_place() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(one.path().join("x"), "1").unwrap();
        std::fs::write(two.path().join("x"), "2").unwrap();
        let grant = |dir: &tempfile::TempDir, rest: &str| -> Grant {
            format!("{}:{rest}", dir.path().display()).parse().unwrap()
        };
        let key = |grants: &[Grant]| environment(grants).unwrap().key;
        assert_eq!(key(&[]), None);
        let data = key(&[grant(&one, "/data")]);
        assert!(data.is_some());
        assert_ne!(data, key(&[grant(&two, "/data")]), "another data set");
        assert_ne!(data, key(&[grant(&one, "/elsewhere")]), "another place");
        std::fs::write(two.path().join("x"), "1").unwrap();
        assert_eq!(data, key(&[grant(&two, "/data")]), "the same content elsewhere on the host");
        // Read-write: by place only, whatever it holds.
        let out = key(&[grant(&one, "/out:rw")]);
        assert_eq!(out, key(&[grant(&two, "/out:rw")]));
        assert_ne!(out, key(&[grant(&one, "/out")]));
        let both = environment(&[grant(&one, "/data"), grant(&two, "/out:rw")]).unwrap();
        assert_eq!(both.grants["/out"], Granted::Writable);
        assert!(matches!(both.grants["/data"], Granted::Content(_)));
    }
}
