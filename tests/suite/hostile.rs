//! Misbehaving plugins are contained: each gets its own outcome with a clear
//! cause, the other metrics are unaffected, and the run completes.

use caliper_tests::{Scratch, metric_toml};
use serde_json::{Value, json};

fn outcome<'a>(results: &'a [Value], metric: &str, sample: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["metric"] == metric && r["sample_id"] == sample)
        .unwrap_or_else(|| panic!("no result for {metric} on {sample}"))
}

#[test]
fn every_kind_of_misbehaviour_gets_its_own_outcome_and_the_run_completes() {
    let s = Scratch::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let h = |name: &str, extra: &str| metric_toml(name, "hostile", extra);
    let config = [
        h(
            "loop",
            r#"config = { mode = "loop", trigger = "BAD" }
limits = { timeout_ms = 200 }"#,
        ),
        h(
            "memory",
            r#"config = { mode = "memory", trigger = "BAD" }
limits = { memory_mib = 16 }"#,
        ),
        h("panic", r#"config = { mode = "panic", trigger = "BAD" }"#),
        h("read-file", r#"config = { mode = "read-file" }"#),
        h(
            "socket",
            &format!("config = {{ mode = \"socket\", address = \"{address}\" }}"),
        ),
        h("environment", r#"config = { mode = "environment" }"#),
        h(
            "huge-reason",
            r#"config = { mode = "huge-reason", trigger = "BAD" }"#,
        ),
        h("nan", r#"config = { mode = "nan", trigger = "BAD" }"#),
        h("error", r#"config = { mode = "error", trigger = "BAD" }"#),
        h(
            "fuel",
            r#"config = { mode = "loop", trigger = "BAD" }
limits = { fuel = 5000000, timeout_ms = 60000 }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    s.write("caliper.toml", &config);
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "s1", "output": "fine answer"}),
            json!({"id": "s2", "output": "BAD answer"}),
            json!({"id": "s3", "output": "another fine answer"}),
        ],
    );
    let run = s
        .caliper()
        .env("CALIPER_SECRET", "do-not-leak")
        .args([
            "run",
            "data.jsonl",
            "-o",
            "out.jsonl",
            "--summary",
            "summary.json",
        ])
        .output()
        .unwrap();
    let run = caliper_tests::Run(run).expect_code(0);
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), 3 * 11, "{}", run.stderr());

    let expect = |metric: &str, status: &str, reason_has: &str| {
        let r = outcome(&results, metric, "s2");
        assert_eq!(r["outcome"], status, "{metric}: {r}");
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(reason_has),
            "{metric}: reason {reason:?} lacks {reason_has:?}"
        );
        // The samples before and after are scored normally (a trapped
        // instance is replaced).
        for sample in ["s1", "s3"] {
            assert_eq!(
                outcome(&results, metric, sample)["outcome"],
                "pass",
                "{metric} on {sample}"
            );
        }
    };
    expect("loop", "timeout", "deadline of 200 ms");
    expect("fuel", "timeout", "fuel budget of 5000000");
    expect("memory", "memory", "memory cap of 16 MiB");
    expect("panic", "trap", "hostile plugin panicked on purpose");
    expect("huge-reason", "invalid", "reason of 1048576 bytes");
    expect("nan", "invalid", "non-finite value");
    expect("error", "error", "could not score this sample");

    // The loop was stopped near its deadline, not after seconds.
    let loop_us = outcome(&results, "loop", "s2")["duration_us"]
        .as_u64()
        .unwrap();
    assert!(
        (150_000..5_000_000).contains(&loop_us),
        "loop ran {loop_us} µs"
    );

    // The sandbox denied the file, the socket, the environment and the clock.
    for id in ["s1", "s2", "s3"] {
        let r = outcome(&results, "read-file", id);
        assert_eq!(r["value"], 0.0, "{r}");
        assert!(r["reason"].as_str().unwrap().contains("denied"), "{r}");
        let r = outcome(&results, "socket", id);
        assert_eq!(r["value"], 0.0, "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("connect to {address} denied")),
            "{r}"
        );
        let r = outcome(&results, "environment", id);
        assert_eq!(r["labels"]["env_vars"], "0", "{r}");
        assert_eq!(r["labels"]["unix_time"], "946684800", "{r}");
    }
    assert!(listener.accept().is_err(), "a guest connected to the host");

    // The control metric is unaffected, and the summary counts every error.
    for id in ["s1", "s2", "s3"] {
        assert_eq!(outcome(&results, "length", id)["outcome"], "pass");
    }
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(s.path().join("summary.json")).unwrap())
            .unwrap();
    let loop_row = summary["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "loop")
        .unwrap();
    assert_eq!(loop_row["errors"], 1);
    assert_eq!(loop_row["error_kinds"]["timeout"], 1);
    assert_eq!(loop_row["applicable"], 3);
    assert!((loop_row["pass_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    // The table shows errors by kind.
    assert!(run.stdout().contains("1 (1 timeout)"), "{}", run.stdout());
}

#[test]
fn a_rejected_config_fails_at_load_time_with_the_metric_named() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &[
            metric_toml("fussy", "hostile", r#"config = { mode = "reject-config" }"#),
            metric_toml("typo", "response-length", r#"config = { maximum = 3 }"#),
            metric_toml("fine", "response-length", ""),
        ]
        .concat(),
    );
    s.jsonl("data.jsonl", &[json!({"output": "x"})]);
    let run = s
        .run(&["run", "data.jsonl", "-o", "out.jsonl"])
        .expect_code(2);
    let err = run.stderr();
    assert!(err.contains("2 of 3 metrics failed to load"), "{err}");
    assert!(err.contains("metric `fussy`"), "{err}");
    assert!(
        err.contains("rejected its config: this metric rejects every config"),
        "{err}"
    );
    assert!(err.contains("metric `typo`"), "{err}");
    assert!(err.contains("unknown field `maximum`"), "{err}");
    assert!(
        !s.path().join("out.jsonl").exists(),
        "no output on a failed load"
    );
}

#[test]
fn instances_are_reused_replaced_after_a_trap_and_fresh_when_asked() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &[
            metric_toml(
                "reused",
                "hostile",
                r#"config = { mode = "count", trigger = "BAD" }"#,
            ),
            metric_toml(
                "fresh",
                "hostile",
                "config = { mode = \"count\", trigger = \"BAD\" }\nlimits = { fresh_instance = true }",
            ),
        ]
        .concat(),
    );
    let lines: Vec<Value> = (1..=20)
        .map(|i| json!({"id": i, "output": if i == 11 { "BAD" } else { "fine" }}))
        .collect();
    s.jsonl("data.jsonl", &lines);
    s.run(&["run", "data.jsonl", "-o", "out.jsonl", "-j", "1"])
        .expect_code(0);
    let results = s.results("out.jsonl");
    let values = |metric: &str| -> Vec<Value> {
        results
            .iter()
            .filter(|r| r["metric"] == metric)
            .map(|r| r["value"].clone())
            .collect()
    };
    // One worker: the instance sees every sample (its count rises), traps
    // on sample 11, and a new instance takes over from sample 12.
    let mut expected: Vec<Value> = (1..=10).map(|n| json!(n as f64)).collect();
    expected.push(Value::Null);
    expected.extend((1..=9).map(|n| json!(n as f64)));
    assert_eq!(values("reused"), expected);
    assert_eq!(outcome(&results, "reused", "11")["outcome"], "trap");
    // A fresh instance per sample never counts past one.
    let mut fresh: Vec<Value> = vec![json!(1.0); 20];
    fresh[10] = Value::Null;
    assert_eq!(values("fresh"), fresh);
}

#[test]
fn batched_calls_give_the_same_results_and_pin_a_trap_on_its_sample() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &[
            metric_toml(
                "batched-length",
                "response-length",
                "config = { max = 3 }\nlimits = { batch_size = 8 }",
            ),
            metric_toml("single-length", "response-length", "config = { max = 3 }"),
            metric_toml(
                "batched-panic",
                "hostile",
                "config = { mode = \"panic\", trigger = \"BAD\" }\nlimits = { batch_size = 8 }",
            ),
        ]
        .concat(),
    );
    let lines: Vec<Value> = (0..20)
        .map(|i| {
            let output = if i == 13 {
                "BAD".to_owned()
            } else {
                "w ".repeat(i % 6)
            };
            json!({"id": format!("s{i}"), "output": output})
        })
        .collect();
    s.jsonl("data.jsonl", &lines);
    s.run(&["run", "data.jsonl", "-o", "out.jsonl"])
        .expect_code(0);
    let results = s.results("out.jsonl");
    for i in 0..20 {
        let id = format!("s{i}");
        let batched = outcome(&results, "batched-length", &id);
        let single = outcome(&results, "single-length", &id);
        assert_eq!(batched["outcome"], single["outcome"], "{id}");
        assert_eq!(batched["value"], single["value"], "{id}");
        let expected = if i == 13 { "trap" } else { "pass" };
        assert_eq!(
            outcome(&results, "batched-panic", &id)["outcome"],
            expected,
            "{id}"
        );
    }
}

