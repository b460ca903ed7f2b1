//! `caliper audit`: a run history with planted problems, recorded by six
//! real `caliper run`s on six different datasets, must yield exactly the
//! planted findings.
//!
//! Each sample's output carries words by its position `k = i % 10`:
//! `refund` (k 0-2), `please` (k 3-5), `sorry` (k 6), `apologies` (k 7),
//! `alas` (k 8), and `ERR` on every twentieth sample (i % 20 == 9). So:
//!
//! | metric | check | planted finding |
//! |---|---|---|
//! | control | no `sorry` (fails 10%) | none |
//! | stale | no `apologies` (10%), review_by passed | stale |
//! | silent | 1 to 400 words (never fails) | silent |
//! | noisy | must say `please` (fails 70%), shadow stage | noisy |
//! | keyword-refund | no `refund` (30%) | redundant with regex-refund |
//! | regex-refund | no `\brefund\b` (30%) | redundant with keyword-refund |
//! | erroring | hostile: errors on `ERR` (5%), never fails | erroring, silent |
//! | ownerless | no `alas` (10%), owner "unknown" | ownerless |

use std::collections::{BTreeMap, BTreeSet};

use caliper_tests::{Scratch, metric_toml};
use serde_json::{Value, json};

const RUNS: usize = 6;
const SAMPLES: usize = 60;
/// The day the audits are made as of: after every planted run.
const NOW: &str = "2030-01-01";

/// The `[[metric]]` tables, by instance name.
fn metric_tables() -> Vec<(&'static str, String)> {
    let healthy = "owner = \"support-quality\"\nreview_by = 2099-12-31";
    let entry =
        |name: &'static str, package: &str, extra: &str| (name, metric_toml(name, package, extra));
    vec![
        entry(
            "control",
            "keyword",
            &format!("config = {{ must_not_include = [\"sorry\"] }}\n{healthy}"),
        ),
        entry(
            "stale",
            "keyword",
            "config = { must_not_include = [\"apologies\"] }\nowner = \"support-quality\"\nreview_by = \"2029-06-30\"",
        ),
        entry(
            "silent",
            "response-length",
            &format!("config = {{ unit = \"words\", min = 1, max = 400 }}\n{healthy}"),
        ),
        entry(
            "noisy",
            "keyword",
            &format!("config = {{ must_include = [\"please\"] }}\nstage = \"shadow\"\n{healthy}"),
        ),
        entry(
            "keyword-refund",
            "keyword",
            &format!("config = {{ must_not_include = [\"refund\"] }}\n{healthy}"),
        ),
        entry(
            "regex-refund",
            "regex-metric",
            &format!("config = {{ must_not_match = ['\\brefund\\b'] }}\n{healthy}"),
        ),
        entry(
            "erroring",
            "hostile",
            &format!("config = {{ mode = \"error\", trigger = \"ERR\" }}\n{healthy}"),
        ),
        entry(
            "ownerless",
            "keyword",
            "config = { must_not_include = [\"alas\"] }\nowner = \"unknown\"\nreview_by = 2099-12-31",
        ),
    ]
}

/// Writes `caliper.toml` with the metrics whose names `keep` admits, and
/// `extra` (e.g. an `[audit]` section) before them.
fn write_config(s: &Scratch, keep: impl Fn(&str) -> bool, extra: &str) {
    let tables: String = metric_tables()
        .into_iter()
        .filter(|(name, _)| keep(name))
        .map(|(_, table)| table)
        .collect();
    s.write("caliper.toml", &format!("{extra}\n{tables}"));
}

/// Dataset of run `run`: new sample ids and texts each run, the same
/// proportions.
fn dataset(run: usize) -> Vec<Value> {
    (0..SAMPLES)
        .map(|i| {
            let mut words = vec![format!("Answer {i} of batch {run}:")];
            let k = i % 10;
            let word = match k {
                0..=2 => Some("we will refund the fee"),
                3..=5 => Some("please wait a moment"),
                6 => Some("sorry for the delay"),
                7 => Some("apologies for the delay"),
                8 => Some("alas it is closed"),
                _ => None,
            };
            words.extend(word.map(str::to_owned));
            if i % 20 == 9 {
                words.push("ERR".into());
            }
            words.push("Anything else?".into());
            json!({"id": format!("b{run}-s{i:02}"), "input": "question", "output": words.join(" ")})
        })
        .collect()
}

