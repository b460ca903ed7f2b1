//! A metric is contained whatever it does: deadlines bound wall time
//! whatever it waits on, memory means all memory (tables too), and what it
//! sends the host (log lines, stderr, reasons, labels) is bounded and inert.
//! Each test runs the real binary with the `hostile` component and checks
//! that a well-behaved metric in the same run keeps its exact results.

use std::time::{Duration, Instant};

use caliper_tests::{Run, Scratch, metric_toml, outcomes};
use serde_json::{Value, json};

fn data(s: &Scratch) {
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "s1", "output": "fine answer"}),
            json!({"id": "s2", "output": "BAD answer"}),
            json!({"id": "s3", "output": "another fine answer"}),
            json!({"id": "s4", "output": "a last fine answer"}),
        ],
    );
}

fn run(s: &Scratch, config: &str) -> (Run, Vec<Value>, Duration) {
    s.write("caliper.toml", config);
    run_config(s)
}

/// Runs the `caliper.toml` already in `s` over `data.jsonl` on one worker.
fn run_config(s: &Scratch) -> (Run, Vec<Value>, Duration) {
    let started = Instant::now();
    let run = s.run(&[
        "run",
        "data.jsonl",
        "-o",
        "out.jsonl",
        "--no-history",
        "--jobs",
        "1",
    ]);
    let took = started.elapsed();
    let results = if s.path().join("out.jsonl").exists() {
        s.results("out.jsonl")
    } else {
        Vec::new()
    };
    (run, results, took)
}

fn of<'a>(results: &'a [Value], metric: &str) -> Vec<&'a Value> {
    results.iter().filter(|r| r["metric"] == metric).collect()
}

/// The control: `response-length` scores every sample the same whatever
/// the hostile metric beside it did.
fn control_unaffected(results: &[Value]) {
    let length = of(results, "length");
    assert_eq!(
        outcomes(&length.iter().map(|v| (*v).clone()).collect::<Vec<_>>()),
        [
            ("s1", "pass"),
            ("s2", "pass"),
            ("s3", "pass"),
            ("s4", "pass")
        ]
    );
    let words: Vec<f64> = length
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    assert_eq!(words, [2.0, 2.0, 3.0, 4.0]);
}

