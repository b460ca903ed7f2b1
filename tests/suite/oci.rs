//! Metric packages through a real OCI registry on loopback (Debian's
//! `docker-registry`, started per test): `caliper publish`, `caliper pull`
//! by tag and by digest, `oci://` metrics in caliper.toml, the Wasm OCI
//! artifact layout, tampered content, missing tags and repositories, and
//! credentials from a Docker config that never show up in the output. A
//! small fake registry (a thread on loopback) plays the hostile or curious
//! registry: oversized manifests and blobs, and which requests carried
//! credentials.

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
    /// `CALIPER_PLAIN_HTTP_AUTH`: registries credentials may go to over
    /// plain HTTP (the test registries are all on loopback, over HTTP).
    plain_http_auth: Option<String>,
}

impl Machine {
    fn new() -> Self {
        let scratch = Scratch::new();
        std::fs::create_dir_all(scratch.path().join("docker")).unwrap();
        Machine {
            scratch,
            plain_http_auth: None,
        }
    }

    /// A machine that allows credentials over plain HTTP to `host`.
    fn sending_credentials_over_http_to(host: &str) -> Self {
        Machine {
            plain_http_auth: Some(host.to_owned()),
            ..Machine::new()
        }
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
            .env_remove("CALIPER_REGISTRY_HOST")
            .env_remove("CALIPER_INSECURE_REGISTRIES")
            .env_remove("CALIPER_PLAIN_HTTP_AUTH");
        if let Some(hosts) = &self.plain_http_auth {
            cmd.env("CALIPER_PLAIN_HTTP_AUTH", hosts);
        }
        cmd.arg("--cache-dir").arg(shared_cache_dir()).args(args);
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
    let m = Machine::sending_credentials_over_http_to(&registry.host);

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
    let pulled = Machine::sending_credentials_over_http_to(&registry.host);
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

    // The environment works too, for the registry it names, and wins over
    // the Docker config.
    let env = Machine::sending_credentials_over_http_to(&registry.host);
    env.docker_login(&registry.host, "ci-bot", "wrong-password");
    let mut cmd = env.command(&["pull", &reference]);
    cmd.env("CALIPER_REGISTRY_USER", "ci-bot")
        .env("CALIPER_REGISTRY_PASSWORD", PASSWORD)
        .env("CALIPER_REGISTRY_HOST", &registry.host);
    Run(cmd.output().unwrap()).expect_code(0);
}

/// A fake registry on loopback: serves one manifest and one blob (whatever
/// bytes it is given, whatever the manifest declares), optionally asks for
/// Basic auth, and records every request with its Authorization header.
struct FakeRegistry {
    host: String,
    requests: Requests,
}

/// Every request a [`FakeRegistry`] saw: its path and Authorization header.
type Requests = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

impl FakeRegistry {
    /// `manifest` is `None` for a valid one naming `blob` with `declared`
    /// size; `Some(bytes)` is sent as it is, without a Content-Length
    /// (delimited by closing the connection, so only a streaming cap helps).
    fn start(
        blob: Vec<u8>,
        declared: usize,
        manifest: Option<Vec<u8>>,
        require_auth: bool,
    ) -> (FakeRegistry, String) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let config = br#"{"architecture":"wasm","os":"wasip2"}"#.to_vec();
        let layer_digest = sha256(&blob[..declared.min(blob.len())]);
        let valid = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.wasm.config.v0+json",
                       "digest": sha256(&config), "size": config.len()},
            "layers": [{"mediaType": "application/wasm", "digest": layer_digest,
                        "size": declared}]
        })
        .to_string()
        .into_bytes();
        let (manifest, delimited_by_close) = match manifest {
            Some(m) => (m, true),
            None => (valid, false),
        };
        let requests: Requests = Default::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut auth = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        auth = Some(value.trim().to_owned());
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_owned();
                seen.lock().unwrap().push((path.clone(), auth.clone()));
                let respond = |stream: &mut std::net::TcpStream,
                               status: &str,
                               headers: &str,
                               body: &[u8],
                               length: bool| {
                    let length = if length {
                        format!("Content-Length: {}\r\n", body.len())
                    } else {
                        String::new()
                    };
                    let head =
                        format!("HTTP/1.1 {status}\r\n{headers}{length}Connection: close\r\n\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                };
                if require_auth && auth.is_none() {
                    respond(
                        &mut stream,
                        "401 Unauthorized",
                        "WWW-Authenticate: Basic realm=\"fake\"\r\nContent-Type: application/json\r\n",
                        br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                        true,
                    );
                } else if path == "/v2/" {
                    respond(&mut stream, "200 OK", "", b"{}", true);
                } else if path.contains("/manifests/") {
                    let headers = format!(
                        "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: {}\r\n",
                        sha256(&manifest)
                    );
                    respond(
                        &mut stream,
                        "200 OK",
                        &headers,
                        &manifest,
                        !delimited_by_close,
                    );
                } else if path.contains("/blobs/") {
                    respond(&mut stream, "200 OK", "", &blob, true);
                } else {
                    respond(&mut stream, "404 Not Found", "", b"", true);
                }
                let _ = stream.flush();
            }
        });
        let reference = format!("oci://{host}/metrics/keyword:1.0.0");
        (FakeRegistry { host, requests }, reference)
    }

    /// The Authorization headers the registry saw.
    fn authorizations(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, auth)| auth.clone())
            .collect()
    }
}

