//! Token measures without a `String` per token: each text is lower-cased
//! once, tokens are slices of it, and ROUGE-L maps them to dense integer ids
//! and runs a bit-parallel LCS (Allison-Dix / Crochemore et al. 2001, one
//! 64-bit word per 64 tokens of the shorter text).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: a small, fast hasher for short tokens (no denial-of-service
/// concern: the keys are the texts of one sample, thrown away after it).
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A hash map keyed by token slices.
pub type TokenMap<'a, V> = HashMap<&'a str, V, BuildHasherDefault<Fnv>>;

/// Lower-cases like Python `str.lower` (full Unicode mapping); ASCII texts
/// take the byte-wise path, which gives the same result.
pub fn lower(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.to_lowercase()
    }
}

/// ROUGE tokens of an already lower-cased text: maximal runs of `[a-z0-9]`.
pub fn rouge_token_slices(lowered: &str) -> impl Iterator<Item = &str> {
    lowered
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
}

/// Token-F1 tokens of an already lower-cased text: maximal runs of
/// alphanumeric characters.
pub fn f1_token_slices(lowered: &str) -> impl Iterator<Item = &str> {
    lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// Dense ids for tokens, shared by both texts of a pair.
#[derive(Default)]
pub struct Interner<'a> {
    ids: TokenMap<'a, u32>,
}

impl<'a> Interner<'a> {
    /// The id of `token`, assigning the next one when it is new.
    pub fn id(&mut self, token: &'a str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(token).or_insert(next)
    }

    /// How many distinct tokens were seen.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no token was seen.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Length of the longest common subsequence of two id sequences whose ids
/// are below `alphabet`, bit-parallel: O(⌈m/64⌉ · n) for m ≤ n.
pub fn lcs_ids(a: &[u32], b: &[u32], alphabet: usize) -> usize {
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let m = pattern.len();
    if m == 0 {
        return 0;
    }
    let words = m.div_ceil(64);
    let mut peq = vec![0u64; alphabet * words];
    for (i, &id) in pattern.iter().enumerate() {
        peq[id as usize * words + i / 64] |= 1u64 << (i % 64);
    }
    // Bit i of v is 0 where row i holds a match in the LCS frontier.
    let mut v = vec![!0u64; words];
    for &id in text {
        let row = &peq[id as usize * words..(id as usize + 1) * words];
        let mut carry = false;
        for (vw, &mw) in v.iter_mut().zip(row) {
            let u = *vw & mw;
            let (sum, c1) = vw.overflowing_add(u);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            carry = c1 || c2;
            *vw = sum | (*vw & !mw);
        }
    }
    let tail = m % 64;
    let mut zeros = 0usize;
    for (w, &vw) in v.iter().enumerate() {
        let bits = if w == words - 1 && tail != 0 {
            vw | !((1u64 << tail) - 1)
        } else {
            vw
        };
        zeros += bits.count_zeros() as usize;
    }
    zeros
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lcs_naive(a: &[u32], b: &[u32]) -> usize {
        crate::lcs_len(a, b)
    }

    #[test]
    fn small_cases() {
        assert_eq!(lcs_ids(&[], &[1, 2], 3), 0);
        assert_eq!(lcs_ids(&[0, 1, 2, 3, 0], &[2, 3, 0, 1, 0], 4), 3);
        let a: Vec<u32> = (0..200).map(|i| i % 7).collect();
        let b: Vec<u32> = (0..150).map(|i| (i * 3) % 7).collect();
        assert_eq!(lcs_ids(&a, &b, 7), lcs_naive(&a, &b));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn lcs_matches_the_dynamic_programme(
            a in proptest::collection::vec(0u32..6, 0..260),
            b in proptest::collection::vec(0u32..6, 0..260),
        ) {
            prop_assert_eq!(lcs_ids(&a, &b, 6), lcs_naive(&a, &b));
        }
    }
}
