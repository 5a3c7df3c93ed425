//! Compiled components, cached on the local machine.
//!
//! Compiling a component is the slow part of loading it (0.1 s for Rust, seconds for Python
//! or JS); reading back wasmtime's precompiled form takes milliseconds. Entries are keyed by
//! the component's exact bytes and by the engine's compatibility hash (wasmtime version,
//! features, settings), so a stale or foreign entry is never even opened. An entry that fails
//! to load anyway is a cache miss. The cache is per machine, never in the shared store:
//! compiled code is specific to the host CPU and engine.
//!
//! Location: `JUG_CACHE_DIR`, else `$XDG_CACHE_HOME/jug-host`, else `~/.cache/jug-host`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

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

/// Where the compiled form of `bytes` lives for this engine.
fn entry(engine: &Engine, bytes: &[u8]) -> Option<PathBuf> {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    let name = format!("{}-{:016x}.cwasm", blake3::hash(bytes).to_hex(), hasher.finish());
    directory().map(|dir| dir.join(name))
}

/// Loads `bytes` as a component, from the cache when possible, compiling (and caching) when
/// not. Only compilation errors are returned; cache trouble just costs a compile.
pub fn load(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    let entry = entry(engine, bytes);
    if let Some(path) = entry.as_deref().filter(|p| p.is_file()) {
        // SAFETY: entries are written only by `store` below, from `Component::serialize` of
        // this very engine configuration (the name includes its compatibility hash).
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::debug!("cache entry {} unusable ({e}); recompiling", path.display()),
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Some(path) = entry
        && let Err(e) = store(&component, &path)
    {
        tracing::debug!("cannot cache the compiled component at {}: {e}", path.display());
    }
    Ok(component)
}

fn store(component: &Component, path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let compiled = component.serialize().map_err(|e| e.to_string())?;
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
    Ok(())
}
