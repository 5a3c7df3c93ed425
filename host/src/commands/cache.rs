//! `jug-host cache`: this machine's compiled components (see `jug_runtime::cache`), and the
//! process-wide settings every command reads: `JUG_CACHE_MAX` and the compile notes.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{Instant, SystemTime};

use jug_runtime::{LoadError, cache};

use super::{UsageError, print};
use crate::cli::CacheArgs;
use crate::errors::{Error, Result};
use crate::exit_code::ExitCode;

/// Reads `JUG_CACHE_MAX` and `JUG_PROGRESS`, before any command loads a component.
pub fn configure() -> Result<()> {
    if let Some(max) = std::env::var_os("JUG_CACHE_MAX") {
        let max = max.to_string_lossy();
        let max = crate::cli::size(&max).map_err(|e| UsageError(format!("JUG_CACHE_MAX: {e}")))?;
        cache::set_max_bytes(max);
    }
    let notes = match std::env::var("JUG_PROGRESS").as_deref() {
        Err(_) | Ok("" | "auto") => std::io::stderr().is_terminal(),
        Ok("always") => true,
        Ok("never") => false,
        Ok(other) => {
            return Err(
                UsageError(format!("JUG_PROGRESS must be auto, always or never, not `{other}`")).into()
            );
        }
    };
    if notes {
        // A compile can take 20 s: say what is happening, and how long it took.
        cache::observe_compiles(Box::new(|label, bytes| {
            let label = jug_core::text::one_line(label).into_owned();
            eprintln!("jug-host: compiling {label} ({}) for this machine, once…", human_bytes(bytes as u64));
            let started = Instant::now();
            Box::new(move || {
                eprintln!("jug-host: compiled {label} in {:.1} s", started.elapsed().as_secs_f64())
            })
        }));
    }
    Ok(())
}

pub fn run(args: CacheArgs) -> Result<ExitCode> {
    let dir = cache::directory()
        .ok_or_else(|| UsageError("no cache directory: set JUG_CACHE_DIR (or HOME)".into()))?;
    for component in &args.warm {
        warm(component)?;
    }
    if args.clear || args.prune {
        let max = match args.clear {
            true => 0,
            false => args.max.unwrap_or_else(limit),
        };
        let pruned = cache::prune(&dir, max, None)
            .map_err(Error::system(format!("cannot prune the cache {}", dir.display())))?;
        print(&format!("removed {} ({})\n", entries(pruned.entries), human_bytes(pruned.bytes)))?;
    }
    let entries =
        cache::entries(&dir).map_err(Error::system(format!("cannot read the cache {}", dir.display())))?;
    let total: u64 = entries.iter().map(|e| e.bytes).sum();
    let mut text = format!(
        "compiled-code cache: {}\n{}, {} of {} (JUG_CACHE_MAX)\n",
        dir.display(),
        self::entries(entries.len()),
        human_bytes(total),
        human_bytes(limit())
    );
    if let (Some(oldest), Some(newest)) = (entries.first(), entries.last()) {
        text.push_str(&format!(
            "used from {} to {}\n",
            timestamp(oldest.last_used),
            timestamp(newest.last_used)
        ));
    }
    print(&text)?;
    Ok(ExitCode::Ok)
}

/// Compiles a component and its variants into the cache.
fn warm(component: &Path) -> Result<()> {
    let started = Instant::now();
    let program = jug_runtime::Program::load(component)?;
    let variants = program
        .compile_variants()
        .map_err(|reason| LoadError::Invalid { path: component.to_owned(), reason })?;
    let name = component.display();
    print(&format!("{name}: compiled with {variants} variants in {:.1} s\n", started.elapsed().as_secs_f64()))
}

fn entries(n: usize) -> String {
    format!("{n} {}", if n == 1 { "entry" } else { "entries" })
}

/// The limit in force: `JUG_CACHE_MAX` as read by `configure`.
fn limit() -> u64 {
    cache::max_bytes()
}

fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// 1.3 GiB, 512.0 MiB, 20.0 KiB, 12 B.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
