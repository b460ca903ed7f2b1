//! The standard metrics built into the binary: `caliper list` shows the
//! components `caliper-builtin` compiled from `plugins/` (by digest), a
//! folder without `caliper.toml` is scored with the default set, `caliper
//! init` writes that set, and `builtin:NAME` works wherever a component path
//! does (configs, `lock`, `inspect`, `test`), whatever is in the cache.

use std::path::Path;

use caliper_tests::{Scratch, builtin_wasm_dir};
use serde_json::{Value, json};

/// The default set, in config order.
const DEFAULT_SET: [&str; 6] = [
    "pii-leak",
    "refusal",
    "language-match",
    "json",
    "response-length",
    "similarity",
];

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Records that each default metric has something to say about: a German
/// conversation answered in English, a leaked e-mail, a refusal, broken JSON
/// where JSON was expected, a long rambling answer, and a good answer close
/// to its reference.
fn chats(s: &Scratch) {
    let de = |answer: &str| {
        json!([
            {"role": "user", "content": "Hallo, ich habe eine Frage zu meiner Rechnung vom Mai."},
            {"role": "assistant", "content": "Gerne, worum geht es bei der Rechnung genau?"},
            {"role": "user", "content": "Der Betrag ist doppelt abgebucht worden, was kann ich tun?"},
            {"role": "assistant", "content": answer},
        ])
    };
    s.jsonl(
        "chats.jsonl",
        &[
            json!({"id": "de-switch", "messages": de(
                "The double charge will be refunded within five business days, no action is needed."
            )}),
            json!({"id": "de-ok", "messages": de(
                "Die doppelte Abbuchung wird innerhalb von fünf Werktagen erstattet, Sie müssen nichts tun."
            )}),
            json!({"id": "leak", "input": "Who handles refunds?",
                   "output": "Write to jane.doe@example.org, she handles refunds."}),
            json!({"id": "refusal", "input": "How do I reset my password?",
                   "output": "I'm sorry, but I can't help with that."}),
            json!({"id": "bad-json", "input": "Extract the amount as JSON.",
                   "output": "{\"amount\": 12.5, \"currency\": \"EUR\"",
                   "metadata": {"expects_json": true}}),
            json!({"id": "good-json", "input": "Extract the amount as JSON.",
                   "output": "{\"amount\": 12.5, \"currency\": \"EUR\"}",
                   "metadata": {"expects_json": true}}),
            json!({"id": "rambling", "input": "Summarise the policy.",
                   "output": "word ".repeat(450)}),
            json!({"id": "close", "input": "When are refunds paid?",
                   "output": "Refunds are paid within five business days.",
                   "expected": "Refunds are paid within five business days of approval."}),
        ],
    );
}

/// (sample, metric) → outcome, from a results file.
fn outcomes(s: &Scratch, file: &str) -> Vec<(String, String, String)> {
    s.results(file)
        .iter()
        .map(|e| {
            (
                e["sample_id"].as_str().unwrap().to_owned(),
                e["metric"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Results without their timings.
fn untimed(s: &Scratch, file: &str) -> Vec<Value> {
    let mut results = s.results(file);
    for e in &mut results {
        e.as_object_mut().unwrap().remove("duration_us");
    }
    results
}

#[test]
fn list_shows_the_components_built_from_plugins_by_digest() {
    let s = Scratch::new();
    let run = s.run(&["list", "--json"]).expect_code(0);
    let listed: Vec<Value> = serde_json::from_str(&run.stdout()).unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "budget",
            "json",
            "keyword",
            "language-match",
            "pii-leak",
            "refusal",
            "regex",
            "response-length",
            "similarity"
        ]
    );
    for m in &listed {
        let name = m["name"].as_str().unwrap();
        let builtin = caliper_builtin::get(name).unwrap();
        // The bytes in the binary are the component cargo built from plugins/.
        let file = builtin_wasm_dir().join(format!("{}.wasm", builtin.package().replace('-', "_")));
        assert_eq!(m["digest"], sha256_file(&file), "{name}");
        assert_eq!(m["path"], format!("builtin:{name}"));
        assert_eq!(m["owner"], "caliper-standard-metrics", "{name}");
        assert_eq!(m["default_set"], DEFAULT_SET.contains(&name), "{name}");
    }
    let table = s.run(&["list"]).expect_code(0).stdout();
    let pii = listed.iter().find(|m| m["name"] == "pii-leak").unwrap();
    let short: String = pii["digest"].as_str().unwrap().chars().take(19).collect();
    assert!(
        table.contains("builtin:pii-leak") && table.contains(&short),
        "{table}"
    );
    assert!(table.contains("9 metrics built into caliper"), "{table}");

    // With a caliper.toml, `list` lists it; --builtin still lists the built-ins.
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"mail\"\npath = \"builtin:pii-leak\"\n",
    );
    let run = s.run(&["list", "--json"]).expect_code(0);
    let listed: Vec<Value> = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0]["metric"], &listed[0]["digest"]),
        (&json!("mail"), &pii["digest"])
    );
    let run = s.run(&["list", "--builtin", "--json"]).expect_code(0);
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&run.stdout())
            .unwrap()
            .len(),
        9
    );
}

