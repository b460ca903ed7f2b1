//! Unit tests of the audit, on small hand-made histories.

use std::path::Path;

use super::*;
use caliper_config::Config;
use caliper_package::Manifest;

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

#[test]
fn dates_parse_format_and_count_days() {
    for text in [
        "1970-01-01",
        "2000-02-29",
        "2026-12-31",
        "2027-03-01",
        "1969-07-20",
    ] {
        assert_eq!(date(text).to_string(), text);
    }
    assert_eq!(date("2026-12-31").days_until(date("2027-01-01")), 1);
    assert_eq!(
        date("2028-02-28").days_until(date("2028-03-01")),
        2,
        "leap year"
    );
    assert_eq!(date("2027-03-01").minus_days(1), date("2027-02-28"));
    assert_eq!(date("2027-01-10").days_until(date("2027-01-01")), -9);
    for bad in [
        "2027-02-29",
        "1900-02-29",
        "2027-13-01",
        "2027-00-10",
        "2027-1-1",
        "27-01-01",
        "soon",
        "",
    ] {
        assert!(Date::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Date::of_timestamp("2026-11-02T10:11:12Z"),
        Some(date("2026-11-02"))
    );
    assert_eq!(date("2026-11-02").start_timestamp(), "2026-11-02T00:00:00Z");
    assert!(Date::today() > date("2025-01-01"));
}

#[test]
fn phi_is_one_minus_one_zero_or_undefined() {
    let t = |both_fail, only_a_fails, only_b_fails, both_pass| Contingency {
        both_fail,
        only_a_fails,
        only_b_fails,
        both_pass,
    };
    assert_eq!(t(30, 0, 0, 70).phi(), Some(1.0));
    assert_eq!(t(0, 30, 70, 0).phi(), Some(-1.0));
    assert_eq!(t(25, 25, 25, 25).phi(), Some(0.0));
    // (10*40 - 20*30) / sqrt(30 * 70 * 40 * 60)
    let phi = t(10, 20, 30, 40).phi().unwrap();
    assert!(
        (phi - (-200.0 / 5_040_000f64.sqrt())).abs() < 1e-12,
        "{phi}"
    );
    // A metric that never fails (or always fails) has no phi.
    assert_eq!(t(0, 0, 40, 60).phi(), None);
    assert_eq!(t(40, 60, 0, 0).phi(), None);
    assert_eq!(t(0, 0, 0, 0).phi(), None);
    // Pairing by key: only shared keys count.
    let a = [(1, true), (2, false), (3, true), (5, false)];
    let b = [(0, true), (2, true), (3, true), (4, false), (5, false)];
    assert_eq!(Contingency::of(&a, &b), t(1, 0, 1, 1));
}

/// A metric with one run per string: `p` pass, `f` fail, `s` skip, `e`
/// error, `t` timeout; the n-th letter is sample n of that run.
fn metric(name: &str, runs: &[&str], duration_us: u64) -> MetricHistory {
    let mut m = MetricHistory {
        metric: name.into(),
        in_config: Some(true),
        stewardship: Stewardship {
            owner: Some("team-a".into()),
            stage: Some(Stage::Gate),
            review_by: Some(date("2099-01-01")),
        },
        ..MetricHistory::default()
    };
    for (r, outcomes) in runs.iter().enumerate() {
        let mut run = MetricRun {
            run_id: r as i64 + 1,
            started_at: format!("2026-11-{:02}T09:00:00Z", r + 1),
            name: name.into(),
            version: "1.0.0".into(),
            ..MetricRun::default()
        };
        for (i, c) in outcomes.chars().enumerate() {
            let status = match c {
                'p' => Status::Pass,
                'f' => Status::Fail,
                's' => Status::Skip,
                'e' => Status::Error,
                't' => Status::Timeout,
                other => panic!("unknown outcome {other}"),
            };
            run.counts.add(status);
            run.durations_us.push(duration_us);
            if matches!(status, Status::Pass | Status::Fail) {
                m.verdicts
                    .push((((r as u64) << 32) | i as u64, status == Status::Fail));
            }
        }
        m.runs.push(run);
    }
    m
}

fn runs(n: usize) -> Vec<RunInfo> {
    (1..=n)
        .map(|i| RunInfo {
            id: i as i64,
            started_at: format!("2026-11-{i:02}T09:00:00Z"),
        })
        .collect()
}

fn kinds(report: &Report, metric: &str) -> Vec<Kind> {
    let m = report.metrics.iter().find(|m| m.metric == metric).unwrap();
    let mut kinds: Vec<Kind> = m.findings.iter().map(|f| f.kind).collect();
    kinds.sort();
    kinds
}

fn finding<'r>(report: &'r Report, metric: &str, kind: Kind) -> &'r Finding {
    let m = report.metrics.iter().find(|m| m.metric == metric).unwrap();
    m.findings.iter().find(|f| f.kind == kind).unwrap()
}

