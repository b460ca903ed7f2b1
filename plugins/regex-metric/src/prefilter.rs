//! Literal prefilters: before a pattern's automaton runs over a text, look
//! for a literal that every match must contain. Inside a component the regex
//! crate has no SIMD prefilter of its own (its Teddy searcher exists only for
//! x86_64 and aarch64) and falls back to slower engines on non-ASCII text
//! when a pattern uses Unicode `\b`, so most of a regex metric's time went
//! into running automata over texts that cannot match.
//!
//! The literal is found in the pattern's syntax tree (regex-syntax, parsed
//! with the flags `Regex::new` uses):
//!
//! - in a concatenation, the best run of adjacent literal characters
//!   (look-arounds like `\b` are zero-width and do not break a run), or the
//!   requirement of one of its parts;
//! - in an alternation, one literal per branch (any of them must occur);
//! - a repetition with a minimum of at least one, or a group: its contents.
//!
//! Case-insensitive letters (`(?i)`) are searched ASCII-case-insensitively.
//! Unicode simple case folding also maps two non-ASCII characters onto
//! ASCII letters (KELVIN SIGN, LONG S; computed from regex-syntax's tables):
//! a text that holds one of them skips case-insensitive prefilters. The
//! prefilter may say "maybe" when the regex does not match, never "no" when
//! it does (`tests` check this on random patterns and texts).
//!
//! Searchers: one literal: `memchr::memmem` (exact) or `memchr2` on its
//! rarest byte plus a comparison (ignoring ASCII case); several: an
//! Aho-Corasick DFA.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use memchr::memmem::Finder;
use regex_syntax::hir::{Class, ClassUnicode, Hir, HirKind};
use std::sync::OnceLock;

/// Most literals a prefilter set may hold (beyond that, run the regex).
const MAX_LITERALS: usize = 64;

/// What a text needs to be known for prefiltering.
#[derive(Debug, Clone, Copy)]
pub struct TextInfo {
    /// Whether the text holds a non-ASCII character that folds onto ASCII.
    folds_into_ascii: bool,
}

impl TextInfo {
    /// Looks at `text` once (a fast ASCII check; a search for the two
    /// special characters only in non-ASCII texts).
    pub fn new(text: &str) -> Self {
        let folds_into_ascii = !text.is_ascii()
            && fold_specials()
                .iter()
                .any(|s| memchr::memmem::find(text.as_bytes(), s.as_bytes()).is_some());
        TextInfo { folds_into_ascii }
    }
}

/// A literal every match contains.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Lit {
    /// The bytes; ASCII letters lower-cased when `ci`.
    bytes: Vec<u8>,
    /// Whether ASCII letters may appear in any case.
    ci: bool,
}

/// The prefilter of one pattern.
#[derive(Debug)]
pub enum Prefilter {
    /// No literal found: always run the regex.
    None,
    /// One literal, exact.
    Exact(Box<Finder<'static>>),
    /// One literal, ASCII letters in any case.
    AsciiCi(CiLiteral),
    /// One of several literals.
    Set {
        /// The searcher.
        searcher: AhoCorasick,
        /// Whether it ignores ASCII case.
        ci: bool,
    },
}

impl Prefilter {
    /// The prefilter for `pattern` (`None` when no literal is required or
    /// the pattern does not parse).
    pub fn new(pattern: &str) -> Self {
        let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
            return Prefilter::None;
        };
        match required(&hir) {
            Some(lits) => build(lits),
            None => Prefilter::None,
        }
    }

    /// Whether this prefilter ever rules a text out.
    pub fn is_active(&self) -> bool {
        !matches!(self, Prefilter::None)
    }

    /// `false` only when the pattern cannot match `text`.
    pub fn may_match(&self, text: &str, info: &TextInfo) -> bool {
        match self {
            Prefilter::None => true,
            Prefilter::Exact(finder) => finder.find(text.as_bytes()).is_some(),
            Prefilter::AsciiCi(lit) => info.folds_into_ascii || lit.occurs(text.as_bytes()),
            Prefilter::Set { searcher, ci } => {
                (*ci && info.folds_into_ascii) || searcher.is_match(text)
            }
        }
    }
}

