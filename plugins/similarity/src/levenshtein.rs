//! Levenshtein distance with the bit-parallel algorithm of Myers (1999) in
//! the formulation of Hyyrö (2003), one 64-bit word per 64 characters of the
//! shorter text ("block-based" for texts longer than 64 characters).
//!
//! Work per pair: O(⌈m/64⌉ · n) word operations for texts of m ≤ n
//! characters, after the common prefix and suffix are removed (they never
//! change the distance). Two paths share the core:
//!
//! - both texts ASCII: the bytes are the characters, no decoding;
//! - otherwise: the texts are decoded into Unicode scalar values once and
//!   every character is mapped to a dense alphabet index (ASCII directly,
//!   others through a small table), so the pattern table stays small.
//!
//! The distance is exact: `tests` compare it with the textbook dynamic
//! programme on every pair of strings up to length 7 over a 3-letter alphabet
//! and on random pairs of up to 300 characters crossing word boundaries.

use std::collections::HashMap;

/// Levenshtein distance (unit costs for insertion, deletion, substitution)
/// between `a` and `b`, counted in Unicode scalar values.
pub fn distance(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        distance_bytes(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        distance_chars(&a, &b)
    }
}

/// `1 - distance / max(len_a, len_b)` over Unicode scalar values, 1.0 for two
/// empty texts: Python `rapidfuzz.distance.Levenshtein.normalized_similarity`
/// (computed in the same order, so the floats are identical).
pub fn normalized_similarity(a: &str, b: &str) -> f64 {
    let (dist, max) = if a.is_ascii() && b.is_ascii() {
        (
            distance_bytes(a.as_bytes(), b.as_bytes()),
            a.len().max(b.len()),
        )
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        (distance_chars(&a, &b), a.len().max(b.len()))
    };
    if max == 0 {
        return 1.0;
    }
    1.0 - dist as f64 / max as f64
}

/// Distance between two byte strings (each byte one symbol).
pub fn distance_bytes(a: &[u8], b: &[u8]) -> usize {
    let (a, b) = strip_common_affixes(a, b);
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if pattern.is_empty() {
        return text.len();
    }
    // Dense alphabet of the pattern's bytes; index 0 is "not in the pattern".
    let mut index = [0u8; 256];
    let mut symbols = 1usize;
    for &byte in pattern {
        if index[byte as usize] == 0 {
            index[byte as usize] = symbols as u8;
            symbols += 1;
            if symbols == 256 {
                // Every byte value but one occurs: index 0 would be taken.
                return myers(pattern, text, 257, |byte| byte as usize + 1);
            }
        }
    }
    myers(pattern, text, symbols, |byte| index[byte as usize] as usize)
}

/// Distance between two character strings.
pub fn distance_chars(a: &[char], b: &[char]) -> usize {
    let (a, b) = strip_common_affixes(a, b);
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if pattern.is_empty() {
        return text.len();
    }
    // ASCII characters index themselves (+1); other characters of the
    // pattern get indices from 129 on; characters only in the text get 0.
    let mut others: HashMap<char, usize> = HashMap::new();
    for &c in pattern {
        if !c.is_ascii() {
            let next = 129 + others.len();
            others.entry(c).or_insert(next);
        }
    }
    let symbols = 129 + others.len();
    myers(pattern, text, symbols, |c| {
        if c.is_ascii() {
            c as usize + 1
        } else {
            others.get(&c).copied().unwrap_or(0)
        }
    })
}

/// Removes the common prefix and suffix.
fn strip_common_affixes<'a, T: PartialEq>(mut a: &'a [T], mut b: &'a [T]) -> (&'a [T], &'a [T]) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    a = &a[prefix..];
    b = &b[prefix..];
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (&a[..a.len() - suffix], &b[..b.len() - suffix])
}

/// Myers/Hyyrö over `pattern` (1 ≤ m ≤ n symbols) and `text`: `index` maps a
/// symbol to its row in the pattern table, `0` for symbols that do not occur
/// in the pattern (an all-zero row); `symbols` is one more than the largest
/// index.
fn myers<T: Copy>(pattern: &[T], text: &[T], symbols: usize, index: impl Fn(T) -> usize) -> usize {
    let m = pattern.len();
    let words = m.div_ceil(64);
    // peq[symbol * words + word]: bit i of word w is set when pattern[64w + i]
    // is the symbol.
    let mut peq = vec![0u64; symbols * words];
    for (i, &s) in pattern.iter().enumerate() {
        peq[index(s) * words + i / 64] |= 1u64 << (i % 64);
    }
    if words == 1 {
        return myers_one_word(m, text, |s| peq[index(s)]);
    }
    myers_blocks(m, words, text, |s| {
        let row = index(s) * words;
        &peq[row..row + words]
    })
}

