//! Compiled components, cached on the local machine.
//!
//! Compiling a component is the slow part of loading it (0.1 s for Rust, 10-20 s for Python
//! or JS); reading back wasmtime's precompiled form takes milliseconds. Entries are keyed by
//! the component's exact bytes and by the engine's compatibility hash (wasmtime version,
//! features, settings), so a stale or foreign entry is never even opened. An entry that fails
//! to load anyway is a cache miss. The cache is per machine, never in the shared store:
//! compiled code is specific to the host CPU and engine.
//!
//! Location: `JUG_CACHE_DIR`, else `$XDG_CACHE_HOME/jug-host`, else `~/.cache/jug-host`.
//!
//! **Bounded**: every rebuild of a graph is a new entry, so after each write the least
//! recently used entries are removed until the cache is within its limit (`JUG_CACHE_MAX`,
//! [`DEFAULT_MAX_BYTES`]; [`set_max_bytes`]). A hit refreshes the entry's modification time,
//! which is what "recently used" means here. Safe with any number of processes: entries are
//! written under a temporary name and renamed, a reader maps the file it opened (removing it
//! later does not disturb the mapping), and a reader that finds an entry gone compiles again.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use wasmtime::Engine;
use wasmtime::component::Component;

/// The default bound of the cache: room for a few hundred Rust components, or a hundred
/// or so Python and JavaScript ones.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

static MAX_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_BYTES);

/// Bounds the cache of this process's writes (`JUG_CACHE_MAX`).
pub fn set_max_bytes(max: u64) {
    MAX_BYTES.store(max, Ordering::Relaxed);
}

/// The bound in force.
pub fn max_bytes() -> u64 {
    MAX_BYTES.load(Ordering::Relaxed)
}

/// What is told when a component must be compiled: its label and size; the returned closure
/// is called when the compile is done. The binary shows a note (see `observe_compiles`).
type Observer = Box<dyn Fn(&str, usize) -> Box<dyn FnOnce() + Send> + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Sets, once per process, what is told of each compile (a cache miss can take seconds).
pub fn observe_compiles(observer: Observer) {
    let _ = OBSERVER.set(observer);
}

/// The cache directory, if one can be determined.
pub fn directory() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JUG_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("jug-host"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("jug-host"))
}

/// The blake3 hash of a component's bytes: what its compiled form is cached under.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    // On every core when large: for an 18 MB Python component, ~3.5 ms on one core before
    // anything can run. Either way the digest is `blake3::hash`'s.
    let digest = match crate::pieces::worth_splitting(bytes.len()) {
        true => blake3::Hasher::new().update_rayon(bytes).finalize(),
        false => blake3::hash(bytes),
    };
    *digest.as_bytes()
}

/// Where the compiled form of the component with `digest` lives for this engine.
fn entry(engine: &Engine, digest: &[u8; 32]) -> Option<PathBuf> {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    let name =
        format!("{}-{:016x}{ENTRY_SUFFIX}", blake3::Hash::from_bytes(*digest).to_hex(), hasher.finish());
    directory().map(|dir| dir.join(name))
}

const ENTRY_SUFFIX: &str = ".cwasm";

/// Loads `bytes` (called `label` in notes, with [`digest`] `digest`) as a component, from the
/// cache when possible, compiling (and caching) when not. Only compilation errors are
/// returned; cache trouble just costs a compile.
pub fn load(engine: &Engine, bytes: &[u8], digest: &[u8; 32], label: &str) -> wasmtime::Result<Component> {
    if let Some(component) = load_compiled(engine, digest) {
        return Ok(component);
    }
    let entry = entry(engine, digest);
    let done = OBSERVER.get().map(|observe| observe(label, bytes.len()));
    let component = Component::new(engine, bytes);
    if let Some(done) = done {
        done();
    }
    let component = component?;
    if let Some(path) = entry
        && let Err(e) = store(&component, &path)
    {
        tracing::debug!("cannot cache the compiled component at {}: {e}", path.display());
    }
    Ok(component)
}

/// The cached compiled form of the component with `digest`, if there is a usable one: what
/// loading needs no bytes for (see `load_memo`).
pub(crate) fn load_compiled(engine: &Engine, digest: &[u8; 32]) -> Option<Component> {
    let path = entry(engine, digest).filter(|p| p.is_file())?;
    // SAFETY: entries are written only by `store` below, from `Component::serialize` of
    // this very engine configuration (the name includes its compatibility hash).
    match unsafe { Component::deserialize_file(engine, &path) } {
        Ok(component) => {
            touch(&path);
            Some(component)
        }
        Err(e) => {
            tracing::debug!("cache entry {} unusable ({e}); recompiling", path.display());
            None
        }
    }
}

