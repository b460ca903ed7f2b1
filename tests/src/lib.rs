//! Helpers for Caliper's end-to-end tests: the `caliper` binary, the
//! components `build.rs` compiled from source, and scratch directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Directory holding the `.wasm` components built by `build.rs`.
pub fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("CALIPER_TEST_WASM_DIR"))
}

/// Directory holding the standard metrics as `caliper-builtin` built them
/// (the bytes the `caliper` binary embeds).
pub fn builtin_wasm_dir() -> PathBuf {
    PathBuf::from(env!("CALIPER_BUILTIN_WASM_DIR"))
}

/// Path of the component built from package `package` (e.g.
/// `language-match`, or a fixture).
pub fn wasm(package: &str) -> PathBuf {
    // A stale `.wasm` from an older build may still sit in the directory;
    // only packages this build compiled count.
    let builtin = env!("CALIPER_BUILTIN_PACKAGES")
        .split(',')
        .any(|p| p == package);
    assert!(
        builtin || packages().contains(&package),
        "{package} is not a package build.rs or caliper-builtin compiles (known: {:?})",
        packages()
    );
    let dir = if builtin {
        builtin_wasm_dir()
    } else {
        wasm_dir()
    };
    let path = dir.join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.exists(), "component {} was not built", path.display());
    path
}

/// The repository's root directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example metrics of one SDK language: every directory of
/// `plugins/<lang>` with an `entry` source file, each built by `build(source,
/// out)` into `<wasm dir>/<lang>/<name>.wasm`. Returns (name, component),
/// sorted by name. Callers keep the result in a `OnceLock`, so each example
/// is built once per test run.
pub fn build_examples(
    lang: &str,
    entry: &str,
    build: impl Fn(&Path, &Path),
) -> Vec<(String, PathBuf)> {
    let dir = repo().join("plugins").join(lang);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().join(entry).exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let out_dir = wasm_dir().join(lang);
    std::fs::create_dir_all(&out_dir).unwrap();
    names
        .into_iter()
        .map(|name| {
            let out = out_dir.join(format!("{name}.wasm"));
            build(&dir.join(&name).join(entry), &out);
            (name, out)
        })
        .collect()
}

/// Checks the examples of `plugins/<lang>` (at least two): each describes
/// itself under its directory's name with an owner and contract 0.1.0, and
/// passes its `cases.jsonl` under `caliper test`. Returns what `caliper
/// inspect --json` said of each, for language-specific checks.
pub fn check_examples(lang: &str, examples: &[(String, PathBuf)]) -> Vec<serde_json::Value> {
    let s = Scratch::new();
    assert!(examples.len() >= 2, "{lang}: {examples:?}");
    examples
        .iter()
        .map(|(name, component)| {
            let path = component.to_str().unwrap();
            let run = s.run(&["inspect", path, "--json"]).expect_code(0);
            let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
            assert_eq!(v["descriptor"]["name"], name.as_str(), "{lang}");
            assert!(
                !v["descriptor"]["owner"].as_str().unwrap().is_empty(),
                "{lang} {name}"
            );
            assert_eq!(v["contract"], "0.1.0", "{lang} {name}");
            let cases = repo()
                .join("plugins")
                .join(lang)
                .join(name)
                .join("cases.jsonl");
            let run = s
                .run(&["test", path, "--cases", cases.to_str().unwrap()])
                .expect_code(0);
            assert!(run.stdout().contains("cases pass"), "{}", run.stdout());
            v
        })
        .collect()
}

/// The packages whose components the suite has: the standard metrics
/// (`caliper-builtin` built them) and the fixtures (`build.rs` built them).
pub fn packages() -> Vec<&'static str> {
    let mut all: Vec<&str> = env!("CALIPER_BUILTIN_PACKAGES").split(',').collect();
    all.extend(env!("CALIPER_TEST_PACKAGES").split(','));
    all
}

/// The `caliper` binary of this build: the suite is a test of `caliper-cli`,
/// so cargo builds the binary before it runs the suite (the suite checks
/// that this is the binary cargo names in `CARGO_BIN_EXE_caliper`).
pub fn caliper_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/caliper
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("caliper");
    assert!(
        bin.exists(),
        "{} does not exist: run the suite with `cargo test -p caliper-cli --test e2e`",
        bin.display()
    );
    bin
}

/// A scratch directory with a `caliper` command runner.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// A new empty directory.
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (relative to the directory) and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Writes `lines` as JSONL.
    pub fn jsonl(&self, name: &str, lines: &[serde_json::Value]) -> PathBuf {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        self.write(name, &text)
    }

    /// A `caliper` command running in this directory, with a shared compile
    /// cache so components compile once per test run (and its own cache
    /// key, not the user's).
    pub fn caliper(&self) -> Command {
        let mut cmd = Command::new(caliper_bin());
        cmd.current_dir(self.path())
            .env("CALIPER_CACHE_DIR", shared_cache_dir())
            .env(
                "CALIPER_CACHE_KEY_FILE",
                shared_cache_dir().with_file_name("cache.key"),
            )
            .env_remove("RUST_LOG");
        cmd
    }

    /// Runs `caliper ARGS` and returns its output.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.caliper().args(args).output().expect("running caliper");
        Run(output)
    }

    /// Reads a results JSONL file.
    pub fn results(&self, name: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.path().join(name)).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// `(sample_id, outcome)` of every result, in order.
