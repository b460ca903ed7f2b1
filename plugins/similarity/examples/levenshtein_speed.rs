//! Native speed of the Levenshtein measure on real pairs, next to the
//! rapidfuzz crate (the previous implementation):
//!
//!     cargo run --release -p similarity --example levenshtein_speed -- DATASET.jsonl
//!
//! Reads `output`/`expected` pairs from a Caliper JSONL dataset (records
//! without `expected` are left out), computes
//! `normalized_similarity` for every pair, best of 5 rounds, and prints
//! µs per pair and the checksum of the values (both implementations must
//! agree on every pair). `bench/long/levenshtein_speed.py` times Python's
//! rapidfuzz (C++) on the same pairs.

use std::hint::black_box;
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: levenshtein_speed DATASET.jsonl");
    let text = std::fs::read_to_string(&path).expect("reading the dataset");
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let e = v.get("expected")?.as_str()?.to_owned();
            let o = v.get("output")?.as_str()?.to_owned();
            Some((o, e))
        })
        .collect();
    let ascii = pairs
        .iter()
        .filter(|(o, e)| o.is_ascii() && e.is_ascii())
        .count();
    let best_of = |pairs: &[(String, String)], f: &dyn Fn(&str, &str) -> f64| {
        let mut best = f64::INFINITY;
        let mut sum = 0.0;
        for _ in 0..5 {
            let start = Instant::now();
            sum = 0.0;
            for (o, e) in pairs {
                sum += black_box(f(black_box(o), black_box(e)));
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        (best / pairs.len() as f64 * 1e6, sum)
    };
    let best = |f: &dyn Fn(&str, &str) -> f64| best_of(&pairs, f);
    let (ours, ours_sum) = best(&|a, b| similarity::levenshtein::normalized_similarity(a, b));
    let (crate_, crate_sum) =
        best(&|a, b| rapidfuzz::distance::levenshtein::normalized_similarity(a.chars(), b.chars()));
    let (ascii_pairs, other_pairs): (Vec<_>, Vec<_>) = pairs
        .iter()
        .cloned()
        .partition(|(o, e)| o.is_ascii() && e.is_ascii());
    let ours_fn = |a: &str, b: &str| similarity::levenshtein::normalized_similarity(a, b);
    let crate_fn = |a: &str, b: &str| {
        rapidfuzz::distance::levenshtein::normalized_similarity(a.chars(), b.chars())
    };
    println!(
        "ASCII pairs: ours {:.2} µs/pair, crate {:.2}; other pairs: ours {:.2}, crate {:.2}",
        best_of(&ascii_pairs, &ours_fn).0,
        best_of(&ascii_pairs, &crate_fn).0,
        best_of(&other_pairs, &ours_fn).0,
        best_of(&other_pairs, &crate_fn).0,
    );
    for (o, e) in &pairs {
        let (a, b) = (
            similarity::levenshtein::normalized_similarity(o, e),
            rapidfuzz::distance::levenshtein::normalized_similarity(o.chars(), e.chars()),
        );
        assert_eq!(a, b, "the implementations disagree on {o:?} / {e:?}");
    }
    println!(
        "{} pairs ({} both ASCII): similarity::levenshtein {ours:.2} µs/pair, rapidfuzz crate 0.5 {crate_:.2} µs/pair; checksum {ours_sum:.6} / {crate_sum:.6}",
        pairs.len(),
        ascii
    );
}