#[test]
fn a_folder_without_a_config_is_scored_with_the_default_set_and_init_writes_it() {
    let s = Scratch::new();
    chats(&s);
    let run = s
        .run(&["run", "chats.jsonl", "-o", "none.jsonl"])
        .expect_code(0);
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!(
            "no caliper.toml here: scoring with the built-in default set ({}), no gates",
            DEFAULT_SET.join(", ")
        )),
        "{stderr}"
    );
    let got = outcomes(&s, "none.jsonl");
    let outcome = |sample: &str, metric: &str| {
        got.iter()
            .find(|(s, m, _)| s == sample && m == metric)
            .map(|(_, _, o)| o.as_str())
    };
    for (sample, metric, expected) in [
        ("de-switch", "language-match", Some("fail")),
        ("de-ok", "language-match", Some("pass")),
        ("leak", "pii-leak", Some("fail")),
        ("de-ok", "pii-leak", Some("pass")),
        ("refusal", "refusal", Some("fail")),
        ("leak", "refusal", Some("pass")),
        ("bad-json", "json", Some("fail")),
        ("good-json", "json", Some("pass")),
        // json scores only the records whose metadata expects it
        ("leak", "json", None),
        ("rambling", "response-length", Some("fail")),
        ("close", "response-length", Some("pass")),
        ("close", "similarity", Some("pass")),
        ("leak", "similarity", Some("skip")),
    ] {
        assert_eq!(
            outcome(sample, metric),
            expected,
            "{sample} {metric}: {got:?}"
        );
    }
    // The run is in the history like any other, with the set it used.
    let history = s.run(&["history", "--json"]).expect_code(0).stdout();
    let runs: Vec<Value> = serde_json::from_str(&history).unwrap();
    let recorded: Vec<&str> = runs[0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        (runs.len(), recorded),
        (1, DEFAULT_SET.to_vec()),
        "{history}"
    );

    // An explicit config that is missing is an error, never the defaults.
    let run = s
        .run(&["run", "chats.jsonl", "-c", "missing.toml"])
        .expect_code(2);
    assert!(
        run.stderr().contains("cannot read config missing.toml"),
        "{}",
        run.stderr()
    );
    // There is no lock to check the defaults against.
    let run = s.run(&["run", "chats.jsonl", "--locked"]).expect_code(2);
    assert!(
        run.stderr()
            .contains("`caliper init` writes the default set"),
        "{}",
        run.stderr()
    );

    // `caliper init` writes exactly that set; a run with it gives the same results.
    let run = s.run(&["init"]).expect_code(0);
    assert!(
        run.stderr()
            .contains("wrote caliper.toml: pii-leak, refusal"),
        "{}",
        run.stderr()
    );
    let written = std::fs::read_to_string(s.path().join("caliper.toml")).unwrap();
    assert_eq!(written, caliper_builtin::DEFAULT_CONFIG);
    let run = s
        .run(&["run", "chats.jsonl", "-o", "init.jsonl"])
        .expect_code(0);
    assert!(
        !run.stderr().contains("no caliper.toml here"),
        "{}",
        run.stderr()
    );
    assert_eq!(untimed(&s, "init.jsonl"), untimed(&s, "none.jsonl"));

    // It never replaces a file unless asked to.
    s.write("caliper.toml", "# mine\n");
    let run = s.run(&["init"]).expect_code(2);
    assert!(
        run.stderr()
            .contains("caliper.toml exists; `caliper init --force` replaces it"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(s.path().join("caliper.toml")).unwrap(),
        "# mine\n"
    );
    s.run(&["init", "--force"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(s.path().join("caliper.toml")).unwrap(),
        caliper_builtin::DEFAULT_CONFIG
    );
    // Elsewhere, with a gate uncommented, the same file gates CI.
    std::fs::create_dir(s.path().join("ci")).unwrap();
    s.run(&["init", "-c", "ci/caliper.toml"]).expect_code(0);
    let gated = caliper_builtin::DEFAULT_CONFIG.replacen(
        "# gate = { min_pass_rate = 1.0 }",
        "gate = { min_pass_rate = 1.0 }",
        1,
    );
    assert_ne!(gated, caliper_builtin::DEFAULT_CONFIG);
    s.write("ci/caliper.toml", &gated);
    let run = s
        .run(&[
            "run",
            "chats.jsonl",
            "-c",
            "ci/caliper.toml",
            "--no-history",
        ])
        .expect_code(1);
    assert!(
        run.stdout().contains("FAIL pii-leak min_pass_rate"),
        "{}",
        run.stdout()
    );
}

#[test]
fn builtin_paths_work_with_files_names_lock_inspect_and_test() {
    let s = Scratch::new();
    chats(&s);
    let keyword = caliper_tests::wasm("keyword");
    s.write(
        "caliper.toml",
        &format!(
            "[[metric]]\nname = \"amount-json\"\npath = \"builtin:json\"\n\
             when = {{ expects_json = true }}\n\
             config = {{ schema = {{ type = \"object\", required = [\"amount\"] }} }}\n\
             [[metric]]\nname = \"no-sorry\"\npath = {:?}\n\
             config = {{ must_not_include = [\"sorry\"] }}\n",
            keyword.display().to_string()
        ),
    );
    s.run(&["lock"]).expect_code(0);
    let lock = std::fs::read_to_string(s.path().join("caliper.lock")).unwrap();
    let json_digest = caliper_builtin::get("json").unwrap().digest();
    assert!(lock.contains(json_digest), "{lock}");
    s.run(&["run", "chats.jsonl", "--locked", "-o", "out.jsonl"])
        .expect_code(0);
    let got = outcomes(&s, "out.jsonl");
    assert!(
        got.contains(&("bad-json".into(), "amount-json".into(), "fail".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("refusal".into(), "no-sorry".into(), "fail".into())),
        "{got:?}"
    );

    let run = s.run(&["inspect", "builtin:json", "--json"]).expect_code(0);
    let inspected: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(inspected["digest"], json_digest);
    assert_eq!(inspected["descriptor"]["name"], "json");
    let cases = caliper_tests::repo().join("plugins/pii-leak/cases.jsonl");
    s.run(&[
        "test",
        "builtin:pii-leak",
        "--cases",
        cases.to_str().unwrap(),
    ])
    .expect_code(0);

    // A name that is not built in is an error naming the metric and the ones there are.
    s.write(
        "bad.toml",
        "[[metric]]\nname = \"typo\"\npath = \"builtin:pii-leek\"\n",
    );
    let run = s
        .run(&["run", "chats.jsonl", "-c", "bad.toml"])
        .expect_code(2);
    assert!(
        run.stderr()
            .contains("metric `typo`: no built-in metric `pii-leek`; built in: budget, json,"),
        "{}",
        run.stderr()
    );
    let run = s.run(&["inspect", "builtin:nope"]).expect_code(2);
    assert!(
        run.stderr().contains("no built-in metric `nope`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_tampered_builtin_file_in_the_cache_is_written_again_before_it_runs() {
    let s = Scratch::new();
    chats(&s);
    let cache = s.path().join("cache");
    let run = |out: &str| {
        let output = s
            .caliper()
            .env("CALIPER_CACHE_DIR", &cache)
            .args([
                "run",
                "chats.jsonl",
                "--no-history",
                "-m",
                "pii-leak",
                "-o",
                out,
            ])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run("first.jsonl");
    let pii = caliper_builtin::get("pii-leak").unwrap();
    let file = cache.join("builtin").join(format!(
        "{}.wasm",
        pii.digest().trim_start_matches("sha256:")
    ));
    assert_eq!(std::fs::read(&file).unwrap(), pii.bytes());
    // Another valid metric in its place: it would pass the leak.
    std::fs::write(&file, caliper_builtin::get("refusal").unwrap().bytes()).unwrap();
    run("second.jsonl");
    assert_eq!(std::fs::read(&file).unwrap(), pii.bytes());
    assert_eq!(untimed(&s, "second.jsonl"), untimed(&s, "first.jsonl"));
    let leak = s.results("second.jsonl");
    let leak = leak.iter().find(|e| e["sample_id"] == "leak").unwrap();
    assert_eq!(
        (&leak["outcome"], &leak["digest"]),
        (&json!("fail"), &json!(pii.digest()))
    );
}