#[test]
fn a_metric_sleeping_for_an_hour_times_out_at_its_deadline() {
    let s = Scratch::new();
    data(&s);
    let config = [
        metric_toml(
            "sleepy",
            "hostile",
            r#"config = { mode = "sleep", trigger = "BAD" }
limits = { timeout_ms = 200 }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    let (run, results, took) = run(&s, &config);
    let run = run.expect_code(0);
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
    let sleepy = of(&results, "sleepy");
    let s2 = sleepy.iter().find(|r| r["sample_id"] == "s2").unwrap();
    assert_eq!(s2["outcome"], "timeout", "{s2}");
    let reason = s2["reason"].as_str().unwrap();
    assert!(
        reason.contains("exceeded its deadline of 200 ms") && reason.contains("host call"),
        "{reason}"
    );
    let us = s2["duration_us"].as_u64().unwrap();
    assert!(
        (150_000..900_000).contains(&us),
        "the timeout took {us} µs, not about 200 ms"
    );
    // The instance was replaced; the next samples pass.
    for id in ["s1", "s3", "s4"] {
        let r = sleepy.iter().find(|r| r["sample_id"] == id).unwrap();
        assert_eq!(r["outcome"], "pass", "{r}\n{}", run.stderr());
    }
    control_unaffected(&results);
}

#[test]
fn a_metric_sleeping_in_configure_fails_to_start_within_its_start_budget() {
    let s = Scratch::new();
    data(&s);
    let config = [
        metric_toml(
            "sleepy-start",
            "hostile",
            r#"config = { mode = "sleep-configure" }
limits = { start_timeout_ms = 300 }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    let (run, _, took) = run(&s, &config);
    let run = run.expect_code(2);
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
    let err = run.stderr();
    assert!(
        err.contains("sleepy-start")
            && err.contains("failed to start")
            && err.contains("exceeded its deadline of 300 ms"),
        "{err}"
    );
}

#[test]
fn re_creating_an_instance_after_a_trap_counts_against_the_evaluation_deadline() {
    let s = Scratch::new();
    data(&s);
    // A start of several seconds passes the (generous) start budget once;
    // after the trap on s2, re-creating the instance is part of s3's and
    // s4's evaluations and cannot take longer than their 300 ms.
    let config = [
        metric_toml(
            "slow-start",
            "hostile",
            r#"config = { mode = "panic", trigger = "BAD", start_ms = 6000 }
limits = { timeout_ms = 300, start_timeout_ms = 60000 }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    let (run, results, _) = run(&s, &config);
    let run = run.expect_code(0);
    let slow = of(&results, "slow-start");
    let by_id = |id: &str| *slow.iter().find(|r| r["sample_id"] == id).unwrap();
    assert_eq!(by_id("s1")["outcome"], "pass", "{}", run.stderr());
    assert_eq!(by_id("s2")["outcome"], "trap");
    for id in ["s3", "s4"] {
        let r = by_id(id);
        assert_eq!(r["outcome"], "timeout", "{r}");
        assert!(
            r["reason"].as_str().unwrap().contains("failed to start"),
            "{r}"
        );
        let us = r["duration_us"].as_u64().unwrap();
        assert!(
            us < 1_500_000,
            "re-creation took {us} µs under a 300 ms deadline"
        );
    }
    control_unaffected(&results);
}

#[test]
fn a_panic_message_survives_a_flood_of_stderr() {
    let s = Scratch::new();
    data(&s);
    let config = [
        metric_toml(
            "flood",
            "hostile",
            r#"config = { mode = "stderr-flood-panic", trigger = "BAD", bytes = 200000 }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    let (run, results, _) = run(&s, &config);
    run.expect_code(0);
    let flood = of(&results, "flood");
    let s2 = flood.iter().find(|r| r["sample_id"] == "s2").unwrap();
    assert_eq!(s2["outcome"], "trap");
    let reason = s2["reason"].as_str().unwrap();
    assert!(
        reason.contains("the real cause after a stderr flood"),
        "{reason}"
    );
    control_unaffected(&results);
}

#[test]
fn log_floods_are_cut_and_oversized_host_calls_refused() {
    let s = Scratch::new();
    data(&s);
    let config = [
        // 16 lines of 1 MiB per call: forwarded, each cut to 4 KiB.
        metric_toml(
            "log-flood",
            "hostile",
            r#"config = { mode = "log-flood", trigger = "BAD" }"#,
        ),
        // One 16 MiB line: more than a host call may carry.
        metric_toml(
            "log-bomb",
            "hostile",
            r#"config = { mode = "log-flood", trigger = "BAD", count = 1, bytes = 16777216 }
limits = { memory_mib = 128 }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    let (run, results, _) = run(&s, &config);
    let run = run.expect_code(0);
    let err = run.0.stderr.len();
    assert!(err < 200_000, "{err} bytes on stderr");
    let flood = of(&results, "log-flood");
    assert!(flood.iter().all(|r| r["outcome"] == "pass"), "{flood:?}");
    let bomb = of(&results, "log-bomb");
    let s2 = bomb.iter().find(|r| r["sample_id"] == "s2").unwrap();
    assert_eq!(s2["outcome"], "trap", "{s2}");
    control_unaffected(&results);
}

#[test]
fn control_characters_from_a_metric_never_reach_the_terminal_raw() {
    let s = Scratch::new();
    data(&s);
    let config = [
        metric_toml(
            "forger",
            "hostile",
            r#"config = { mode = "control-chars", trigger = "BAD" }"#,
        ),
        metric_toml("length", "response-length", ""),
    ]
    .concat();
    s.write("caliper.toml", &config);
    let run = s
        .caliper()
        .env("RUST_LOG", "debug")
        .args(["run", "data.jsonl", "-o", "out.jsonl", "--no-history"])
        .output()
        .unwrap();
    let run = Run(run);
    assert!(matches!(run.code(), 0 | 1), "{}", run.stderr());
    for (stream, bytes) in [("stdout", &run.0.stdout), ("stderr", &run.0.stderr)] {
        for bad in [0x1b_u8, 0x07, b'\r'] {
            assert!(
                !bytes.contains(&bad),
                "{stream} holds a raw 0x{bad:02x}:\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("\u{202e}"), "{stream} holds a bidi override");
        assert!(
            !text
                .lines()
                .any(|l| l.contains("INFO caliper: forged line") && !l.contains("\\r\\n")),
            "{stream} holds a forged line:\n{text}"
        );
    }
    let results = s.results("out.jsonl");
    let s2 = results
        .iter()
        .find(|r| r["metric"] == "forger" && r["sample_id"] == "s2")
        .unwrap();
    let reason = s2["reason"].as_str().unwrap();
    assert!(reason.starts_with("ok\\r\\n2026-01-01"), "{reason}");
    assert!(reason.contains("\\u{1b}[2J"), "{reason}");
    let labels = s2["labels"].as_object().unwrap();
    assert!(labels.keys().all(|k| !k.contains('\u{1b}')), "{labels:?}");
    assert!(
        labels.values().all(|v| !v.as_str().unwrap().contains('\n')),
        "{labels:?}"
    );
    control_unaffected(&results);
}

/// Unsigned LEB128, as the Wasm binary format writes sizes and counts.
fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8], at: &mut usize) -> usize {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let byte = bytes[*at];
        *at += 1;
        n |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte < 0x80 {
            return n;
        }
    }
}

/// `component` with `extra` funcref tables of `elements` elements added to
/// its first core module: the same metric, but instantiating it asks the
/// host for `extra × elements` table slots (a table bomb no Rust source can
/// write).
fn with_table_bomb(component: &[u8], extra: usize, elements: usize) -> Vec<u8> {
    let mut out = component[..8].to_vec();
    let mut at = 8;
    let mut done = false;
    while at < component.len() {
        let id = component[at];
        at += 1;
        let size = read_leb(component, &mut at);
        let body = &component[at..at + size];
        at += size;
        if id != 1 || done {
            out.push(id);
            leb(size, &mut out);
            out.extend_from_slice(body);
            continue;
        }
        // The core module: rewrite its table section (id 4).
        done = true;
        let mut module = body[..8].to_vec();
        let mut m = 8;
        while m < body.len() {
            let sid = body[m];
            m += 1;
            let ssize = read_leb(body, &mut m);
            let section = &body[m..m + ssize];
            m += ssize;
            if sid != 4 {
                module.push(sid);
                leb(ssize, &mut module);
                module.extend_from_slice(section);
                continue;
            }
            let mut s = 0;
            let count = read_leb(section, &mut s);
            let mut tables = Vec::new();
            leb(count + extra, &mut tables);
            tables.extend_from_slice(&section[s..]);
            for _ in 0..extra {
                tables.extend_from_slice(&[0x70, 0x00]); // funcref, min only
                leb(elements, &mut tables);
            }
            module.push(4);
            leb(tables.len(), &mut module);
            module.extend_from_slice(&tables);
        }
        out.push(1);
        leb(module.len(), &mut out);
        out.extend_from_slice(&module);
    }
    assert!(done, "no core module in the component");
    out
}

#[test]
fn tables_count_against_the_memory_cap() {
    let s = Scratch::new();
    data(&s);
    let component = std::fs::read(caliper_tests::wasm("hostile")).unwrap();
    let bomb = s.path().join("table_bomb.wasm");
    std::fs::write(&bomb, with_table_bomb(&component, 99, 1_000_000)).unwrap();
    let config = format!(
        "[[metric]]\nname = \"tables\"\npath = {:?}\nconfig = {{ mode = \"behave\" }}\n\
         limits = {{ memory_mib = 16 }}\n{}",
        bomb.display().to_string(),
        metric_toml("length", "response-length", "")
    );
    s.write("caliper.toml", &config);
    let output = s.run(&["run", "data.jsonl", "-o", "out.jsonl", "--no-history"]);
    let err = output.stderr();
    // Refused as a memory fault at start, naming the metric, instead of
    // reaching 800 MB of tables.
    assert_eq!(output.code(), 2, "{err}");
    assert!(
        err.contains("metric `tables`") && err.contains("exceeded its memory cap of 16 MiB"),
        "{err}"
    );
    // The same component without the bomb loads and runs.
    let plain = s.path().join("plain.wasm");
    std::fs::write(&plain, with_table_bomb(&component, 1, 10)).unwrap();
    s.write(
        "caliper.toml",
        &config.replace("table_bomb.wasm", "plain.wasm"),
    );
    let (run, results, _) = run_config(&s);
    run.expect_code(0);
    control_unaffected(&results);
}
