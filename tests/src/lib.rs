//! Helpers for Caliper's end-to-end tests: the `caliper` binary, the
//! components `build.rs` compiled from source, and scratch directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Directory holding the `.wasm` components built by `build.rs`.
pub fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("CALIPER_TEST_WASM_DIR"))
}

/// Path of the component built from package `package` (e.g.
/// `language-match`).
pub fn wasm(package: &str) -> PathBuf {
    // A stale `.wasm` from an older build may still sit in the directory;
    // only packages this build compiled count.
    assert!(
        packages().contains(&package),
        "{package} is not a package build.rs compiles (known: {:?})",
        packages()
    );
    let path = wasm_dir().join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.exists(), "component {} was not built", path.display());
    path
}

/// The packages `build.rs` built.
pub fn packages() -> Vec<&'static str> {
    env!("CALIPER_TEST_PACKAGES").split(',').collect()
}

/// The `caliper` binary of this build (`cargo test --workspace` builds it,
/// because the host package has integration tests).
pub fn caliper_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/caliper
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("caliper");
    assert!(
        bin.exists(),
        "{} does not exist: run the suite with `cargo test --workspace`",
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
    /// cache so components compile once per test run.
    pub fn caliper(&self) -> Command {
        let mut cmd = Command::new(caliper_bin());
        cmd.current_dir(self.path())
            .env("CALIPER_CACHE_DIR", shared_cache_dir())
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
