//! Every standard metric on its labelled cases, through the binary.
//!
//! Each plugin ships `plugins/<name>/cases.jsonl`: one case per line,
//! `{"name", "config"?, "sample", "expect": {"outcome", "value"?, "labels"?,
//! "reason_contains"?}}`. This test runs all cases of all plugins in one
//! `caliper run` (one metric instance per distinct config) and compares
//! every outcome. Every plugin must have pass and fail cases, and a skip case
//! when it can skip.

use std::collections::BTreeMap;
use std::path::PathBuf;

use caliper_engine::cases::Expect;
use caliper_tests::{Scratch, wasm};
use caliper_types::outcome::Evaluation;
use serde_json::{Value, json};

/// Plugins whose contract includes "not applicable".
const SKIPPING: &[&str] = &[
    "language-match",
    "similarity",
    "budget",
    "keyword",
    "regex-metric",
];

struct Case {
    plugin: String,
    name: String,
    instance: String,
    expect: Value,
}

fn plugins_dir() -> PathBuf {
    caliper_tests::repo().join("plugins")
}

#[test]
fn every_standard_metric_passes_its_labelled_cases() {
    let s = Scratch::new();
    let mut instances: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut cases = Vec::new();
    let mut lines = Vec::new();
    // The Rust plugins (other languages live in their own subdirectories).
    let mut plugins: Vec<String> = std::fs::read_dir(plugins_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    plugins.sort();
    assert!(
        plugins.len() >= 9,
        "expected the nine standard metrics, found {plugins:?}"
    );
    for plugin in &plugins {
        let path = plugins_dir().join(plugin).join("cases.jsonl");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut seen = BTreeMap::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            let config = case.get("config").cloned().unwrap_or(json!({}));
            // One instance per distinct (plugin, config).
            let key = format!("{plugin} {config}");
            let count = instances.len();
            let instance = instances
                .entry(key)
                .or_insert_with(|| (format!("{plugin}-{count}"), config.clone()))
                .0
                .clone();
            let expect = case["expect"].clone();
            *seen
                .entry(expect["outcome"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
            let mut sample = case["sample"].clone();
            let id = format!("{plugin}/{}", n + 1);
            sample["id"] = json!(id);
            sample["metadata"]["case_instance"] = json!(instance);
            lines.push(sample);
            cases.push(Case {
                plugin: plugin.clone(),
                name: case["name"].as_str().unwrap_or(&id).to_owned(),
                instance,
                expect,
            });
        }
        for outcome in ["pass", "fail"] {
            assert!(seen.contains_key(outcome), "{plugin} has no {outcome} case");
        }
        if SKIPPING.contains(&plugin.as_str()) {
            assert!(seen.contains_key("skip"), "{plugin} has no skip case");
        }
    }
    let metrics: Vec<Value> = instances
        .iter()
        .map(|(plugin_and_config, (instance, cfg))| {
            let plugin = plugin_and_config.split(' ').next().unwrap();
            json!({
                "name": instance,
                "path": wasm(plugin),
                "config": cfg,
                "when": {"case_instance": instance},
            })
        })
        .collect();
    let document: toml::Value = serde_json::from_value(json!({ "metric": metrics })).unwrap();
    let config = toml::to_string(&document).unwrap();
    s.write("caliper.toml", &config);
    s.jsonl("cases.jsonl", &lines);
    let run = s.run(&["run", "cases.jsonl", "-o", "out.jsonl"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), cases.len());

    let mut failures = Vec::new();
    for (case, result) in cases.iter().zip(&results) {
        assert_eq!(result["metric"], case.instance.as_str());
        let expect: Expect = serde_json::from_value(case.expect.clone())
            .unwrap_or_else(|e| panic!("{} / {}: bad expect: {e}", case.plugin, case.name));
        let evaluation: Evaluation = serde_json::from_value(result.clone()).unwrap();
        let problems = expect.mismatches(&evaluation);
        if !problems.is_empty() {
            failures.push(format!(
                "{} / {}: {}",
                case.plugin,
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A deterministic xorshift generator (no dependency, same inputs every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Each standard metric's configs as the repo ships them: its labelled
/// cases, and the metric tables of `examples/caliper.toml` and
/// `bench/caliper.toml` (keyed by component file name).
fn shipped_configs(plugin: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let cases = plugins_dir().join(plugin).join("cases.jsonl");
    for line in std::fs::read_to_string(&cases).unwrap().lines() {
        let Ok(case) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let config = case.get("config").cloned().unwrap_or_else(|| json!({}));
        out.push((format!("{}: {}", cases.display(), case["name"]), config));
    }
    let component = format!("{}.wasm", plugin.replace('-', "_"));
    let builtin = caliper_builtin::all()
        .iter()
        .find(|b| b.package() == plugin)
        .map(|b| b.reference());
    let default_set = "host/builtin/src/default.toml";
    for file in ["examples/caliper.toml", "bench/caliper.toml", default_set] {
        let path = caliper_tests::repo().join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        if file == default_set {
            // Its commented-out metrics too, as a user uncomments them.
            text = text
                .lines()
                .map(|l| match l.strip_prefix("# ") {
                    Some(l)
                        if l.starts_with("[[metric]]")
                            || l.starts_with("path = ")
                            || l.starts_with("config = ") =>
                    {
                        l
                    }
                    _ => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        let doc: toml::Table = toml::from_str(&text).unwrap();
        for m in doc["metric"].as_array().unwrap() {
            let p = m["path"].as_str().unwrap();
            if p.ends_with(&component) || Some(p) == builtin.as_deref() {
                let config = m.get("config").map_or(json!({}), |c| {
                    serde_json::to_value(c).expect("TOML config is JSON")
                });
                // the name defaults to the component's
                let name = m.get("name").and_then(|n| n.as_str()).unwrap_or(plugin);
                out.push((format!("{file}: {name}"), config));
            }
        }
    }
    out
}

/// The schema a metric describes (derived from its serde `Config` with
/// schemars) accepts every config the repo ships for it and refuses an
/// unknown key, which the metric itself refuses too.
#[test]
fn every_standard_metric_describes_a_schema_its_shipped_configs_satisfy() {
    let s = Scratch::new();
    for plugin in [
        "budget",
        "json",
        "keyword",
        "language-match",
        "pii-leak",
        "refusal",
        "regex-metric",
        "response-length",
        "similarity",
    ] {
        let path = wasm(plugin);
        let run = s
            .run(&["inspect", path.to_str().unwrap(), "--json"])
            .expect_code(0);
        let inspected: Value = serde_json::from_str(&run.stdout()).unwrap();
        let schema = inspected["descriptor"]["config_schema"].clone();
        assert_eq!(schema["additionalProperties"], false, "{plugin}: {schema}");
        assert!(
            schema["properties"]
                .as_object()
                .is_some_and(|p| !p.is_empty()),
            "{plugin}: {schema}"
        );
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource("config.json", schema).unwrap();
        let index = compiler
            .compile("config.json", &mut schemas)
            .unwrap_or_else(|e| panic!("{plugin}: the schema does not compile: {e}"));
        let configs = shipped_configs(plugin);
        assert!(configs.len() >= 3, "{plugin}: {configs:?}");
        for (origin, config) in &configs {
            if let Err(e) = schemas.validate(config, index) {
                panic!("{plugin}: {origin}: {config} does not satisfy the schema: {e}");
            }
        }
        let mut unknown = configs[0].1.clone();
        unknown["no_such_option"] = json!(1);
        assert!(
            schemas.validate(&unknown, index).is_err(),
            "{plugin}: the schema accepts an unknown key"
        );
        s.write(
            &format!("{plugin}.toml"),
            &format!(
                "[[metric]]\nname = \"m\"\npath = {:?}\nconfig = {{ no_such_option = 1 }}\n",
                path.to_str().unwrap()
            ),
        );
        let refused = s.run(&["list", "--config", &format!("{plugin}.toml")]);
        assert_ne!(refused.code(), 0, "{plugin} accepted an unknown key");
        assert!(
            refused.stderr().contains("no_such_option"),
            "{plugin}: {}",
            refused.stderr()
        );
    }
}

#[test]
fn standard_metrics_never_trap_on_odd_input() {
    let s = Scratch::new();
    let pieces = [
        "",
        " ",
        "\n\n",
        "Grüße aus München",
        "你好，世界",
        "🙂🙃🤖",
        "```json\n{\"a\": [1, 2",
        "```",
        "{\"a\": 1}",
        "null",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "+49 (0) 30 1234-5678",
        "a@b.c",
        "::1",
        "fe80::1%eth0",
        "999.999.999.999",
        "\u{200b}\u{feff}",
        "I'm sorry, but",
        "Es tut mir leid",
        "\\p{Han}",
        "0.0.0.0",
        "x".repeat(3000).leak(),
        "word ".repeat(500).leak(),
        "\u{0}\u{1}\u{7f}",
        "\u{202e}RTL override\u{202c}",
        "ß ẞ İ ı ǅ",
    ];
    let meta_values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e308),
        json!("fast"),
        json!(""),
        json!([1, 2]),
        json!({"nested": {"deep": 1}}),
        json!("1e3"),
        json!("de"),
        json!("xx-YY"),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let lines: Vec<Value> = (0..300)
        .map(|i| {
            let text = |rng: &mut Rng| {
                (0..rng.next() % 4)
                    .map(|_| rng.pick(&pieces))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let mut meta = serde_json::Map::new();
            for key in [
                "lang",
                "latency_ms",
                "total_tokens",
                "prompt_tokens",
                "cost_usd",
            ] {
                if rng.next().is_multiple_of(2) {
                    let v = meta_values[(rng.next() % meta_values.len() as u64) as usize].clone();
                    meta.insert(key.into(), v);
                }
            }
            let mut line = json!({
                "id": format!("odd-{i}"),
                "input": text(&mut rng),
                "output": text(&mut rng),
                "metadata": meta,
            });
            if rng.next().is_multiple_of(2) {
                line["expected"] = json!(text(&mut rng));
            }
            if rng.next().is_multiple_of(3) {
                line["messages"] = json!([{"role": "user", "content": text(&mut rng)}]);
            }
            line
        })
        .collect();
    s.jsonl("odd.jsonl", &lines);
    let configs = [
        ("language-match", "{}"),
        ("response-length", "{}"),
        ("json", r#"{"schema": {"type": "object"}}"#),
        ("pii-leak", "{}"),
        ("refusal", "{}"),
        (
            "keyword",
            r#"{"must_include": ["Grüße"], "must_not_include": ["C++"]}"#,
        ),
        (
            "regex-metric",
            r#"{"must_match": ["\\p{Han}"], "must_not_match": ["(?i)sorry"]}"#,
        ),
        ("similarity", "{}"),
        (
            "budget",
            r#"{"max_latency_ms": 1000, "max_tokens": 100, "max_cost_usd": 0.5}"#,
        ),
    ];
    let metrics: Vec<Value> = configs
        .iter()
        .map(|(plugin, config)| {
            json!({
                "name": plugin,
                "path": wasm(plugin),
                "config": serde_json::from_str::<Value>(config).unwrap(),
            })
        })
        .collect();
    let document: toml::Value = serde_json::from_value(json!({ "metric": metrics })).unwrap();
    s.write("caliper.toml", &toml::to_string(&document).unwrap());
    let run = s.run(&["run", "odd.jsonl", "-o", "out.jsonl"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), 300 * configs.len());
    let broken: Vec<String> = results
        .iter()
        .filter(|r| {
            !matches!(
                r["outcome"].as_str(),
                Some("pass" | "fail" | "skip" | "error")
            )
        })
        .map(|r| {
            format!(
                "{} on {}: {} {}",
                r["metric"], r["sample_id"], r["outcome"], r["reason"]
            )
        })
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // Errors are legitimate only where the input is malformed for the
    // metric: budget fields that are not numbers.
    for r in results.iter().filter(|r| r["outcome"] == "error") {
        assert_eq!(r["metric"], "budget", "{r}");
    }
}

/// The similarity component, run by the binary, gives the Python references'
/// values (rapidfuzz, rouge-score) to 1e-6 on every pair of the plugin's
/// reference fixture: the same check as the plugin's native test, but on the
/// code that actually ships.
#[test]
fn the_similarity_component_agrees_with_the_python_references() {
    let s = Scratch::new();
    let fixture = plugins_dir().join("similarity/reference/pairs.jsonl");
    let pairs: Vec<Value> = std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<Value> = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": i, "output": p["output"], "expected": p["expected"]}))
        .collect();
    s.jsonl("pairs.jsonl", &lines);
    let measures = ["levenshtein", "token_f1", "rouge_l"];
    let config: String = measures
        .iter()
        .map(|m| {
            caliper_tests::metric_toml(
                m,
                "similarity",
                &format!("config = {{ measure = \"{m}\", threshold = 0.0 }}"),
            )
        })
        .collect();
    s.write("caliper.toml", &config);
    s.run(&["run", "pairs.jsonl", "-o", "out.jsonl"])
        .expect_code(0);
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for r in s.results("out.jsonl") {
        if r["outcome"] == "skip" {
            // A blank reference answer: the metric does not apply.
            continue;
        }
        assert_eq!(r["outcome"], "pass", "{r}");
        let i: usize = r["sample_id"].as_str().unwrap().parse().unwrap();
        let measure = r["metric"].as_str().unwrap();
        let (got, want) = (
            r["value"].as_f64().unwrap(),
            pairs[i][measure].as_f64().unwrap(),
        );
        if (got - want).abs() > 1e-6 {
            mismatches.push(format!(
                "pair {i} {measure}: component {got}, Python {want}"
            ));
        }
        compared += 1;
    }
    assert!(compared >= 3 * 150, "only {compared} values compared");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Terms (keyword) and patterns (regex) taken from each record through JSON
/// pointers, by the binary and the real components: every record brings its
/// own, the same pointer serves many records, a record without one skips
/// (or errs, with `if_missing = "error"`), and an invalid sample pattern is
/// an evaluation error naming the pointer, not a crash.
#[test]
fn keyword_and_regex_take_terms_and_patterns_from_each_record() {
    let s = Scratch::new();
    let records = [
        json!({"id": "r1", "output": "Your nightly BACKUPS are kept 30 days. Ticket #12345.",
               "metadata": {"keyword": "backup", "format": "Ticket #\\d{5}"}}),
        json!({"id": "r2", "output": "Die Rückerstattung läuft. Ticket #12.",
               "metadata": {"keyword": "RÜCKERSTATTUNG", "format": "Ticket #\\d{5}"}}),
        json!({"id": "r3", "output": "Your invoice is ready.",
               "metadata": {"keyword": "backup", "format": "(?i)^your"}}),
        json!({"id": "r4", "output": "No metadata here."}),
        json!({"id": "r5", "output": "Broken pattern.",
               "metadata": {"keyword": "pattern", "format": "(unclosed"}}),
    ];
    s.jsonl("data.jsonl", &records);
    let config = [
        caliper_tests::metric_toml(
            "kw",
            "keyword",
            "config = { must_include_from = \"/metadata/keyword\", whole_word = false }",
        ),
        caliper_tests::metric_toml(
            "kw-strict",
            "keyword",
            "config = { must_include_from = \"/metadata/keyword\", if_missing = \"error\" }",
        ),
        caliper_tests::metric_toml(
            "format",
            "regex-metric",
            "config = { must_match_from = \"/metadata/format\" }",
        ),
    ]
    .concat();
    s.write("caliper.toml", &config);
    s.run(&["run", "data.jsonl", "-o", "out.jsonl"])
        .expect_code(0);
    let mut got = BTreeMap::new();
    for r in s.results("out.jsonl") {
        got.insert(
            format!(
                "{} {}",
                r["sample_id"].as_str().unwrap(),
                r["metric"].as_str().unwrap()
            ),
            (
                r["outcome"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            ),
        );
    }
    let expect = [
        ("r1 kw", "pass", ""),
        ("r1 kw-strict", "fail", "missing \"backup\""),
        ("r1 format", "pass", ""),
        ("r2 kw", "pass", ""),
        ("r2 kw-strict", "pass", ""),
        ("r2 format", "fail", "no match for /Ticket #\\d{5}/"),
        ("r3 kw", "fail", "missing \"backup\""),
        ("r3 format", "pass", ""),
        (
            "r4 kw",
            "skip",
            "no term at /metadata/keyword (must_include_from)",
        ),
        (
            "r4 kw-strict",
            "error",
            "no term at /metadata/keyword (must_include_from)",
        ),
        (
            "r4 format",
            "skip",
            "no pattern at /metadata/format (must_match_from)",
        ),
        (
            "r5 format",
            "error",
            "must_match_from: invalid pattern /(unclosed/ at /metadata/format",
        ),
    ];
    for (key, outcome, reason) in expect {
        let (o, r) = got
            .get(key)
            .unwrap_or_else(|| panic!("no result for {key}: {got:?}"));
        assert_eq!(o, outcome, "{key}: {r}");
        assert!(r.contains(reason), "{key}: reason {r:?} lacks {reason:?}");
    }
}