/// A scratch directory with the planted history (six runs).
fn planted() -> Scratch {
    let s = Scratch::new();
    write_config(&s, |_| true, "");
    for run in 0..RUNS {
        let data = format!("batch-{run}.jsonl");
        s.jsonl(&data, &dataset(run));
        s.run(&["run", &data, "-c", "caliper.toml", "--format", "none"])
            .expect_code(0);
    }
    s
}

/// `caliper audit --now NOW --json ARGS`, expecting `code`.
fn audit_json(s: &Scratch, args: &[&str], code: i32) -> Value {
    let mut all = vec!["audit", "--now", NOW, "--json"];
    all.extend_from_slice(args);
    let out = s.run(&all).expect_code(code);
    serde_json::from_str(&out.stdout())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out.stdout()))
}

/// The finding kinds of every metric in a JSON report.
fn kinds(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let kinds = m["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["kind"].as_str().unwrap().to_owned())
                .collect();
            (m["metric"].as_str().unwrap().to_owned(), kinds)
        })
        .collect()
}

fn set(kinds: &[&str]) -> BTreeSet<String> {
    kinds.iter().map(|k| (*k).to_owned()).collect()
}

/// The planted kinds, with `changes` applied.
fn expected(changes: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    let mut all: BTreeMap<String, BTreeSet<String>> = [
        ("control", &[][..]),
        ("stale", &["stale"][..]),
        ("silent", &["silent"][..]),
        ("noisy", &["noisy"][..]),
        ("keyword-refund", &["redundant"][..]),
        ("regex-refund", &["redundant"][..]),
        ("erroring", &["erroring", "silent"][..]),
        ("ownerless", &["ownerless"][..]),
    ]
    .into_iter()
    .map(|(m, k)| (m.to_owned(), set(k)))
    .collect();
    for (metric, kinds) in changes {
        all.insert((*metric).to_owned(), set(kinds));
    }
    all
}

fn metric<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {report:#}"))
}

fn evidence<'r>(report: &'r Value, name: &str, kind: &str) -> &'r str {
    metric(report, name)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind)
        .and_then(|f| f["evidence"].as_str())
        .unwrap_or_else(|| panic!("no {kind} finding for {name}"))
}