/// Nothing in the store: no component was written.
fn store_components(m: &Machine) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        count(&p)
                    } else {
                        usize::from(p.extension().is_some_and(|x| x == "wasm"))
                    }
                })
                .sum()
        })
    }
    count(&m.store())
}

#[test]
fn a_blob_is_cut_at_its_declared_size_and_a_manifest_at_its_cap() {
    let bytes = std::fs::read(keyword()).unwrap();
    // The registry declares the real size and digest but streams 2 MiB more.
    let mut padded = bytes.clone();
    padded.extend(std::iter::repeat_n(0u8, 2 << 20));
    let (registry, reference) = FakeRegistry::start(padded, bytes.len(), None, false);
    let m = Machine::new();
    let err = m.run(&["pull", &reference]).expect_code(2).stderr();
    assert!(
        err.contains(&format!(
            "registry {} sent more than {} bytes",
            registry.host,
            bytes.len()
        )),
        "{err}"
    );
    assert!(err.contains(&sha256(&bytes)), "names the digest: {err}");
    assert_eq!(store_components(&m), 0);

    // The same registry, honest this time: the pull works.
    let (_honest, reference) = FakeRegistry::start(bytes.clone(), bytes.len(), None, false);
    let pulled = m.json(&["pull", &reference]);
    assert_eq!(pulled["component_digest"], sha256(&bytes));

    // A manifest of 5 MiB, sent without a Content-Length: cut at 4 MiB.
    let huge = format!(
        "{{\"schemaVersion\":2,\"pad\":\"{}\"}}",
        "x".repeat(5 << 20)
    );
    let (registry, reference) =
        FakeRegistry::start(bytes.clone(), bytes.len(), Some(huge.into_bytes()), false);
    let m = Machine::new();
    let err = m.run(&["pull", &reference]).expect_code(2).stderr();
    assert!(
        err.contains(&format!(
            "registry {} sent more than 4194304 bytes for the manifest",
            registry.host
        )),
        "{err}"
    );
    assert_eq!(store_components(&m), 0);
}

#[test]
fn credentials_go_only_to_their_registry_and_never_over_plain_http_unless_asked() {
    const PASSWORD: &str = "s3cr3t-for-one-registry";
    let bytes = std::fs::read(keyword()).unwrap();
    let encoded = format!("Basic {}", base64(&format!("ci-bot:{PASSWORD}")));

    // A Docker login for this (plain-HTTP) registry: withheld, and said so.
    let (registry, reference) = FakeRegistry::start(bytes.clone(), bytes.len(), None, true);
    let m = Machine::new();
    m.docker_login(&registry.host, "ci-bot", PASSWORD);
    let err = m.run(&["pull", &reference]).expect_code(2).stderr();
    assert!(err.contains("but not sent"), "{err}");
    assert!(err.contains("CALIPER_PLAIN_HTTP_AUTH"), "{err}");
    assert!(
        registry.authorizations().is_empty(),
        "{:?}",
        registry.authorizations()
    );

    // Asked for: sent, and the pull works.
    let m = Machine::sending_credentials_over_http_to(&registry.host);
    m.docker_login(&registry.host, "ci-bot", PASSWORD);
    m.json(&["pull", &reference]);
    assert!(registry.authorizations().contains(&encoded));

    // The environment's credentials, for another registry: never sent here.
    let (registry, reference) = FakeRegistry::start(bytes.clone(), bytes.len(), None, true);
    let env_pull = |host: Option<&str>| {
        let m = Machine::sending_credentials_over_http_to(&registry.host);
        let mut cmd = m.command(&["pull", &reference]);
        cmd.env("CALIPER_REGISTRY_USER", "ci-bot")
            .env("CALIPER_REGISTRY_PASSWORD", PASSWORD);
        if let Some(host) = host {
            cmd.env("CALIPER_REGISTRY_HOST", host);
        }
        Run(cmd.output().unwrap())
    };
    let run = env_pull(Some("registry.example.com")).expect_code(2);
    assert!(
        run.stderr().contains("no credentials found"),
        "{}",
        run.stderr()
    );
    let run = env_pull(None).expect_code(2);
    assert!(
        run.stderr().contains("set CALIPER_REGISTRY_HOST"),
        "{}",
        run.stderr()
    );
    assert!(
        registry.authorizations().is_empty(),
        "{:?}",
        registry.authorizations()
    );
    assert!(!run.stderr().contains(PASSWORD));
    // For this registry: sent.
    env_pull(Some(&registry.host)).expect_code(0);
    assert!(registry.authorizations().contains(&encoded));
}
