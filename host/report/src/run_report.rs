//! The summary of a run: the JSON written with `--summary` and the table
//! printed at the end.
//!
//! Architecture invariant: reports are built from [`Figures`] and
//! [`GateResult`]s only; they never see wasmtime types.

use std::collections::BTreeMap;

use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use serde::{Deserialize, Serialize};

use crate::figures::Figures;
use crate::gate::GateResult;

/// One metric's line in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricReport {
    /// Instance name.
    pub metric: String,
    /// The metric's own name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Component digest.
    pub digest: String,
    /// The numbers.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The summary JSON of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The dataset path.
    pub dataset: String,
    /// `sha256:<hex>` of the dataset's bytes (stdin included).
    pub dataset_digest: Option<String>,
    /// Records read.
    pub records: u64,
    /// Samples scored.
    pub samples: u64,
    /// Bad records (see `invalid_examples`).
    pub invalid_records: u64,
    /// The first bad records, as `file:line: message`.
    pub invalid_examples: Vec<String>,
    /// Per metric.
    pub metrics: Vec<MetricReport>,
    /// The `--group-by` key, if any.
    pub group_by: Option<String>,
    /// Per segment, per metric.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub segments: BTreeMap<String, Vec<MetricReport>>,
    /// Gate checks.
    pub gates: Vec<GateResult>,
    /// Whether every gate passed.
    pub passed: bool,
    /// Why the run stopped early, if it did.
    pub stopped_early: Option<String>,
    /// Wall time in seconds.
    pub elapsed_s: f64,
}

use caliper_types::fmt::pct_or_dash as pct;

fn num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 || v == v.trunc() => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
    }
}

fn errors_cell(f: &Figures) -> String {
    if f.errors == 0 {
        return "0".into();
    }
    let kinds: Vec<String> = f
        .error_kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    format!("{} ({})", f.errors, kinds.join(", "))
}

/// A table of metric rows; rows with a segment get a leading segment
/// column.
fn metrics_table<'a>(
    rows: impl IntoIterator<Item = (Option<&'a str>, &'a MetricReport)>,
    with_segment: bool,
) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec![];
    if with_segment {
        header.push("segment");
    }
    header.extend([
        "metric",
        "version",
        "count",
        "pass",
        "fail",
        "skip",
        "errors",
        "pass rate",
        "mean",
        "p50",
        "p95",
    ]);
    table.set_header(header);
    for (segment, r) in rows {
        let f = &r.figures;
        let mut row: Vec<Cell> = vec![];
        if let Some(s) = segment {
            row.push(Cell::new(s));
        }
        row.push(Cell::new(&r.metric));
        row.push(Cell::new(&r.version));
        for n in [f.evaluated, f.pass, f.fail, f.skip] {
            row.push(Cell::new(n).set_alignment(CellAlignment::Right));
        }
        row.push(Cell::new(errors_cell(f)).set_alignment(CellAlignment::Right));
        row.push(Cell::new(pct(f.pass_rate)).set_alignment(CellAlignment::Right));
        for v in [f.mean, f.p50, f.p95] {
            row.push(Cell::new(num(v)).set_alignment(CellAlignment::Right));
        }
        table.add_row(row);
    }
    table
}

impl RunReport {
    /// The human summary: totals, the metrics table, segments, bad records
    /// and gate verdicts.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{}: {} records, {} samples, {} invalid records, {:.2}s\n",
            self.dataset, self.records, self.samples, self.invalid_records, self.elapsed_s
        ));
        out.push_str(&metrics_table(self.metrics.iter().map(|r| (None, r)), false).to_string());
        out.push('\n');
        if let Some(key) = &self.group_by {
            out.push_str(&format!("\nby {key}:\n"));
            let rows = self
                .segments
                .iter()
                .flat_map(|(seg, rows)| rows.iter().map(move |r| (Some(seg.as_str()), r)));
            out.push_str(&metrics_table(rows, true).to_string());
            out.push('\n');
        }
        if !self.invalid_examples.is_empty() {
            out.push_str("\ninvalid records:\n");
            for e in &self.invalid_examples {
                out.push_str(&format!("  {e}\n"));
            }
            if self.invalid_records as usize > self.invalid_examples.len() {
                out.push_str(&format!(
                    "  ... and {} more\n",
                    self.invalid_records as usize - self.invalid_examples.len()
                ));
            }
        }
        if let Some(why) = &self.stopped_early {
            out.push_str(&format!("\nstopped early: {why}\n"));
        }
        if !self.gates.is_empty() {
            out.push_str("\ngates:\n");
            for g in &self.gates {
                let mark = if g.passed { "ok  " } else { "FAIL" };
                out.push_str(&format!(
                    "  {mark} {} {}: {}\n",
                    g.metric, g.check, g.message
                ));
            }
        }
        out
    }
}