/// Marks an entry as just used.
fn touch(path: &Path) {
    if let Err(e) = std::fs::File::open(path).and_then(|f| f.set_modified(SystemTime::now())) {
        tracing::debug!("cannot mark cache entry {} as used: {e}", path.display());
    }
}

fn store(component: &Component, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let max = MAX_BYTES.load(Ordering::Relaxed);
    let compiled = component.serialize().map_err(|e| e.to_string())?;
    if compiled.len() as u64 > max {
        return Ok(()); // it would only push everything else out, and then itself
    }
    let dir = path.parent().ok_or("cache path has no parent")?;
    std::fs::create_dir_all(dir)?;
    // Write under a unique name, then rename: readers never see half an entry.
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    std::fs::write(&temporary, compiled)?;
    std::fs::rename(&temporary, path)?;
    prune(dir, max, Some(path))?;
    Ok(())
}

/// One compiled component in the cache.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub bytes: u64,
    pub last_used: SystemTime,
}

/// The entries of the cache directory `dir`, least recently used first.
pub fn entries(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(e),
    };
    for item in listing {
        let item = item?;
        if !item.file_name().to_string_lossy().ends_with(ENTRY_SUFFIX) {
            continue;
        }
        // Gone since the listing: another process pruned it.
        let Ok(metadata) = item.metadata() else { continue };
        if metadata.is_file() {
            let last_used = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            entries.push(Entry { path: item.path(), bytes: metadata.len(), last_used });
        }
    }
    entries.sort_by_key(|e| e.last_used);
    Ok(entries)
}

/// What [`prune`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub entries: usize,
    pub bytes: u64,
}

/// Removes the least recently used entries of `dir` until the rest hold at most `max` bytes,
/// never `keep` (the entry just written), and temporary files a killed process left behind
/// an hour or more ago.
pub fn prune(dir: &Path, max: u64, keep: Option<&Path>) -> std::io::Result<Pruned> {
    let entries = entries(dir)?;
    let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
    let mut pruned = Pruned::default();
    for entry in &entries {
        if total <= max {
            break;
        }
        if Some(entry.path.as_path()) == keep {
            continue;
        }
        match std::fs::remove_file(&entry.path) {
            Ok(()) => {
                pruned.entries += 1;
                pruned.bytes += entry.bytes;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        total -= entry.bytes;
    }
    remove_stale_temporaries(dir);
    Ok(pruned)
}

fn remove_stale_temporaries(dir: &Path) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for item in listing.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let stale = item.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < hour_ago);
        if name.starts_with('.') && name.ends_with(".tmp") && stale {
            let _ = std::fs::remove_file(item.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_file(dir: &Path, name: &str, bytes: usize, age_secs: u64) -> PathBuf {
        let path = dir.join(format!("{name}{ENTRY_SUFFIX}"));
        std::fs::write(&path, vec![0u8; bytes]).unwrap();
        let when = SystemTime::now() - Duration::from_secs(age_secs);
        std::fs::File::open(&path).unwrap().set_modified(when).unwrap();
        path
    }

    #[test]
    fn an_entry_is_named_by_the_blake3_of_the_whole_component() {
        // Hashed on every core, the name must be what one core gives: entries cached before
        // are still found, and `b3sum` of a component names its entry.
        let bytes: Vec<u8> = (0..(5u32 << 20) + 3).map(|i| (i.wrapping_mul(7) ^ (i >> 13)) as u8).collect();
        let path = entry(&Engine::default(), &digest(&bytes)).expect("a cache directory");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&format!("{}-", blake3::hash(&bytes).to_hex())), "{name}");
    }

    #[test]
    fn pruning_removes_the_least_recently_used_first_and_never_the_kept_one() {
        let dir = std::env::temp_dir().join(format!("jug-cache-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let oldest = entry_file(&dir, "a", 100, 300);
        let middle = entry_file(&dir, "b", 100, 200);
        let newest = entry_file(&dir, "c", 100, 100);
        std::fs::write(dir.join("trees-not-an-entry"), vec![0u8; 1000]).unwrap();

        // 300 bytes, limit 250: the oldest goes.
        assert_eq!(prune(&dir, 250, None).unwrap(), Pruned { entries: 1, bytes: 100 });
        assert!(!oldest.exists() && middle.exists() && newest.exists());
        // Limit 0, but the middle one is being written: only the newest goes.
        assert_eq!(prune(&dir, 0, Some(&middle)).unwrap(), Pruned { entries: 1, bytes: 100 });
        assert!(middle.exists() && !newest.exists());
        assert!(dir.join("trees-not-an-entry").exists(), "only entries are pruned");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