#[test]
fn the_planted_problems_are_found_with_evidence_and_nothing_else() {
    let s = planted();
    let report = audit_json(&s, &[], 0);
    assert_eq!(kinds(&report), expected(&[]), "{report:#}");

    // The JSON shape.
    assert_eq!(report["now"], NOW);
    assert_eq!(report["window"]["runs"], RUNS);
    assert_eq!(report["window"]["run_limit"], 10);
    assert_eq!(report["settings"]["noisy_max_fail_rate"], 0.5);
    assert_eq!(report["findings"], 8);
    assert_eq!(report["not_run"], json!([]));
    let noisy = metric(&report, "noisy");
    assert_eq!(noisy["stage"], "shadow", "shadow metrics are audited too");
    assert_eq!(noisy["owner"], "support-quality");
    assert_eq!(noisy["in_config"], true);
    assert_eq!(noisy["runs"], RUNS);
    assert_eq!(noisy["counts"]["fail"], 252);
    assert_eq!(noisy["fail_rate"], 0.7);
    let finding = &noisy["findings"][0];
    assert_eq!(
        (
            &finding["severity"],
            &finding["value"],
            &finding["threshold"]
        ),
        (&json!("warning"), &json!(0.7), &json!(0.5))
    );
    assert_eq!(metric(&report, "control")["stage"], "gate");
    assert_eq!(metric(&report, "stale")["review_by"], "2029-06-30");
    assert_eq!(
        metric(&report, "silent")["owner"],
        "support-quality",
        "the config's owner wins over the component's"
    );

    // The evidence.
    assert_eq!(
        evidence(&report, "stale", "stale"),
        "review was due 2029-06-30, 185 days before 2030-01-01"
    );
    let silent = evidence(&report, "silent", "silent");
    assert!(
        silent.starts_with(
            "0 fails in the last 6 runs (360 evaluations: 360 pass, 0 skip, 0 errors) since "
        ),
        "{silent}"
    );
    assert!(
        evidence(&report, "noisy", "noisy").starts_with("fails 70.0% of 360 verdicts over 6 runs"),
        "{report:#}"
    );
    let redundant = evidence(&report, "keyword-refund", "redundant");
    assert!(
        redundant.starts_with("phi = 1.00 with `regex-refund` on 360 shared samples over 6 runs"),
        "{redundant}"
    );
    assert_eq!(
        metric(&report, "regex-refund")["findings"][0]["other"],
        "keyword-refund"
    );
    let erroring = evidence(&report, "erroring", "erroring");
    assert!(
        erroring.starts_with("5.0% of 360 applicable evaluations failed to score (error 18)"),
        "{erroring}"
    );
    assert_eq!(
        metric(&report, "erroring")["findings"][0]["severity"],
        "error",
        "worst first"
    );
    assert!(evidence(&report, "ownerless", "ownerless").contains("`unknown`"));

    // The table: grouped by metric, with stage, owner and evidence.
    let out = s.run(&["audit", "--now", NOW]).expect_code(0);
    let table = out.stdout();
    assert!(
        table.starts_with("audit as of 2030-01-01: 6 runs (run 1 to 6"),
        "{table}"
    );
    for needle in [
        "noisy",
        "shadow",
        "support-quality",
        "phi = 1.00 with `regex-refund`",
        "review was due 2029-06-30",
        "8 findings (1 error, 3 warning, 4 info) on 7 of 8 metrics",
        "no findings: control (gate, fails 10.0%)",
    ] {
        assert!(table.contains(needle), "{needle:?} not in:\n{table}");
    }
}

#[test]
fn fail_flags_decide_the_exit_code() {
    let s = planted();
    let run = |args: &[&str]| {
        let mut all = vec!["audit", "--now", NOW];
        all.extend_from_slice(args);
        s.run(&all)
    };
    run(&["--fail-on-findings"]).expect_code(1);
    run(&["--fail-on", "stale,erroring"]).expect_code(1);
    run(&["--fail-on", "slow"]).expect_code(0);
    run(&["--fail-on-findings", "--metric", "control"]).expect_code(0);
    run(&[
        "--fail-on-findings",
        "--metric",
        "control",
        "--metric",
        "stale",
    ])
    .expect_code(1);
    // Usage errors.
    let err = run(&["--fail-on", "loud"]).expect_code(2).stderr();
    assert!(err.contains("unknown finding `loud`"), "{err}");
    let err = s
        .run(&["audit", "--now", "2030-02-30"])
        .expect_code(2)
        .stderr();
    assert!(err.contains("not a date in the calendar"), "{err}");
    let err = run(&["--redundant-min-phi", "1.5"]).expect_code(2).stderr();
    assert!(
        err.contains("redundant_min_phi = 1.5 is not a fraction"),
        "{err}"
    );
    let err = run(&["--metric", "nope"]).expect_code(2).stderr();
    assert!(err.contains("no metric named `nope`"), "{err}");
    let err = run(&["--history", "missing.db"]).expect_code(2).stderr();
    assert!(err.contains("no run history at missing.db"), "{err}");
    assert!(
        !s.path().join("missing.db").exists(),
        "an audit creates no database"
    );
    // An empty window: nothing to report, whatever the flags.
    let out = run(&["--since", "30", "--fail-on-findings"]).expect_code(0);
    assert!(
        out.stdout().contains("no runs since 2029-12-02"),
        "{}",
        out.stdout()
    );
}