/// A metric that stalls on one sample (here: runs to its deadline) holds the
/// reader back instead of letting every later record pile up in memory
/// behind it. How far the reader runs ahead is not visible from outside the
/// process, so this test drives the runner library directly (the same code
/// path as `caliper run`) and counts the records it pulled from the dataset.
#[test]
fn a_stalled_sample_holds_the_reader_back_instead_of_buffering_the_dataset() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use caliper_dataset::Record;
    use caliper_run::runner::{self, RunOptions};
    use caliper_types::sample::Sample;

    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &metric_toml(
            "stall",
            "hostile",
            r#"config = { mode = "loop", trigger = "STALL" }
limits = { timeout_ms = 1500 }"#,
        ),
    );
    let plan = caliper_engine::resolve::resolve(
        &s.path().join("caliper.toml"),
        &Default::default(),
        &caliper_engine::resolve::NoRegistry,
    )
    .unwrap();
    let config = &plan.config;
    let runtime =
        caliper_engine::engine::Runtime::new(caliper_engine::load::runtime_options(config))
            .unwrap();
    let cache = caliper_engine::load::compile_cache(config);
    let specs = caliper_engine::load::load_metrics(&runtime, &cache, &plan)
        .unwrap_or_else(|e| panic!("{e:?}"));

    const RECORDS: u64 = 50_000;
    let pulled = Arc::new(AtomicU64::new(0));
    let records = {
        let pulled = pulled.clone();
        (1..=RECORDS).map(move |line| {
            pulled.fetch_add(1, Ordering::Relaxed);
            let output = if line == 1 { "STALL" } else { "fine" };
            Record {
                line,
                samples: Ok(vec![Sample {
                    id: format!("s{line}"),
                    output: output.into(),
                    ..Sample::default()
                }]),
            }
        })
    };
    let opts = RunOptions {
        jobs: 2,
        ..RunOptions::default()
    };
    let mut pulled_at_first_result = None;
    let mut outcomes = Vec::new();
    let mut sink = |e: &caliper_types::outcome::Evaluation| {
        pulled_at_first_result.get_or_insert(pulled.load(Ordering::Relaxed));
        outcomes.push(e.outcome);
        Ok(())
    };
    let totals = runner::run(&specs, Box::new(records), &opts, &mut sink, &|_| {}).unwrap();

    // The first result is the stalled sample; while it ran (1.5 s), the
    // other worker could have scored the whole dataset. The reader stopped a
    // few chunks ahead instead.
    let ahead = pulled_at_first_result.unwrap();
    assert!(
        ahead < 1_000,
        "the reader pulled {ahead} of {RECORDS} records while one sample stalled"
    );
    // Nothing was lost: every record was scored, the stall is a timeout.
    assert_eq!(totals.records, RECORDS);
    assert_eq!(outcomes.len() as u64, RECORDS);
    assert_eq!(
        outcomes[0],
        caliper_types::outcome::Status::Timeout,
        "{:?}",
        &outcomes[..3]
    );
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| *o == caliper_types::outcome::Status::Pass)
    );
}
