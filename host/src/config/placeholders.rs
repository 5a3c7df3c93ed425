//! Jug's placeholders in configured values: `%(jugfile)s` (the graph file's stem), `%(date)s`
//! (today, UTC, so workers in different time zones agree) and `%%`.

use std::path::Path;

use clap::ArgMatches;

/// The graph file's stem, for `%(jugfile)s`.
pub(super) fn graph_stem(given: &ArgMatches) -> Option<String> {
    let mut values = given.try_get_raw("graph").ok()??;
    let stem = Path::new(values.next()?).file_stem()?;
    Some(stem.to_string_lossy().into_owned())
}

/// Jug's placeholders, as Python's `%` formatting reads them; a `%` before anything else is
/// left as it is (URLs have them).
pub(super) fn substitute(value: &str, stem: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(jugfile)s") {
            out.push_str(stem.ok_or("%(jugfile)s needs a graph file, and this command has none")?);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(date)s") {
            out.push_str(&today());
            rest = after;
        } else if rest.starts_with("%(") {
            let name = rest.split_once(')').map_or(rest, |(name, _)| name);
            return Err(format!("unknown placeholder `{name})s`: only %(jugfile)s and %(date)s are known"));
        } else {
            out.push('%');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Today as YYYY-MM-DD, in UTC.
fn today() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    civil_date(now.map_or(0, |d| d.as_secs() / 86_400) as i64)
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_placeholders() {
        assert_eq!(substitute("%(jugfile)s.rcdata", Some("primes")).unwrap(), "primes.rcdata");
        assert_eq!(substitute("s3://b/a%20b/100%%", Some("p")).unwrap(), "s3://b/a%20b/100%");
        assert_eq!(substitute("%(date)s", None).unwrap().len(), 10);
        assert!(substitute("%(user)s", None).unwrap_err().contains("%(user)s"));
        assert!(substitute("%(jugfile)s", None).is_err());
    }
    #[test]
    fn counts_days_like_a_calendar() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(-1), "1969-12-31");
    }
}
