//! A comparison as a terminal table or as Markdown for a pull-request
//! comment.

use std::fmt::Write;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::model::{Comparison, Flip, MetricComparison, Tone};
use crate::stats::Interval;
use caliper_types::fmt::pct;
use caliper_types::fmt::{p_value, signed_pts};

fn rate(v: Option<f64>, i: Option<Interval>) -> String {
    match (v, i) {
        (Some(v), Some(i)) => format!("{} [{}, {}]", pct(v), pct(i.lo), pct(i.hi)),
        (Some(v), None) => pct(v),
        _ => "-".into(),
    }
}

/// A pass-rate change with its interval, in points.
pub(super) fn change(v: Option<f64>, i: Option<Interval>) -> String {
    match (v, i) {
        (Some(v), Some(i)) => format!(
            "{} [{}, {}]",
            signed_pts(v),
            signed_pts(i.lo),
            signed_pts(i.hi)
        ),
        (Some(v), None) => signed_pts(v),
        _ => "-".into(),
    }
}

/// A mean value change with its interval.
pub(super) fn mean_change(v: Option<f64>, i: Option<Interval>) -> String {
    match (v, i) {
        (Some(v), Some(i)) => format!("{v:+.3} [{:+.3}, {:+.3}]", i.lo, i.hi),
        (Some(v), None) => format!("{v:+.3}"),
        _ => "-".into(),
    }
}

fn row(m: &MetricComparison) -> Vec<String> {
    vec![
        m.metric.clone(),
        rate(m.baseline.pass_rate, m.baseline.pass_rate_interval),
        rate(m.candidate.pass_rate, m.candidate.pass_rate_interval),
        change(m.pass_rate_change, m.pass_rate_change_interval),
        m.matched.to_string(),
        format!("{} / {}", m.transitions.pass_fail, m.transitions.fail_pass),
        p_value(m.mcnemar_p),
        mean_change(m.mean_change, m.mean_change_interval),
    ]
}

const HEADER: [&str; 8] = [
    "metric",
    "baseline pass",
    "candidate pass",
    "change (matched)",
    "matched",
    "regressed / fixed",
    "McNemar p",
    "mean value change",
];

fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max).collect();
    format!("{cut}…")
}

fn flip_line(f: &Flip) -> String {
    let side = |s: &super::model::FlipSide| {
        let mut out = s.outcome.to_string();
        if let Some(v) = s.value {
            let _ = write!(out, " {v}");
        }
        if let Some(r) = &s.reason {
            let _ = write!(out, " ({})", excerpt(r, 100));
        }
        out
    };
    format!(
        "{} {}: {} -> {}",
        f.direction,
        f.sample_id,
        side(&f.baseline),
        side(&f.candidate)
    )
}

/// The terminal rendering: the per-metric table, the flipped samples and
/// the gates.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "baseline {} vs candidate {} ({}% intervals): {}",
        c.baseline,
        c.candidate,
        c.confidence * 100.0,
        c.headline().0
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(HEADER);
    for m in &c.metrics {
        t.add_row(row(m));
    }
    let _ = writeln!(out, "{t}");
    for (segment, metrics) in &c.segments {
        let key = c.group_by.as_deref().unwrap_or("segment");
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED).set_header(HEADER);
        for m in metrics {
            t.add_row(row(m));
        }
        let _ = writeln!(out, "{key} = {segment}\n{t}");
    }
    for m in &c.metrics {
        if m.only_baseline + m.only_candidate > 0 {
            let _ = writeln!(
                out,
                "{}: {} samples only in the baseline, {} only in the candidate (not compared)",
                m.metric, m.only_baseline, m.only_candidate
            );
        }
    }
    for (side, list) in [
        ("baseline", &c.only_in_baseline),
        ("candidate", &c.only_in_candidate),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "only in the {side}: {}", list.join(", "));
        }
    }
    for m in c.metrics.iter().filter(|m| m.flipped_total > 0) {
        let _ = writeln!(
            out,
            "\n{}: {} flipped (showing {})",
            m.metric,
            m.flipped_total,
            m.flipped.len()
        );
        for f in &m.flipped {
            let _ = writeln!(out, "  {}", flip_line(f));
            if let Some(input) = &f.input {
                let _ = writeln!(out, "    input:  {}", excerpt(input, 120));
            }
            if let Some(o) = &f.baseline.output {
                let _ = writeln!(out, "    before: {}", excerpt(o, 120));
            }
            if let Some(o) = &f.candidate.output {
                let _ = writeln!(out, "    after:  {}", excerpt(o, 120));
            }
        }
    }
    if !c.gates.is_empty() {
        let _ = writeln!(out, "\ngates:");
        for g in &c.gates {
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                if g.passed { "ok  " } else { "FAIL" },
                g.metric,
                g.check,
                g.message
            );
        }
    }
    out
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for a pull-request comment: the deltas table, the gates, and the
/// top flipped samples per metric.
pub fn markdown(c: &Comparison, top: usize) -> String {
    let mut out = String::new();
    let verdict = match c.headline() {
        (text, Tone::Good) => text,
        (text, _) => format!("**{text}**"),
    };
    let _ = writeln!(out, "## Caliper: baseline vs candidate ({verdict})\n");
    let _ = writeln!(
        out,
        "`{}` → `{}`; {}% intervals (Wilson for rates, seeded paired bootstrap for changes); McNemar exact test on matched samples.\n",
        c.baseline,
        c.candidate,
        c.confidence * 100.0
    );
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for m in &c.metrics {
        let cells: Vec<String> = row(m).iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if !c.segments.is_empty() {
        let key = c.group_by.as_deref().unwrap_or("segment");
        let _ = writeln!(out, "\n### Per {key}\n");
        let _ = writeln!(out, "| {key} | {} |", HEADER.join(" | "));
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for (segment, metrics) in &c.segments {
            for m in metrics {
                let cells: Vec<String> = row(m).iter().map(|c| md_cell(c)).collect();
                let _ = writeln!(out, "| {} | {} |", md_cell(segment), cells.join(" | "));
            }
        }
    }
    if !c.gates.is_empty() {
        let _ = writeln!(out, "\n### Gates\n");
        for g in &c.gates {
            let mark = if g.passed { "✅" } else { "❌" };
            let _ = writeln!(
                out,
                "- {mark} `{}` {}: {}",
                g.metric,
                g.check,
                md_cell(&g.message)
            );
        }
    }
    let flipped: Vec<&MetricComparison> =
        c.metrics.iter().filter(|m| m.flipped_total > 0).collect();
    if !flipped.is_empty() {
        let _ = writeln!(out, "\n### Flipped samples\n");
    }
    for m in flipped {
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code>: {} regressed, {} fixed</summary>\n",
            m.metric, m.transitions.pass_fail, m.transitions.fail_pass
        );
        let _ = writeln!(
            out,
            "| sample | change | before | after | input | output after |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for f in m.flipped.iter().take(top) {
            let side = |s: &super::model::FlipSide| {
                let reason = s
                    .reason
                    .as_deref()
                    .map(|r| excerpt(r, 80))
                    .unwrap_or_default();
                md_cell(&format!("{} {reason}", s.outcome))
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                md_cell(&f.sample_id),
                f.direction,
                side(&f.baseline),
                side(&f.candidate),
                md_cell(
                    &f.input
                        .as_deref()
                        .map(|t| excerpt(t, 80))
                        .unwrap_or_default()
                ),
                md_cell(
                    &f.candidate
                        .output
                        .as_deref()
                        .map(|t| excerpt(t, 80))
                        .unwrap_or_default()
                ),
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}
