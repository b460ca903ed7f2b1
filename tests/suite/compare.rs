//! `caliper compare`: a crafted before/after pair of datasets where the
//! regression is known, through `caliper run` and `caliper compare`.

use caliper_tests::{Scratch, metric_toml};
use serde_json::{Value, json};

const GERMAN: &[&str] = &[
    "Ihr Konto wurde heute freigeschaltet und ist sofort nutzbar.",
    "Die Überweisung wird innerhalb von zwei Werktagen ausgeführt.",
    "Sie können Ihre Karte jederzeit in der App sperren lassen.",
    "Unsere Filiale ist montags bis freitags von neun bis achtzehn Uhr geöffnet.",
    "Der Zinssatz für Ihr Sparkonto beträgt derzeit zwei Prozent.",
];
const ENGLISH: &str = "Your account was activated today and can be used right away by you.";

/// 40 German questions. Before: all answered in German, in few words. After:
/// samples 0..12 answered in English (a real regression), samples 20, 21
/// answered at length (two regressions of the length metric: too few to be
/// significant).
fn datasets(s: &Scratch) {
    let mut before = Vec::new();
    let mut after = Vec::new();
    for i in 0..40 {
        let question =
            format!("Können Sie mir bitte bei meiner Frage Nummer {i} zu meinem Konto helfen?");
        let answer = GERMAN[i % GERMAN.len()];
        // The English answers all come from the web channel.
        let channel = if !(12..36).contains(&i) { "web" } else { "app" };
        let line = |output: &str| json!({"id": format!("q{i}"), "input": question, "output": output, "metadata": {"channel": channel}});
        before.push(line(answer));
        after.push(if i < 12 {
            line(ENGLISH)
        } else if i == 20 || i == 21 {
            line(&format!(
                "{answer} {}",
                "Außerdem gibt es viele weitere Details. ".repeat(5)
            ))
        } else {
            line(answer)
        });
    }
    s.jsonl("before.jsonl", &before);
    s.jsonl("after.jsonl", &after);
}

