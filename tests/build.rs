//! Builds the test components (the fixtures in `tests/fixtures/` and the
//! conformance metric) for `wasm32-wasip2`, from source, and tells the test
//! suite where they are (`CALIPER_TEST_WASM_DIR`) and where `caliper-builtin`
//! built the standard metrics of `plugins/` that the binary embeds
//! (`CALIPER_BUILTIN_WASM_DIR`): the suite tests those very files.
//!
//! The nested cargo uses its own target directory, so it never waits on the
//! lock of the build that runs this script.

use std::path::{Path, PathBuf};
use std::process::Command;

fn package_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return names;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let manifest = path.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("cdylib") {
            continue;
        }
        if let Some(name) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = \""))
            .and_then(|rest| rest.split('"').next())
        {
            names.push(name.to_owned());
        }
    }
    names
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_owned();
    for watched in [
        "plugins",
        "sdk",
        "wit",
        "tests/fixtures",
        "tests/conformance",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("test-wasm");
    let builtin_packages = package_names(&root.join("plugins"));
    let mut packages = package_names(&manifest_dir.join("fixtures"));
    packages.extend(package_names(&manifest_dir.join("conformance")));

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir);
    for p in &packages {
        cmd.args(["-p", p]);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .expect("running cargo to build the Wasm components");
    if !output.status.success() {
        panic!(
            "building the Wasm components failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wasm_dir = target_dir.join("wasm32-wasip2").join("plugin");
    println!(
        "cargo:rustc-env=CALIPER_TEST_WASM_DIR={}",
        wasm_dir.display()
    );
    println!(
        "cargo:rustc-env=CALIPER_TEST_PACKAGES={}",
        packages.join(",")
    );
    let builtin_dir = std::env::var("DEP_CALIPER_BUILTIN_WASM_DIR")
        .expect("caliper-builtin says where it built the standard metrics");
    println!("cargo:rustc-env=CALIPER_BUILTIN_WASM_DIR={builtin_dir}");
    println!(
        "cargo:rustc-env=CALIPER_BUILTIN_PACKAGES={}",
        builtin_packages.join(",")
    );
}