#[test]
fn planted_problems_are_found_with_evidence_and_nothing_else() {
    // 6 runs of 10 samples each.
    let control_run = "ffpppppppp"; // 20% fails, steady
    let six = |s: &'static str| vec![s; 6];
    let mut stale = metric("stale", &six("pfpppppppp"), 50);
    stale.stewardship.review_by = Some(date("2026-11-20"));
    let mut ownerless = metric("ownerless", &six("ppppfppppp"), 50);
    ownerless.stewardship.owner = Some(" Unknown ".into());
    let metrics = vec![
        metric("control", &six(control_run), 50),
        stale,
        metric("silent", &six("ppppppppss"), 50),
        metric("noisy", &six("fffffffppp"), 50),
        metric(
            "flapping",
            &[
                "pppppppppf",
                "fffffffpff",
                "pppppppfpp",
                "ffffffpfff",
                "pppppppppf",
                "fffffpffff",
            ],
            50,
        ),
        metric("erroring", &six("pppffppppe"), 50),
        // Same fail pattern on the same samples, and the mirror image.
        metric("dup-a", &six("ppppppffpp"), 50),
        metric("dup-b", &six("ppppppffpp"), 50),
        metric("mirror", &six("ffffffppff"), 50),
        metric("slow", &six("pppfpppppp"), 250_000),
        ownerless,
    ];
    let settings = Settings {
        redundant_min_samples: 50,
        ..Settings::default()
    };
    let now = date("2026-12-01");
    let report = audit(&runs(6), &metrics, vec!["never-ran".into()], &settings, now);
    assert_eq!(kinds(&report, "control"), []);
    assert_eq!(kinds(&report, "stale"), [Kind::Stale]);
    assert_eq!(kinds(&report, "silent"), [Kind::Silent]);
    assert_eq!(kinds(&report, "noisy"), [Kind::Noisy]);
    assert_eq!(kinds(&report, "flapping"), [Kind::Noisy]);
    assert_eq!(kinds(&report, "erroring"), [Kind::Erroring]);
    assert_eq!(kinds(&report, "dup-a"), [Kind::Redundant, Kind::Redundant]);
    // A mirror image fails 80%: noisy too.
    assert_eq!(
        kinds(&report, "mirror"),
        [Kind::Noisy, Kind::Redundant, Kind::Redundant]
    );
    assert_eq!(kinds(&report, "slow"), [Kind::Slow]);
    assert_eq!(kinds(&report, "ownerless"), [Kind::Ownerless]);
    assert_eq!(report.findings, 14);
    assert_eq!(report.count(&[Kind::Redundant]), 6);
    assert_eq!(report.not_run, ["never-ran"]);
    assert_eq!(
        (
            report.window.runs,
            report.window.first_run,
            report.window.last_run
        ),
        (6, Some(1), Some(6))
    );

    let f = finding(&report, "stale", Kind::Stale);
    assert_eq!(
        f.evidence,
        "review was due 2026-11-20, 11 days before 2026-12-01"
    );
    assert_eq!((f.severity, f.value), (Severity::Warning, Some(11.0)));
    let f = finding(&report, "silent", Kind::Silent);
    assert_eq!(
        f.evidence,
        "0 fails in the last 6 runs (60 evaluations: 48 pass, 12 skip, 0 errors) since 2026-11-01"
    );
    let f = finding(&report, "noisy", Kind::Noisy);
    assert_eq!(
        f.evidence,
        "fails 70.0% of 60 verdicts over 6 runs since 2026-11-01 (threshold 50.0%)"
    );
    assert_eq!((f.value, f.threshold), (Some(0.7), Some(0.5)));
    let f = finding(&report, "flapping", Kind::Noisy);
    assert!(
        f.evidence.starts_with("fail rate swings 80.0 points"),
        "{}",
        f.evidence
    );
    assert!(f.evidence.contains("10% -> 90% -> 10%"), "{}", f.evidence);
    let f = finding(&report, "erroring", Kind::Erroring);
    assert_eq!(
        f.evidence,
        "10.0% of 60 applicable evaluations failed to score (error 6) over 6 runs since 2026-11-01 (threshold 2.0%)"
    );
    assert_eq!(f.severity, Severity::Error);
    let f = report.metrics.iter().find(|m| m.metric == "dup-a").unwrap();
    let with_b = f
        .findings
        .iter()
        .find(|f| f.other.as_deref() == Some("dup-b"))
        .unwrap();
    assert_eq!(with_b.value, Some(1.0));
    assert!(
        with_b
            .evidence
            .starts_with("phi = 1.00 with `dup-b` on 60 shared samples over 6 runs"),
        "{}",
        with_b.evidence
    );
    let with_mirror = f
        .findings
        .iter()
        .find(|f| f.other.as_deref() == Some("mirror"))
        .unwrap();
    assert_eq!(with_mirror.value, Some(-1.0));
    assert!(with_mirror.evidence.contains("(opposite outcomes)"));
    let f = finding(&report, "slow", Kind::Slow);
    assert_eq!(
        f.evidence,
        "p95 250 ms over 6 runs (60 evaluations; threshold 100 ms)"
    );
    let f = finding(&report, "ownerless", Kind::Ownerless);
    assert!(
        f.evidence.contains("the owner is ` Unknown `"),
        "{}",
        f.evidence
    );
    // The JSON shape.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["now"], "2026-12-01");
    let stale = &json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "stale")
        .unwrap();
    assert_eq!(stale["review_by"], "2026-11-20");
    assert_eq!(stale["stage"], "gate");
    assert_eq!(stale["findings"][0]["kind"], "stale");
    assert_eq!(stale["findings"][0]["severity"], "warning");
}