#[test]
fn thresholds_windows_and_config_changes_change_the_findings() {
    let s = planted();
    // [audit] in the config: more runs needed to call a metric silent.
    write_config(
        &s,
        |_| true,
        "[audit]\nsilent_min_runs = 7\nnoisy_max_fail_rate = 0.8",
    );
    let report = audit_json(&s, &[], 0);
    assert_eq!(
        kinds(&report),
        expected(&[("silent", &[]), ("erroring", &["erroring"]), ("noisy", &[])]),
        "{report:#}"
    );
    assert_eq!(report["settings"]["silent_min_runs"], 7);
    // Flags win over [audit].
    let report = audit_json(
        &s,
        &["--silent-min-runs", "6", "--noisy-max-fail-rate", "0.5"],
        0,
    );
    assert_eq!(kinds(&report), expected(&[]));
    // Stricter thresholds find more.
    let report = audit_json(
        &s,
        &[
            "--noisy-max-fail-rate",
            "0.25",
            "--max-error-rate",
            "0.1",
            "--slow-p95-ms",
            "0",
        ],
        0,
    );
    let got = kinds(&report);
    assert!(got.values().all(|k| k.contains("slow")), "{got:?}");
    assert!(
        got["keyword-refund"].contains("noisy"),
        "30% > 25%: {got:?}"
    );
    assert!(!got["erroring"].contains("erroring"), "5% < 10%: {got:?}");
    // A smaller window: three runs are too few to call anything silent.
    write_config(&s, |_| true, "");
    let report = audit_json(&s, &["--runs", "3"], 0);
    assert_eq!(
        kinds(&report),
        expected(&[("silent", &[]), ("erroring", &["erroring"])])
    );
    assert_eq!(report["window"]["first_run"], 4);
    assert!(
        evidence(&report, "noisy", "noisy").contains("of 180 verdicts over 3 runs"),
        "{report:#}"
    );
    // --since: the runs of the last days as of --now.
    let today = s
        .run(&["audit", "--json"])
        .expect_code(0)
        .stdout()
        .parse::<Value>()
        .unwrap()["now"]
        .as_str()
        .unwrap()
        .to_owned();
    let report: Value = serde_json::from_str(
        &s.run(&["audit", "--json", "--now", &today, "--since", "1"])
            .expect_code(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(report["window"]["runs"], RUNS, "{report:#}");
    assert_eq!(report["window"]["run_limit"], Value::Null);

    // A metric removed from the config is still audited: it ran.
    write_config(&s, |name| name != "regex-refund", "");
    let report = audit_json(&s, &[], 0);
    assert_eq!(kinds(&report), expected(&[]));
    assert_eq!(metric(&report, "regex-refund")["in_config"], false);
    assert_eq!(metric(&report, "keyword-refund")["in_config"], true);
    let table = s.run(&["audit", "--now", NOW]).expect_code(0).stdout();
    assert!(table.contains("(not in config)"), "{table}");

    // Today's config decides owner and review date: fixing them clears the
    // findings without a new run.
    let fixed: String = metric_tables()
        .into_iter()
        .map(|(_, table)| {
            table
                .replace("\"2029-06-30\"", "2031-01-01")
                .replace("owner = \"unknown\"", "owner = \"support-quality\"")
        })
        .collect();
    s.write("caliper.toml", &fixed);
    let report = audit_json(&s, &[], 0);
    assert_eq!(
        kinds(&report),
        expected(&[("stale", &[]), ("ownerless", &[])])
    );

    // A bad review date is a config error naming the metric.
    s.write(
        "caliper.toml",
        &metric_toml("control", "keyword", "review_by = \"2027-02-30\""),
    );
    let err = s.run(&["audit", "--now", NOW]).expect_code(2).stderr();
    assert!(
        err.contains("metric `control`: review_by: `2027-02-30` is not a date in the calendar"),
        "{err}"
    );

    // Without a config, --history is enough (recorded owner and stage).
    std::fs::remove_file(s.path().join("caliper.toml")).unwrap();
    let report = audit_json(&s, &["--history", ".caliper/history.db"], 0);
    assert_eq!(metric(&report, "control")["in_config"], Value::Null);
    assert_eq!(metric(&report, "noisy")["stage"], "shadow");
    assert_eq!(metric(&report, "ownerless")["owner"], "unknown");
    assert_eq!(kinds(&report), expected(&[]));
}
