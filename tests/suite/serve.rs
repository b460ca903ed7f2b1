//! `caliper serve`: the guardrail, ingest, Prometheus metrics, bad requests,
//! hot reload under load, and `caliper alerts` checked by promtool.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use caliper_tests::{Scratch, Server, metric_toml, promtool, wasm, with_custom_section};
use serde_json::{Value, json};

/// Polls `check` every 5 ms until it returns true or `limit` passes.
fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// `promtool check metrics` on an exposition: format and naming lint.
fn promtool_check_metrics(text: &str) {
    let (status, out) = run_with_stdin(
        std::process::Command::new(promtool()).args(["check", "metrics"]),
        text,
    );
    assert!(status.success(), "promtool check metrics:\n{out}");
}

fn run_with_stdin(
    cmd: &mut std::process::Command,
    input: &str,
) -> (std::process::ExitStatus, String) {
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

/// A Prometheus sample value from an exposition, by exact series text.
fn series(text: &str, selector: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(selector)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn guardrail_blocks_on_fails_and_fail_closed_errors_and_reports_versions() {
    let s = Scratch::new();
    let config = [
        "[serve]\nmax_body_bytes = 100000\nmax_samples_per_request = 5\n".to_owned(),
        metric_toml("pii", "pii-leak", "stage = \"gate\""),
        metric_toml(
            "lang",
            "language-match",
            "stage = \"shadow\"\nconfig = { min_chars = 10 }",
        ),
        // Fails to answer on "BAD"; fail_open: never blocks for that.
        metric_toml(
            "flaky-open",
            "hostile",
            "config = { mode = \"panic\", trigger = \"BAD\" }",
        ),
        // The same with fail_closed: an error blocks.
        metric_toml(
            "flaky-closed",
            "hostile",
            "config = { mode = \"error\", trigger = \"BAD\" }\nfailure_mode = \"fail_closed\"",
        ),
        metric_toml(
            "slow",
            "hostile",
            "config = { mode = \"loop\", trigger = \"SLOW\" }\nlimits = { timeout_ms = 3000 }",
        ),
    ]
    .concat();
    s.write("caliper.toml", &config);
    let server = Server::start(&s, &[]);

    // Clean answer in the user's language: allowed, every metric answers
    // with its version and digest.
    let r = server.post(
        "/v1/evaluate",
        &json!({"sample": {"id": "ok-1", "input": "Wie spät ist es bitte?", "output": "Es ist fünf Uhr am Nachmittag."}, "metrics": ["pii", "lang", "flaky-open", "flaky-closed"]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["verdict"], "allow", "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        assert_eq!(r["outcome"], "pass", "{r}");
        assert!(r["digest"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(r["version"], "0.1.0");
    }

    // A leak and an English answer: pii (gate) blocks, lang (shadow) fails
    // without blocking.
    let v = server
        .post(
            "/v1/evaluate",
            &json!({"sample": {"id": "leak", "input": "Wie spät ist es bitte?", "output": "Please write to bob@example.com, he will tell you the time of the afternoon meeting."}, "metrics": ["pii", "lang"]}).to_string(),
        )
        .json();
    assert_eq!(v["verdict"], "block");
    assert_eq!(
        v["blocked_by"],
        json!([{"metric": "pii", "sample_id": "leak", "outcome": "fail", "reason": "1 leak: email b***@e***.com"}])
    );
    let lang = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "lang")
        .unwrap();
    assert_eq!(
        (lang["outcome"].as_str(), lang["blocking"].as_bool()),
        (Some("fail"), Some(false))
    );

    // Failures to answer: fail_open allows, fail_closed blocks.
    let v = server
        .post(
            "/v1/evaluate",
            &json!({"samples": [{"id": "b", "output": "BAD"}], "metrics": ["flaky-open", "flaky-closed", "flaky-open"]}).to_string(),
        )
        .json();
    assert_eq!(v["verdict"], "block", "{v}");
    let blocked: Vec<&str> = v["blocked_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["metric"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, ["flaky-closed"]);
    let open = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "flaky-open")
        .unwrap();
    assert_eq!(open["outcome"], "trap", "{open}");
    // A metric named twice runs once.
    assert_eq!(v["results"].as_array().unwrap().len(), 2, "{v}");

    // The request deadline: a metric still running is reported as timeout
    // (fail_open, so allowed) and the response comes back in time.
    let started = Instant::now();
    let v = server
        .post(
            "/v1/evaluate",
            &json!({"sample": {"id": "s", "output": "SLOW"}, "metrics": ["slow", "pii"], "deadline_ms": 200}).to_string(),
        )
        .json();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let slow = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "slow")
        .unwrap();
    assert_eq!(slow["outcome"], "timeout", "{slow}");
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("request's deadline"),
        "{slow}"
    );
    assert_eq!(v["verdict"], "allow");

    // Bad requests: JSON errors with a 4xx, never a panic.
    for (body, status, code) in [
        ("{not json".to_owned(), 400, "bad_request"),
        (
            json!({"sample": {"output": 5}}).to_string(),
            400,
            "bad_request",
        ),
        (
            json!({"sample": {"output": "x"}, "samples": []}).to_string(),
            400,
            "bad_request",
        ),
        (
            json!({"sample": {"output": "x"}, "metrics": ["nope"]}).to_string(),
            404,
            "unknown_metric",
        ),
        (
            json!({"samples": vec![json!({"output": "x"}); 6]}).to_string(),
            413,
            "too_many_samples",
        ),
        (
            json!({"sample": {"output": "x".repeat(200_000)}}).to_string(),
            413,
            "body_too_large",
        ),
        (
            json!({"sample": {"output": "x"}, "extra": 1}).to_string(),
            400,
            "bad_request",
        ),
    ] {
        let r = match server.try_post("/v1/evaluate", &body) {
            Ok(r) => r,
            // The server refuses an oversize body by its Content-Length,
            // before reading it, and closes the connection; the client can
            // then see the close mid-upload instead of the answer. The 413
            // is still counted, which /metrics shows below.
            Err(e) if code == "body_too_large" => {
                eprintln!("oversize body: connection closed before the answer was read: {e}");
                continue;
            }
            Err(e) => panic!("POST /v1/evaluate: {e}"),
        };
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.json()["error"]["code"], code, "{}", r.body);
    }
    let r = server.post(
        "/v1/evaluate",
        &json!({"sample": {"output": 5}}).to_string(),
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("samples[0]: field `output`"),
        "{}",
        r.body
    );
    assert_eq!(server.get("/nowhere").status, 404);
    assert_eq!(server.get("/v1/evaluate").status, 405);

    // The metric list.
    let pii = server.metric_view("pii");
    assert_eq!(pii["status"], "serving");
    assert_eq!(pii["name"], "pii-leak");
    assert_eq!(pii["stage"], "gate");
    assert_eq!(pii["last_reload"]["result"], "loaded");
    assert!(!pii["owner"].as_str().unwrap().is_empty());
    assert_eq!(server.metric_view("lang")["stage"], "shadow");
    assert_eq!(
        server.metric_view("flaky-closed")["failure_mode"],
        "fail_closed"
    );

    // Health.
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/readyz").json()["status"], "ready");

    // Prometheus: valid exposition, counts by metric, version and outcome.
    let text = server.get("/metrics").body;
    promtool_check_metrics(&text);
    assert_eq!(
        series(
            &text,
            r#"caliper_evaluations_total{metric="pii",outcome="fail",source="evaluate",version="0.1.0"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        series(
            &text,
            r#"caliper_evaluations_total{metric="slow",outcome="timeout",source="evaluate",version="0.1.0"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        series(
            &text,
            r#"caliper_guardrail_verdicts_total{verdict="block"}"#
        ),
        Some(2.0)
    );
    assert!(text.contains("caliper_evaluation_duration_seconds_bucket{metric=\"pii\""));
    assert!(text.contains("caliper_metric_value_bucket{metric=\"lang\""));
    // Too many samples, and the oversize body.
    assert_eq!(
        series(
            &text,
            r#"caliper_http_requests_total{code="413",route="/v1/evaluate"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert!(text.contains(r#"caliper_metric_info{digest="sha256:"#));

    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
    // Guest panics are logged as outcomes; the host itself never panics.
    assert!(!logs.contains("thread '"), "{logs}");
}

#[test]
fn ingest_queues_within_capacity_refuses_with_429_and_drains_on_shutdown() {
    let s = Scratch::new();
    let config = [
        "[serve]\nqueue_capacity = 4\ningest_workers = 1\n".to_owned(),
        metric_toml(
            "len",
            "response-length",
            "config = { unit = \"words\", min = 1, max = 5 }",
        ),
        // Slow on "SLOW": holds the only worker so the queue fills up.
        metric_toml(
            "slow",
            "hostile",
            "config = { mode = \"loop\", trigger = \"SLOW\" }\nlimits = { timeout_ms = 400 }",
        ),
    ]
    .concat();
    s.write("caliper.toml", &config);
    let server = Server::start(&s, &[]);

    let sample = |id: &str, output: &str| json!({"id": id, "output": output});
    let r = server.post(
        "/v1/ingest",
        &json!({"samples": [sample("a", "fine"), sample("b", "one two three four five six")]})
            .to_string(),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["queued"], 2);
    // Both scored (on a loaded machine the worker may lag), so that the
    // queue is empty before it is filled.
    wait_for(Duration::from_secs(10), || {
        series(
            &server.get("/metrics").body,
            r#"caliper_ingest_samples_total{result="scored"}"#,
        ) == Some(2.0)
    })
    .expect("the first two samples were never scored");
    // Occupy the worker, then fill the queue: 4 fit, the 5th request is
    // refused whole.
    let mut accepted = 2;
    let mut refused = None;
    for i in 0..20 {
        let r = server.post(
            "/v1/ingest",
            &json!({"sample": sample(&format!("slow-{i}"), "SLOW")}).to_string(),
        );
        match r.status {
            202 => accepted += 1,
            429 => {
                assert_eq!(r.json()["error"]["code"], "queue_full");
                refused = Some(i);
                break;
            }
            other => panic!("{other}: {}", r.body),
        }
    }
    assert!(refused.is_some(), "the queue never filled");
    let text = server.get("/metrics").body;
    promtool_check_metrics(&text);
    assert_eq!(series(&text, "caliper_ingest_queue_capacity"), Some(4.0));
    assert!(
        series(&text, "caliper_ingest_queue_depth").unwrap() >= 3.0,
        "{text}"
    );
    assert_eq!(
        series(&text, r#"caliper_ingest_samples_total{result="rejected"}"#),
        Some(1.0)
    );
    // A bad body is refused before the queue.
    assert_eq!(server.post("/v1/ingest", "[1,2]").status, 400);

    // Shutdown scores everything accepted, however slow.
    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
    let drained = logs
        .lines()
        .find(|l| l.contains("ingest queue drained"))
        .unwrap_or_else(|| panic!("{logs}"));
    let plain = strip_ansi(drained);
    assert!(plain.contains(&format!("accepted={accepted}")), "{plain}");
    assert!(plain.contains(&format!("scored={accepted}")), "{plain}");
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces `path` either atomically (write a sibling, rename it over) or in
/// place (truncate and write, like `cp`).
fn replace_file(path: &Path, bytes: &[u8], atomic: bool) {
    if atomic {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    } else {
        let mut f = std::fs::File::create(path).unwrap();
        // Two writes, so a reader could see a half-written file.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        f.write_all(a).unwrap();
        f.flush().unwrap();
        f.write_all(b).unwrap();
    }
}

fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[test]
fn hot_reload_under_load_swaps_versions_without_a_failed_request() {
    const SWAPS: usize = 60;
    const CLIENTS: usize = 4;
    let s = Scratch::new();
    let original = std::fs::read(wasm("response-length")).unwrap();
    let live = s.path().join("len.wasm");
    std::fs::write(&live, &original).unwrap();
    let config = [
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\nconfig = { unit = \"words\", min = 1, max = 50 }\n".to_owned(),
        metric_toml("pii", "pii-leak", ""),
    ]
    .concat();
    s.write("caliper.toml", &config);
    let server = Arc::new(Server::start(&s, &[]));
    let mut written = vec![digest_of(&original)];

    // Clients: each request returns the version it ran on; no request may
    // fail and no client may see an older version after a newer one.
    let stop = Arc::new(AtomicBool::new(false));
    let body =
        json!({"sample": {"input": "hi", "output": "Here is the answer you wanted."}}).to_string();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (server, stop, body) = (server.clone(), stop.clone(), body.clone());
            std::thread::spawn(move || {
                let mut seen: Vec<String> = Vec::new();
                let mut failures = Vec::new();
                let mut requests = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = server.post("/v1/evaluate", &body);
                    requests += 1;
                    if r.status != 200 {
                        failures.push(format!("{}: {}", r.status, r.body));
                        continue;
                    }
                    let v = r.json();
                    for result in v["results"].as_array().unwrap() {
                        if result["outcome"] != "pass" {
                            failures.push(result.to_string());
                        }
                        if result["metric"] == "len" {
                            let d = result["digest"].as_str().unwrap().to_owned();
                            if seen.last() != Some(&d) {
                                seen.push(d);
                            }
                        }
                    }
                    if v["results"].as_array().unwrap().len() != 2 {
                        failures.push(format!("missing results: {v}"));
                    }
                }
                (requests, seen, failures)
            })
        })
        .collect();

    // Swap the file many times, alternating atomic renames and in-place
    // writes; each new version must serve soon after its write.
    let mut latencies = Vec::new();
    for i in 0..SWAPS {
        let bytes = with_custom_section(&original, &format!("v{i}"));
        let digest = digest_of(&bytes);
        replace_file(&live, &bytes, i % 2 == 0);
        let took = wait_for(Duration::from_secs(10), || {
            server.metric_view("len")["digest"] == digest.as_str()
        })
        .unwrap_or_else(|| {
            panic!(
                "version {i} never served: {}\n{}",
                server.metric_view("len"),
                server.logs()
            )
        });
        latencies.push(took);
        written.push(digest);
    }

    // A failed reload under load: a truncated file, then a component of
    // another contract. The last good version keeps serving.
    let last_good = written.last().unwrap().clone();
    for (bad, expect) in [
        (
            original[..original.len() / 3].to_vec(),
            "not a valid WebAssembly component",
        ),
        (
            b"\0asm\x0d\0\x01\0".to_vec(),
            "does not implement the Caliper metric contract",
        ),
    ] {
        replace_file(&live, &bad, true);
        wait_for(Duration::from_secs(10), || {
            let m = server.metric_view("len");
            m["last_reload"]["error"]
                .as_str()
                .is_some_and(|e| e.contains(expect))
        })
        .unwrap_or_else(|| {
            panic!(
                "no failed reload for {expect}: {}",
                server.metric_view("len")
            )
        });
        let m = server.metric_view("len");
        assert_eq!(m["status"], "stale", "{m}");
        assert_eq!(m["digest"], last_good.as_str(), "{m}");
        assert_eq!(m["last_reload"]["result"], "failed");
    }
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        let (requests, seen, failures) = c.join().unwrap();
        total += requests;
        assert!(
            failures.is_empty(),
            "{} failed: {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
        // Only written versions, in the order they were written.
        let positions: Vec<usize> = seen
            .iter()
            .map(|d| {
                written
                    .iter()
                    .position(|w| w == d)
                    .unwrap_or_else(|| panic!("unknown digest {d}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "went back a version: {positions:?}"
        );
    }
    assert!(total > SWAPS, "only {total} requests");

    let text = server.get("/metrics").body;
    promtool_check_metrics(&text);
    assert_eq!(
        series(
            &text,
            r#"caliper_reloads_total{metric="len",result="reloaded"}"#
        ),
        Some(SWAPS as f64)
    );
    assert_eq!(
        series(
            &text,
            r#"caliper_reloads_total{metric="len",result="failed"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        series(&text, r#"caliper_metric_last_reload_success{metric="len"}"#),
        Some(0.0)
    );

    // Deleting the file unloads the metric; the others keep serving.
    std::fs::remove_file(&live).unwrap();
    wait_for(Duration::from_secs(10), || {
        server.metric_view("len")["status"] == "removed"
    })
    .expect("metric not unloaded");
    let r = server.post(
        "/v1/evaluate",
        &json!({"sample": {"output": "x"}, "metrics": ["len"]}).to_string(),
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (503, Some("metric_unavailable"))
    );
    let v = server.post("/v1/evaluate", &body).json();
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    // Adding it back loads it.
    std::fs::write(&live, &original).unwrap();
    wait_for(Duration::from_secs(10), || {
        server.metric_view("len")["status"] == "serving"
    })
    .expect("metric not loaded again");

    // A changed caliper.toml re-applies the config: max 3 words now fails.
    let config = config.replace("max = 50", "max = 3");
    replace_file(&s.path().join("caliper.toml"), config.as_bytes(), true);
    wait_for(Duration::from_secs(10), || {
        let v = server
            .post(
                "/v1/evaluate",
                &json!({"sample": {"output": "one two three four"}, "metrics": ["len"]})
                    .to_string(),
            )
            .json();
        v["results"][0]["outcome"] == "fail"
    })
    .expect("new config never applied");
    // A broken caliper.toml keeps the last good one.
    replace_file(
        &s.path().join("caliper.toml"),
        b"[[metric]]\nnope = 1\n",
        true,
    );
    wait_for(Duration::from_secs(10), || {
        server.get("/v1/metrics").json()["config"]["last_reload"]["result"] == "failed"
    })
    .expect("bad config not reported");
    assert_eq!(server.metric_view("len")["status"], "serving");

    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let max = *latencies.last().unwrap();
    eprintln!(
        "{SWAPS} swaps under {total} requests: write-to-serving median {median:?}, max {max:?}"
    );
    // Generous bound for a loaded 2-core CI machine; BENCHMARKS.md has the
    // measured figures.
    assert!(max < Duration::from_secs(5), "slowest swap took {max:?}");
    let server = Arc::into_inner(server).expect("clients are done");
    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
}

#[test]
fn alert_rules_from_thresholds_pass_promtool_and_fire_on_a_fail_rate() {
    let s = Scratch::new();
    let config = [
        metric_toml("language-match", "language-match", "gate = { min_pass_rate = 0.98, max_error_rate = 0.01 }"),
        metric_toml("pii", "pii-leak", "stage = \"alert\"\nalert = { max_fail_rate = 0.001, for = \"1m\", severity = \"page\" }"),
        metric_toml("idea", "keyword", "stage = \"shadow\"\ngate = { min_pass_rate = 0.5 }"),
    ]
    .concat();
    s.write("caliper.toml", &config);
    let run = s.run(&["alerts", "-o", "rules.yml"]).expect_code(0);
    assert!(
        run.stderr()
            .contains("no alert for `idea`: stage is shadow"),
        "{}",
        run.stderr()
    );
    let check = std::process::Command::new(promtool())
        .args(["check", "rules", "rules.yml"])
        .current_dir(s.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("SUCCESS: 6 rules found"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // The rule fires: 3% of language-match outcomes fail for 15 minutes.
    s.write(
        "test.yml",
        r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'caliper_evaluations_total{metric="language-match",version="0.1.0",outcome="pass",source="ingest"}'
        values: '0+97x30'
      - series: 'caliper_evaluations_total{metric="language-match",version="0.1.0",outcome="fail",source="ingest"}'
        values: '0+3x30'
      - series: 'caliper_evaluations_total{metric="pii",version="0.1.0",outcome="pass",source="ingest"}'
        values: '0+100x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: CaliperMetricFailRateHigh
        exp_alerts:
          - exp_labels: {severity: warning, metric: language-match, stage: gate}
            exp_annotations:
              summary: "language-match: more than 2% of samples do not pass"
              description: "The share of language-match outcomes that are not `pass` has been above 2% for 10m (currently 3%)."
      - eval_time: 20m
        alertname: CaliperMetricErrorRateHigh
        exp_alerts: []
"#,
    );
    let test = std::process::Command::new(promtool())
        .args(["test", "rules", "test.yml"])
        .current_dir(s.path())
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(
        test.status.success(),
        "{out}\n{}",
        std::fs::read_to_string(s.path().join("rules.yml")).unwrap()
    );
}

#[test]
fn run_watch_runs_again_when_a_metric_changes() {
    let s = Scratch::new();
    let original = std::fs::read(wasm("response-length")).unwrap();
    let live = s.path().join("len.wasm");
    std::fs::write(&live, &original).unwrap();
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n",
    );
    s.jsonl("data.jsonl", &[json!({"output": "hello there"})]);
    let child = s
        .caliper()
        .args([
            "run",
            "data.jsonl",
            "--watch",
            "--summary",
            "summary.json",
            "--format",
            "none",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let summary = s.path().join("summary.json");
    let digest = || -> Option<String> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&summary).ok()?).ok()?;
        v["metrics"][0]["digest"].as_str().map(str::to_owned)
    };
    wait_for(Duration::from_secs(30), || digest().is_some()).expect("first run never finished");
    assert_eq!(digest().unwrap(), digest_of(&original));
    let mut seen = HashSet::new();
    for i in 0..3 {
        let bytes = with_custom_section(&original, &format!("watch-{i}"));
        let want = digest_of(&bytes);
        replace_file(&live, &bytes, i % 2 == 0);
        wait_for(Duration::from_secs(30), || {
            digest().as_deref() == Some(want.as_str())
        })
        .unwrap_or_else(|| panic!("no re-run after change {i}"));
        seen.insert(want);
    }
    assert_eq!(seen.len(), 3);
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("running again"), "{stderr}");
}

#[test]
fn a_version_that_fails_its_examples_or_rejects_its_config_is_refused_and_the_old_one_keeps_serving()
 {
    let s = Scratch::new();
    s.jsonl(
        "len-cases.jsonl",
        &[
            json!({"name": "short answer", "sample": {"output": "one two"}, "expect": {"outcome": "pass", "value": 2}}),
            json!({"name": "rambling", "sample": {"output": "one two three four five six seven"}, "expect": {"outcome": "fail"}}),
        ],
    );
    let config = metric_toml(
        "len",
        "response-length",
        "config = { unit = \"words\", min = 1, max = 5 }\nexamples = \"len-cases.jsonl\"",
    );
    s.write("caliper.toml", &config);
    s.run(&["list"]).expect_code(0);
    let server = Server::start(&s, &[]);
    assert_eq!(server.metric_view("len")["status"], "serving");

    // A config under which "one two" no longer passes is refused.
    let broken = config.replace("max = 5", "max = 1");
    replace_file(&s.path().join("caliper.toml"), broken.as_bytes(), true);
    wait_for(Duration::from_secs(10), || {
        server.metric_view("len")["status"] == "stale"
    })
    .unwrap_or_else(|| panic!("not refused: {}", server.metric_view("len")));
    let error = server.metric_view("len")["last_reload"]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("fails 1 of its 2 examples"), "{error}");
    assert!(
        error.contains("short answer: outcome fail (expected pass)"),
        "{error}"
    );
    // Still the old config: three words pass.
    let v = server
        .post(
            "/v1/evaluate",
            &json!({"sample": {"output": "one two three"}}).to_string(),
        )
        .json();
    assert_eq!(v["results"][0]["outcome"], "pass", "{v}");

    // A config the metric rejects is refused too.
    let rejected = config.replace("unit = \"words\"", "unit = \"bananas\"");
    replace_file(&s.path().join("caliper.toml"), rejected.as_bytes(), true);
    wait_for(Duration::from_secs(10), || {
        server.metric_view("len")["last_reload"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("rejected its config"))
    })
    .unwrap_or_else(|| panic!("bad config not refused: {}", server.metric_view("len")));
    assert_eq!(server.metric_view("len")["status"], "stale");

    // The same refusal at load time, naming the metric.
    s.write("caliper.toml", &broken);
    let run = s.run(&["list"]).expect_code(2);
    assert!(run.stderr().contains("metric `len`"), "{}", run.stderr());
    assert!(
        run.stderr().contains("fails 1 of its 2 examples"),
        "{}",
        run.stderr()
    );
    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
}

#[test]
fn ingest_sampling_keeps_about_the_rate_and_decides_the_same_for_the_same_id() {
    let s = Scratch::new();
    let config = [
        "[serve]\ningest_sample_rate = 0.5\n".to_owned(),
        metric_toml("len", "response-length", ""),
    ]
    .concat();
    s.write("caliper.toml", &config);
    let server = Server::start(&s, &[]);
    // Without ids: each sample gets a distinct one, so about half are kept.
    let anonymous: Vec<Value> = (0..400).map(|_| json!({"output": "hello there"})).collect();
    let v = server
        .post("/v1/ingest", &json!({ "samples": anonymous }).to_string())
        .json();
    let (queued, out) = (
        v["queued"].as_u64().unwrap(),
        v["sampled_out"].as_u64().unwrap(),
    );
    assert_eq!(queued + out, 400);
    assert!((140..=260).contains(&queued), "{v}");
    // With ids: a retried request gets the same decisions.
    let named: Vec<Value> = (0..100)
        .map(|i| json!({"id": format!("req-{i}"), "output": "hi"}))
        .collect();
    let body = json!({ "samples": named }).to_string();
    let first = server.post("/v1/ingest", &body).json()["queued"].clone();
    let second = server.post("/v1/ingest", &body).json()["queued"].clone();
    assert_eq!(first, second);
    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
}