pub fn outcomes(results: &[serde_json::Value]) -> Vec<(&str, &str)> {
    results
        .iter()
        .map(|r| {
            (
                r["sample_id"].as_str().expect("a sample id"),
                r["outcome"].as_str().expect("an outcome"),
            )
        })
        .collect()
}

/// Runs `caliper run data.jsonl -o out.jsonl` in `s` with the one metric
/// `flaky` at `component`, scoring `batch` samples per call, and returns the
/// results.
pub fn run_in_batches(s: &Scratch, component: &Path, batch: usize) -> Vec<serde_json::Value> {
    s.write(
        "caliper.toml",
        &format!(
            "[[metric]]\nname = \"flaky\"\npath = {:?}\nlimits = {{ batch_size = {batch} }}\n",
            component.display().to_string()
        ),
    );
    s.run(&["run", "data.jsonl", "-o", "out.jsonl", "--no-history"])
        .expect_code(0);
    s.results("out.jsonl")
}

/// Runs `cmd` with `args` (stdin closed, output captured), killing it and
/// failing the test if it is still running after `limit`. Returns its output
/// and how long it took.
pub fn run_within(
    mut cmd: Command,
    args: &[&str],
    limit: std::time::Duration,
) -> (Run, std::time::Duration) {
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running caliper");
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "caliper {args:?} still running after {limit:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let took = started.elapsed();
    (Run(child.wait_with_output().unwrap()), took)
}