#[test]
fn thresholds_and_windows_change_the_findings() {
    let metrics = vec![
        metric("silent", &["pppp", "pppp", "pppp"], 10),
        metric("noisy", &["ffpp", "ffpp", "ffpp"], 10),
        metric("erroring", &["pppf", "pppe", "pppf"], 10),
    ];
    let lenient = Settings {
        silent_min_runs: 3,
        noisy_max_fail_rate: 0.4,
        max_error_rate: 0.1,
        ..Settings::default()
    };
    let report = audit(&runs(3), &metrics, vec![], &lenient, date("2026-12-01"));
    assert_eq!(kinds(&report, "silent"), [Kind::Silent]);
    assert_eq!(kinds(&report, "noisy"), [Kind::Noisy]);
    assert_eq!(kinds(&report, "erroring"), [], "1 error in 12 is under 10%");
    // Fewer runs than silent_min_runs: not silent yet; a fail rate at
    // the threshold is not above it.
    let strict = Settings {
        silent_min_runs: 4,
        noisy_max_fail_rate: 0.5,
        max_error_rate: 0.05,
        ..Settings::default()
    };
    let report = audit(&runs(3), &metrics, vec![], &strict, date("2026-12-01"));
    assert_eq!(kinds(&report, "silent"), []);
    assert_eq!(kinds(&report, "noisy"), []);
    assert_eq!(kinds(&report, "erroring"), [Kind::Erroring]);
    // Redundancy needs enough shared samples.
    let pair = vec![metric("a", &["ffpp"], 10), metric("b", &["ffpp"], 10)];
    let few = audit(
        &runs(1),
        &pair,
        vec![],
        &Settings::default(),
        date("2026-12-01"),
    );
    assert_eq!(few.findings, 0);
    let report = audit(
        &runs(1),
        &pair,
        vec![],
        &Settings {
            redundant_min_samples: 4,
            ..Settings::default()
        },
        date("2026-12-01"),
    );
    assert_eq!(report.findings, 2);
    // The window.
    assert_eq!(Settings::default().run_limit(), Some(DEFAULT_RUNS));
    let since = Settings {
        since_days: Some(30),
        ..Settings::default()
    };
    assert_eq!(since.run_limit(), None);
    assert_eq!(since.since(date("2026-12-01")), Some(date("2026-11-01")));
    assert!(
        Settings {
            max_error_rate: 2.0,
            ..Settings::default()
        }
        .validate()
        .is_err()
    );
    assert!(
        Settings {
            slow_p95_ms: -1.0,
            ..Settings::default()
        }
        .validate()
        .is_err()
    );
    assert!(Settings::default().validate().is_ok());
}

