//! Replays `reference/pairs.jsonl` (written by `reference/make_reference.py`
//! from Python rapidfuzz, rouge-score and a plain reimplementation of token
//! F1) and checks that every measure agrees to 1e-6 on every pair.

use serde::Deserialize;
use similarity::{levenshtein, rouge_l, token_f1};

/// One line of the fixture.
#[derive(Deserialize)]
struct Pair {
    output: String,
    expected: String,
    levenshtein: f64,
    token_f1: f64,
    rouge_l: f64,
}

#[test]
fn all_measures_match_the_python_references() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/reference/pairs.jsonl");
    let text = std::fs::read_to_string(path).expect("reference/pairs.jsonl is readable");
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let pair: Pair = serde_json::from_str(line).expect("a valid fixture line");
        let ours = [
            (
                "levenshtein",
                levenshtein(&pair.output, &pair.expected, true),
                pair.levenshtein,
            ),
            (
                "token_f1",
                token_f1(&pair.output, &pair.expected),
                pair.token_f1,
            ),
            (
                "rouge_l",
                rouge_l(&pair.output, &pair.expected),
                pair.rouge_l,
            ),
        ];
        for (name, got, want) in ours {
            if (got - want).abs() > 1e-6 {
                mismatches.push(format!(
                    "line {}: {name} = {got}, Python says {want} (output {:?}, expected {:?})",
                    line_no + 1,
                    pair.output,
                    pair.expected
                ));
            }
        }
        checked += 1;
    }
    assert!(checked >= 150, "only {checked} pairs in the fixture");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