#[test]
fn compare_finds_the_known_regression_gates_on_it_and_lists_the_flips() {
    let s = Scratch::new();
    datasets(&s);
    let config = [
        metric_toml(
            "lang",
            "language-match",
            "regression = { max_drop = 0.02, alpha = 0.05 }",
        ),
        metric_toml(
            "length",
            "response-length",
            "config = { unit = \"words\", min = 1, max = 20 }\nregression = { max_drop = 0.02 }",
        ),
    ]
    .concat();
    s.write("caliper.toml", &config);
    s.run(&["run", "before.jsonl", "-o", "r-before.jsonl"])
        .expect_code(0);
    s.run(&["run", "after.jsonl", "-o", "r-after.jsonl"])
        .expect_code(0);

    let run = s
        .run(&[
            "compare",
            "r-before.jsonl",
            "r-after.jsonl",
            "--baseline-data",
            "before.jsonl",
            "--candidate-data",
            "after.jsonl",
            "--json",
            "cmp.json",
            "--markdown",
            "cmp.md",
            "--junit",
            "junit.xml",
            "--group-by",
            "channel",
        ])
        .expect_code(1);
    // One line per failing gate on stderr; the passing gate is not there.
    let stderr = run.stderr();
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("regression: "))
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("regression: lang: pass rate -30.0 pts"),
        "{stderr}"
    );

    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(s.path().join("cmp.json")).unwrap()).unwrap();
    let lang = &v["metrics"][0];
    assert_eq!(lang["metric"], "lang");
    assert_eq!(lang["matched"], 40);
    assert_eq!(
        lang["transitions"],
        json!({"pass_pass": 28, "pass_fail": 12, "fail_pass": 0, "fail_fail": 0})
    );
    assert_eq!(lang["baseline"]["pass_rate"], 1.0);
    assert_eq!(lang["candidate"]["pass_rate"], 0.7);
    // Exact McNemar: 2 * 0.5^12.
    assert!((lang["mcnemar_p"].as_f64().unwrap() - 2.0 * 0.5f64.powi(12)).abs() < 1e-12);
    // Wilson 28/40; statsmodels proportion_confint(28, 40, method="wilson").
    let ci = &lang["candidate"]["pass_rate_interval"];
    assert!(
        (ci["lo"].as_f64().unwrap() - 0.545_699_811_818_550_5).abs() < 1e-9,
        "{ci}"
    );
    assert!(
        (ci["hi"].as_f64().unwrap() - 0.819_251_547_702_534_8).abs() < 1e-9,
        "{ci}"
    );
    let change = &lang["pass_rate_change_interval"];
    assert!(
        change["hi"].as_f64().unwrap() < 0.0 && change["lo"].as_f64().unwrap() > -0.6,
        "{change}"
    );
    // The flips: the twelve English answers, with input, outputs and reason.
    let flipped = lang["flipped"].as_array().unwrap();
    assert_eq!(flipped.len(), 12);
    let ids: Vec<&str> = flipped
        .iter()
        .map(|f| f["sample_id"].as_str().unwrap())
        .collect();
    for i in 0..12 {
        assert!(ids.contains(&format!("q{i}").as_str()), "{ids:?}");
    }
    let f = &flipped[0];
    assert_eq!(f["direction"], "regressed");
    assert_eq!(f["candidate"]["output"], ENGLISH);
    assert!(f["input"].as_str().unwrap().starts_with("Können Sie mir"));
    assert!(
        f["candidate"]["reason"]
            .as_str()
            .unwrap()
            .contains("English"),
        "{f}"
    );

    // Per channel: every regression is on the web.
    let web = &v["segments"]["web"][0];
    let app = &v["segments"]["app"][0];
    assert_eq!(
        (web["metric"].as_str(), web["matched"].as_u64()),
        (Some("lang"), Some(16))
    );
    assert_eq!(web["transitions"]["pass_fail"], 12);
    assert_eq!(app["transitions"]["pass_fail"], 0);
    assert_eq!(app["matched"], 24);
    assert!(run.stdout().contains("channel = web"), "{}", run.stdout());

    // Length: two regressions, beyond the tolerance but not significant.
    let length = &v["metrics"][1];
    assert_eq!(length["transitions"]["pass_fail"], 2);
    assert!((length["mcnemar_p"].as_f64().unwrap() - 0.5).abs() < 1e-12);
    let gates = v["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 2);
    assert_eq!(gates[0]["passed"], false);
    assert_eq!(gates[1]["passed"], true);
    assert!(
        gates[1]["message"]
            .as_str()
            .unwrap()
            .contains("not significant"),
        "{}",
        gates[1]
    );

    let junit = caliper_tests::junit_cases(&s.path().join("junit.xml"));
    let summary: Vec<(&str, &str, bool)> = junit
        .iter()
        .map(|c| (c.classname.as_str(), c.name.as_str(), c.failure.is_some()))
        .collect();
    assert_eq!(
        summary,
        [
            ("lang", "regression", true),
            ("length", "regression", false)
        ]
    );

    // The table and the Markdown name the regression and the flips.
    assert!(run.stdout().contains("regressed q"), "{}", run.stdout());
    let md = std::fs::read_to_string(s.path().join("cmp.md")).unwrap();
    assert!(md.contains("**regression gate failed**"), "{md}");
    assert!(md.contains("| lang | 100.0%"), "{md}");
    assert!(md.contains("❌ `lang` regression"), "{md}");

    // Comparing a run with itself: no change, gates hold, exit 0.
    let same = s
        .run(&[
            "compare",
            "r-before.jsonl",
            "r-before.jsonl",
            "--format",
            "json",
        ])
        .expect_code(0);
    let v: Value = serde_json::from_str(&same.stdout()).unwrap();
    assert_eq!(v["metrics"][0]["pass_rate_change"], 0.0);
    assert_eq!(v["metrics"][0]["mcnemar_p"], 1.0);
    assert_eq!(v["passed"], true);
}

