//! `inspect`, `list`, `--help`, and the compile cache.

use caliper_tests::{Scratch, metric_toml, wasm};
use serde_json::Value;

#[test]
fn inspect_shows_the_self_description_contract_and_digest() {
    let s = Scratch::new();
    let path = wasm("response-length");
    let run = s
        .run(&["inspect", path.to_str().unwrap(), "--json"])
        .expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["descriptor"]["name"], "response-length");
    assert_eq!(v["contract"], "0.1.0");
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["descriptor"]["config_schema"]["type"], "object");
    let run = s.run(&["inspect", path.to_str().unwrap()]).expect_code(0);
    assert!(
        run.stdout().contains("contract:  caliper:metric@0.1.0"),
        "{}",
        run.stdout()
    );
}

#[test]
fn inspect_rejects_a_component_of_another_contract() {
    let s = Scratch::new();
    // A valid component that exports nothing Caliper knows.
    let empty = s.path().join("empty.wasm");
    std::fs::write(&empty, b"\0asm\x0d\0\x01\0").unwrap();
    let run = s.run(&["inspect", empty.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr().contains("does not implement the Caliper metric contract caliper:metric/metric@0.1.0: it exports no interfaces"),
        "{}",
        run.stderr()
    );
}

#[test]
fn list_resolves_a_config() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &[
            metric_toml(
                "short-answers",
                "response-length",
                "config = { max = 50 }\nwhen = { channel = \"chat\" }",
            ),
            metric_toml("control", "hostile", "config = { mode = \"behave\" }"),
        ]
        .concat(),
    );
    let run = s.run(&["list", "--json"]).expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v[0]["metric"], "short-answers");
    assert_eq!(v[0]["config"]["max"], 50);
    assert_eq!(v[0]["when"]["channel"], "chat");
    assert_eq!(v[1]["name"], "hostile");
    let run = s.run(&["list"]).expect_code(0);
    assert!(run.stdout().contains("short-answers"));
}

#[test]
fn help_teaches_the_commands_and_exit_codes() {
    let s = Scratch::new();
    let run = s.run(&["--help"]).expect_code(0);
    let out = run.stdout();
    for needle in ["run", "inspect", "list", "Exit codes", "caliper.toml"] {
        assert!(out.contains(needle), "--help lacks {needle}:\n{out}");
    }
    let run = s.run(&["run", "--help"]).expect_code(0);
    assert!(run.stdout().contains("--group-by"));
    assert!(run.stdout().contains("Examples"));
}

/// The subcommands `caliper --help` lists.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Example, route and table blocks are printed as written: an indented
/// command line stays on its own line, never run together with the next
/// one into a paragraph.
fn assert_blocks_kept(command: &str, help: &str) {
    let mut lines = help.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let starts_block = ["caliper ", "curl ", "POST /", "GET  /"]
            .iter()
            .any(|p| t.starts_with(p));
        assert!(
            !starts_block || line.starts_with("  "),
            "`{command} --help`: example not indented: {line:?}\n{help}"
        );
        if let Some(at) = line.find(" # ") {
            assert!(
                !line[at..].contains(" caliper "),
                "`{command} --help`: two examples on one line: {line:?}\n{help}"
            );
        }
        assert!(
            line.matches("POST /").count() <= 1,
            "`{command} --help`: routes run together: {line:?}\n{help}"
        );
        if t == "Examples:" {
            assert_eq!(lines.next(), Some(""), "`{command} --help`\n{help}");
            let first = lines.peek().copied().unwrap_or_default();
            assert!(
                first.starts_with("  ") && !first.trim().is_empty(),
                "`{command} --help`: no example after `Examples:`\n{help}"
            );
        }
    }
}

