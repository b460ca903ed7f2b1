//! Text that came from a metric, made inert before it reaches a terminal, a
//! log or a report.
//!
//! A metric is untrusted: a reason, a label, a log line or a panic message
//! may carry CR/LF (to forge a log or summary line), ANSI escapes (to clear
//! the screen or recolour a verdict), BEL, or Unicode bidirectional overrides
//! (to make text read differently than it is). [`inert`] escapes all of them
//! and caps the length; the engine applies it wherever guest text enters the
//! host, so no renderer has to.

use std::fmt::Write;

/// Whether `c` could change how surrounding text is displayed: C0 and C1
/// control characters (tab included), DEL, and the bidirectional
/// embedding, override and isolate characters.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [unsafe character](is_unsafe_char) escaped Rust-style
/// (`\n`, `\r`, `\t`, `\u{1b}`), cut to at most `max` bytes on a character
/// boundary (with `…` when cut). Safe text is returned unchanged.
pub fn inert(text: &str, max: usize) -> String {
    let clean = if text.chars().any(is_unsafe_char) {
        let mut out = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if is_unsafe_char(c) => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
            if out.len() > max {
                break;
            }
        }
        out
    } else {
        text.to_owned()
    };
    truncate(clean, max)
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the
/// cut with `…`.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            inert("ok\r\nINFO forged\u{1b}[2J\u{7}\u{202e}x", 100),
            "ok\\r\\nINFO forged\\u{1b}[2J\\u{7}\\u{202e}x"
        );
        assert_eq!(inert("Grüße, 日本 ✓", 100), "Grüße, 日本 ✓");
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        assert_eq!(inert("Grüße", 3), "Gr…");
        assert_eq!(inert("abc", 3), "abc");
        assert_eq!(truncate("Grüße".into(), 3), "Gr…");
        let long = "\u{1b}".repeat(10_000);
        assert!(inert(&long, 64).len() <= 64 + '…'.len_utf8());
    }
}
