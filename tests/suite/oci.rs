//! Metric packages through a real OCI registry on loopback (Debian's
//! `docker-registry`, started per test): `caliper publish`, `caliper pull`
//! by tag and by digest, `oci://` metrics in caliper.toml, the Wasm OCI
//! artifact layout, tampered content, missing tags and repositories, and
//! credentials from a Docker config that never show up in the output.

use std::path::{Path, PathBuf};
use std::process::Command;

use caliper_tests::{Registry, Run, Scratch, shared_cache_dir, wasm};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Standard base64 with padding, as `docker login` writes `auth`.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One machine's view: its own package store (CALIPER_CACHE_DIR), no
/// registry credentials unless a test gives some, and the suite's shared
/// compile cache.
struct Machine {
    scratch: Scratch,
}

impl Machine {
    fn new() -> Self {
        let scratch = Scratch::new();
        std::fs::create_dir_all(scratch.path().join("docker")).unwrap();
        Machine { scratch }
    }

    fn store(&self) -> PathBuf {
        self.scratch.path().join("cache/store")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.scratch.caliper();
        cmd.env("CALIPER_CACHE_DIR", self.scratch.path().join("cache"))
            .env("DOCKER_CONFIG", self.scratch.path().join("docker"))
            .env_remove("CALIPER_REGISTRY_USER")
            .env_remove("CALIPER_REGISTRY_PASSWORD")
            .env_remove("CALIPER_INSECURE_REGISTRIES")
            .arg("--cache-dir")
            .arg(shared_cache_dir())
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().expect("running caliper"))
    }

    /// `caliper ARGS --json`, which must succeed.
    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let run = self.run(&args).expect_code(0);
        serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout()))
    }

    /// Writes a Docker config with `user:password` for `registry`.
    fn docker_login(&self, registry: &str, user: &str, password: &str) {
        let auth = base64(&format!("{user}:{password}"));
        self.scratch.write(
            "docker/config.json",
            &json!({"auths": {registry: {"auth": auth}}}).to_string(),
        );
    }
}

fn keyword() -> PathBuf {
    wasm("keyword")
}

fn publish(m: &Machine, component: &Path, reference: &str) -> Value {
    m.json(&["publish", component.to_str().unwrap(), reference])
}

#[test]
fn publish_then_pull_by_tag_and_by_digest_gives_the_same_bytes() {
    let registry = Registry::start();
    let component = keyword();
    let bytes = std::fs::read(&component).unwrap();
    let reference = registry.reference("metrics/keyword:1.0.0");

    let publisher = Machine::new();
    let published = publish(&publisher, &component, &reference);
    let digest = published["digest"].as_str().unwrap().to_owned();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{published}"
    );
    assert_eq!(published["component_digest"], sha256(&bytes));
    assert_eq!(published["reference"], reference.as_str());
    let pinned = registry.reference(&format!("metrics/keyword@{digest}"));
    assert_eq!(published["pinned"], pinned.as_str());

    // Republishing the same bytes at a fixed SOURCE_DATE_EPOCH gives the
    // same digest every time (and moves the tag to it).
    let reproducible = || {
        let mut cmd = publisher.command(&["publish", component.to_str().unwrap(), &reference]);
        cmd.env("SOURCE_DATE_EPOCH", "1790000000");
        Run(cmd.output().unwrap()).expect_code(0).stdout()
    };
    let first = reproducible();
    assert_eq!(first, reproducible());
    assert!(first.contains("digest: sha256:"), "{first}");
    assert!(
        !first.contains(&digest),
        "a new creation time is a new artifact"
    );
    let plain = publisher
        .run(&["publish", component.to_str().unwrap(), &reference])
        .expect_code(0)
        .stdout();
    let digest = plain
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .expect("a digest line")
        .to_owned();
    let pinned = registry.reference(&format!("metrics/keyword@{digest}"));
    assert!(plain.contains(&format!("pinned: {pinned}")), "{plain}");

    // Another machine pulls by tag, a third by digest.
    let by_tag = Machine::new();
    let pulled = by_tag.json(&["pull", &reference]);
    assert_eq!(pulled["digest"], digest.as_str());
    assert_eq!(pulled["component_digest"], sha256(&bytes));
    assert_eq!(pulled["cached"], false);
    let path = PathBuf::from(pulled["path"].as_str().unwrap());
    assert!(path.starts_with(by_tag.store()), "{}", path.display());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let by_digest = Machine::new();
    let pulled = by_digest.json(&["pull", &pinned]);
    assert_eq!(pulled["digest"], digest.as_str());
    assert_eq!(pulled["cached"], false);
    assert_eq!(
        std::fs::read(pulled["path"].as_str().unwrap()).unwrap(),
        bytes
    );

    // By digest, what is in the store needs no registry at all.
    drop(registry);
    let again = by_digest.json(&["pull", &pinned]);
    assert_eq!(again["cached"], true);
    assert_eq!(again["digest"], digest.as_str());
    let offline = by_tag.run(&["pull", &reference]).expect_code(2);
    assert!(
        offline.stderr().contains("cannot reach registry"),
        "{}",
        offline.stderr()
    );
}