#[test]
fn stewardship_comes_from_config_then_package_then_fallback() {
    let config = Config::parse(
        r#"
        [[metric]]
        name = "full"
        path = "none.wasm"
        owner = "config-team"
        stage = "shadow"
        review_by = 2027-01-01
        [[metric]]
        name = "bare"
        path = "none.wasm"
        "#,
        Path::new("."),
    )
    .unwrap();
    let manifest: Manifest = serde_json::from_value(serde_json::json!({
        "name": "m", "version": "1.0.0", "description": "d", "owner": "package-team",
        "goal": "g", "stage": "alert", "review_by": "2027-06-01",
        "contract": "0.1.0", "min_host": "0.1.0"
    }))
    .unwrap();
    let fallback = Stewardship {
        owner: Some("descriptor-team".into()),
        stage: None,
        review_by: None,
    };
    let full = Stewardship::resolve(
        Some(config.metrics[0].stewardship()),
        Some(manifest.stewardship()),
        fallback.clone(),
    );
    assert_eq!(
        full,
        Stewardship {
            owner: Some("config-team".into()),
            stage: Some(Stage::Shadow),
            review_by: Some(date("2027-01-01")),
        }
    );
    let bare = Stewardship::resolve(
        Some(config.metrics[1].stewardship()),
        Some(manifest.stewardship()),
        fallback.clone(),
    );
    assert_eq!(
        bare,
        Stewardship {
            owner: Some("package-team".into()),
            stage: Some(Stage::Alert),
            review_by: Some(date("2027-06-01")),
        }
    );
    let plain = Stewardship::resolve(
        Some(config.metrics[1].stewardship()),
        None,
        fallback.clone(),
    );
    assert_eq!(plain.owner.as_deref(), Some("descriptor-team"));
    assert_eq!(
        plain.stage,
        Some(Stage::Gate),
        "a configured metric without a stage is at the default"
    );
    assert_eq!(plain.review_by, None);
    // A metric no longer in the config keeps what was recorded.
    let recorded = Stewardship {
        owner: Some("old-team".into()),
        stage: Some(Stage::Shadow),
        review_by: Some(date("2026-01-01")),
    };
    assert_eq!(Stewardship::resolve(None, None, recorded.clone()), recorded);
    assert!(!recorded.is_ownerless());
    assert!(Stewardship::default().is_ownerless());
}

#[test]
fn numbers_are_formatted_for_people() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(3400), "3,400");
    assert_eq!(thousands(1_234_567), "1,234,567");
    assert_eq!(millis(412.4), "412 ms");
    assert_eq!(millis(3.25), "3.2 ms");
    assert_eq!(millis(0.05), "0.050 ms");
    let mut v = vec![5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    assert_eq!(quantile(&mut v, 0.95), Some(10));
    assert_eq!(quantile(&mut v, 0.5), Some(5));
    assert_eq!(quantile(&mut [], 0.95), None);
    assert_eq!("noisy".parse::<Kind>(), Ok(Kind::Noisy));
    assert!(
        "loud"
            .parse::<Kind>()
            .unwrap_err()
            .contains("one of: stale, silent")
    );
}
