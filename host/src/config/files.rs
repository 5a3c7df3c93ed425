//! Where the configuration files are, and reading them.
//!
//! The INI reader is ours (fifty lines): Python's `configparser` dialect as Jug uses it
//! (`RawConfigParser`: no interpolation, no inline comments, lower-cased keys), minus
//! multi-line values, which no option needs and which are reported rather than misread. A
//! crate would bring its own dialect (quotes, escapes, inline comments) that Jug does not
//! have.

use std::path::{Path, PathBuf};

use super::Error;

/// The configuration files that exist, in rising precedence: the global file, then the
/// repository's files.
pub(super) fn discover() -> (Option<PathBuf>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        let dirs: Vec<&Path> = match cwd.ancestors().position(|dir| dir.join(".git").exists()) {
            Some(root) => cwd.ancestors().take(root + 1).collect(),
            None => vec![&cwd],
        };
        for dir in dirs.iter().rev() {
            files.extend(["jugrc", ".jugrc"].map(|name| dir.join(name)).into_iter().filter(|f| f.is_file()));
        }
    }
    (global_file(), files)
}

fn global_file() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = var("HOME");
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    let xdg =
        var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()).or_else(|| Some(home.as_ref()?.join(".config")));
    let candidates = [
        xdg.map(|dir| dir.join("jug").join("jugrc")),
        home.as_ref().map(|home| home.join(".config").join("jugrc")),
        home.map(|home| home.join(".jug").join("configrc")),
    ];
    candidates.into_iter().flatten().find(|path| path.is_file())
}

/// One `key = value` line of a file.
#[derive(Debug, PartialEq)]
pub(super) struct Entry {
    pub(super) line: usize,
    pub(super) section: String,
    /// Lower-cased, as `configparser` does.
    pub(super) key: String,
    pub(super) value: String,
}

/// One configuration file, read.
pub(super) struct File {
    pub(super) path: PathBuf,
    pub(super) entries: Vec<Entry>,
    /// The user's global file, rather than one of the repository's.
    pub(super) trusted: bool,
}

pub(super) fn read(path: &Path, trusted: bool) -> Result<File, Error> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{shown}: {e}")))?;
    let entries = parse_ini(&text).map_err(|(line, why)| Error::Config(format!("{shown}:{line}: {why}")))?;
    Ok(File { path: path.to_owned(), entries, trusted })
}

/// Sections, `key = value` or `key: value` lines, `#` and `;` comment lines, blank lines. An
/// error is a line number and what is wrong with it.
fn parse_ini(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries = Vec::new();
    let mut section: Option<&str> = None;
    // configparser reads a line indented deeper than the key before it as more of its value.
    let mut key_indent: Option<usize> = None;
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = index + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with(['#', ';']) {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if key_indent.is_some_and(|key| indent > key) {
            return Err((line, "values cannot continue on another line".into()));
        }
        if let Some(header) = text.strip_prefix('[') {
            let name = header.strip_suffix(']').map(str::trim).filter(|name| !name.is_empty());
            section =
                Some(name.ok_or_else(|| (line, format!("expected a section like [execute], got `{text}`")))?);
            key_indent = None;
            continue;
        }
        let Some((key, value)) = text.split_once(['=', ':']) else {
            return Err((line, format!("expected `key = value`, got `{text}`")));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err((line, format!("expected `key = value`, got `{text}`")));
        }
        let Some(section) = section else {
            return Err((line, format!("`{key}` comes before any [section]")));
        };
        key_indent = Some(indent);
        let (section, key, value) = (section.to_owned(), key.to_lowercase(), value.trim().to_owned());
        entries.push(Entry { line, section, key, value });
    }
    Ok(entries)
}

/// The global file as messages name it: where it is, or where it would be.
pub(super) fn global_file_shown() -> String {
    global_file().map_or_else(|| "~/.config/jug/jugrc".to_owned(), |path| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_configparser_files() {
        // Keys may be indented under their section, as long as no key is deeper than the last.
        let text = "\u{feff}# comment\n; comment\n\n[main]\njugdir = %(jugfile)s.rcdata\n[execute]\n  \
                    Wait_Cycle_Time: 3\n  short =\n";
        let entries = parse_ini(text).unwrap();
        let pairs: Vec<_> = entries.iter().map(|e| (e.line, &*e.section, &*e.key, &*e.value)).collect();
        assert_eq!(
            pairs,
            [
                (5, "main", "jugdir", "%(jugfile)s.rcdata"),
                (7, "execute", "wait_cycle_time", "3"),
                (8, "execute", "short", ""),
            ]
        );
        assert_eq!(parse_ini("[main]\nstore = redis://h:6379/ # x").unwrap()[0].value, "redis://h:6379/ # x");
    }

    #[test]
    fn reports_malformed_lines() {
        assert_eq!(parse_ini("short = on\n").unwrap_err().0, 1);
        assert_eq!(parse_ini("[main]\n\nshort\n").unwrap_err().0, 3);
        assert_eq!(parse_ini("[main\n").unwrap_err().0, 1);
        assert_eq!(parse_ini("[main]\n= on\n").unwrap_err().0, 2);
        assert_eq!(parse_ini("[main]\nstore = a\n    b\n").unwrap_err().0, 3);
    }
}