#[test]
fn an_oci_metric_in_caliper_toml_runs_like_the_local_file() {
    let registry = Registry::start();
    let component = keyword();
    let reference = registry.reference("metrics/keyword:1.0.0");
    let digest = publish(&Machine::new(), &component, &reference)["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    let m = Machine::new();
    let s = &m.scratch;
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "a", "input": "q", "output": "You get a refund within 14 days."}),
            json!({"id": "b", "input": "q", "output": "Globex has better prices."}),
            json!({"id": "c", "input": "q", "output": "No refund, sorry."}),
        ],
    );
    let config =
        r#"config = { must_include = ["refund", "14 days"], must_not_include = ["Globex"] }"#;
    let toml = |path: &str| format!("[[metric]]\npath = {path:?}\n{config}\n");
    s.write("local.toml", &toml(component.to_str().unwrap()));
    s.write("remote.toml", &toml(&reference));
    s.write(
        "pinned.toml",
        &toml(&registry.reference(&format!("metrics/keyword@{digest}"))),
    );
    let results = |config: &str, out: &str| -> (Run, Vec<Value>) {
        let run = m
            .run(&["run", "data.jsonl", "-c", config, "-o", out, "--no-history"])
            .expect_code(0);
        let rows = s
            .results(out)
            .into_iter()
            .map(|r| {
                json!([
                    r["sample_id"],
                    r["metric"],
                    r["outcome"],
                    r["value"],
                    r["digest"]
                ])
            })
            .collect();
        (run, rows)
    };
    let (_, local) = results("local.toml", "local.jsonl");
    let (_, remote) = results("remote.toml", "remote.jsonl");
    assert_eq!(local.len(), 3);
    assert_eq!(local, remote, "the OCI metric scores like the local file");
    assert_eq!(local[0][2], "pass");
    assert_eq!(local[1][2], "fail");

    // The registry goes away: by digest nothing changes; by tag, the digest
    // the tag last resolved to is used, with a warning naming it.
    drop(registry);
    let (run, pinned) = results("pinned.toml", "pinned.jsonl");
    assert_eq!(pinned, local);
    assert!(!run.stderr().contains("WARN"), "{}", run.stderr());
    let (run, offline) = results("remote.toml", "offline.jsonl");
    assert_eq!(offline, local);
    let warning = run.stderr();
    assert!(warning.contains("cannot reach registry"), "{warning}");
    assert!(warning.contains(&digest), "{warning}");

    // A machine that never resolved the tag cannot run it offline.
    let fresh = Machine::new();
    fresh.scratch.write("remote.toml", &toml(&reference));
    fresh
        .scratch
        .jsonl("data.jsonl", &[json!({"id": "a", "output": "x"})]);
    let failed = fresh
        .run(&["run", "data.jsonl", "-c", "remote.toml", "--no-history"])
        .expect_code(2);
    assert!(
        failed.stderr().contains("metric `keyword`")
            && failed.stderr().contains("cannot reach registry"),
        "{}",
        failed.stderr()
    );
}

#[test]
fn a_tampered_component_in_the_registry_is_rejected() {
    let registry = Registry::start();
    let component = keyword();
    let reference = registry.reference("metrics/keyword:1.0.0");
    let layer = publish(&Machine::new(), &component, &reference)["component_digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // Flip one byte of the component where the registry stores it.
    let blob = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let tampered = sha256(&bytes);

    let m = Machine::new();
    let run = m.run(&["pull", &reference]).expect_code(2);
    let err = run.stderr();
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(err.contains(&reference), "{err}");
    assert!(err.contains(&format!("expected {layer}")), "{err}");
    assert!(err.contains(&format!("got {tampered}")), "{err}");
    assert!(
        !m.store().join("sha256").exists()
            || std::fs::read_dir(m.store().join("sha256")).unwrap().count() == 0,
        "nothing may be stored"
    );

    // Same in caliper.toml: the metric does not load.
    m.scratch.write(
        "caliper.toml",
        &format!("[[metric]]\npath = {reference:?}\n"),
    );
    m.scratch
        .jsonl("data.jsonl", &[json!({"id": "a", "output": "x"})]);
    let run = m
        .run(&["run", "data.jsonl", "-c", "caliper.toml", "--no-history"])
        .expect_code(2);
    assert!(run.stderr().contains("digest mismatch"), "{}", run.stderr());
}

#[test]
fn missing_tags_and_repositories_are_clear_errors() {
    let registry = Registry::start();
    let m = Machine::new();
    publish(&m, &keyword(), &registry.reference("metrics/keyword:1.0.0"));

    let run = m
        .run(&["pull", &registry.reference("metrics/keyword:9.9.9")])
        .expect_code(2);
    let err = run.stderr();
    assert!(err.contains("tag `9.9.9` not found"), "{err}");
    assert!(err.contains("it has tag 1.0.0"), "{err}");

    let run = m
        .run(&["pull", &registry.reference("metrics/nope:1.0.0")])
        .expect_code(2);
    assert!(
        run.stderr().contains("repository `metrics/nope` not found"),
        "{}",
        run.stderr()
    );

    let unknown = format!("metrics/keyword@sha256:{}", "0".repeat(64));
    let run = m
        .run(&["pull", &registry.reference(&unknown)])
        .expect_code(2);
    assert!(run.stderr().contains("not found"), "{}", run.stderr());

    // A reference must name a tag or a digest, and a registry host.
    for bad in [
        "oci://keyword:1.0.0",
        &registry.reference("metrics/keyword"),
    ] {
        let run = m.run(&["pull", bad]).expect_code(2);
        assert!(
            run.stderr().contains("invalid OCI reference"),
            "{bad}: {}",
            run.stderr()
        );
    }

    // In caliper.toml, the error names the metric.
    m.scratch.write(
        "caliper.toml",
        &format!(
            "[[metric]]\nname = \"kw\"\npath = {:?}\n",
            registry.reference("metrics/keyword:9.9.9")
        ),
    );
    let run = m.run(&["list", "-c", "caliper.toml"]).expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("metric `kw`") && err.contains("tag `9.9.9` not found"),
        "{err}"
    );
}

