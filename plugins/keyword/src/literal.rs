//! Literal term search with the same answers as the regex the metric used
//! to build for every term (`\b{start-half}TERM\b{end-half}` with Unicode
//! case folding), but without running an automaton in the common case:
//!
//! - case-sensitive terms: `memchr::memmem` over the text;
//! - case-insensitive ASCII terms: `memmem` over an ASCII-lower-cased copy
//!   of the text (made once per sample and shared by all terms), unless the
//!   text holds one of the few non-ASCII characters that Unicode simple case
//!   folding maps onto an ASCII letter (KELVIN SIGN, LATIN SMALL LETTER LONG
//!   S; the list is computed from regex-syntax's tables, not written down);
//! - everything else (non-ASCII terms that ignore case, or such texts): the
//!   regex, compiled once per term.
//!
//! Whole-word checks look at the characters right before and after each
//! occurrence with regex-syntax's Unicode word-character table, which is the
//! one `\b` uses. `tests` compare the fast path with the regex on random
//! texts.

use memchr::memmem::Finder;
use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// One term and its matchers.
#[derive(Debug)]
pub struct Literal {
    /// The term as configured.
    pub term: String,
    /// Searches the text (case-sensitive) or its lower-cased copy.
    finder: Finder<'static>,
    /// Whether the fast path applies to this term at all.
    fast: bool,
    case_sensitive: bool,
    whole_word: bool,
    /// The equivalent regex, built on first need.
    regex: OnceLock<Result<Regex, String>>,
}

/// The text of a sample as the terms need it.
pub struct Haystack<'t> {
    text: &'t str,
    /// ASCII-lower-cased copy, made on first need.
    lowered: Option<String>,
    /// Whether the text holds a non-ASCII character that folds onto ASCII.
    folds_into_ascii: bool,
}

impl<'t> Haystack<'t> {
    /// Prepares `text` for searching.
    pub fn new(text: &'t str) -> Self {
        let folds_into_ascii = !text.is_ascii()
            && fold_specials()
                .iter()
                .any(|s| memchr::memmem::find(text.as_bytes(), s.as_bytes()).is_some());
        Haystack {
            text,
            lowered: None,
            folds_into_ascii,
        }
    }

    fn lowered(&mut self) -> &str {
        self.lowered
            .get_or_insert_with(|| self.text.to_ascii_lowercase())
    }
}

impl Literal {
    /// A matcher for `term` (not empty).
    pub fn new(term: &str, case_sensitive: bool, whole_word: bool) -> Self {
        let fast = case_sensitive || term.is_ascii();
        let needle = if case_sensitive {
            term.as_bytes().to_vec()
        } else {
            term.to_ascii_lowercase().into_bytes()
        };
        Literal {
            term: term.to_owned(),
            finder: Finder::new(&needle).into_owned(),
            fast,
            case_sensitive,
            whole_word,
            regex: OnceLock::new(),
        }
    }

    /// The regex with the metric's historical semantics.
    pub fn pattern(term: &str, whole_word: bool) -> String {
        let literal = regex::escape(term);
        if whole_word {
            // Half boundaries: no word character right before or after the
            // term, whatever the term's own edges are ("C++", "-x").
            format!(r"\b{{start-half}}{literal}\b{{end-half}}")
        } else {
            literal
        }
    }

    fn regex(&self) -> Result<&Regex, String> {
        self.regex
            .get_or_init(|| {
                RegexBuilder::new(&Self::pattern(&self.term, self.whole_word))
                    .case_insensitive(!self.case_sensitive)
                    .build()
                    .map_err(|e| format!("cannot build the matcher for {:?}: {e}", self.term))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Builds the regex now (for configured terms: errors at load time).
    pub fn check(&self) -> Result<(), String> {
        if self.fast {
            Ok(())
        } else {
            self.regex().map(|_| ())
        }
    }

    /// Whether the term occurs in the haystack.
    pub fn occurs(&self, hay: &mut Haystack<'_>) -> Result<bool, String> {
        if !self.fast || (!self.case_sensitive && hay.folds_into_ascii) {
            return Ok(self.regex()?.is_match(hay.text));
        }
        let text = hay.text;
        let searched = if self.case_sensitive {
            text
        } else {
            hay.lowered()
        };
        let bytes = searched.as_bytes();
        let len = self.finder.needle().len();
        let mut from = 0;
        while let Some(at) = self.finder.find(&bytes[from..]) {
            let start = from + at;
            let end = start + len;
            if !self.whole_word || (!word_before(text, start) && !word_after(text, end)) {
                return Ok(true);
            }
            // Next candidate: the next character boundary after `start`.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            if from > bytes.len() {
                break;
            }
        }
        Ok(false)
    }
}

fn word_before(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_some_and(regex_syntax::is_word_character)
}

fn word_after(text: &str, at: usize) -> bool {
    text[at..]
        .chars()
        .next()
        .is_some_and(regex_syntax::is_word_character)
}

/// Non-ASCII characters that match an ASCII letter under the regex crate's
/// case-insensitive matching (Unicode simple case folding), as UTF-8.
pub fn fold_specials() -> &'static [String] {
    static SPECIALS: OnceLock<Vec<String>> = OnceLock::new();
    SPECIALS.get_or_init(|| {
        use regex_syntax::hir::{Class, HirKind};
        let hir = regex_syntax::Parser::new()
            .parse("(?i)[a-z]")
            .expect("a valid class");
        let HirKind::Class(Class::Unicode(class)) = hir.kind() else {
            unreachable!("(?i)[a-z] is a Unicode class")
        };
        class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .filter(|c| !c.is_ascii())
            .map(String::from)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_folding_specials_are_kelvin_and_long_s() {
        assert_eq!(fold_specials(), ["\u{17F}", "\u{212A}"]);
    }

    fn agrees(term: &str, text: &str) {
        for case_sensitive in [false, true] {
            for whole_word in [false, true] {
                let lit = Literal::new(term, case_sensitive, whole_word);
                let fast = lit.occurs(&mut Haystack::new(text)).unwrap();
                let slow = RegexBuilder::new(&Literal::pattern(term, whole_word))
                    .case_insensitive(!case_sensitive)
                    .build()
                    .unwrap()
                    .is_match(text);
                assert_eq!(
                    fast, slow,
                    "term {term:?} text {text:?} cs={case_sensitive} ww={whole_word}"
                );
            }
        }
    }

    #[test]
    fn known_cases() {
        agrees("cat", "a category");
        agrees("cat", "a cat.");
        agrees("C++", "(C++)");
        agrees("AT&T", "by AT&T,");
        agrees("über", "Das ist ÜBER alles");
        agrees("über", "müber");
        agrees("Grüße", "Viele GRÜẞE");
        agrees("kelvin", "\u{212A}elvin");
        agrees("mask", "MA\u{17F}K here");
        agrees("aa", "aaa");
        agrees("a-a", "a-a-a");
        agrees("x", "éx");
        agrees("x", "x\u{301}");
        agrees("x", "日x日");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn fast_path_equals_the_regex(
            term in "[aAkKsSxü+ -]{1,4}",
            text in "[aAkKsSxüÜ+ _\u{17F}\u{212A}\u{301}é-]{0,30}",
        ) {
            prop_assume!(!term.trim().is_empty());
            agrees(&term, &text);
        }
    }
}