#[test]
fn compare_reports_bad_files_and_unmatched_samples() {
    let s = Scratch::new();
    datasets(&s);
    s.write("caliper.toml", &metric_toml("lang", "language-match", ""));
    s.run(&["run", "before.jsonl", "-o", "r-before.jsonl"])
        .expect_code(0);
    // A candidate with the first 5 samples missing.
    let text = std::fs::read_to_string(s.path().join("r-before.jsonl")).unwrap();
    let partial: String = text.lines().skip(5).map(|l| format!("{l}\n")).collect();
    s.write("r-partial.jsonl", &partial);
    let run = s
        .run(&["compare", "r-before.jsonl", "r-partial.jsonl"])
        .expect_code(0);
    assert!(
        run.stdout()
            .contains("lang: 5 samples only in the baseline, 0 only in the candidate"),
        "{}",
        run.stdout()
    );

    s.write(
        "r-bad.jsonl",
        &format!(
            "{}not json\n",
            text.lines().next().unwrap().to_owned() + "\n"
        ),
    );
    let run = s
        .run(&["compare", "r-before.jsonl", "r-bad.jsonl"])
        .expect_code(2);
    assert!(
        run.stderr()
            .contains("r-bad.jsonl:2: not a caliper result line"),
        "{}",
        run.stderr()
    );
    let dup = format!("{0}\n{0}\n", text.lines().next().unwrap());
    s.write("r-dup.jsonl", &dup);
    let run = s
        .run(&["compare", "r-before.jsonl", "r-dup.jsonl"])
        .expect_code(2);
    assert!(
        run.stderr()
            .contains("r-dup.jsonl:2: sample `q0` has a second result"),
        "{}",
        run.stderr()
    );
}

#[test]
fn runs_are_recorded_and_compared_from_the_history() {
    let s = Scratch::new();
    datasets(&s);
    s.write(
        "caliper.toml",
        &metric_toml("lang", "language-match", "regression = { max_drop = 0.02 }"),
    );
    s.run(&["run", "before.jsonl"]).expect_code(0);
    s.run(&["run", "after.jsonl", "--no-history"])
        .expect_code(0);
    s.run(&["run", "after.jsonl"]).expect_code(0);
    assert!(s.path().join(".caliper/history.db").exists());

    let v: Value =
        serde_json::from_str(&s.run(&["history", "--json"]).expect_code(0).stdout()).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2, "--no-history recorded nothing: {v}");
    assert_eq!(runs[0]["dataset"], "after.jsonl");
    assert_eq!(runs[0]["metrics"][0]["figures"]["pass_rate"], 0.7);
    assert_eq!(runs[1]["metrics"][0]["figures"]["pass_rate"], 1.0);
    let table = s.run(&["history"]).expect_code(0).stdout();
    assert!(
        table.contains("70.0%") && table.contains("100.0%"),
        "{table}"
    );

    // The stored runs compare like the results files would.
    let run = s
        .run(&[
            "compare",
            "--baseline",
            "last~1",
            "last",
            "--format",
            "json",
        ])
        .expect_code(1);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["baseline"], format!("run:{}", runs[1]["id"]));
    assert_eq!(v["metrics"][0]["transitions"]["pass_fail"], 12);
    // The stored samples give the flips their texts, and segments.
    let flip = &v["metrics"][0]["flipped"][0];
    assert!(
        flip["input"]
            .as_str()
            .unwrap()
            .starts_with("Können Sie mir"),
        "{flip}"
    );
    assert_eq!(flip["candidate"]["output"], ENGLISH);
    let run = s
        .run(&[
            "compare",
            "--baseline",
            "last~1",
            "last",
            "--format",
            "json",
            "--group-by",
            "channel",
        ])
        .expect_code(1);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["segments"]["web"][0]["transitions"]["pass_fail"], 12);
    assert_eq!(v["segments"]["app"][0]["transitions"]["pass_fail"], 0);
    let run = s.run(&["compare", "last~5", "last"]).expect_code(2);
    assert!(
        run.stderr().contains("only 2 runs recorded"),
        "{}",
        run.stderr()
    );
    // A bare run id is a run, as `caliper history` lists it (unless a file
    // of that name exists), and reads as `run:ID`.
    let (older, newer) = (runs[1]["id"].to_string(), runs[0]["id"].to_string());
    let run = s
        .run(&["compare", &older, &newer, "--format", "json"])
        .expect_code(1);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["baseline"], format!("run:{older}"));
    assert_eq!(v["metrics"][0]["transitions"]["pass_fail"], 12);
}

