//! Jug's summary tables, byte for byte (`jug/io.py: print_task_summary_table`).
//!
//! ```text
//!       Failed     Waiting       Ready    Complete      Active  Task name
//! ----------------------------------------------------------------------
//!            0           1           0           0           0  primes.count_primes
//! ......................................................................
//!            0           2          99           0           0  Total
//!
//! ```
//! Counts are right-aligned in 12 columns, the name column fills the terminal width
//! (`COLUMNS`, else the terminal, else 80), rows are sorted by name, and names too long for
//! their column wrap onto indented lines. The same function prints `status`, `execute`
//! (`Executed`/`Loaded`), `invalidate`, `count` and, with `--short`, their one-line forms.
//!
//! jug-core computes the [`Counts`]; laying them out for a terminal is the CLI's business.

use std::fmt::Write as _;

use jug_core::Counts;

/// Renders `groups` as Jug does: the full table, or with `short` one line per group plus a total.
pub fn summary(groups: &[(&str, &Counts)], short: bool, columns: usize) -> String {
    let mut out = String::new();
    if short {
        for (title, counts) in groups {
            let _ = writeln!(out, "{title}:  {} tasks", counts.values().sum::<u64>());
        }
        let total: u64 = groups.iter().map(|(_, c)| c.values().sum::<u64>()).sum();
        let _ = writeln!(out, "** Total: {total} tasks.");
        return out;
    }

    let mut name_width = columns as isize - 12 * groups.len() as isize - 2;
    if name_width <= 8 {
        name_width = 12;
    }
    let name_width = name_width as usize;
    let line = |cells: &[String], name: &str| {
        let mut row: String = cells.iter().map(|c| format!("{c:>12}")).collect();
        let _ = write!(row, "  {name:<name_width$}");
        row
    };
    let rule_width = 12 * groups.len() + 2 + name_width;

    let titles: Vec<String> = groups.iter().map(|(t, _)| t.to_string()).collect();
    let _ = writeln!(out, "{}", line(&titles, "Task name"));
    let _ = writeln!(out, "{}", "-".repeat(rule_width));
    let names: std::collections::BTreeSet<&String> = groups.iter().flat_map(|(_, c)| c.keys()).collect();
    for name in names {
        let cells: Vec<String> =
            groups.iter().map(|(_, c)| c.get(name).copied().unwrap_or(0).to_string()).collect();
        let mut pieces = wrap(name, name_width.saturating_sub(4).max(1)).into_iter();
        let _ = writeln!(out, "{}", line(&cells, &pieces.next().unwrap_or_default()));
        let blanks = vec![String::new(); groups.len()];
        for piece in pieces {
            let _ = writeln!(out, "{}", line(&blanks, &format!("    {piece}")));
        }
    }
    let _ = writeln!(out, "{}", ".".repeat(rule_width));
    let totals: Vec<String> = groups.iter().map(|(_, c)| c.values().sum::<u64>().to_string()).collect();
    let _ = writeln!(out, "{}", line(&totals, "Total"));
    out.push('\n');
    out
}

/// `textwrap.wrap` for the names Jug prints: no spaces, so it cuts every `width` characters.
fn wrap(name: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

/// The width Jug would use: `COLUMNS` if set to a positive number, else the terminal on
/// stdout, else 80 (Python's `shutil.get_terminal_size((80, 25))`). At most
/// [`MAX_COLUMNS`]: a rule line is as wide as the table, and `COLUMNS=9223372036854775807`
/// must not ask for exabytes of dashes.
pub fn terminal_columns() -> usize {
    if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok())
        && columns > 0
    {
        return columns.min(MAX_COLUMNS);
    }
    match terminal_size::terminal_size_of(std::io::stdout()) {
        Some((terminal_size::Width(columns), _)) if columns > 0 => usize::from(columns).min(MAX_COLUMNS),
        _ => 80,
    }
}

/// Wider than any screen.
pub const MAX_COLUMNS: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Counts {
        pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn matches_jug_status_table_at_100_columns() {
        let zero = counts(&[]);
        let waiting = counts(&[("primes.count_primes", 1), ("primes.write_output", 1)]);
        let ready = counts(&[("primes.is_prime", 99)]);
        let table = summary(
            &[
                ("Failed", &zero),
                ("Waiting", &waiting),
                ("Ready", &ready),
                ("Complete", &zero),
                ("Active", &zero),
            ],
            false,
            100,
        );
        let expected = concat!(
            "      Failed     Waiting       Ready    Complete      Active  Task name                             \n",
            "----------------------------------------------------------------------------------------------------\n",
            "           0           1           0           0           0  primes.count_primes                   \n",
            "           0           0          99           0           0  primes.is_prime                       \n",
            "           0           1           0           0           0  primes.write_output                   \n",
            "....................................................................................................\n",
            "           0           2          99           0           0  Total                                 \n",
            "\n",
        );
        assert_eq!(table, expected);
    }

    #[test]
    fn short_form_and_wrapping() {
        let executed = counts(&[("primes.is_prime", 99)]);
        let loaded = counts(&[("primes.write_output", 2)]);
        assert_eq!(
            summary(&[("Executed", &executed), ("Loaded", &loaded)], true, 80),
            "Executed:  99 tasks\nLoaded:  2 tasks\n** Total: 101 tasks.\n"
        );
        let long = counts(&[("module.a_very_long_function_name", 1)]);
        let table = summary(&[("Count", &long)], false, 30);
        // name column: 30 - 12 - 2 = 16, wrapped at 12 with a 4-space indent
        assert!(table.contains("           1  module.a_ver    \n"), "{table}");
        assert!(table.contains("                  y_long_funct\n"), "{table}");
    }
}
