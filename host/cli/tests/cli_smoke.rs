//! Smoke tests of the `caliper` binary that need no components. (Having an
//! integration test here also makes `cargo test --workspace` build the
//! binary that the end-to-end suite in `tests/` drives.)

use std::process::Command;

fn caliper() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caliper"))
}

#[test]
fn version_and_usage_errors() {
    let out = caliper().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("caliper "));
    // clap usage errors exit 2, like config errors.
    let out = caliper().args(["run", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
