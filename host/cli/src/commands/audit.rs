//! `caliper audit`: the metrics to review or retire, with evidence from the
//! run history.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use caliper_config::Config;
use caliper_engine::resolve::LoadPlan;
use caliper_history::History;
use caliper_history::audit::{self, Date, Kind, MetricAudit, Report, Settings, Stewardship};
use clap::Args;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::common::{ConfigChoice, Exit};

/// Find the metrics to review or retire, with evidence from the run history
///
/// Micro metrics must earn their keep. Looks at the recorded runs (the last
/// 10 by default; every `caliper run` records one) and reports, per metric instance, with evidence:
///
///   stale      its review_by date has passed
///   silent     no fail in the last runs: a retirement candidate
///   noisy      fails too often, or its fail rate flaps from run to run
///   erroring   too many errors, timeouts, traps (of applicable samples)
///   redundant  passes and fails together with another metric on the same
///              samples (phi coefficient): one of the two may go
///   slow       p95 evaluation time too high
///   ownerless  nobody owns it
///
/// Thresholds come from the [audit] section of caliper.toml; each flag
/// below overrides one. Owner, stage and review date come from the
/// [[metric]] entry (`owner`, `stage`, `review_by`), else the package
/// manifest, else what the runs recorded. Shadow metrics are audited too;
/// metrics that ran but are no longer in the config are reported, marked.
///
/// Exit code 0, or 1 with --fail-on-findings / --fail-on when such findings
/// exist; 2 on usage, config or history errors.
///
/// Examples:
///
///   caliper audit
///   caliper audit --since 30 --json > audit.json
///   caliper audit --fail-on stale,erroring          # in CI
///   caliper audit --history ci-history.db --now 2027-01-01 --fail-on-findings
///   caliper audit --silent-min-runs 20 --redundant-min-phi 0.9
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct AuditCommand {
    /// Config file: the history's location, [audit] thresholds, and each
    /// metric's owner, stage and review date [default: caliper.toml;
    /// optional with --history].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The run history database [default: [history] path of the config].
    #[arg(long, value_name = "DB")]
    history: Option<PathBuf>,
    /// Audit as of this day (YYYY-MM-DD, UTC): review dates and --since
    /// count from it [default: today].
    #[arg(long, value_name = "DATE")]
    now: Option<Date>,
    /// Look at the last N runs [default: 10, unless --since is given].
    #[arg(long, value_name = "N")]
    runs: Option<usize>,
    /// Look at the runs started in the last DAYS days (with --runs: both
    /// limits apply).
    #[arg(long, value_name = "DAYS")]
    since: Option<u32>,
    /// Report only these metric instances (repeatable); redundancy is
    /// still checked against every metric.
    #[arg(short, long = "metric", value_name = "NAME")]
    metrics: Vec<String>,
    /// Silent: no fail in at least this many runs [default: 5, or [audit]].
    #[arg(long, value_name = "N")]
    silent_min_runs: Option<usize>,
    /// Noisy: fail rate above this fraction [default: 0.5, or [audit]].
    #[arg(long, value_name = "RATE")]
    noisy_max_fail_rate: Option<f64>,
    /// Noisy: mean change of the per-run fail rate between consecutive runs
    /// above this fraction [default: 0.3, or [audit]].
    #[arg(long, value_name = "RATE")]
    flapping_max_change: Option<f64>,
    /// Erroring: error rate above this fraction [default: 0.02, or [audit]].
    #[arg(long, value_name = "RATE")]
    max_error_rate: Option<f64>,
    /// Redundant: |phi| with another metric at least this [default: 0.95, or [audit]].
    #[arg(long, value_name = "PHI")]
    redundant_min_phi: Option<f64>,
    /// Redundant: on at least this many shared samples [default: 50, or [audit]].
    #[arg(long, value_name = "N")]
    redundant_min_samples: Option<u64>,
    /// Slow: p95 evaluation time above this many milliseconds [default: 100, or [audit]].
    #[arg(long, value_name = "MS")]
    slow_p95_ms: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Exit 1 when there are findings of these kinds (comma-separated:
    /// stale, silent, noisy, erroring, redundant, slow, ownerless).
    #[arg(long, value_delimiter = ',', value_name = "KIND,...")]
    fail_on: Vec<Kind>,
    /// Exit 1 when there is any finding.
    #[arg(long, conflicts_with = "fail_on")]
    fail_on_findings: bool,
}

impl AuditCommand {
    pub fn execute(self) -> Result<Exit> {
        let plan = self.read_config()?;
        let config = plan.as_ref().map(|p| &p.config);
        let settings = self.settings(config)?;
        let path = match (&self.history, config) {
            (Some(path), _) => path.clone(),
            (None, Some(c)) => c.history.path.clone().unwrap_or_default(),
            (None, None) => unreachable!("read_config needs a config or --history"),
        };
        if !path.exists() {
            anyhow::bail!(
                "no run history at {}: `caliper run` records one (or pass --history DB)",
                path.display()
            );
        }
        let now = self.now.unwrap_or_else(Date::today);
        let history = History::open(&path)?;
        let since = settings.since(now).map(Date::start_timestamp);
        let (runs, mut metrics) = history.audit_window(settings.run_limit(), since.as_deref())?;

        // Today's config wins over what the runs recorded.
        for m in &mut metrics {
            let planned = plan.as_ref().and_then(|p| p.metric(&m.metric));
            m.in_config = plan.as_ref().map(|_| planned.is_some());
            if let Some(planned) = planned {
                let manifest = planned
                    .file
                    .as_deref()
                    .and_then(caliper_package::read_embedded_file);
                m.stewardship = Stewardship::resolve(
                    Some(planned.entry.stewardship()),
                    manifest.as_ref().map(|p| p.stewardship()),
                    m.latest_recorded(),
                );
            }
        }
        let not_run: Vec<String> = plan
            .iter()
            .flat_map(|p| &p.metrics)
            .map(|e| e.name.clone())
            .filter(|name| !metrics.iter().any(|m| &m.metric == name))
            .collect();
        let mut report = audit::audit(&runs, &metrics, not_run, &settings, now);
        if !self.metrics.is_empty() {
            let known: Vec<&str> = metrics
                .iter()
                .map(|m| m.metric.as_str())
                .chain(report.not_run.iter().map(String::as_str))
                .collect();
            if let Some(unknown) = self.metrics.iter().find(|n| !known.contains(&n.as_str())) {
                anyhow::bail!(
                    "no metric named `{unknown}` in the window or the config; known: {}",
                    known.join(", ")
                );
            }
            report.metrics.retain(|m| self.metrics.contains(&m.metric));
            report.not_run.retain(|n| self.metrics.contains(n));
            report.findings = report.count(&[]);
        }

        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", render(&report, &path));
        }
        let failing = if self.fail_on_findings {
            report.count(&[])
        } else if !self.fail_on.is_empty() {
            report.count(&self.fail_on)
        } else {
            0
        };
        Ok(if failing > 0 {
            Exit::GateFailed
        } else {
            Exit::Success
        })
    }

    /// The config (`-c`, else `caliper.toml` if present), resolved offline:
    /// an audit reads package manifests on this machine, never a registry.
    /// Without either, none with `--history`, else the built-in default set
    /// (whose history a run without a config records).
    fn read_config(&self) -> Result<Option<LoadPlan>> {
        match ConfigChoice::from_flag(self.config.as_deref()) {
            ConfigChoice::Defaults if self.history.is_some() => Ok(None),
            choice => Ok(Some(choice.plan_offline()?)),
        }
    }

    /// The [audit] section with the flags over it.
    fn settings(&self, config: Option<&Config>) -> Result<Settings> {
        let mut s = config.map(|c| c.audit.clone()).unwrap_or_default();
        if self.runs.is_some() {
            s.runs = self.runs;
        }
        if self.since.is_some() {
            s.since_days = self.since;
        }
        s.silent_min_runs = self.silent_min_runs.unwrap_or(s.silent_min_runs);
        s.noisy_max_fail_rate = self.noisy_max_fail_rate.unwrap_or(s.noisy_max_fail_rate);
        s.flapping_max_change = self.flapping_max_change.unwrap_or(s.flapping_max_change);
        s.max_error_rate = self.max_error_rate.unwrap_or(s.max_error_rate);
        s.redundant_min_phi = self.redundant_min_phi.unwrap_or(s.redundant_min_phi);
        s.redundant_min_samples = self
            .redundant_min_samples
            .unwrap_or(s.redundant_min_samples);
        s.slow_p95_ms = self.slow_p95_ms.unwrap_or(s.slow_p95_ms);
        s.validate()
            .map_err(|e| anyhow::anyhow!("invalid audit threshold: {e}"))
            .context("check the flags and the [audit] section")?;
        Ok(s)
    }
}

