//! Datasets and configs: formats, mappings, bad input, exit codes, output
//! files.

use caliper_tests::{Scratch, metric_toml};
use serde_json::{Value, json};

fn length_config(extra_top: &str, metric_extra: &str) -> String {
    format!(
        "{extra_top}\n{}",
        metric_toml("length", "response-length", metric_extra)
    )
}

/// What `caliper run DATASET -o out.jsonl --summary sum.json` produced.
struct Outputs {
    run: caliper_tests::Run,
    /// The scored sample ids, in output order.
    ids: Vec<Value>,
    summary: Value,
}

/// Runs `dataset` with results and summary files, expecting exit `code`.
fn run_to_files(s: &Scratch, dataset: &str, code: i32) -> Outputs {
    let run = s
        .run(&["run", dataset, "-o", "out.jsonl", "--summary", "sum.json"])
        .expect_code(code);
    let ids = s
        .results("out.jsonl")
        .iter()
        .map(|r| r["sample_id"].clone())
        .collect();
    let summary =
        serde_json::from_str(&std::fs::read_to_string(s.path().join("sum.json")).unwrap()).unwrap();
    Outputs { run, ids, summary }
}

#[test]
fn bad_lines_are_named_counted_and_gate_the_run() {
    let s = Scratch::new();
    s.write("caliper.toml", &length_config("", ""));
    s.write(
        "data.jsonl",
        "{\"id\": \"a\", \"output\": \"one\"}\n\n{not json\n{\"id\": \"c\", \"input\": \"no output\"}\n[1, 2]\n{\"id\": \"d\", \"output\": \"two words\"}\n",
    );
    let Outputs { run, ids, summary } = run_to_files(&s, "data.jsonl", 1);
    let out = run.stdout();
    assert!(out.contains("data.jsonl:3: malformed JSON"), "{out}");
    assert!(
        out.contains("data.jsonl:4: missing field `output` (/output)"),
        "{out}"
    );
    assert!(
        out.contains("data.jsonl:5: expected a JSON object, found a list"),
        "{out}"
    );
    assert!(
        out.contains("FAIL dataset max_invalid_records: 3 invalid records > max 0"),
        "{out}"
    );
    // The good lines were scored, in order.
    assert_eq!(ids, [json!("a"), json!("d")]);
    assert_eq!(summary["invalid_records"], 3);
    // The dataset digest is computed while streaming, over every byte.
    let sha = std::process::Command::new("sha256sum")
        .arg(s.path().join("data.jsonl"))
        .output()
        .unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout);
    assert_eq!(
        summary["dataset_digest"],
        format!("sha256:{}", sha.split_whitespace().next().unwrap())
    );
    assert_eq!(summary["records"], 5);
    assert_eq!(summary["passed"], false);

    // Allowing them makes the run pass; --strict stops at the first one.
    s.write(
        "caliper.toml",
        &length_config("[input]\nmax_invalid_records = 3", ""),
    );
    s.run(&["run", "data.jsonl"]).expect_code(0);
    std::fs::remove_file(s.path().join("out.jsonl")).unwrap();
    let run = s
        .run(&["run", "data.jsonl", "--strict", "-o", "out.jsonl"])
        .expect_code(2);
    assert!(
        run.stderr().contains("data.jsonl:3: malformed JSON"),
        "{}",
        run.stderr()
    );
    assert!(
        !s.path().join("out.jsonl").exists(),
        "strict stop left an output file"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_counted_and_the_next_line_is_scored() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config("[input]\nmax_invalid_records = 1", ""),
    );
    let mut data = b"{\"id\": \"a\", \"output\": \"one\"}\n".to_vec();
    data.extend_from_slice(b"{\"id\": \"b\", \"output\": \"caf\xe9\"}\n");
    data.extend_from_slice(
        b"{\"id\": \"c\", \"output\": \"three\"}\n{\"id\": \"d\", \"output\": \"four\"}\n",
    );
    std::fs::write(s.path().join("data.jsonl"), data).unwrap();
    let Outputs { run, ids, summary } = run_to_files(&s, "data.jsonl", 0);
    assert!(
        run.stdout()
            .contains("data.jsonl:2: unreadable line: not UTF-8"),
        "{}",
        run.stdout()
    );
    assert_eq!(ids, [json!("a"), json!("c"), json!("d")]);
    assert_eq!(summary["records"], 4);
    assert_eq!(summary["invalid_records"], 1);
}
#[test]
fn csv_with_column_mapping_and_json_cells() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config(
            "[input]\nid = \"/ticket\"\noutput = \"/answer\"\ninput = \"/question\"",
            "config = { max = 3 }",
        ),
    );
    s.write(
        "data.csv",
        "ticket,question,answer,model,context\nt1,hi?,\"short, sweet\",m1,\"[\"\"p1\"\",\"\"p2\"\"]\"\nt2,hm?,this one is far too long,m2,\n",
    );
    s.run(&[
        "run",
        "data.csv",
        "-o",
        "out.jsonl",
        "--group-by",
        "model",
        "--summary",
        "sum.json",
    ])
    .expect_code(0);
    let r = s.results("out.jsonl");
    assert_eq!(
        (r[0]["sample_id"].as_str(), r[0]["outcome"].as_str()),
        (Some("t1"), Some("pass"))
    );
    assert_eq!(
        (r[1]["sample_id"].as_str(), r[1]["outcome"].as_str()),
        (Some("t2"), Some("fail"))
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(s.path().join("sum.json")).unwrap()).unwrap();
    assert_eq!(summary["segments"]["m1"][0]["pass"], 1);
    assert_eq!(summary["segments"]["m2"][0]["fail"], 1);

    // Bad rows are named by line and counted; the rows after them are read.
    let mut data = b"ticket,question,answer\nt1,q,fine\nt2,too,many,cells\n".to_vec();
    data.extend_from_slice(b"t3,q,caf\xe9\nt4,q,ok\n");
    std::fs::write(s.path().join("bad.csv"), data).unwrap();
    let Outputs { run, ids, summary } = run_to_files(&s, "bad.csv", 1);
    for line in [
        "bad.csv:3: malformed CSV row",
        "bad.csv:4: malformed CSV row",
        "FAIL dataset max_invalid_records: 2 invalid records > max 0",
    ] {
        assert!(run.stdout().contains(line), "{line}\n{}", run.stdout());
    }
    assert_eq!(ids, [json!("t1"), json!("t4")]);
    assert_eq!(
        (
            summary["records"].clone(),
            summary["invalid_records"].clone()
        ),
        (json!(4), json!(2))
    );
}