#[test]
fn every_help_prints_its_examples_routes_and_tables_as_written() {
    let s = Scratch::new();
    let top = s.run(&["--help"]).expect_code(0).stdout();
    assert_blocks_kept("caliper", &top);
    for line in [
        "  caliper list                        # what the config resolves to",
        "  caliper run data.jsonl -o out.jsonl # score a dataset, gate CI on it",
        "  caliper lock                        # pin every metric's digest; run --locked",
    ] {
        assert!(
            top.contains(line),
            "`caliper --help` lacks {line:?}:\n{top}"
        );
    }
    // Each summary is one sentence on one line, without a full stop.
    for line in top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
    {
        if line.is_empty() {
            break;
        }
        assert!(
            !line.ends_with('.'),
            "summary ends with a full stop: {line:?}"
        );
    }
    let commands = subcommands(&top);
    assert!(commands.len() >= 15, "{commands:?}");
    let mut with_examples = 0;
    for command in &commands {
        let help = s.run(&[command, "--help"]).expect_code(0).stdout();
        assert!(
            help.contains("Usage: caliper"),
            "`{command} --help`:\n{help}"
        );
        assert_blocks_kept(command, &help);
        with_examples += usize::from(help.contains("\nExamples:\n"));
    }
    assert!(
        with_examples >= 11,
        "{with_examples} commands show examples"
    );
    let serve = s.run(&["serve", "--help"]).expect_code(0).stdout();
    assert!(
        serve.contains(
            "\n  POST /v1/evaluate   score samples now; guardrail verdict (allow/block)\n"
        ),
        "{serve}"
    );
    let audit = s.run(&["audit", "--help"]).expect_code(0).stdout();
    assert!(
        audit.contains("\n  stale      its review_by date has passed\n"),
        "{audit}"
    );
}

#[test]
fn a_corrupt_cache_entry_is_a_miss_not_a_crash() {
    let s = Scratch::new();
    let cache = s.path().join("cache");
    let path = wasm("response-length");
    let inspect = |expect: &str| {
        let out = s
            .caliper()
            .args(["inspect", path.to_str().unwrap(), "--json", "--cache-dir"])
            .arg(&cache)
            .output()
            .unwrap();
        let run = caliper_tests::Run(out).expect_code(0);
        let v: Value = serde_json::from_str(&run.stdout()).unwrap();
        assert_eq!(v["cache"], expect, "{}", run.stderr());
    };
    inspect("miss");
    inspect("hit");
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&entry, &bytes).unwrap();
    inspect("miss");
    inspect("hit");
    std::fs::write(&entry, b"garbage").unwrap();
    inspect("miss");
}

#[test]
fn the_example_config_runs_and_catches_the_german_chat_answered_in_english() {
    let s = Scratch::new();
    let root = caliper_tests::repo();
    // As shipped: every metric is a built-in.
    let config = std::fs::read_to_string(root.join("examples/caliper.toml")).unwrap();
    assert!(!config.contains(".wasm\""), "{config}");
    s.write("caliper.toml", &config);
    std::fs::copy(
        root.join("examples/chats.jsonl"),
        s.path().join("chats.jsonl"),
    )
    .unwrap();
    let run = s
        .run(&[
            "run",
            "chats.jsonl",
            "-o",
            "out.jsonl",
            "--group-by",
            "model",
            "--junit",
            "junit.xml",
        ])
        .expect_code(1);
    assert!(
        run.stdout()
            .contains("FAIL answers-in-user-language min_pass_rate"),
        "{}",
        run.stdout()
    );
    // The same gates as JUnit: one test case per gate, failures with reasons.
    let failing = run
        .stdout()
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL "))
        .count();
    let gates = run
        .stdout()
        .lines()
        .filter(|l| l.trim_start().starts_with("ok "))
        .count()
        + failing;
    let junit = caliper_tests::junit_cases(&s.path().join("junit.xml"));
    assert_eq!(junit.len(), gates);
    assert_eq!(
        junit.iter().filter(|c| c.failure.is_some()).count(),
        failing
    );
    let lang = junit
        .iter()
        .find(|c| c.classname == "answers-in-user-language" && c.name == "min_pass_rate")
        .unwrap();
    assert!(
        lang.failure.as_deref().unwrap().contains("< min 95.0%"),
        "{:?}",
        lang.failure
    );
    let results = s.results("out.jsonl");
    let verdict = |metric: &str, id: &str| {
        results
            .iter()
            .find(|r| r["metric"] == metric && r["sample_id"] == id)
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        verdict("answers-in-user-language", "conv-de-1").as_deref(),
        Some("fail")
    );
    assert_eq!(
        verdict("answers-in-user-language", "conv-de-2").as_deref(),
        Some("pass")
    );
    assert_eq!(
        verdict("no-pii-leak", "en-card-echo").as_deref(),
        Some("pass")
    );
    assert_eq!(
        verdict("no-pii-leak", "en-card-leak").as_deref(),
        Some("fail")
    );
    assert_eq!(
        verdict("valid-transfer-json", "json-schema").as_deref(),
        Some("fail")
    );
    assert_eq!(
        verdict("valid-transfer-json", "en-pii"),
        None,
        "`when` filter"
    );
    assert!(
        results
            .iter()
            .all(|r| r["outcome"] != "error" && r["outcome"] != "trap")
    );
}