/// The report as a table grouped by metric, with a summary.
fn render(report: &Report, path: &Path) -> String {
    let w = &report.window;
    let mut out = String::new();
    let Some((first, last)) = w.first_run.zip(w.last_run) else {
        let since = w.since.map(|d| format!(" since {d}")).unwrap_or_default();
        out.push_str(&format!(
            "audit as of {}: no runs{since} in {}; nothing to audit\n",
            report.now,
            path.display()
        ));
        return out;
    };
    let day = |t: &Option<String>| {
        t.as_deref()
            .and_then(Date::of_timestamp)
            .map_or_else(|| "?".to_owned(), |d| d.to_string())
    };
    out.push_str(&format!(
        "audit as of {}: {} run{} (run {first} to {last}, {} to {}) in {}\n",
        report.now,
        w.runs,
        if w.runs == 1 { "" } else { "s" },
        day(&w.first_started_at),
        day(&w.last_started_at),
        path.display()
    ));
    let flagged: Vec<&MetricAudit> = report
        .metrics
        .iter()
        .filter(|m| !m.findings.is_empty())
        .collect();
    if !flagged.is_empty() {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header([
                "metric", "stage", "owner", "finding", "severity", "evidence",
            ]);
        if table.width().is_none() {
            table.set_width(140);
        }
        for m in &flagged {
            for (i, f) in m.findings.iter().enumerate() {
                let (name, stage, owner) = if i == 0 {
                    let mut name = m.metric.clone();
                    if m.in_config == Some(false) {
                        name.push_str("\n(not in config)");
                    }
                    (
                        name,
                        m.stage.map_or("-", |s| s.as_str()).to_owned(),
                        m.owner.clone().unwrap_or_else(|| "-".into()),
                    )
                } else {
                    Default::default()
                };
                table.add_row([
                    name,
                    stage,
                    owner,
                    f.kind.to_string(),
                    f.severity.as_str().to_owned(),
                    f.evidence.clone(),
                ]);
            }
        }
        out.push_str(&format!("{table}\n"));
    }
    let by_severity = |s: audit::Severity| {
        report
            .metrics
            .iter()
            .flat_map(|m| &m.findings)
            .filter(|f| f.severity == s)
            .count()
    };
    out.push_str(&format!(
        "{} finding{} ({} error, {} warning, {} info) on {} of {} metrics\n",
        report.findings,
        if report.findings == 1 { "" } else { "s" },
        by_severity(audit::Severity::Error),
        by_severity(audit::Severity::Warning),
        by_severity(audit::Severity::Info),
        flagged.len(),
        report.metrics.len()
    ));
    let clean: Vec<String> = report
        .metrics
        .iter()
        .filter(|m| m.findings.is_empty())
        .map(|m| {
            let stage = m.stage.map_or("-", |s| s.as_str());
            let fail = m.fail_rate.map_or("-".into(), audit::pct);
            format!("{} ({stage}, fails {fail})", m.metric)
        })
        .collect();
    if !clean.is_empty() {
        out.push_str(&format!("no findings: {}\n", clean.join(", ")));
    }
    if !report.not_run.is_empty() {
        out.push_str(&format!(
            "in the config but not in these runs: {}\n",
            report.not_run.join(", ")
        ));
    }
    out
}
