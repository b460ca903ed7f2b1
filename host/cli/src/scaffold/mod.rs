//! `caliper new`: scaffolds a metric project in one of the SDK languages.
//!
//! The templates live in `templates/<lang>/` and are compiled into the
//! binary. A project refers to the SDK by path (the SDKs are not published
//! to a package registry), so scaffolding needs to know where the checkout's
//! `sdk/` directory is.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A language with a Caliper SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust, with `sdk/rust` (the reference SDK).
    Rust,
    /// Python, with `sdk/python` and componentize-py.
    Python,
    /// JavaScript, with `sdk/js` and componentize-js.
    Js,
    /// C, with `sdk/c`, clang and wasi-libc.
    C,
}

impl Lang {
    /// Every language, in the order the docs list them.
    #[cfg(test)]
    pub const ALL: [Lang; 4] = [Lang::Rust, Lang::Python, Lang::Js, Lang::C];

    /// The SDK's directory under `sdk/`, and a file that proves it is there.
    fn sdk_marker(self) -> &'static str {
        match self {
            Lang::Rust => "rust/Cargo.toml",
            Lang::Python => "python/caliper_sdk/__init__.py",
            Lang::Js => "js/package.json",
            Lang::C => "c/build.sh",
        }
    }

    /// The template files: (path in the project, contents, executable).
    fn templates(self) -> &'static [(&'static str, &'static str, bool)] {
        macro_rules! t {
            ($lang:literal, $file:literal => $dest:literal) => {
                (
                    $dest,
                    include_str!(concat!("templates/", $lang, "/", $file)),
                    false,
                )
            };
            ($lang:literal, $file:literal => $dest:literal, executable) => {
                (
                    $dest,
                    include_str!(concat!("templates/", $lang, "/", $file)),
                    true,
                )
            };
        }
        match self {
            Lang::Rust => &[
                t!("rust", "Cargo.toml" => "Cargo.toml"),
                t!("rust", "src/lib.rs" => "src/lib.rs"),
                t!("rust", "cases.jsonl" => "cases.jsonl"),
                t!("rust", "README.md" => "README.md"),
                t!("rust", "gitignore" => ".gitignore"),
                t!("rust", "metric.toml" => "metric.toml"),
            ],
            Lang::Python => &[
                t!("python", "app.py" => "app.py"),
                t!("python", "test_app.py" => "test_app.py"),
                t!("python", "build.sh" => "build.sh", executable),
                t!("python", "cases.jsonl" => "cases.jsonl"),
                t!("python", "README.md" => "README.md"),
                t!("python", "gitignore" => ".gitignore"),
                t!("python", "metric.toml" => "metric.toml"),
            ],
            Lang::Js => &[
                t!("js", "package.json" => "package.json"),
                t!("js", "metric.js" => "metric.js"),
                t!("js", "metric.test.js" => "metric.test.js"),
                t!("js", "cases.jsonl" => "cases.jsonl"),
                t!("js", "README.md" => "README.md"),
                t!("js", "gitignore" => ".gitignore"),
                t!("js", "metric.toml" => "metric.toml"),
            ],
            Lang::C => &[
                t!("c", "metric.c" => "metric.c"),
                t!("c", "Makefile" => "Makefile"),
                t!("c", "cases.jsonl" => "cases.jsonl"),
                t!("c", "README.md" => "README.md"),
                t!("c", "gitignore" => ".gitignore"),
                t!("c", "metric.toml" => "metric.toml"),
            ],
        }
    }

    /// The one command that builds the component, run in the project.
    pub fn build_command(self) -> &'static str {
        match self {
            Lang::Rust => "cargo build --release --target wasm32-wasip2",
            Lang::Python => "./build.sh",
            Lang::Js => "npm install && npm run build",
            Lang::C => "make",
        }
    }

    /// Where the build puts the component, relative to the project.
    pub fn component_path(self, name: &str) -> String {
        match self {
            Lang::Rust => format!("target/wasm32-wasip2/release/{}.wasm", snake_case(name)),
            Lang::Python | Lang::Js | Lang::C => format!("{name}.wasm"),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        })
    }
}

/// A project ready to be written: its files with the placeholders filled in.
#[derive(Debug)]
pub struct Project {
    /// (relative path, contents, executable).
    pub files: Vec<(PathBuf, String, bool)>,
}