#[test]
fn caliper_test_runs_labelled_cases_and_reports_mismatches() {
    let s = Scratch::new();
    let root = caliper_tests::repo().join("plugins");
    // Every standard metric passes its own cases through `caliper test`.
    for (package, dir) in [
        ("pii-leak", "pii-leak"),
        ("response-length", "response-length"),
        ("regex-metric", "regex-metric"),
    ] {
        let cases = root.join(dir).join("cases.jsonl");
        let run = s
            .run(&[
                "test",
                wasm(package).to_str().unwrap(),
                "--cases",
                cases.to_str().unwrap(),
            ])
            .expect_code(0);
        assert!(run.stdout().contains("cases pass"), "{}", run.stdout());
    }
    // A wrong expectation is listed, with the metric's own reason; exit 1.
    s.jsonl(
        "wrong.jsonl",
        &[
            serde_json::json!({"name": "ok", "sample": {"output": "no contact data here"}, "expect": {"outcome": "pass"}}),
            serde_json::json!({"name": "mislabelled", "sample": {"output": "mail bob@example.com"}, "expect": {"outcome": "pass"}}),
        ],
    );
    let run = s
        .run(&[
            "test",
            wasm("pii-leak").to_str().unwrap(),
            "--cases",
            "wrong.jsonl",
        ])
        .expect_code(1);
    assert!(
        run.stdout().contains("1 of 2 cases pass"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout()
            .contains("FAIL mislabelled: outcome fail (expected pass): 1 leak: email"),
        "{}",
        run.stdout()
    );
    // A bad case line names its file and line; exit 2.
    s.write("bad.jsonl", "{\"sample\": {\"output\": \"x\"}, \"expect\": {\"outcome\": \"pass\"}}\n{\"expect\": {}}\n");
    let run = s
        .run(&[
            "test",
            wasm("pii-leak").to_str().unwrap(),
            "--cases",
            "bad.jsonl",
        ])
        .expect_code(2);
    assert!(run.stderr().contains("bad.jsonl:2:"), "{}", run.stderr());
}

/// On a terminal, `caliper run` shows a progress bar (bytes read, records,
/// ETA); log lines (here: warnings for timed-out samples) are written above
/// it, never through it. `--no-progress` and a non-terminal stderr show no
/// bar. `script` gives the run a pseudo-terminal.
#[test]
fn a_long_run_shows_a_progress_bar_on_a_terminal_only() {
    let s = Scratch::new();
    // 40 samples of 50 ms each on one worker: two seconds, time to draw.
    s.write(
        "caliper.toml",
        &metric_toml(
            "slow",
            "hostile",
            "config = { mode = \"loop\" }\nlimits = { timeout_ms = 50 }",
        ),
    );
    let lines: Vec<Value> = (0..40)
        .map(|i| serde_json::json!({"id": i, "output": "x"}))
        .collect();
    s.jsonl("data.jsonl", &lines);
    let on_terminal = |extra: &str| -> String {
        let command = format!(
            "{} run data.jsonl -j 1 --format none --no-history {extra}",
            caliper_tests::caliper_bin().display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(s.path())
            .env("CALIPER_CACHE_DIR", caliper_tests::shared_cache_dir())
            .env_remove("RUST_LOG")
            .output()
            .expect("running script");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_terminal("");
    assert!(
        shown.contains("records") && shown.contains("eta") && shown.contains("B/"),
        "no progress bar on a terminal: {shown:?}"
    );
    // Each screen line (up to a carriage return or newline) is either the
    // bar or a log line: the bar is cleared before a log line is written.
    // A metric failing on every sample logs its first ten failures, then
    // says it stops; the summary still counts all 40.
    let warnings = shown.matches("exceeded its deadline").count();
    assert_eq!(warnings, 10, "{shown:?}");
    assert!(shown.contains("10 failures logged; later ones are counted"));
    let torn: Vec<&str> = shown
        .split(['\r', '\n'])
        .filter(|l| l.contains("eta") && l.contains("WARN"))
        .collect();
    assert!(torn.is_empty(), "log lines tore through the bar: {torn:?}");
    let hidden = on_terminal("--no-progress");
    assert!(!hidden.contains("eta"), "{hidden:?}");
    // Not a terminal: nothing on stderr but the results' summary.
    let piped = s.run(&["run", "data.jsonl", "-j", "1", "--no-history"]);
    assert!(!piped.stderr().contains("eta"), "{}", piped.stderr());
    assert!(
        piped.stdout().contains("40 (40 timeout)"),
        "{}",
        piped.stdout()
    );
}

#[test]
fn an_error_names_its_cause_once() {
    let s = Scratch::new();
    s.jsonl("d.jsonl", &[serde_json::json!({"output": "x"})]);
    for args in [
        &["run", "d.jsonl", "-c", "missing.toml"][..],
        &["compare", "missing-a.jsonl", "missing-b.jsonl"][..],
        &["run", "missing.jsonl", "-c", "caliper.toml"][..],
    ] {
        s.write(
            "caliper.toml",
            &metric_toml("len", "response-length", "config = { max = 5 }"),
        );
        let run = s.run(args);
        let err = run.stderr();
        assert_ne!(run.code(), 0, "{args:?}: {err}");
        assert_eq!(err.matches("os error 2").count(), 1, "{args:?}: {err}");
        assert!(!err.contains(":0:"), "{args:?}: no line 0: {err}");
    }
}

/// Parsing `caliper.toml` reads that file only: the commands that load no
/// metric never contact the registry an `oci://` metric names, while `run`
/// still resolves it.
#[test]
fn only_commands_that_load_metrics_contact_a_registry() {
    let s = Scratch::new();
    let local = metric_toml("len", "response-length", "config = { max = 5 }");
    s.write("caliper.toml", &local);
    s.jsonl(
        "d.jsonl",
        &[serde_json::json!({"id": "a", "output": "short"})],
    );
    s.run(&["run", "d.jsonl", "-o", "a.jsonl"]).expect_code(0);
    s.run(&["run", "d.jsonl", "-o", "b.jsonl"]).expect_code(0);
    // Port 1 on loopback: nothing listens, a connection is refused at once;
    // any attempt would show as a "cannot reach registry" warning or error.
    s.write(
        "caliper.toml",
        &format!(
            "{local}\n[[metric]]\nname = \"remote\"\npath = \"oci://127.0.0.1:1/x:tag\"\n\
             regression = {{ max_drop = 0.1 }}\nalert = {{ max_fail_rate = 0.1 }}\n"
        ),
    );
    for args in [
        &["history"][..],
        &["compare", "a.jsonl", "b.jsonl"][..],
        &["compare", "last~1", "last"][..],
        &["audit"][..],
        &["alerts"][..],
    ] {
        let started = std::time::Instant::now();
        let run = s.run(args);
        let err = run.stderr();
        assert!(
            !err.contains("registry") && !err.contains("127.0.0.1:1"),
            "{args:?} contacted the registry: {err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{args:?} took {:?}",
            started.elapsed()
        );
        // `compare` fails its gate on a metric absent from both sides (as it
        // would for a local one); everything else succeeds.
        let expected = if args[0] == "compare" { 1 } else { 0 };
        assert_eq!(run.code(), expected, "{args:?}: {err}");
    }
    let run = s.run(&["run", "d.jsonl"]).expect_code(2);
    assert!(
        run.stderr().contains("cannot reach registry 127.0.0.1:1"),
        "{}",
        run.stderr()
    );
}