/// One word: the pattern has at most 64 symbols.
fn myers_one_word<T: Copy>(m: usize, text: &[T], peq: impl Fn(T) -> u64) -> usize {
    let last = 1u64 << (m - 1);
    let mut vp = if m == 64 { !0 } else { (1u64 << m) - 1 };
    let mut vn = 0u64;
    let mut score = m;
    for &s in text {
        let x = peq(s) | vn;
        let d0 = ((x & vp).wrapping_add(vp) ^ vp) | x;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        if hp & last != 0 {
            score += 1;
        } else if hn & last != 0 {
            score -= 1;
        }
        // The top row of the matrix is 0, 1, 2, ...: every column adds +1
        // at row 0, which enters as the shifted-in 1 of `hp`.
        let hp = (hp << 1) | 1;
        let hn = hn << 1;
        vp = hn | !(d0 | hp);
        vn = hp & d0;
    }
    score
}

/// Several words (m > 64): horizontal deltas carry from one word to the
/// next, and only the words that can lie on an optimal path are computed
/// (Ukkonen's band, as rapidfuzz does it).
///
/// With `k` an upper bound of the distance and Δ = n - m, a cell (row i,
/// column j) can only be on an optimal path when
/// `|i - j| + |(m - i) - (n - j)| <= k`, i.e. when
/// `j - (k + Δ) / 2 <= i <= j + (k - Δ) / 2`. Words entirely above that
/// band are dropped for good; words below it are not computed until the
/// band reaches them, and start as if every vertical step cost 1. `k`
/// starts at n and shrinks to the cost of a real path after every column:
/// the computed value at the bottom of the word on the diagonal (and of
/// the lowest word) plus the rest of the way (`max(m - row, n - j)`). Every computed value is the cost of a real
/// path (dropped and not-yet-computed cells only ever overestimate), and
/// the cells of an optimal path stay inside the band, so the result is
/// exact; `tests` compare it with the dynamic programme.
///
/// The words of a column are walked with iterators (no bounds checks,
/// which matter inside a component) and scores change without branches.
fn myers_blocks<'p, T: Copy>(
    m: usize,
    words: usize,
    text: &[T],
    peq: impl Fn(T) -> &'p [u64],
) -> usize {
    let n = text.len();
    debug_assert!(m <= n && words == m.div_ceil(64) && words > 1);
    let delta = n - m;
    // The pattern's row (1-based) at the bottom of word w, and its bit.
    let bottom = |w: usize| if w + 1 == words { m } else { 64 * (w + 1) };
    let last_bit = |w: usize| if w + 1 == words { (m - 1) % 64 } else { 63 };
    // The lowest word that holds a row <= `row`.
    let word_of = |row: usize| (row.clamp(1, m) - 1) / 64;
    let mut k = n;
    // (vp, vn) per word: vertical positive and negative deltas.
    let mut state = vec![(!0u64, 0u64); words];
    let mut first = 0usize;
    let mut last = word_of(1 + (k - delta) / 2);
    // The value at the bottom row of word `last`, column 0.
    let mut score = bottom(last);
    for (j, &s) in (1..).zip(text) {
        // Words the band reaches from below: their values at column j-1
        // are taken as the last word's bottom value plus one per row.
        let reach = word_of(j + (k - delta) / 2);
        while last < reach {
            last += 1;
            state[last] = (!0, 0);
            score += bottom(last) - bottom(last - 1);
        }
        // Words the band has left above, for good.
        let above = (k + delta) / 2;
        while first < last && bottom(first) + above < j {
            first += 1;
        }
        let row = &peq(s)[first..=last];
        // The row above `first` grows by one per column: for first == 0
        // that is row 0 of the matrix (0, 1, 2, ...), for a dropped word
        // the cost of a real path (its last value, then insertions).
        let mut hp_carry = 1u64;
        let mut hn_carry = 0u64;
        let (mut hp_last, mut hn_last) = (0u64, 0u64);
        for (st, &eq) in state[first..=last].iter_mut().zip(row) {
            let (p, n) = *st;
            let x = eq | hn_carry;
            let d0 = ((x & p).wrapping_add(p) ^ p) | x | n;
            let hp = n | !(d0 | p);
            let hn = d0 & p;
            hp_last = hp;
            hn_last = hn;
            let hp_out = hp >> 63;
            let hn_out = hn >> 63;
            let hp = (hp << 1) | hp_carry;
            let hn = (hn << 1) | hn_carry;
            *st = (hn | !(d0 | hp), hp & d0);
            hp_carry = hp_out;
            hn_carry = hn_out;
        }
        let bit = last_bit(last);
        score += ((hp_last >> bit) & 1) as usize;
        score -= ((hn_last >> bit) & 1) as usize;
        // A real path: down to the bottom of a word at column j, then the
        // rest of the way at one per step. Every 8 columns, also through
        // the word on the diagonal: its bottom value is the last word's
        // minus the vertical deltas in between.
        k = k.min(score + (m - bottom(last)).max(n - j));
        if j % 8 == 0 {
            let diagonal = word_of(j).clamp(first, last);
            let mut value = score as isize;
            for (w, &(p, n)) in state.iter().enumerate().take(last + 1).skip(diagonal + 1) {
                let valid = if w + 1 == words {
                    !0u64 >> (63 - last_bit(w))
                } else {
                    !0
                };
                value -= (p & valid).count_ones() as isize - (n & valid).count_ones() as isize;
            }
            let via = value as usize + (m - bottom(diagonal)).max(n - j);
            k = k.min(via);
        }
    }
    debug_assert_eq!(last, words - 1);
    score
}