#[test]
fn openai_conversations_expand_into_one_sample_per_assistant_turn() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config("[input]\nexpand_turns = true", "config = { max = 2 }"),
    );
    s.jsonl(
        "chats.jsonl",
        &[json!({"id": "c1", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2 is much longer"}
        ]})],
    );
    s.run(&["run", "chats.jsonl", "-o", "out.jsonl"])
        .expect_code(0);
    let r = s.results("out.jsonl");
    let got = caliper_tests::outcomes(&r);
    assert_eq!(got, [("c1#1", "pass"), ("c1#2", "fail")]);
}

#[test]
fn output_order_is_input_order_with_many_workers_and_stdin_works() {
    let s = Scratch::new();
    s.write("caliper.toml", &length_config("", ""));
    let lines: Vec<Value> = (0..2000)
        .map(|i| json!({"id": format!("s{i}"), "output": "word ".repeat(i % 7 + 1), "metadata": {"k": i % 3}}))
        .collect();
    let path = s.jsonl("data.jsonl", &lines);
    s.run(&["run", "data.jsonl", "-j", "4", "-o", "out.jsonl"])
        .expect_code(0);
    let ids: Vec<String> = s
        .results("out.jsonl")
        .iter()
        .map(|r| r["sample_id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..2000).map(|i| format!("s{i}")).collect();
    assert_eq!(ids, expected);

    let stdin = std::fs::File::open(path).unwrap();
    let out = s
        .caliper()
        .args(["run", "-", "-o", "-", "--format", "none"])
        .stdin(stdin)
        .output()
        .unwrap();
    let run = caliper_tests::Run(out).expect_code(0);
    assert_eq!(run.stdout().lines().count(), 2000);
}

#[test]
fn gates_decide_the_exit_code_with_one_line_per_gate() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config(
            "",
            "config = { max = 2 }\ngate = { min_pass_rate = 0.75, max_mean = 10 }",
        ),
    );
    s.jsonl(
        "data.jsonl",
        &[
            json!({"output": "a"}),
            json!({"output": "a b"}),
            json!({"output": "a b c"}),
        ],
    );
    let run = s.run(&["run", "data.jsonl"]).expect_code(1);
    assert!(
        run.stdout()
            .contains("FAIL length min_pass_rate: pass rate 66.7% < min 75.0%"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout()
            .contains("ok   length max_mean: mean 2.0000 <= max 10.0000"),
        "{}",
        run.stdout()
    );
    // JSON summary on stdout is machine-readable.
    let run = s
        .run(&["run", "data.jsonl", "--format", "json"])
        .expect_code(1);
    let summary: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(summary["metrics"][0]["pass"], 2);

    // Errors count against max_error_rate: one of three samples errs.
    s.write(
        "caliper.toml",
        &[
            metric_toml(
                "flaky",
                "hostile",
                "config = { mode = \"error\", trigger = \"c\" }\ngate = { max_error_rate = 0.25 }",
            ),
            metric_toml(
                "tolerant",
                "hostile",
                "config = { mode = \"error\", trigger = \"c\" }\ngate = { max_error_rate = 0.5 }",
            ),
        ]
        .concat(),
    );
    let run = s.run(&["run", "data.jsonl"]).expect_code(1);
    for line in [
        "FAIL flaky max_error_rate: error rate 33.3% > max 25.0%",
        "ok   tolerant max_error_rate: error rate 33.3% <= max 50.0%",
    ] {
        assert!(run.stdout().contains(line), "{line}\n{}", run.stdout());
    }
}

#[test]
fn when_filters_restrict_a_metric_to_matching_samples() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config("", "when = { lang = [\"de\", \"fr\"] }"),
    );
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "1", "output": "Hallo", "metadata": {"lang": "de"}}),
            json!({"id": "2", "output": "Hello", "metadata": {"lang": "en"}}),
            json!({"id": "3", "output": "Salut", "lang": "fr"}),
        ],
    );
    let run = s
        .run(&["run", "data.jsonl", "-o", "out.jsonl", "--format", "json"])
        .expect_code(0);
    let ids: Vec<_> = s
        .results("out.jsonl")
        .iter()
        .map(|r| r["sample_id"].clone())
        .collect();
    assert_eq!(ids, [json!("1"), json!("3")]);
    let summary: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(summary["metrics"][0]["filtered"], 1);
}

