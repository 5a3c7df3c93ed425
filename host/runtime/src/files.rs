//! Files of the working directory as task inputs (`jug::file`), through `cap-std`.
//!
//! A graph is untrusted code, and its results may be shared: it must not be able to read
//! `/etc/passwd` or `../secrets` into a result. So every path is resolved with `cap-std`
//! inside the working directory, which refuses absolute paths, `..` that climbs out and
//! symbolic links that lead out. The builder gets the content's blake3 digest, which goes
//! into the task's key; when the task runs, the file is read again the same way, checked
//! against that digest, and copied into a private directory that is the only thing mounted
//! in the sandbox (read-only).

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use jug_core::cbor::FileInput;

/// Reads a file of the working directory; errors name the path and why it is refused.
pub fn read(path: &str) -> Result<Vec<u8>, String> {
    let cwd = Dir::open_ambient_dir(".", ambient_authority())
        .map_err(|e| format!("cannot open the working directory: {e}"))?;
    cwd.read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("input file `{path}` does not exist"),
        _ if path.starts_with('/') || path.split('/').any(|part| part == "..") => {
            format!("input file `{path}` is outside the working directory; inputs must be files below it")
        }
        _ => format!("cannot read input file `{path}` inside the working directory: {e}"),
    })
}

/// The digest of an input's content, as the key records it.
pub fn digest(path: &str) -> Result<[u8; 32], String> {
    read(path).map(|bytes| *blake3::hash(&bytes).as_bytes())
}

/// A task's inputs, copied into a temporary directory per content digest.
pub struct Mounted {
    pub root: tempfile::TempDir,
    pub files: Vec<FileInput>,
}

/// Copies and checks `files`; `None` when there are none.
pub fn mount(files: &[FileInput]) -> Result<Option<Mounted>, String> {
    if files.is_empty() {
        return Ok(None);
    }
    let root = tempfile::Builder::new().prefix("jug-inputs-").tempdir().map_err(|e| e.to_string())?;
    for file in files {
        let bytes = read(&file.path)?;
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

/// A directory granted to one task (`jug::directory`), checked like a file input: it must be
/// a directory below the working directory, reached without leaving it.
pub fn grant(dir: &jug_core::cbor::DirInput) -> Result<crate::Grant, String> {
    let cwd = Dir::open_ambient_dir(".", ambient_authority())
        .map_err(|e| format!("cannot open the working directory: {e}"))?;
    cwd.open_dir(&dir.path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("granted directory `{}` does not exist", dir.path),
        _ if dir.path.starts_with('/') || dir.path.split('/').any(|part| part == "..") => format!(
            "granted directory `{}` is outside the working directory; grants must be directories below it",
            dir.path
        ),
        _ => format!("cannot use `{}` as a granted directory inside the working directory: {e}", dir.path),
    })?;
    let host = std::fs::canonicalize(&dir.path).map_err(|e| format!("cannot resolve `{}`: {e}", dir.path))?;
    Ok(crate::Grant { host, guest: dir.guest.clone(), writable: dir.writable })
}