/// The textbook dynamic programme (two rows), the reference the fast paths
/// are tested against.
pub fn distance_naive<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(x != y);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every pair of strings over {a, b, c} up to length 5 (364 strings,
    /// 132,496 pairs), and a regular sample of the pairs up to length 7
    /// (every 7th string against every 11th: 140,231 pairs), through both
    /// the byte and the character path.
    #[test]
    fn exhaustive_small_alphabet() {
        fn all(max_len: usize) -> Vec<Vec<u8>> {
            let mut out = vec![Vec::new()];
            let mut frontier = vec![Vec::new()];
            for _ in 0..max_len {
                let mut next = Vec::new();
                for s in &frontier {
                    for c in b"abc" {
                        let mut t: Vec<u8> = s.clone();
                        t.push(*c);
                        next.push(t);
                    }
                }
                out.extend(next.iter().cloned());
                frontier = next;
            }
            out
        }
        let short = all(5);
        for a in &short {
            for b in &short {
                assert_eq!(distance_bytes(a, b), distance_naive(a, b), "{a:?} {b:?}");
            }
        }
        let long = all(7);
        for a in long.iter().step_by(7) {
            for b in long.iter().step_by(11) {
                assert_eq!(distance_bytes(a, b), distance_naive(a, b), "{a:?} {b:?}");
                let ca: Vec<char> = a.iter().map(|&c| c as char).collect();
                let cb: Vec<char> = b.iter().map(|&c| c as char).collect();
                assert_eq!(distance_chars(&ca, &cb), distance_naive(a, b));
            }
        }
    }

    /// Word boundaries: patterns of 63, 64, 65, 127, 128, 129 symbols.
    #[test]
    fn lengths_around_word_boundaries() {
        let mut seed = 7u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for &m in &[1usize, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 300] {
            for &extra in &[0usize, 1, 5, 70, 200] {
                for alphabet in [2u64, 4, 26] {
                    let a: Vec<u8> = (0..m).map(|_| b'a' + (next() % alphabet) as u8).collect();
                    let b: Vec<u8> = (0..m + extra)
                        .map(|_| b'a' + (next() % alphabet) as u8)
                        .collect();
                    assert_eq!(distance_bytes(&a, &b), distance_naive(&a, &b), "m={m}");
                    assert_eq!(distance_bytes(&b, &a), distance_naive(&a, &b), "m={m}");
                }
            }
        }
    }

    #[test]
    fn unicode_counts_characters() {
        assert_eq!(distance("Grüße", "Grüsse"), 2);
        assert_eq!(distance("🦀🦀", "🦀"), 1);
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("", "日本語"), 3);
        assert_eq!(distance("日本語", "日本"), 1);
        assert_eq!(normalized_similarity("", ""), 1.0);
        assert_eq!(normalized_similarity("abcd", "abcx"), 0.75);
    }

    /// A pattern that uses 255 or 256 distinct byte values (the dense index
    /// overflows into the fallback).
    #[test]
    fn every_byte_value() {
        let all: Vec<u8> = (0..=255u8).collect();
        let mut shifted = all.clone();
        shifted.rotate_left(3);
        assert_eq!(
            distance_bytes(&all, &shifted),
            distance_naive(&all, &shifted)
        );
        let most: Vec<u8> = (1..=255u8).collect();
        assert_eq!(distance_bytes(&most, &all), 1);
        assert_eq!(distance_bytes(&all, &most), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Random strings over a small alphabet (long enough for several
        /// words), and their similar variants.
        #[test]
        fn bytes_match_the_dynamic_programme(
            a in proptest::collection::vec(b'a'..=b'e', 0..300),
            b in proptest::collection::vec(b'a'..=b'e', 0..300),
        ) {
            prop_assert_eq!(distance_bytes(&a, &b), distance_naive(&a, &b));
        }

        #[test]
        fn edited_copies_match(
            a in proptest::collection::vec(b'a'..=b'z', 1..400),
            edits in proptest::collection::vec((0usize..400, b'a'..=b'z', 0u8..3), 0..40),
        ) {
            let mut b = a.clone();
            for (at, c, kind) in edits {
                let at = at % (b.len() + 1);
                match kind {
                    0 => b.insert(at, c),
                    1 if at < b.len() => { b.remove(at); }
                    _ if at < b.len() => b[at] = c,
                    _ => b.push(c),
                }
            }
            prop_assert_eq!(distance_bytes(&a, &b), distance_naive(&a, &b));
        }

        /// Long texts with few edits (the band narrows) and texts of very
        /// different lengths (the band is skewed).
        #[test]
        fn long_similar_and_skewed_pairs_match(
            a in proptest::collection::vec(b'a'..=b'h', 65..900),
            edits in proptest::collection::vec((0usize..900, b'a'..=b'h', 0u8..3), 0..12),
            tail in proptest::collection::vec(b'a'..=b'h', 0..300),
            skew in 0u8..3,
        ) {
            let mut b = a.clone();
            for (at, c, kind) in edits {
                let at = at % (b.len() + 1);
                match kind {
                    0 => b.insert(at, c),
                    1 if at < b.len() => { b.remove(at); }
                    _ if at < b.len() => b[at] = c,
                    _ => b.push(c),
                }
            }
            match skew {
                0 => b.extend(&tail),
                1 => { let mut t = tail.clone(); t.extend(&b); b = t; }
                _ => {}
            }
            let want = distance_naive(&a, &b);
            prop_assert_eq!(distance_bytes(&a, &b), want);
            prop_assert_eq!(distance_bytes(&b, &a), want);
        }

        /// Many distinct non-ASCII characters (CJK, accents, emoji) in
        /// texts longer than one word, edited copies and unrelated pairs.
        #[test]
        fn long_non_ascii_pairs_match(
            a in "[a-eäöüßéèç日本語中文字🦀🎉 ,.\u{4e00}-\u{4e3f}]{60,400}",
            b in "[a-eäöüßéèç日本語中文字🦀🎉 ,.\u{4e00}-\u{4e3f}]{0,400}",
            cut in 0usize..400,
        ) {
            let ca: Vec<char> = a.chars().collect();
            let cb: Vec<char> = b.chars().collect();
            prop_assert_eq!(distance(&a, &b), distance_naive(&ca, &cb));
            // An edited copy: a prefix of `a`, then `b`.
            let cut = cut.min(ca.len());
            let mixed: String = ca[..cut].iter().chain(&cb).collect();
            let cm: Vec<char> = mixed.chars().collect();
            prop_assert_eq!(distance(&a, &mixed), distance_naive(&ca, &cm));
            let expected = 1.0 - distance_naive(&ca, &cm) as f64 / ca.len().max(cm.len()).max(1) as f64;
            prop_assert_eq!(normalized_similarity(&a, &mixed), if ca.is_empty() && cm.is_empty() { 1.0 } else { expected });
        }

        /// Non-ASCII text goes through the character path.
        #[test]
        fn chars_match_the_dynamic_programme(
            a in "[aäbß日🦀 ]{0,150}",
            b in "[aäbß日🦀 c]{0,150}",
        ) {
            let ca: Vec<char> = a.chars().collect();
            let cb: Vec<char> = b.chars().collect();
            prop_assert_eq!(distance(&a, &b), distance_naive(&ca, &cb));
        }
    }
}
