//! Directories a task may see: `--dir HOST[:GUEST][:ro|rw]`.
//!
//! By default a task sees no file at all (its `jug.file` inputs aside). A grant mounts one
//! host directory at a path of the guest's, read-only unless `rw` is asked for, through a
//! WASI preopen: paths are resolved with cap-std inside it, so `..` and symbolic links that
//! lead out of it fail. A read-write grant lets tasks have effects their keys do not capture,
//! so it goes into every key (as its guest path: the same on every machine), and `status`
//! says it is there.

use std::path::PathBuf;

use jug_core::Key;

/// One directory a task may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The host directory, absolute and with symbolic links resolved.
    pub host: PathBuf,
    /// Where the task sees it.
    pub guest: String,
    pub writable: bool,
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
        Ok(Grant { host, guest, writable })
    }
}

/// What the grants add to every key: the read-write ones, by guest path. `None` without any.
pub fn environment(grants: &[Grant]) -> Option<Key> {
    let mut writable: Vec<&str> = grants.iter().filter(|g| g.writable).map(|g| g.guest.as_str()).collect();
    if writable.is_empty() {
        return None;
    }
    writable.sort_unstable();
    let mut hasher = blake3::Hasher::new_derive_key("jug-host 2026-11 read-write grants");
    for guest in writable {
        hasher.update(&(guest.len() as u64).to_le_bytes());
        hasher.update(guest.as_bytes());
    }
    Some(Key(*hasher.finalize().as_bytes()))
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
    fn only_read_write_grants_change_keys() {
        let dir = std::env::temp_dir();
        let ro: Grant = format!("{}:/data", dir.display()).parse().unwrap();
        let rw: Grant = format!("{}:/out:rw", dir.display()).parse().unwrap();
        assert_eq!(environment(std::slice::from_ref(&ro)), None);
        assert!(environment(&[ro.clone(), rw.clone()]).is_some());
        assert_eq!(environment(&[ro, rw.clone()]), environment(&[rw]));
    }
}