fn build(mut lits: Vec<Lit>) -> Prefilter {
    // A case-insensitive literal without letters is exact.
    for lit in &mut lits {
        if lit.ci && !lit.bytes.iter().any(u8::is_ascii_alphabetic) {
            lit.ci = false;
        }
    }
    lits.sort();
    lits.dedup();
    if lits.len() == 1 {
        let lit = lits.pop().expect("one literal");
        return if lit.ci {
            Prefilter::AsciiCi(CiLiteral::new(lit.bytes))
        } else {
            Prefilter::Exact(Box::new(Finder::new(&lit.bytes).into_owned()))
        };
    }
    let ci = lits.iter().any(|l| l.ci);
    let searcher = AhoCorasick::builder()
        .ascii_case_insensitive(ci)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(lits.iter().map(|l| &l.bytes));
    match searcher {
        Ok(searcher) => Prefilter::Set { searcher, ci },
        Err(_) => Prefilter::None,
    }
}

/// The literals (any of them) that every match of `hir` contains, or `None`.
fn required(hir: &Hir) -> Option<Vec<Lit>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![Lit {
            bytes: lit.0.to_vec(),
            ci: false,
        }]),
        HirKind::Class(Class::Unicode(class)) => ci_letter(class).map(|b| {
            vec![Lit {
                bytes: vec![b],
                ci: true,
            }]
        }),
        HirKind::Class(Class::Bytes(_)) | HirKind::Look(_) | HirKind::Empty => None,
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Repetition(_) => None,
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Concat(items) => concat(items),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required(branch)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(all)
        }
    }
}

/// The best requirement of a concatenation: a run of adjacent literal
/// characters, or the requirement of one item.
fn concat(items: &[Hir]) -> Option<Vec<Lit>> {
    let mut best: Option<Vec<Lit>> = None;
    let mut run = Lit::default();
    let flush = |run: &mut Lit, best: &mut Option<Vec<Lit>>| {
        if !run.bytes.is_empty() {
            consider(best, vec![std::mem::take(run)]);
        }
    };
    for item in items {
        match item.kind() {
            HirKind::Literal(lit) => run.bytes.extend_from_slice(&lit.0),
            HirKind::Class(Class::Unicode(class)) if ci_letter(class).is_some() => {
                run.bytes.push(ci_letter(class).expect("checked"));
                run.ci = true;
            }
            // Zero-width: the characters on both sides are adjacent.
            HirKind::Look(_) | HirKind::Empty => {}
            _ => {
                flush(&mut run, &mut best);
                if let Some(r) = required(item) {
                    consider(&mut best, r);
                }
            }
        }
    }
    flush(&mut run, &mut best);
    best
}

/// Keeps the better of two requirements: the one whose weakest literal is
/// the most selective, then the one with fewer literals.
fn consider(best: &mut Option<Vec<Lit>>, candidate: Vec<Lit>) {
    let quality = |lits: &[Lit]| {
        let weakest = lits
            .iter()
            .map(|l| selectivity(&l.bytes))
            .min()
            .unwrap_or(0);
        (weakest, usize::MAX - lits.len())
    };
    if best
        .as_ref()
        .is_none_or(|b| quality(&candidate) > quality(b))
    {
        *best = Some(candidate);
    }
}

/// How selective a literal is: its length, with rare bytes counting more.
fn selectivity(bytes: &[u8]) -> usize {
    bytes.iter().map(|&b| rarity(b)).sum()
}

fn rarity(b: u8) -> usize {
    match b {
        b' ' | b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' | b'l' | b'.'
        | b',' => 1,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'\n' | b'-' | b'\'' => 2,
        _ => 4,
    }
}

/// `Some(lowercase)` when `class` is one ASCII letter in both cases (plus,
/// possibly, the non-ASCII characters that fold onto it): what `(?i)k`
/// becomes.
fn ci_letter(class: &ClassUnicode) -> Option<u8> {
    let mut ascii = Vec::new();
    let mut count = 0u32;
    for range in class.iter() {
        count += u32::from(range.end()) - u32::from(range.start()) + 1;
        if count > 4 {
            return None;
        }
        for c in range.start()..=range.end() {
            if c.is_ascii() {
                ascii.push(c as u8);
            } else if !fold_specials().iter().any(|s| s.starts_with(c)) {
                return None;
            }
        }
    }
    match ascii.as_slice() {
        [a, b] if a.is_ascii_uppercase() && a.to_ascii_lowercase() == *b => Some(*b),
        _ => None,
    }
}

/// A literal whose ASCII letters may appear in any case.
#[derive(Debug)]
pub struct CiLiteral {
    /// Lower-cased bytes.
    bytes: Vec<u8>,
    /// Offset of the byte the search looks for first.
    anchor: usize,
}