#[test]
fn the_artifact_follows_the_wasm_oci_layout() {
    let registry = Registry::start();
    let component = keyword();
    let bytes = std::fs::read(&component).unwrap();
    let published = publish(
        &Machine::new(),
        &component,
        &registry.reference("metrics/keyword:1.0.0"),
    );

    let oci_manifest = "application/vnd.oci.image.manifest.v1+json";
    let reply = registry.get("/v2/metrics/keyword/manifests/1.0.0", oci_manifest);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(sha256(reply.body.as_bytes()), published["digest"]);
    let manifest = reply.json();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], oci_manifest);
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    assert_eq!(layers[0]["digest"], sha256(&bytes));
    assert_eq!(layers[0]["size"], bytes.len());
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.opencontainers.image.title"], "keyword");
    for key in ["version", "description", "authors", "created"] {
        let value = &annotations[format!("org.opencontainers.image.{key}")];
        assert!(
            value.as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {annotations}"
        );
    }

    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let reply = registry.get(
        &format!("/v2/metrics/keyword/blobs/{config_digest}"),
        "application/vnd.wasm.config.v0+json",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(sha256(reply.body.as_bytes()), config_digest);
    let config = reply.json();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["layerDigests"], json!([sha256(&bytes)]));
    assert!(config["created"].is_string());
    let exports = config["component"]["exports"].as_array().unwrap();
    assert!(
        exports.contains(&json!("caliper:metric/metric@0.1.0")),
        "{config}"
    );
    let imports = config["component"]["imports"].as_array().unwrap();
    assert!(
        imports.contains(&json!("caliper:metric/host@0.1.0")),
        "{config}"
    );
}

#[test]
fn credentials_come_from_the_docker_config_and_never_show() {
    const PASSWORD: &str = "Tr0ub4dor-and-3";
    let registry = Registry::with_password("ci-bot", PASSWORD);
    let component = keyword();
    let reference = registry.reference("metrics/keyword:1.0.0");
    let m = Machine::new();

    let run = m
        .run(&["publish", component.to_str().unwrap(), &reference])
        .expect_code(2);
    let err = run.stderr();
    assert!(err.contains("authentication to"), "{err}");
    assert!(err.contains("no credentials found"), "{err}");

    m.docker_login(&registry.host, "ci-bot", "wrong-password");
    let run = m.run(&["pull", &reference]).expect_code(2);
    let err = run.stderr();
    assert!(err.contains("refused these credentials"), "{err}");
    assert!(err.contains("docker/config.json"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");

    m.docker_login(&registry.host, "ci-bot", PASSWORD);
    let published = m
        .run(&["-vvv", "publish", component.to_str().unwrap(), &reference])
        .expect_code(0);
    let pulled = Machine::new();
    pulled.docker_login(&registry.host, "ci-bot", PASSWORD);
    let pull = pulled.run(&["-vvv", "pull", &reference]).expect_code(0);
    let encoded = base64(&format!("ci-bot:{PASSWORD}"));
    assert_eq!(base64("ci:s3"), "Y2k6czM=");
    for run in [&published, &pull] {
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(all.contains("TRACE") || all.contains("DEBUG"), "-vvv logs");
        assert!(!all.contains(PASSWORD), "the password leaked:\n{all}");
        assert!(!all.contains(&encoded), "the encoded password leaked");
    }

    // The environment works too, and wins over the Docker config.
    let env = Machine::new();
    env.docker_login(&registry.host, "ci-bot", "wrong-password");
    let mut cmd = env.command(&["pull", &reference]);
    cmd.env("CALIPER_REGISTRY_USER", "ci-bot")
        .env("CALIPER_REGISTRY_PASSWORD", PASSWORD);
    Run(cmd.output().unwrap()).expect_code(0);
}