#[test]
fn config_and_input_errors_exit_2_with_a_clear_message() {
    let s = Scratch::new();
    // A missing dataset is named before any metric loads.
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert_eq!(
        run.stderr().trim(),
        "error: cannot read dataset data.jsonl: No such file or directory (os error 2)"
    );
    s.jsonl("data.jsonl", &[json!({"output": "x"})]);
    // Missing config, when named (without one, the built-in set runs).
    let run = s
        .run(&["run", "data.jsonl", "-c", "caliper.toml"])
        .expect_code(2);
    assert!(
        run.stderr().contains("cannot read config caliper.toml"),
        "{}",
        run.stderr()
    );
    // A typo in the config names the line.
    s.write(
        "caliper.toml",
        "[[metric]]\npath = \"x.wasm\"\ntimeout_ms = 5\n",
    );
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(
        run.stderr().contains("unknown field `timeout_ms`"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("line 3"), "{}", run.stderr());
    // A missing component.
    s.write("caliper.toml", "[[metric]]\npath = \"missing.wasm\"\n");
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(
        run.stderr().contains("metric `missing`: cannot read"),
        "{}",
        run.stderr()
    );
    // Not a component.
    s.write("junk.wasm", "this is not wasm");
    s.write("caliper.toml", "[[metric]]\npath = \"junk.wasm\"\n");
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(
        run.stderr()
            .contains("is not a valid WebAssembly component"),
        "{}",
        run.stderr()
    );
    // A missing dataset.
    s.write("caliper.toml", &length_config("", ""));
    let run = s.run(&["run", "nope.jsonl"]).expect_code(2);
    assert!(
        run.stderr().contains("cannot read dataset nope.jsonl"),
        "{}",
        run.stderr()
    );
    // A directory, not a dataset.
    std::fs::create_dir(s.path().join("logs")).unwrap();
    let run = s.run(&["run", "logs"]).expect_code(2);
    assert!(
        run.stderr()
            .contains("cannot open dataset logs: is a directory"),
        "{}",
        run.stderr()
    );
    // An unknown --metric.
    s.jsonl("data.jsonl", &[json!({"output": "x"})]);
    let run = s
        .run(&["run", "data.jsonl", "--metric", "lenght"])
        .expect_code(2);
    assert!(
        run.stderr().contains("no metric named `lenght`"),
        "{}",
        run.stderr()
    );
}

/// Starts `caliper run` with a metric whose every sample spins until
/// `timeout_ms`, and returns once its temporary results file exists.
fn start_slow_run(s: &Scratch, timeout_ms: u64) -> std::process::Child {
    s.write(
        "caliper.toml",
        &metric_toml(
            "slow",
            "hostile",
            &format!("config = {{ mode = \"loop\" }}\nlimits = {{ timeout_ms = {timeout_ms} }}"),
        ),
    );
    let lines: Vec<Value> = (0..400).map(|i| json!({"id": i, "output": "x"})).collect();
    s.jsonl("data.jsonl", &lines);
    let child = s
        .caliper()
        .args(["run", "data.jsonl", "-o", "out.jsonl", "-j", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while temporary_files(s) == 0 {
        assert!(started.elapsed().as_secs() < 60, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

fn temporary_files(s: &Scratch) -> usize {
    std::fs::read_dir(s.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".caliper-"))
        .count()
}

fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for an interrupted run: exit code 130, no output file, no
/// temporary file.
fn assert_interrupted_cleanly(s: &Scratch, child: std::process::Child) {
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!s.path().join("out.jsonl").exists());
    assert_eq!(temporary_files(s), 0, "temporary files left behind");
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_output_file() {
    let s = Scratch::new();
    // Interrupt mid-run: every sample spins until its 50 ms deadline.
    let child = start_slow_run(&s, 50);
    std::thread::sleep(std::time::Duration::from_millis(300));
    interrupt(&child);
    assert_interrupted_cleanly(&s, child);
}

#[test]
fn a_second_ctrl_c_aborts_at_once_and_still_leaves_no_temporary_file() {
    let s = Scratch::new();
    // A sample in flight runs for 20 s: only the second Ctrl-C ends the run
    // before it.
    let child = start_slow_run(&s, 20_000);
    interrupt(&child);
    std::thread::sleep(std::time::Duration::from_millis(200));
    interrupt(&child);
    let started = std::time::Instant::now();
    assert_interrupted_cleanly(&s, child);
    assert!(
        started.elapsed().as_secs() < 10,
        "the second Ctrl-C did not abort"
    );
}

#[test]
fn config_json_passes_a_null_that_toml_cannot_write() {
    let s = Scratch::new();
    // German expected by metadata, but the user wrote English and so did the
    // model: with `metadata_key = null` the metric follows the user instead.
    let english = "Could you please tell me how I can reset the password of my account?";
    let answer = "Of course. Open the settings page, choose security, and follow the reset link we send you.";
    s.jsonl(
        "data.jsonl",
        &[json!({"id": "a", "input": english, "output": answer, "metadata": {"lang": "de"}})],
    );
    s.write(
        "caliper.toml",
        &[
            metric_toml("by-metadata", "language-match", ""),
            metric_toml(
                "by-user",
                "language-match",
                r#"config_json = '{"metadata_key": null}'"#,
            ),
        ]
        .concat(),
    );
    s.run(&["run", "data.jsonl", "-o", "out.jsonl"])
        .expect_code(0);
    let results = s.results("out.jsonl");
    let by = |metric: &str| {
        results
            .iter()
            .find(|r| r["metric"] == metric)
            .unwrap()
            .clone()
    };
    assert_eq!(by("by-metadata")["outcome"], "fail", "{results:?}");
    assert_eq!(by("by-metadata")["labels"]["expected_source"], "metadata");
    assert_eq!(by("by-user")["outcome"], "pass", "{results:?}");
    assert_eq!(by("by-user")["labels"]["expected_source"], "input");

    // Both at once is a config error that names the metric (exit 2).
    s.write(
        "caliper.toml",
        &metric_toml(
            "both",
            "language-match",
            "config = { min_chars = 5 }\nconfig_json = '{}'",
        ),
    );
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(
        run.stderr()
            .contains("metric `both`: set `config` or `config_json`, not both"),
        "{}",
        run.stderr()
    );
}

/// Runs `caliper ARGS` in `s` and returns it with its peak RSS in KiB: GNU
/// time's `Maximum resident set size` where /usr/bin/time exists, else the
/// highest `VmHWM` seen in /proc while it runs.
fn with_peak_rss(s: &Scratch, args: &[&str]) -> (caliper_tests::Run, u64) {
    let base = s.caliper();
    let time = std::path::Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut cmd = std::process::Command::new(time);
        cmd.arg("-v").arg(base.get_program());
        cmd
    } else {
        std::process::Command::new(base.get_program())
    };
    cmd.current_dir(s.path()).args(args).env_remove("RUST_LOG");
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    if time.exists() {
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let rss = stderr
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no RSS in: {stderr}"));
        return (caliper_tests::Run(out), rss);
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            while let Ok(text) = std::fs::read_to_string(&status) {
                let hwm = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0);
                peak.fetch_max(hwm, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    let _ = watcher.join();
    (
        caliper_tests::Run(out),
        peak.load(std::sync::atomic::Ordering::Relaxed),
    )
}

#[test]
fn a_line_past_the_cap_is_reported_skipped_in_bounded_memory_and_the_next_line_scored() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config("[input]\nmax_invalid_records = 1", ""),
    );
    let good = |id: &str| json!({"id": id, "output": "fine words"}).to_string();
    s.write(
        "small.jsonl",
        &format!("{}\n{}\n{}\n", good("a"), good("b"), good("c")),
    );
    // 20 MiB on one line, past the 16 MiB default cap.
    let long = format!(
        "{{\"id\": \"long\", \"output\": \"{}\"}}",
        "x ".repeat(10 << 20)
    );
    s.write(
        "data.jsonl",
        &format!("{}\n{long}\n{}\n", good("a"), good("c")),
    );
    let (_, baseline) = with_peak_rss(&s, &["run", "small.jsonl", "--no-history"]);
    let (run, peak) = with_peak_rss(
        &s,
        &["run", "data.jsonl", "-o", "out.jsonl", "--no-history"],
    );
    let run = run.expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("data.jsonl:2: line longer than 16777216 bytes"),
        "{out}"
    );
    let ids: Vec<Value> = s
        .results("out.jsonl")
        .iter()
        .map(|r| r["sample_id"].clone())
        .collect();
    assert_eq!(ids, [json!("a"), json!("c")]);
    // Holding the line whole (and parsing, mapping and passing it on) costs
    // several copies of 20 MiB; skipping it costs at most the cap's buffer.
    let extra_mib = peak.saturating_sub(baseline) / 1024;
    assert!(
        extra_mib < 40,
        "peak RSS {peak} KiB vs {baseline} KiB for a small dataset (+{extra_mib} MiB)"
    );
}

#[test]
fn a_long_conversation_expands_in_memory_linear_in_its_size() {
    // 500 exchanges of 4 KiB turns: a 4 MB line whose 500 expanded samples
    // each carry their history. Converting them all at once for the
    // metrics would hold ~1 GB (the sum of the histories); the runner
    // converts a bounded window at a time.
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config("[input]\nexpand_turns = true", "config = { max = 100000 }"),
    );
    s.jsonl(
        "small.jsonl",
        &[json!({"id": "c", "messages": [
            {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}
        ]})],
    );
    let turn = "w".repeat(4096);
    let messages: Vec<Value> = (0..500)
        .flat_map(|i| {
            [
                json!({"role": "user", "content": format!("{i} {turn}")}),
                json!({"role": "assistant", "content": format!("{i} {turn}")}),
            ]
        })
        .collect();
    s.jsonl("long.jsonl", &[json!({"id": "long", "messages": messages})]);
    let (_, baseline) = with_peak_rss(&s, &["run", "small.jsonl", "--no-history"]);
    let (run, peak) = with_peak_rss(
        &s,
        &["run", "long.jsonl", "-o", "out.jsonl", "--no-history"],
    );
    run.expect_code(0);
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), 500);
    assert_eq!(results[499]["sample_id"], json!("long#500"));
    assert!(results.iter().all(|r| r["outcome"] == json!("pass")));
    let extra_mib = peak.saturating_sub(baseline) / 1024;
    assert!(
        extra_mib < 200,
        "peak RSS {peak} KiB vs {baseline} KiB for one short conversation (+{extra_mib} MiB)"
    );
}

