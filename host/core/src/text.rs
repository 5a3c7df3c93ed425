//! Text from a guest, made safe to show a person.
//!
//! A task's error message, its output and a graph builder's log are written by the guest, and
//! a hostile one can put terminal control sequences in them: erase the line that reports its
//! failure, set the window title, or print a fake `Executed: all tasks OK`. Everything that
//! shows guest text on a terminal passes it through here, which spells control characters
//! out (`\u{1b}`) instead of sending them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Guest text for one line of ours: every control character escaped, newlines too.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Guest text of several lines (a task's output): control characters escaped except the
/// newline and the tab, so lines stay lines but none can be rewritten.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !(keep_lines && (c == '\n' || c == '\t'));
    if !text.contains(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' if !keep_lines => out.push_str("\\n"),
            '\t' if !keep_lines => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// C0 and C1 controls and DEL (ESC starts a sequence; U+009B is a one-character CSI on some
/// terminals), and the bidirectional overrides that make text display in another order than
/// it reads.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_spelled_out() {
        let attack = "boom\x1b[2K\r\x1b]0;owned\x07\u{9b}31m\nExecuted: all tasks OK\u{202e}";
        assert_eq!(
            one_line(attack),
            "boom\\u{1b}[2K\\r\\u{1b}]0;owned\\u{7}\\u{9b}31m\\nExecuted: all tasks OK\\u{202e}"
        );
        assert_eq!(lines("a\tb\nc\x1bd\r\n"), "a\tb\nc\\u{1b}d\\r\n");
        assert!(!one_line(attack).contains(|c: char| c.is_control()));
    }

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(one_line("ok: 3 tasks, ünïcode"), Cow::Borrowed(_)));
        assert!(matches!(lines("line one\n\tline two\n"), Cow::Borrowed(_)));
    }
}
