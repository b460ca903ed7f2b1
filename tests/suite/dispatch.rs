//! Past one machine: `caliper run --dispatch` on a pool of `caliper worker`s
//! over a real `nats-server` (JetStream, file storage, on 127.0.0.1), giving
//! the outputs of a local run, and surviving a worker killed with SIGKILL
//! and a server restart in the middle of a run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caliper_tests::{Scratch, metric_toml, repo, wait_until};
use serde_json::{Value, json};

/// A nats-server with JetStream on a free port, its store in `dir`.
struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    fn start(dir: &Path) -> Nats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Nats::on(dir, port)
    }

    fn on(dir: &Path, port: u16) -> Nats {
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed (scripts/install-deps.sh)");
        assert!(
            wait_until(Duration::from_secs(10), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
            "nats-server did not listen on {port}"
        );
        Nats {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGTERM, as an orchestrator would) and starts it
    /// again on the same port and store.
    fn restart(&mut self) {
        signal(&self.child, "TERM");
        let _ = self.child.wait();
        *self = Nats::on(&self.dir.clone(), self.port);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A running `caliper worker`.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(s: &Scratch, nats: &Nats, config: &str, name: &str, jobs: usize) -> Worker {
        let log = s.path().join(format!("{name}.log"));
        let child = s
            .caliper()
            .args([
                "worker",
                "--nats",
                &nats.url(),
                "-c",
                config,
                "--name",
                name,
            ])
            .args(["--jobs", &jobs.to_string()])
            .args(["--metrics-file", &format!("{name}.prom")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let w = Worker { child, log };
        assert!(
            wait_until(Duration::from_secs(30), || w
                .logs()
                .contains("waiting for jobs")),
            "worker {name} did not start: {}",
            w.logs()
        );
        w
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Ctrl-C, and what it said.
    fn stop(mut self) -> String {
        signal(&self.child, "INT");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{}", self.logs());
        self.logs()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example dataset, `copies` times over with distinct ids.
fn dataset(s: &Scratch, copies: usize) {
    let text = std::fs::read_to_string(repo().join("examples/chats.jsonl")).unwrap();
    let mut lines = Vec::new();
    for c in 0..copies {
        for line in text.lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            v["id"] = json!(format!("{}-{c}", v["id"].as_str().unwrap()));
            lines.push(v);
        }
    }
    s.jsonl("chats.jsonl", &lines);
}

/// A results file without timings.
fn untimed(s: &Scratch, file: &str) -> Vec<Value> {
    let mut results = s.results(file);
    for r in &mut results {
        r.as_object_mut().unwrap().remove("duration_us");
    }
    results
}

/// A summary without timings.
fn untimed_summary(s: &Scratch, file: &str) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.retain(|k, _| !k.starts_with("duration_") && k != "elapsed_s");
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(s.path().join(file)).unwrap()).unwrap();
    strip(&mut v);
    v
}

fn junit_untimed(s: &Scratch, file: &str) -> String {
    let text = std::fs::read_to_string(s.path().join(file)).unwrap();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(" time=\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 7..];
        rest = &after[after.find('"').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_dispatched_run_gives_exactly_the_outputs_of_a_local_run() {
    let s = Scratch::new();
    let nats = Nats::start(&s.path().join("nats"));
    std::fs::copy(
        repo().join("examples/caliper.toml"),
        s.path().join("caliper.toml"),
    )
    .unwrap();
    dataset(&s, 20);
    let a = Worker::start(&s, &nats, "caliper.toml", "w1", 2);
    let b = Worker::start(&s, &nats, "caliper.toml", "w2", 2);

    let outputs = |prefix: &str| {
        vec![
            "-o".to_owned(),
            format!("{prefix}.jsonl"),
            "--summary".into(),
            format!("{prefix}.json"),
            "--junit".into(),
            format!("{prefix}.xml"),
            "--group-by".into(),
            "model".into(),
        ]
    };
    let mut local = vec!["run".to_owned(), "chats.jsonl".into()];
    local.extend(outputs("local"));
    let local = s.run(&local.iter().map(String::as_str).collect::<Vec<_>>());
    let mut remote = vec![
        "run".to_owned(),
        "chats.jsonl".into(),
        "--dispatch".into(),
        nats.url(),
    ];
    remote.extend(outputs("remote"));
    let remote = s.run(&remote.iter().map(String::as_str).collect::<Vec<_>>());
    // The example's gates fail on purpose: the same exit code, the same gates.
    assert_eq!((local.code(), remote.code()), (1, 1), "{}", remote.stderr());
    let results = untimed(&s, "remote.jsonl");
    assert_eq!(results.len(), untimed(&s, "local.jsonl").len());
    assert_eq!(
        results,
        untimed(&s, "local.jsonl"),
        "results in input order, byte for byte"
    );
    assert_eq!(
        untimed_summary(&s, "remote.json"),
        untimed_summary(&s, "local.json")
    );
    assert_eq!(
        junit_untimed(&s, "remote.xml"),
        junit_untimed(&s, "local.xml")
    );
    // Both runs are in the history with the same figures.
    let history: Vec<Value> =
        serde_json::from_str(&s.run(&["history", "--json"]).expect_code(0).stdout()).unwrap();
    assert_eq!(history.len(), 2);
    let figures = |run: &Value| {
        run["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let f = &m["figures"];
                (
                    m["metric"].clone(),
                    f["pass"].clone(),
                    f["fail"].clone(),
                    f["mean"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(figures(&history[0]), figures(&history[1]));

    // Both workers took part, and their series say how much.
    let (la, lb) = (a.stop(), b.stop());
    let scored = |log: &str| -> u64 {
        let line = log
            .lines()
            .find(|l| l.contains("samples scored"))
            .unwrap_or_else(|| panic!("{log}"));
        line.split(": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(scored(&la) + scored(&lb), 400, "{la}\n{lb}");
    assert!(scored(&la) > 0 && scored(&lb) > 0, "{la}\n{lb}");
    let prom = std::fs::read_to_string(s.path().join("w1.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "caliper_worker_jobs_samples_total{{worker=\"w1\"}} {}",
            scored(&la)
        )),
        "{prom}"
    );
    assert!(
        prom.contains("caliper_worker_queue_lag{worker=\"w1\"}"),
        "{prom}"
    );
}

/// Samples that take 40 ms each to score (a sleeping metric), and a leak
/// check: slow enough to kill or restart something in the middle.
const SLOW_SAMPLES: usize = 400;

fn slow_config(s: &Scratch, ack_wait_ms: u64) {
    s.write(
        "caliper.toml",
        &format!(
            "{}{}[dispatch]\nack_wait_ms = {ack_wait_ms}\nstall_timeout_ms = 30000\n",
            metric_toml("slow", "hostile", "config = { mode = \"sleep\", ms = 40 }"),
            metric_toml("leak", "pii-leak", ""),
        ),
    );
    let lines: Vec<Value> = (0..SLOW_SAMPLES)
        .map(|i| {
            let output = if i % 7 == 0 {
                format!("mail me at user{i}@example.org")
            } else {
                format!("answer number {i}")
            };
            json!({"id": format!("s{i}"), "input": "hi", "output": output})
        })
        .collect();
    s.jsonl("data.jsonl", &lines);
}

fn dispatched(
    s: &Scratch,
    nats: &Nats,
    out: &str,
) -> std::thread::JoinHandle<std::process::Output> {
    let mut cmd = s.caliper();
    cmd.args([
        "run",
        "data.jsonl",
        "--no-history",
        "--dispatch",
        &nats.url(),
        "-o",
        out,
    ]);
    std::thread::spawn(move || cmd.output().unwrap())
}

/// `caliper run data.jsonl --no-history --dispatch URL EXTRA...`.
fn run_dispatched(s: &Scratch, nats: &Nats, extra: &[&str]) -> caliper_tests::Run {
    let url = nats.url();
    let mut args = vec!["run", "data.jsonl", "--no-history", "--dispatch", &url];
    args.extend_from_slice(extra);
    s.run(&args)
}

fn check_complete(s: &Scratch, out: &str) {
    let results = untimed(s, out);
    assert_eq!(
        results.len(),
        2 * SLOW_SAMPLES,
        "one result per sample and metric, no more"
    );
    let mut seen = std::collections::BTreeSet::new();
    for r in &results {
        assert!(
            seen.insert((r["sample_id"].to_string(), r["metric"].to_string())),
            "duplicate {r}"
        );
    }
    let ids: Vec<&str> = results
        .iter()
        .step_by(2)
        .map(|r| r["sample_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..SLOW_SAMPLES).map(|i| format!("s{i}")).collect();
    assert_eq!(ids, expected, "input order");
    let leaks = results
        .iter()
        .filter(|r| r["metric"] == "leak" && r["outcome"] == "fail")
        .count();
    assert_eq!(leaks, SLOW_SAMPLES.div_ceil(7));
    assert!(
        results
            .iter()
            .filter(|r| r["metric"] == "slow")
            .all(|r| r["outcome"] == "pass")
    );
}

#[test]
fn a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing() {
    let s = Scratch::new();
    let nats = Nats::start(&s.path().join("nats"));
    slow_config(&s, 1500);
    let victim = Worker::start(&s, &nats, "caliper.toml", "victim", 1);
    let survivor = Worker::start(&s, &nats, "caliper.toml", "survivor", 1);
    let run = dispatched(&s, &nats, "out.jsonl");
    // Once the victim has scored something, SIGKILL it with jobs in hand.
    let prom = s.path().join("victim.prom");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read_to_string(&prom)
            .is_ok_and(|p| !p.contains("processed_total{worker=\"victim\"} 0"))
    }));
    let mut victim = victim;
    assert!(
        !run.is_finished(),
        "the run is still going when the worker dies"
    );
    victim.child.kill().unwrap();
    let _ = victim.child.wait();
    let started = Instant::now();
    let out = run.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    check_complete(&s, "out.jsonl");
    let log = survivor.stop();
    assert!(
        !log.contains("(0 redelivered)"),
        "the survivor took over the victim's jobs: {log}"
    );
}

#[test]
fn a_nats_server_restart_mid_run_is_survived() {
    let s = Scratch::new();
    let mut nats = Nats::start(&s.path().join("nats"));
    slow_config(&s, 3000);
    let worker = Worker::start(&s, &nats, "caliper.toml", "w", 1);
    let run = dispatched(&s, &nats, "out.jsonl");
    let prom = s.path().join("w.prom");
    assert!(wait_until(Duration::from_secs(30), || {
        std::fs::read_to_string(&prom).is_ok_and(|p| !p.contains("processed_total{worker=\"w\"} 0"))
    }));
    assert!(
        !run.is_finished(),
        "the run is still going when the server stops"
    );
    nats.restart();
    let out = run.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_complete(&s, "out.jsonl");
    worker.stop();
}

#[test]
fn a_worker_with_other_metrics_refuses_and_the_run_fails_naming_both() {
    let s = Scratch::new();
    let nats = Nats::start(&s.path().join("nats"));
    s.write(
        "worker.toml",
        "[[metric]]\npath = \"builtin:response-length\"\nconfig = { max = 50 }\n",
    );
    s.write(
        "caliper.toml",
        "[[metric]]\npath = \"builtin:response-length\"\nconfig = { max = 60 }\n",
    );
    s.jsonl("data.jsonl", &[json!({"id": "a", "output": "hello"})]);
    let worker = Worker::start(&s, &nats, "worker.toml", "other", 1);
    let run = run_dispatched(&s, &nats, &["-o", "out.jsonl"]).expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("dispatch: worker other refused the run: its metrics (lock sha256:")
            && err.contains("are not this run's (lock sha256:"),
        "{err}"
    );
    assert!(!s.path().join("out.jsonl").exists(), "nothing is written");
    let log = worker.stop();
    assert!(log.contains("refused"), "{log}");
    // Without any worker, the run says so instead of hanging.
    s.write(
        "caliper.toml",
        "[[metric]]\npath = \"builtin:response-length\"\n[dispatch]\nstall_timeout_ms = 1500\n",
    );
    let run = run_dispatched(&s, &nats, &[]).expect_code(2);
    assert!(
        run.stderr()
            .contains("is a `caliper worker` with this config running"),
        "{}",
        run.stderr()
    );
}

#[test]
fn serve_publishes_live_traffic_to_the_pool_and_counts_what_comes_back() {
    let s = Scratch::new();
    let nats = Nats::start(&s.path().join("nats"));
    let metrics = metric_toml("leak", "pii-leak", "");
    s.write("worker.toml", &metrics);
    s.write(
        "caliper.toml",
        &format!(
            "{metrics}[dispatch]\nnats = \"{}\"\ningest = true\n",
            nats.url()
        ),
    );
    let worker = Worker::start(&s, &nats, "worker.toml", "pool", 1);
    let server = caliper_tests::Server::start(&s, &[]);
    let samples: Vec<Value> = (0..5)
        .map(|i| {
            let output = if i < 2 {
                format!("write to a{i}@example.org")
            } else {
                "fine".into()
            };
            json!({"id": format!("live-{i}"), "output": output})
        })
        .collect();
    let reply = server.post("/v1/ingest", &json!({"samples": samples}).to_string());
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["queued"], 5);
    let series = |metrics: &str, want: &[&str]| -> Option<f64> {
        metrics
            .lines()
            .find(|l| !l.starts_with('#') && want.iter().all(|w| l.contains(w)))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    assert!(
        wait_until(Duration::from_secs(30), || {
            let m = server.get("/metrics").body;
            series(&m, &["caliper_ingest_samples_total", "result=\"scored\""]) == Some(5.0)
        }),
        "{}\n{}",
        server.get("/metrics").body,
        worker.logs()
    );
    let m = server.get("/metrics").body;
    let fails = series(
        &m,
        &[
            "caliper_evaluations_total{",
            "metric=\"leak\"",
            "outcome=\"fail\"",
            "source=\"ingest\"",
        ],
    );
    assert_eq!(fails, Some(2.0), "{m}");
    assert!(m.contains("caliper_dispatch_queue_lag"), "{m}");
    let log = worker.stop();
    assert!(log.contains("5 samples scored"), "{log}");
    server.stop();
}

#[test]
fn a_stalled_worker_does_not_hold_the_run_back() {
    let s = Scratch::new();
    let nats = Nats::start(&s.path().join("nats"));
    slow_config(&s, 1500);
    let stalled = Worker::start(&s, &nats, "caliper.toml", "stalled", 1);
    let healthy = Worker::start(&s, &nats, "caliper.toml", "healthy", 1);
    // Frozen (a worker starved of CPU, or paused): the jobs it has asked for
    // go to the healthy worker after ack_wait_ms.
    signal(&stalled.child, "STOP");
    let started = Instant::now();
    let out = dispatched(&s, &nats, "out.jsonl").join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_complete(&s, "out.jsonl");
    // 400 samples at 40 ms on 4 slots take ~4 s; the frozen worker's jobs
    // cost one ack_wait more at most.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    signal(&stalled.child, "CONT");
    stalled.stop();
    let log = healthy.stop();
    assert!(log.contains("400 samples scored"), "{log}");
}