/// Polls `check` every 10 ms until it holds (true) or `limit` passes
/// (false).
pub fn wait_until(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// The compile cache shared by the tests.
pub fn shared_cache_dir() -> PathBuf {
    PathBuf::from(env!("CALIPER_TEST_WASM_DIR")).join("cache")
}

/// The output of one `caliper` invocation.
pub struct Run(pub Output);

impl Run {
    /// Exit code.
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    /// Stdout as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    /// Stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit code, printing both streams when it differs.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// A `[[metric]]` table for a config file.
pub fn metric_toml(name: &str, package: &str, extra: &str) -> String {
    format!(
        "[[metric]]\nname = \"{name}\"\npath = {:?}\n{extra}\n",
        wasm(package).display().to_string()
    )
}

/// A copy of a component with a custom section appended: still the same
/// metric, but a new digest (how the reload tests make "new versions").
pub fn with_custom_section(component: &[u8], payload: &str) -> Vec<u8> {
    caliper_package::sections::append_custom_section(component, "caliper-test", payload.as_bytes())
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// `promtool` from the Debian package `prometheus` (scripts/install-deps.sh
/// installs it).
pub fn promtool() -> PathBuf {
    on_path("promtool").expect(
        "promtool not found: install the Debian package `prometheus` (scripts/install-deps.sh does)",
    )
}

/// Headless `chromium` from the Debian package (scripts/install-deps.sh
/// installs it).
pub fn chromium() -> PathBuf {
    on_path("chromium").expect(
        "chromium not found: install the Debian package `chromium` (scripts/install-deps.sh does)",
    )
}

/// A running `caliper serve`, stopped (SIGTERM) when dropped.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    agent: ureq::Agent,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// An HTTP response: status and body.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Server {
    /// Starts `caliper serve -c caliper.toml --bind 127.0.0.1:0 ARGS` in
    /// `scratch` and waits until it listens.
    pub fn start(scratch: &Scratch, args: &[&str]) -> Server {
        use std::io::{BufRead, BufReader, Read};
        let mut child = scratch
            .caliper()
            .args(["serve", "-c", "caliper.toml", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting caliper serve");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        {
            let mut pipe = child.stderr.take().unwrap();
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            std::thread::sleep(std::time::Duration::from_millis(100));
            panic!(
                "caliper serve did not start: {line}\n{}",
                stderr.lock().unwrap()
            );
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Server {
            base: base.to_owned(),
            child,
            agent,
            stderr,
        }
    }

    /// One metric's entry in `GET /v1/metrics` (its version, digest,
    /// status, last reload, ...).
    #[track_caller]
    pub fn metric_view(&self, name: &str) -> serde_json::Value {
        let list = self.get("/v1/metrics").json();
        list["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .unwrap_or_else(|| panic!("{name} not in {list}"))
            .clone()
    }

    /// The server's process id (for /proc/<pid>/status).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Reply {
            status: r.status().as_u16(),
            body: r.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    /// `POST path` with a body.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Reply {
            status: r.status().as_u16(),
            body: r.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    /// `POST path` on a connection of its own (not pooled, so that a
    /// connection the server closes is not reused), with transport errors
    /// returned instead of panicking.
    pub fn try_post(&self, path: &str, body: &str) -> Result<Reply, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        let mut r = agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| e.to_string())?;
        Ok(Reply {
            status: r.status().as_u16(),
            body: r.body_mut().read_to_string().unwrap_or_default(),
        })
    }

    /// Sends SIGTERM and waits; returns the exit code and the logs.
    pub fn stop(mut self) -> (i32, String) {
        let code = self.terminate();
        std::thread::sleep(std::time::Duration::from_millis(50));
        (code, self.logs())
    }

    fn terminate(&mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map_or(-1, |s| s.code().unwrap_or(-1))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// One `<testcase>` of a JUnit XML file.
#[derive(Debug)]
pub struct JunitCase {
    /// `classname` (the metric).
    pub classname: String,
    /// `name` (the check).
    pub name: String,
    /// The failure message, if it failed.
    pub failure: Option<String>,
}

/// Validates a JUnit XML file against the Jenkins JUnit schema
/// (`junit-10.xsd`, unpacked by scripts/install-deps.sh) with xmllint.
pub fn junit_validate(path: &Path) {
    let schema =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/junit-schema/junit-10.xsd");
    assert!(
        schema.exists(),
        "{} is missing: run scripts/install-deps.sh",
        schema.display()
    );
    let xmllint = on_path("xmllint")
        .expect("xmllint not found: install the Debian package `libxml2-utils` (scripts/install-deps.sh does)");
    let out = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} does not validate against junit-10.xsd:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses a JUnit XML file (it must validate against the JUnit schema and
/// have consistent `tests`/`failures` counts on `<testsuite>`) and returns
/// its test cases.
pub fn junit_cases(path: &Path) -> Vec<JunitCase> {
    junit_validate(path);
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}\n{text}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a <testsuite>");
    let cases: Vec<JunitCase> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| JunitCase {
            classname: c.attribute("classname").expect("classname").to_owned(),
            name: c.attribute("name").expect("name").to_owned(),
            failure: c
                .children()
                .find(|n| n.has_tag_name("failure"))
                .map(|f| f.attribute("message").expect("failure message").to_owned()),
        })
        .collect();
    let count = |attr: &str| suite.attribute(attr).and_then(|v| v.parse::<usize>().ok());
    assert_eq!(count("tests"), Some(cases.len()), "{text}");
    assert_eq!(
        count("failures"),
        Some(cases.iter().filter(|c| c.failure.is_some()).count()),
        "{text}"
    );
    cases
}

/// A real OCI registry (the CNCF distribution registry, Debian package
/// `docker-registry`; scripts/install-oci.sh installs it) on a free loopback
/// port, with storage in a temporary directory of its own. Killed when
/// dropped.
pub struct Registry {
    child: std::process::Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Registry {
    /// Starts an open (anonymous) registry.
    pub fn start() -> Registry {
        Registry::launch(None)
    }

    /// Starts a registry that requires HTTP basic auth as `user` with
    /// `password` (bcrypt htpasswd entry made by `htpasswd` from
    /// apache2-utils, as the registry requires).
    pub fn with_password(user: &str, password: &str) -> Registry {
        Registry::launch(Some((user, password)))
    }

    fn launch(credentials: Option<(&str, &str)>) -> Registry {
        let binary = Path::new("/usr/bin/docker-registry");
        assert!(
            binary.exists(),
            "{} not found: install the Debian package `docker-registry` (scripts/install-oci.sh does)",
            binary.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = dir.path().join("storage");
        let mut auth = String::new();
        if let Some((user, password)) = credentials {
            let htpasswd = on_path("htpasswd").expect(
                "htpasswd not found: install the Debian package `apache2-utils` (scripts/install-oci.sh does)",
            );
            let out = Command::new(htpasswd)
                .args(["-Bbn", user, password])
                .output()
                .expect("running htpasswd");
            assert!(out.status.success(), "htpasswd failed: {out:?}");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).unwrap();
            auth = format!(
                "auth:\n  htpasswd:\n    realm: caliper-tests\n    path: {}\n",
                file.display()
            );
        }
        // A port that was free a moment ago; a lost race is retried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let host = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: {host}\n{auth}",
                    storage.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new(binary)
                .arg("serve")
                .arg(&config)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("starting docker-registry");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(&host).is_ok() {
                    return Registry { child, dir, host };
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start:\n{}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// `oci://127.0.0.1:PORT/NAME` (`NAME` is `repo:tag` or `repo@digest`).
    pub fn reference(&self, name: &str) -> String {
        format!("oci://{}/{name}", self.host)
    }

    /// The file holding blob `digest` (`sha256:…`) in the registry's
    /// storage (the filesystem driver's layout).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// `GET http://HOST{path}` with an `Accept` header, without credentials.
    pub fn get(&self, path: &str, accept: &str) -> Reply {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        let mut r = agent
            .get(format!("http://{}{path}", self.host))
            .header("accept", accept)
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Reply {
            status: r.status().as_u16(),
            body: r.body_mut().read_to_string().unwrap_or_default(),
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