/// Checks that `name` is a kebab-case metric name (`refund-policy`,
/// `pii-v2`): lowercase ASCII letters and digits in dash-separated words,
/// starting with a letter. It becomes the package, crate and file name.
pub fn check_name(name: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !ok {
        bail!(
            "`{name}` is not a metric name: use lowercase letters, digits and single dashes, \
             starting with a letter (e.g. `refund-policy`)"
        );
    }
    Ok(())
}

fn snake_case(name: &str) -> String {
    name.replace('-', "_")
}

fn camel_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Finds the SDK directory: `explicit` if given, else `$CALIPER_SDK`, else
/// the `sdk/` of the checkout this binary was built from. Checks that the
/// language's SDK is there.
pub fn find_sdk(explicit: Option<&Path>, lang: Lang) -> Result<PathBuf> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk");
    let (dir, origin) = match (explicit, std::env::var_os("CALIPER_SDK")) {
        (Some(dir), _) => (dir.to_owned(), "--sdk"),
        (None, Some(dir)) => (PathBuf::from(dir), "$CALIPER_SDK"),
        (None, None) => (built_from, "the checkout caliper was built from"),
    };
    let marker = dir.join(lang.sdk_marker());
    if !marker.exists() {
        bail!(
            "no {lang} SDK at {} (from {origin}; {} is missing): pass --sdk PATH/TO/caliper/sdk",
            dir.display(),
            marker.display()
        );
    }
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let text = dir.to_str().context("the SDK path is not UTF-8")?;
    if text.contains(['"', '\\', '\n', '$', '`']) {
        bail!("the SDK path {text} has characters the generated build files cannot quote");
    }
    Ok(dir)
}

/// Fills the language's templates for metric `name`, referring to the SDK
/// at `sdk`.
pub fn project(name: &str, lang: Lang, sdk: &Path) -> Result<Project> {
    check_name(name)?;
    let sdk = sdk.to_str().context("the SDK path is not UTF-8")?;
    let now = caliper_types::date::Date::today();
    let today = now.to_string();
    let review_by = now.plus_days(182).to_string();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{today}}", &today)
            .replace("{{review_by}}", &review_by)
            .replace("{{ident}}", &snake_case(name))
            .replace("{{Type}}", &camel_case(name))
            .replace("{{sdk}}", sdk)
    };
    let files = lang
        .templates()
        .iter()
        .map(|(path, text, executable)| (PathBuf::from(path), fill(text), *executable))
        .collect();
    Ok(Project { files })
}

impl Project {
    /// Writes the project into `dir`, which must not exist or be empty.
    pub fn write(&self, dir: &Path) -> Result<()> {
        if dir.exists()
            && std::fs::read_dir(dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .next()
                .is_some()
        {
            bail!("{} already exists and is not empty", dir.display());
        }
        for (path, text, executable) in &self.files {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            #[cfg(unix)]
            if *executable {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("making {} executable", path.display()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case() {
        for good in ["refund-policy", "pii-v2", "x"] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            "Refund",
            "refund_policy",
            "-x",
            "x-",
            "a--b",
            "2fa",
            "a b",
            "é",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_is_filled_in_every_language() {
        let sdk = Path::new("/opt/caliper/sdk");
        for lang in Lang::ALL {
            let project = project("refund-policy", lang, sdk).unwrap();
            assert!(!project.files.is_empty(), "{lang} has no templates");
            for (path, text, _) in &project.files {
                assert!(!text.contains("{{"), "{lang} {}: {text}", path.display());
            }
            let all: String = project.files.iter().map(|f| f.1.as_str()).collect();
            assert!(all.contains("refund-policy"), "{lang}");
            assert!(all.contains("/opt/caliper/sdk"), "{lang}");
        }
        assert_eq!(camel_case("refund-policy-v2"), "RefundPolicyV2");
    }

    #[test]
    fn writing_refuses_a_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
        let project = project("demo", Lang::Python, Path::new("/sdk")).unwrap();
        assert!(project.write(dir.path()).is_err());
        let fresh = dir.path().join("demo");
        project.write(&fresh).unwrap();
        assert!(fresh.join("app.py").exists());
        assert!(fresh.join(".gitignore").exists());
    }
}
