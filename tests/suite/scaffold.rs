//! `caliper new`: a scaffolded project builds with the one command the tool
//! prints, and the component passes the project's own cases, in every SDK
//! language.

use std::process::Command;

use caliper_tests::Scratch;

/// Scaffolds `name` in `lang`, then follows the printed "Next:" steps
/// literally: `cd`, the build command, `caliper test`.
fn scaffold_build_and_test(lang: &str, name: &str) {
    let s = Scratch::new();
    let created = s.run(&["new", name, "--lang", lang]).expect_code(0);
    let stdout = created.stdout();
    let steps: Vec<&str> = stdout
        .split("Next:")
        .nth(1)
        .unwrap_or_else(|| panic!("no next steps printed: {stdout}"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(steps.len(), 3, "{stdout}");
    let dir = s.path().join(steps[0].strip_prefix("cd ").expect(steps[0]));
    let build = Command::new("sh")
        .args(["-c", steps[1]])
        .current_dir(&dir)
        // The build must not follow settings of the cargo running the suite.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("sh");
    assert!(
        build.status.success(),
        "{lang}: `{}` failed:\n{}\n{}",
        steps[1],
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    let test_args: Vec<&str> = steps[2]
        .strip_prefix("caliper ")
        .expect(steps[2])
        .split(' ')
        .collect();
    let mut cmd = s.caliper();
    let tested = cmd.args(&test_args).current_dir(&dir).output().unwrap();
    let out = String::from_utf8_lossy(&tested.stdout);
    assert!(
        tested.status.success(),
        "{lang}: {out}\n{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(out.contains("cases pass"), "{lang}: {out}");
    assert!(out.contains(name), "{lang}: {out}");
    // The project's metric.toml packs it, examples included.
    let component = test_args[1];
    let packed = s
        .caliper()
        .args(["pack", component, "-o", "packed.wasm"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&packed.stdout);
    assert!(
        packed.status.success(),
        "{lang}: {out}\n{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    assert!(out.contains("examples pass"), "{lang}: {out}");
}

#[test]
fn a_new_rust_metric_builds_and_passes_its_cases() {
    scaffold_build_and_test("rust", "refund-policy");
}

#[test]
fn a_new_python_metric_builds_and_passes_its_cases() {
    scaffold_build_and_test("python", "refund-policy");
}

#[test]
fn a_new_js_metric_builds_and_passes_its_cases() {
    scaffold_build_and_test("js", "refund-policy");
}

#[test]
fn a_new_c_metric_builds_and_passes_its_cases() {
    scaffold_build_and_test("c", "refund-policy");
}

#[test]
fn bad_names_and_existing_directories_are_refused_with_exit_2() {
    let s = Scratch::new();
    let run = s
        .run(&["new", "Refund_Policy", "--lang", "rust"])
        .expect_code(2);
    assert!(
        run.stderr().contains("not a metric name"),
        "{}",
        run.stderr()
    );
    s.write("taken/file.txt", "x");
    let run = s.run(&["new", "taken", "--lang", "python"]).expect_code(2);
    assert!(run.stderr().contains("not empty"), "{}", run.stderr());
    let run = s
        .run(&["new", "demo", "--lang", "python", "--sdk", "/nonexistent"])
        .expect_code(2);
    assert!(run.stderr().contains("--sdk"), "{}", run.stderr());
}
