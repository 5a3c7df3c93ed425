//! Choosing tasks by name, with Jug 2.7.0's two rules.
//!
//! - `--name N` is strict: shell wildcards (`*`, `?`, `[…]`, `[!…]`) that must match the whole
//!   task name, or a trailing part of it that starts right after a `.` (`is_prime` matches
//!   `primes.is_prime`; `sum_` does not match `primes.sum_2`, `sum_*` does).
//! - `--pattern P` is loose: a substring, or a regular expression searched anywhere when
//!   written `/regex/`. An empty pattern (`''` or `//`) is refused, since it would select
//!   everything (likely an unset shell variable); `/.*/` selects everything on purpose.

use regex::Regex;

/// A compiled `--name` or `--pattern`.
#[derive(Debug, Clone)]
pub enum Selector {
    Name { text: String, regex: Regex },
    Pattern { text: String, regex: Regex },
}

/// Why a selector could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error(
        "empty pattern ('{0}') is not allowed, as it would match every task (to select all tasks, use '/.*/')"
    )]
    EmptyPattern(String),
    #[error("invalid regular expression in --pattern '{pattern}': {problem}")]
    BadRegex { pattern: String, problem: String },
    #[error("invalid wildcard in --name '{0}'")]
    BadName(String),
}

impl Selector {
    /// A strict `--name` selector.
    pub fn name(name: &str) -> Result<Selector, SelectError> {
        let regex = Regex::new(&format!("^(?s:{})$", translate_wildcards(name)))
            .map_err(|_| SelectError::BadName(name.to_owned()))?;
        Ok(Selector::Name { text: name.to_owned(), regex })
    }

    /// A loose `--pattern` selector.
    pub fn pattern(pattern: &str) -> Result<Selector, SelectError> {
        if pattern.is_empty() || pattern == "//" {
            return Err(SelectError::EmptyPattern(pattern.to_owned()));
        }
        let source = match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
            Some(inner) if pattern.len() >= 2 => inner.to_owned(),
            _ => regex::escape(pattern),
        };
        let regex = Regex::new(&source).map_err(|e| SelectError::BadRegex {
            pattern: pattern.to_owned(),
            problem: e.to_string().lines().last().unwrap_or("").trim().to_owned(),
        })?;
        Ok(Selector::Pattern { text: pattern.to_owned(), regex })
    }

    /// Whether the task name `module.function` is selected.
    pub fn matches(&self, task_name: &str) -> bool {
        match self {
            Selector::Pattern { regex, .. } => regex.is_match(task_name),
            Selector::Name { regex, .. } => {
                let mut start = 0;
                loop {
                    if regex.is_match(&task_name[start..]) {
                        return true;
                    }
                    match task_name[start..].find('.') {
                        Some(dot) => start += dot + 1,
                        None => return false,
                    }
                }
            }
        }
    }

    /// The selector as the user wrote it, for messages.
    pub fn describe(&self) -> String {
        match self {
            Selector::Name { text, .. } => format!("--name '{text}'"),
            Selector::Pattern { text, .. } => format!("--pattern '{text}'"),
        }
    }
}

/// Python's `fnmatch.translate`, minus the anchoring.
fn translate_wildcards(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => match class_end(&chars, i) {
                Some(end) => {
                    let body = &chars[i + 1..end];
                    let (negated, body) = match body.split_first() {
                        Some(('!', rest)) => (true, rest),
                        _ => (false, body),
                    };
                    out.push('[');
                    if negated {
                        out.push('^');
                    }
                    for (k, &c) in body.iter().enumerate() {
                        // Characters the regex crate would read as class syntax.
                        if matches!(c, '\\' | '[' | '&' | '~') || (c == '^' && k == 0 && !negated) {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push(']');
                    i = end;
                }
                None => out.push_str("\\["),
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out
}

/// The index of the `]` closing a class opened at `open`, as fnmatch finds it.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut j = open + 1;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    (j < chars.len()).then_some(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, task: &str) -> bool {
        Selector::name(n).unwrap().matches(task)
    }

    fn pattern(p: &str, task: &str) -> bool {
        Selector::pattern(p).unwrap().matches(task)
    }

    #[test]
    fn name_is_strict_on_dot_boundaries() {
        assert!(name("is_prime", "primes.is_prime"));
        assert!(name("primes.is_prime", "primes.is_prime"));
        assert!(!name("prime", "primes.is_prime"));
        assert!(!name("sum_", "m.sum_2"));
        assert!(name("sum_*", "m.sum_2"));
        assert!(name("*prime", "primes.is_prime"));
        assert!(name("is_prim?", "primes.is_prime"));
        assert!(name("b.c", "a.b.c"));
        assert!(!name("s.is_prime", "primes.is_prime"));
    }

    #[test]
    fn name_supports_character_classes() {
        assert!(name("sum_[0-9]", "m.sum_2"));
        assert!(!name("sum_[!0-9]", "m.sum_2"));
        assert!(name("a[", "m.a["));
    }

    #[test]
    fn pattern_is_a_substring_or_a_regex() {
        assert!(pattern("prime", "primes.is_prime"));
        assert!(pattern("s.is", "primes.is_prime"));
        assert!(!pattern("a.b", "primes.aXb"));
        assert!(pattern("/is_.*e$/", "primes.is_prime"));
        assert!(!pattern("/^is/", "primes.is_prime"));
        assert!(pattern("/.*/", "anything"));
    }

    #[test]
    fn empty_and_broken_patterns_are_refused() {
        assert!(matches!(Selector::pattern(""), Err(SelectError::EmptyPattern(_))));
        assert!(matches!(Selector::pattern("//"), Err(SelectError::EmptyPattern(_))));
        assert!(matches!(Selector::pattern("/(/"), Err(SelectError::BadRegex { .. })));
    }
}
