//! Live traffic from OpenTelemetry: the real OpenTelemetry Python SDK
//! (`tests/otel/emit_spans.py`, its OTLP/HTTP protobuf exporter) sends LLM
//! spans in the three dialects to `caliper serve`'s `/v1/traces`; the
//! evaluations come back as `gen_ai.evaluation.result` events to an OTLP
//! logs endpoint (`tests/otel/receiver.py`, which decodes them with the
//! OpenTelemetry protobuf definitions). The same spans, written as an OTLP
//! JSON export, are a dataset for `caliper run`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use caliper_tests::{Scratch, Server, repo, wait_until};
use serde_json::Value;

/// The spans `emit_spans.py` sent: (sample id, dialect, metric → outcome).
type Emitted = Vec<(String, String, BTreeMap<String, String>)>;

fn emit(s: &Scratch, args: &[&str]) -> Emitted {
    let out = Command::new("python3")
        .arg(repo().join("tests/otel/emit_spans.py"))
        .args(args)
        .current_dir(s.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "emit_spans.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["spans"], 6, "{v}");
    v["llm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let expect = s["expect"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (
                s["id"].as_str().unwrap().to_owned(),
                s["dialect"].as_str().unwrap().to_owned(),
                expect,
            )
        })
        .collect()
}

/// The OTLP logs receiver, on a free port.
struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    fn start(out: &std::path::Path, fail_first: u32) -> Receiver {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/otel/receiver.py"))
            .arg(out)
            .args(["--fail-first", &fail_first.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the receiver prints its port");
        Receiver { child, port }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const METRICS: &str = "[[metric]]\npath = \"builtin:language-match\"\n\
                       [[metric]]\npath = \"builtin:pii-leak\"\n";

fn counter(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn post(
    server: &Server,
    content_type: &str,
    encoding: Option<&str>,
    body: &[u8],
) -> (u16, Vec<u8>, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent
        .post(format!("{}/v1/traces", server.base))
        .header("content-type", content_type);
    if let Some(e) = encoding {
        request = request.header("content-encoding", e);
    }
    let mut r = request.send(body).unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        r.status().as_u16(),
        r.body_mut().read_to_vec().unwrap_or_default(),
        retry,
    )
}

#[test]
fn spans_from_the_python_sdk_are_scored_and_come_back_as_evaluation_events() {
    let s = Scratch::new();
    let events = s.path().join("events.jsonl");
    // The endpoint refuses the first batch (503): it is sent again.
    let receiver = Receiver::start(&events, 1);
    s.write(
        "caliper.toml",
        &format!(
            "{METRICS}[serve]\notlp_endpoint = \"http://127.0.0.1:{}\"\n",
            receiver.port
        ),
    );
    let server = Server::start(&s, &[]);
    let url = format!("{}/v1/traces", server.base);
    let emitted = emit(&s, &["--endpoint", &url, "--gzip"]);
    assert_eq!(emitted.len(), 3);

    let read_events = || -> Vec<Value> {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(30), || read_events().len() >= 6),
        "events: {:?}\nlogs: {}",
        read_events(),
        server.logs()
    );
    let got = read_events();
    assert_eq!(got.len(), 6, "{got:?}");
    for (id, dialect, expect) in &emitted {
        let (trace, span) = id.split_once(':').unwrap();
        for (metric, outcome) in expect {
            let event = got
                .iter()
                .find(|e| {
                    e["trace_id"] == *trace
                        && e["span_id"] == *span
                        && e["attributes"]["gen_ai.evaluation.name"] == *metric
                })
                .unwrap_or_else(|| panic!("no {metric} event for the {dialect} span: {got:?}"));
            assert_eq!(event["event_name"], "gen_ai.evaluation.result");
            assert_eq!(
                event["attributes"]["gen_ai.evaluation.score.label"], *outcome,
                "{dialect} {metric}: {event}"
            );
            assert!(
                event["attributes"]["gen_ai.evaluation.score.value"].is_number(),
                "{event}"
            );
            assert_eq!(event["resource"]["service.name"], "caliper");
        }
    }
    let fail = got
        .iter()
        .find(|e| {
            e["attributes"]["gen_ai.evaluation.score.label"] == "fail"
                && e["attributes"]["gen_ai.evaluation.name"] == "language-match"
        })
        .unwrap();
    assert!(
        fail["attributes"]["gen_ai.evaluation.explanation"]
            .as_str()
            .unwrap()
            .contains("German"),
        "{fail}"
    );

    let metrics = server.get("/metrics").body;
    for (series, want) in [
        ("caliper_otlp_spans_total{result=\"sample\"}", 3.0),
        ("caliper_otlp_spans_total{result=\"ignored\"}", 3.0),
        ("caliper_otlp_spans_total{result=\"rejected\"}", 0.0),
        ("caliper_otlp_events_total{result=\"exported\"}", 6.0),
        ("caliper_otlp_events_total{result=\"failed\"}", 0.0),
        ("caliper_ingest_samples_total{result=\"scored\"}", 3.0),
    ] {
        assert_eq!(counter(&metrics, series), Some(want), "{series}\n{metrics}");
    }
    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
}

#[test]
fn bad_trace_requests_get_the_answers_otlp_prescribes() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &format!("{METRICS}[serve]\nqueue_capacity = 2\ningest_sample_rate = 1.0\n"),
    );
    let server = Server::start(&s, &[]);
    let (code, _, _) = post(&server, "text/plain", None, b"hello");
    assert_eq!(code, 415);
    let (code, body, _) = post(&server, "application/x-protobuf", None, &[0xff; 16]);
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let (code, body, _) = post(&server, "application/json", Some("br"), b"{}");
    assert_eq!(code, 415, "{}", String::from_utf8_lossy(&body));

    // One readable LLM span and one without an output: a partial success.
    let span = |id: &str, attrs: Value| {
        serde_json::json!({"traceId": "5b8efff798038103d269b633813fc60c", "spanId": id,
                           "name": "chat", "attributes": attrs})
    };
    let kv = |k: &str, v: &str| serde_json::json!({"key": k, "value": {"stringValue": v}});
    let request = |spans: Vec<Value>| {
        serde_json::to_vec(
            &serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}),
        )
        .unwrap()
    };
    let good = |id: &str| {
        span(
            id,
            serde_json::json!([
                kv("gen_ai.prompt.0.content", "Hello there"),
                kv("gen_ai.completion.0.content", "Hello! How can I help?")
            ]),
        )
    };
    let partial = request(vec![
        good("00000000000000a1"),
        span(
            "00000000000000a2",
            serde_json::json!([kv("gen_ai.prompt.0.content", "hi")]),
        ),
    ]);
    let (code, body, _) = post(&server, "application/json", None, &partial);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["partialSuccess"]["rejectedSpans"], 1, "{reply}");
    assert!(
        reply["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("00000000000000a2: a genai-legacy span without an output message"),
        "{reply}"
    );
    // More LLM spans than the queue holds: refused whole, to be retried.
    let many = request(
        (0..3)
            .map(|i| good(&format!("00000000000000b{i}")))
            .collect(),
    );
    let (code, body, retry) = post(&server, "application/json", None, &many);
    assert_eq!(code, 429, "{}", String::from_utf8_lossy(&body));
    assert_eq!(retry.as_deref(), Some("1"));
    server.stop();
}

#[test]
fn an_otlp_json_export_is_a_dataset_with_the_same_mapping() {
    let s = Scratch::new();
    s.write("caliper.toml", METRICS);
    let emitted = emit(&s, &["--json-file", "traces.jsonl"]);
    let run = s
        .run(&[
            "run",
            "traces.jsonl",
            "-o",
            "out.jsonl",
            "--group-by",
            "dialect",
            "--no-history",
        ])
        .expect_code(0);
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), 6, "{}", run.stdout());
    for (id, dialect, expect) in &emitted {
        for (metric, outcome) in expect {
            let r = results
                .iter()
                .find(|r| r["sample_id"] == *id && r["metric"] == *metric)
                .unwrap_or_else(|| panic!("{id} {metric}: {results:?}"));
            assert_eq!(r["outcome"], *outcome, "{dialect} {metric}: {r}");
        }
    }
    let table = run.stdout();
    for dialect in ["genai", "openinference", "genai-legacy"] {
        assert!(table.contains(dialect), "{table}");
    }
}