#[test]
fn the_html_report_renders_in_headless_chromium_without_console_errors() {
    let s = Scratch::new();
    datasets(&s);
    s.write(
        "caliper.toml",
        &[
            metric_toml("lang", "language-match", "regression = { max_drop = 0.02 }"),
            metric_toml(
                "length",
                "response-length",
                "config = { unit = \"words\", min = 1, max = 20 }",
            ),
        ]
        .concat(),
    );
    s.run(&[
        "run",
        "before.jsonl",
        "-o",
        "r-before.jsonl",
        "--no-history",
    ])
    .expect_code(0);
    s.run(&["run", "after.jsonl", "-o", "r-after.jsonl", "--no-history"])
        .expect_code(0);
    s.run(&[
        "compare",
        "r-before.jsonl",
        "r-after.jsonl",
        "--candidate-data",
        "after.jsonl",
        "--html",
        "report.html",
        "--group-by",
        "channel",
    ])
    .expect_code(1);
    let html = std::fs::read_to_string(s.path().join("report.html")).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for external in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(external), "the report references {external}");
    }
    assert!(html.contains("<svg role=\"img\" aria-label=\"pass rates\""));
    assert!(html.contains("aria-label=\"values of lang\""));
    assert!(
        html.contains("<h2>Per channel</h2>"),
        "no segment breakdown"
    );

    let url = format!("file://{}", s.path().join("report.html").display());
    let chrome = |extra: &[&str], url: &str| {
        let out = std::process::Command::new(caliper_tests::chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!(
                "--user-data-dir={}",
                s.path().join("chrome-profile").display()
            ))
            .args(extra)
            .arg(url)
            .current_dir(s.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let console: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
            .collect();
        assert!(console.is_empty(), "console output: {console:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // A screenshot of the charts.
    chrome(
        &["--window-size=1200,1800", "--screenshot=report.png"],
        &url,
    );
    let png = std::fs::metadata(s.path().join("report.png"))
        .expect("a screenshot")
        .len();
    assert!(png > 20_000, "screenshot is only {png} bytes");
    // The script ran and the flipped-samples filter works (from the URL).
    let dom = chrome(&["--dump-dom"], &format!("{url}#q=q10"));
    assert!(dom.contains("data-ready=\"1\""), "the script did not run");
    assert!(dom.contains("id=\"shown\">1 rows<"), "filter did not apply");
    let dom = chrome(&["--dump-dom"], &url);
    assert!(
        dom.contains("id=\"shown\">14 rows<"),
        "12 language + 2 length flips expected"
    );
}

/// The schema check is real: a report with an unknown element is refused.
#[test]
#[should_panic(expected = "does not validate against junit-10.xsd")]
fn the_junit_schema_check_rejects_an_invalid_report() {
    let s = Scratch::new();
    let path = s.write(
        "bad.xml",
        "<?xml version=\"1.0\"?><testsuites><testsuite name=\"x\" tests=\"1\"><testcase name=\"a\"><verdict/></testcase></testsuite></testsuites>",
    );
    caliper_tests::junit_validate(&path);
}

/// Without regression gates, a significant drop is still the headline of
/// every report: never "(no regression gates configured)" in green.
#[test]
fn without_gates_a_significant_drop_is_the_headline() {
    let s = Scratch::new();
    datasets(&s);
    s.write(
        "caliper.toml",
        &[
            metric_toml("lang", "language-match", ""),
            metric_toml(
                "length",
                "response-length",
                "config = { unit = \"words\", min = 1, max = 20 }",
            ),
        ]
        .concat(),
    );
    s.run(&[
        "run",
        "before.jsonl",
        "-o",
        "r-before.jsonl",
        "--no-history",
    ])
    .expect_code(0);
    s.run(&["run", "after.jsonl", "-o", "r-after.jsonl", "--no-history"])
        .expect_code(0);
    let run = s
        .run(&[
            "compare",
            "r-before.jsonl",
            "r-after.jsonl",
            "--html",
            "c.html",
            "--markdown",
            "c.md",
        ])
        .expect_code(0);
    let first = run.stdout().lines().next().unwrap_or_default().to_owned();
    assert!(
        first.contains("no regression gates configured; significant drop: lang -30.0 pts (p = "),
        "{first}"
    );
    assert!(
        !first.contains("length"),
        "two flips are not significant: {first}"
    );
    let html = std::fs::read_to_string(s.path().join("c.html")).unwrap();
    assert!(
        html.contains(
            "<span class=\"warn\">(no regression gates configured; significant drop: lang -30.0 pts"
        ),
        "{}",
        &html[..html.len().min(2000)]
    );
    let md = std::fs::read_to_string(s.path().join("c.md")).unwrap();
    assert!(
        md.starts_with("## Caliper: baseline vs candidate (**no regression gates configured; significant drop: lang"),
        "{md}"
    );
}

/// Bytes of data in the history: what a prune without limits (which deletes
/// no finished run) reports.
fn data_bytes(s: &Scratch) -> f64 {
    let run = s
        .run(&["history", "prune", "--no-vacuum", "--json"])
        .expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["deleted_runs"], json!([]), "{v}");
    v["after"]["used_bytes"].as_f64().unwrap()
}

#[test]
fn the_history_stores_repeated_data_once_and_prunes_to_its_limits() {
    let s = Scratch::new();
    // 3,000 samples (three chunks) of ~600 characters of varied words.
    const WORDS: &[&str] = &[
        "order", "refund", "delivery", "account", "invoice", "card", "plan", "password", "today",
        "tomorrow", "shipped", "blocked", "updated", "checked", "please", "thanks",
    ];
    let mut state: u64 = 42;
    let mut word = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        WORDS[(state >> 60) as usize]
    };
    let lines: Vec<Value> = (0..3000)
        .map(|i| {
            let output: Vec<String> = (0..80).map(|k| format!("{}{}", word(), k % 7)).collect();
            json!({"id": format!("s{i}"), "input": format!("question {i}"),
                   "output": format!("answer {i} {}", output.join(" ")),
                   "metadata": {"lang": "en"}})
        })
        .collect();
    s.jsonl("data.jsonl", &lines);
    s.write(
        "caliper.toml",
        &format!(
            "{}\n[history]\nkeep_runs = 3\n",
            metric_toml("len", "response-length", "config = { max = 200 }")
        ),
    );
    s.run(&["run", "data.jsonl"]).expect_code(0);
    let one = data_bytes(&s);
    s.run(&["run", "data.jsonl"]).expect_code(0);
    let two = data_bytes(&s);
    assert!(one > 300e3, "the first run stores the texts: {one} bytes");
    assert!(
        two - one < one / 4.0,
        "a second run of the same data stores its texts again: {one} -> {two} bytes"
    );
    let table = s.run(&["history"]).expect_code(0).stdout();
    assert!(
        table.contains("2 of 2 runs shown from .caliper/history.db (0.")
            && table.contains(" MiB of data, "),
        "{table}"
    );
    // keep_runs: the fourth run deletes the first.
    s.run(&["run", "data.jsonl"]).expect_code(0);
    s.run(&["run", "data.jsonl"]).expect_code(0);
    let runs: Value =
        serde_json::from_str(&s.run(&["history", "--json"]).expect_code(0).stdout()).unwrap();
    let ids: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4, 3, 2], "{runs}");
    // The kept runs still have their texts (shared with the deleted run).
    let compared = s
        .run(&["compare", "--baseline", "run:2", "last", "--format", "json"])
        .expect_code(0);
    let v: Value = serde_json::from_str(&compared.stdout()).unwrap();
    assert_eq!(v["metrics"][0]["transitions"]["pass_pass"], 3000, "{v}");

    // prune: the flag overrides the config; VACUUM shrinks the file.
    let pruned = s
        .run(&["history", "prune", "--keep-runs", "1", "--json"])
        .expect_code(0);
    let v: Value = serde_json::from_str(&pruned.stdout()).unwrap();
    assert_eq!(v["deleted_runs"], json!([2, 3]), "{v}");
    assert_eq!(v["after"]["runs"], 1);
    assert!(
        v["after"]["file_bytes"].as_u64() <= v["before"]["file_bytes"].as_u64(),
        "{v}"
    );
    let text = s.run(&["history", "prune"]).expect_code(0).stdout();
    assert!(text.contains("deleted no run; 1 runs kept"), "{text}");
    assert!(text.contains("MiB on disk (before:"), "{text}");
    // A different dataset shares nothing, and the newest run always stays.
    s.jsonl("other.jsonl", &lines[..10]);
    s.run(&["run", "other.jsonl"]).expect_code(0);
    let v: Value = serde_json::from_str(
        &s.run(&["history", "prune", "--max-size-mib", "0", "--json"])
            .expect_code(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(v["deleted_runs"], json!([4]), "{v}");
    assert!(data_bytes(&s) < one / 4.0, "the big run's texts are gone");
}
