//! The command line's value parsers: durations, sizes, job counts, seconds, key prefixes and
//! Jug's log levels, each refusing a bad value with what it expected (clap prints it as the
//! one-line error, exit 2).

use std::time::Duration;

/// Jug's `--verbose` levels (Python logging's names) as tracing's.
pub(super) fn verbose_level(text: &str) -> Result<&'static str, String> {
    match text.to_ascii_lowercase().as_str() {
        "debug" => Ok("debug"),
        "info" => Ok("info"),
        "warning" | "warn" => Ok("warn"),
        "error" | "critical" => Ok("error"),
        _ => Err(format!("expected a level: debug, info, warning, error or critical, got `{text}`")),
    }
}

/// 8 to 64 hex digits, lower-cased as keys are printed: fewer would pick among too many tasks.
pub(super) fn key_prefix(text: &str) -> Result<String, String> {
    let hex = text.trim().to_ascii_lowercase();
    match (8..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        true => Ok(hex),
        false => Err(format!("expected 8 to 64 hex digits of a task's key, got `{text}`")),
    }
}

/// The longest duration any option takes: longer means "never" in practice, and every deadline
/// computed from it (`nr_wait_cycles` × `wait_cycle_time` included) still fits in a `Duration`.
const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A duration in humantime's spelling (`30s`, `500ms`, `2m`, `1h 30m`, `1.5s`) or a bare
/// number of seconds, from 1 ms to 100 years.
pub(super) fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).ok(),
        Err(_) => humantime::parse_duration(text).ok(),
    };
    match parsed {
        Some(d) if (Duration::from_millis(1)..=MAX_DURATION).contains(&d) => Ok(d),
        _ => {
            Err(format!("expected a duration from 1ms to 100 years like 30s, 500ms, 2m or 1h, got `{text}`"))
        }
    }
}

/// Threads at once, 1 to [`MAX_JOBS`]: each is a thread of its own, and a machine asked for
/// billions would fail to start them.
pub(super) fn jobs(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of jobs from 1 to {MAX_JOBS}, got `{text}`")),
    }
}

const MAX_JOBS: u32 = 1024;

/// A number of bytes with an optional unit: 4096, 64KiB, 512MiB, 2GiB (also KB, MB, GB = 1000ⁿ).
pub fn size(text: &str) -> Result<u64, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KiB" | "K" | "k" => 1024.0,
        "MiB" | "M" => 1024.0 * 1024.0,
        "GiB" | "G" => 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return Err(format!("expected a size like 4096, 64KiB, 512MiB or 2GiB, got `{text}`")),
    };
    match number.parse::<f64>() {
        Ok(n) if (n * scale).is_finite() && n * scale >= 1.0 && n * scale < 1e18 => Ok((n * scale) as u64),
        _ => Err(format!("expected a size of at least one byte like 64KiB, 512MiB or 2GiB, got `{text}`")),
    }
}

/// A number of seconds from 0 to 100 years.
pub(super) fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if (0.0..=MAX_DURATION.as_secs_f64()).contains(&s) => Ok(s),
        _ => Err(format!("expected a number of seconds from 0 to 100 years, got `{text}`")),
    }
}