#[test]
fn a_csv_record_past_the_configured_cap_is_skipped_with_its_line() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config(
            "[input]\nmax_line_bytes = 1000\nmax_invalid_records = 1\noutput = \"/response\"",
            "",
        ),
    );
    let cell = "many words\n".repeat(200);
    s.write(
        "data.csv",
        &format!("id,response\na,short answer\nlong,\"{cell}\"\nc,\"two\nlines\"\n"),
    );
    let run = s
        .run(&["run", "data.csv", "-o", "out.jsonl", "--no-history"])
        .expect_code(0);
    assert!(
        run.stdout()
            .contains("data.csv:3: line longer than 1000 bytes"),
        "{}",
        run.stdout()
    );
    let got: Vec<(String, String)> = s
        .results("out.jsonl")
        .iter()
        .map(|r| {
            (
                r["sample_id"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("a".into(), "pass".into()), ("c".into(), "pass".into())]
    );
}

#[test]
fn serve_counts_max_samples_per_request_after_expanding_turns() {
    let s = Scratch::new();
    s.write(
        "caliper.toml",
        &length_config(
            "[input]\nexpand_turns = true\n\n[serve]\nmax_samples_per_request = 5",
            "",
        ),
    );
    let conversation = |turns: usize| {
        let messages: Vec<Value> = (0..turns)
            .flat_map(|i| {
                [
                    json!({"role": "user", "content": format!("question {i}")}),
                    json!({"role": "assistant", "content": format!("answer {i}")}),
                ]
            })
            .collect();
        json!({"sample": {"id": "chat", "messages": messages}}).to_string()
    };
    let server = caliper_tests::Server::start(&s, &[]);
    let r = server.post("/v1/evaluate", &conversation(5));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 5);
    // One record, but 1,000 samples once expanded.
    let r = server.post("/v1/evaluate", &conversation(1000));
    assert_eq!(r.status, 413, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["code"], "too_many_samples", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("at least 1000 samples; the limit is 5"),
        "{message}"
    );
}