impl CiLiteral {
    fn new(bytes: Vec<u8>) -> Self {
        let anchor = (0..bytes.len())
            .max_by_key(|&i| rarity(bytes[i]))
            .unwrap_or(0);
        CiLiteral { bytes, anchor }
    }

    fn occurs(&self, text: &[u8]) -> bool {
        let b = self.bytes[self.anchor];
        let (lower, upper) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
        let len = self.bytes.len();
        memchr::memchr2_iter(lower, upper, text).any(|at| {
            at >= self.anchor
                && at - self.anchor + len <= text.len()
                && text[at - self.anchor..at - self.anchor + len].eq_ignore_ascii_case(&self.bytes)
        })
    }
}

/// Non-ASCII characters that match an ASCII letter under the regex crate's
/// case-insensitive matching (Unicode simple case folding), as UTF-8.
pub fn fold_specials() -> &'static [String] {
    static SPECIALS: OnceLock<Vec<String>> = OnceLock::new();
    SPECIALS.get_or_init(|| {
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
    use regex::Regex;

    fn lits(pattern: &str) -> Option<Vec<Lit>> {
        required(&regex_syntax::Parser::new().parse(pattern).unwrap())
    }

    fn exact(s: &str) -> Lit {
        Lit {
            bytes: s.as_bytes().to_vec(),
            ci: false,
        }
    }

    fn ci(s: &str) -> Lit {
        Lit {
            bytes: s.as_bytes().to_vec(),
            ci: true,
        }
    }

    #[test]
    fn literals_of_typical_patterns() {
        assert_eq!(
            lits(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
            Some(vec![exact("@")])
        );
        assert_eq!(lits(r"\bTODO\b"), Some(vec![exact("TODO")]));
        assert_eq!(lits(r"(?i)\bas an ai\b"), Some(vec![ci("as an ai")]));
        // The alternation's literals are more selective than `<|`.
        assert_eq!(
            lits(r"<\|(?:im_start|im_end)\|>"),
            Some(vec![exact("im_start"), exact("im_end")])
        );
        let refusal = lits(r"(?i)\b(?:i can't help|i'm unable to|leider kann ich)\b").unwrap();
        assert_eq!(refusal.len(), 3, "{refusal:?}");
        assert_eq!(lits(r"\d+"), None);
        assert_eq!(lits(r"(?i)grüße"), Some(vec![ci("gr")]));
        assert_eq!(lits(r"a?b*"), None);
        assert_eq!(lits(r"x|\d"), None);
        assert!(matches!(Prefilter::new(r"\bTODO\b"), Prefilter::Exact(_)));
        assert!(matches!(Prefilter::new(r"(?i)todo"), Prefilter::AsciiCi(_)));
        assert!(matches!(
            Prefilter::new(r"(?i)ab|cd"),
            Prefilter::Set { .. }
        ));
        assert!(!Prefilter::new(r"[.!?]\s*$").is_active());
    }

    #[test]
    fn case_folding_specials_bypass_case_insensitive_prefilters() {
        let p = Prefilter::new("(?i)kelvin");
        let text = "\u{212A}ELVIN";
        assert!(Regex::new("(?i)kelvin").unwrap().is_match(text));
        assert!(p.may_match(text, &TextInfo::new(text)));
        let text = "no such word";
        assert!(!p.may_match(text, &TextInfo::new(text)));
    }

    fn sound(pattern: &str, text: &str) {
        let Ok(re) = Regex::new(pattern) else {
            return;
        };
        let pre = Prefilter::new(pattern);
        if re.is_match(text) {
            assert!(
                pre.may_match(text, &TextInfo::new(text)),
                "prefilter of /{pattern}/ rejects {text:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Random patterns from pieces that exercise every rule, against
        /// texts over a matching alphabet: a regex match is never ruled out.
        #[test]
        fn never_rules_out_a_match(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("a"), Just("b"), Just("k"), Just("K"), Just("s"), Just("ü"), Just("@"),
                    Just("\\."), Just("(?i)"), Just("(?-i)"), Just("\\b"), Just("^"), Just("$"),
                    Just("(?:ab|k@)"), Just("[ab]"), Just("[kK]"), Just("a+"), Just("b*"),
                    Just("(s)"), Just("|"), Just("x{2}"), Just("(?i:sk)"), Just("\\w"), Just(" "),
                ],
                1..8,
            ),
            text in "[abkKsSüÜ@. x_\u{17F}\u{212A}é]{0,24}",
        ) {
            let pattern: String = pieces.concat();
            sound(&pattern, &text);
        }
    }
}
