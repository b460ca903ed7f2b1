//! Pinning and trusting packages: `caliper lock` + `--locked`, and
//! `caliper keygen` / `sign` / `verify` + `[trust]` in caliper.toml.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use caliper_tests::{Scratch, Server, wait_until, wasm, with_custom_section};

fn copy_component(s: &Scratch, package: &str, name: &str) -> std::path::PathBuf {
    let path = s.path().join(name);
    std::fs::copy(wasm(package), &path).unwrap();
    path
}

fn keygen(s: &Scratch, file: &str) -> String {
    let run = s.run(&["keygen", "-o", file]).expect_code(0);
    let out = run.stdout();
    out.lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap_or_else(|| panic!("no public key in {out}"))
        .to_owned()
}

const DATA: &str = "{\"id\": \"a\", \"output\": \"one two three\"}\n";

#[test]
fn signatures_are_made_verified_and_required_by_the_config() {
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    let team = keygen(&s, "team.pem");
    let other = keygen(&s, "other.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path().join("team.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // keygen never overwrites a key.
    s.run(&["keygen", "-o", "team.pem"]).expect_code(2);

    copy_component(&s, "response-length", "len.wasm");
    copy_component(&s, "response-length", "unsigned.wasm");
    s.run(&["sign", "len.wasm", "--key", "team.pem"])
        .expect_code(0);
    copy_component(&s, "response-length", "by-other.wasm");
    s.run(&["sign", "by-other.wasm", "--key", "other.pem"])
        .expect_code(0);

    let run = s
        .run(&["verify", "len.wasm", "--key", &team])
        .expect_code(0);
    assert!(run.stdout().contains("(valid)"), "{}", run.stdout());
    let run = s
        .run(&["verify", "len.wasm", "--key", &other])
        .expect_code(1);
    assert!(run.stderr().contains("does not trust"), "{}", run.stderr());
    s.run(&["verify", "unsigned.wasm", "--key", &team])
        .expect_code(1);

    // Tampering after signing: any byte changed breaks the signature.
    let signed = std::fs::read(s.path().join("len.wasm")).unwrap();
    std::fs::write(
        s.path().join("tampered.wasm"),
        with_custom_section(&signed, "patched"),
    )
    .unwrap();
    let run = s.run(&["verify", "tampered.wasm"]).expect_code(1);
    assert!(run.stdout().contains("DOES NOT MATCH"), "{}", run.stdout());

    let config = |file: &str, trust: &str| {
        s.write(
            "caliper.toml",
            &format!("{trust}\n[[metric]]\nname = \"len\"\npath = \"{file}\"\n"),
        );
        s.run(&["run", "data.jsonl", "--no-history"])
    };
    let required = format!("[trust]\nkeys = [\"{team}\"]\nrequire_signature = true\n");
    config("len.wasm", &required).expect_code(0);
    for (file, why) in [
        ("unsigned.wasm", "not signed"),
        ("by-other.wasm", "does not trust"),
        ("tampered.wasm", "changed after signing"),
    ] {
        let run = config(file, &required).expect_code(2);
        assert!(
            run.stderr().contains("metric `len`"),
            "{file}: {}",
            run.stderr()
        );
        assert!(run.stderr().contains(why), "{file}: {}", run.stderr());
    }
    // Without a requirement, unsigned packages load, but a broken signature
    // still refuses the package.
    config("unsigned.wasm", "").expect_code(0);
    let run = config("tampered.wasm", "").expect_code(2);
    assert!(
        run.stderr().contains("changed after signing"),
        "{}",
        run.stderr()
    );
    // A bad key in the config is a config error.
    let run = config("len.wasm", "[trust]\nkeys = [\"ed25519:nope\"]\n").expect_code(2);
    assert!(run.stderr().contains("[trust] keys"), "{}", run.stderr());
}

#[test]
fn keys_made_by_openssl_sign_too() {
    let s = Scratch::new();
    let status = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", "ossl.pem"])
        .current_dir(s.path())
        .status()
        .expect("openssl");
    assert!(status.success());
    copy_component(&s, "response-length", "len.wasm");
    let run = s
        .run(&["sign", "len.wasm", "--key", "ossl.pem"])
        .expect_code(0);
    let key = run
        .stdout()
        .split(" by ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    s.run(&["verify", "len.wasm", "--key", &key]).expect_code(0);
}

#[test]
fn a_locked_run_refuses_a_component_that_changed_and_names_both_digests() {
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    let len = copy_component(&s, "response-length", "len.wasm");
    copy_component(&s, "keyword", "kw.wasm");
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n\n[[metric]]\nname = \"kw\"\npath = \"kw.wasm\"\nconfig = { must_not_include = [\"x\"] }\n",
    );
    // No lock file yet.
    let run = s
        .run(&["run", "data.jsonl", "--no-history", "--locked"])
        .expect_code(2);
    assert!(run.stderr().contains("caliper lock"), "{}", run.stderr());
    s.run(&["lock", "--check"]).expect_code(1);
    s.run(&["lock"]).expect_code(0);
    let lock = std::fs::read_to_string(s.path().join("caliper.lock")).unwrap();
    let old_digest = caliper_engine::plugin::digest_of(&std::fs::read(&len).unwrap());
    assert!(lock.contains(&old_digest), "{lock}");
    assert!(lock.contains("source = \"len.wasm\""), "{lock}");
    s.run(&["lock", "--check"]).expect_code(0);
    s.run(&["run", "data.jsonl", "--no-history", "--locked"])
        .expect_code(0);

    // A new build of the component: same metric, new digest.
    let bytes = std::fs::read(&len).unwrap();
    let newer = with_custom_section(&bytes, "rebuilt");
    std::fs::write(&len, &newer).unwrap();
    let new_digest = caliper_engine::plugin::digest_of(&newer);
    let run = s
        .run(&["run", "data.jsonl", "--no-history", "--locked"])
        .expect_code(2);
    let err = run.stderr();
    assert!(err.contains("metric `len`"), "{err}");
    assert!(
        err.contains(&format!("expected {old_digest}, found {new_digest}")),
        "{err}"
    );
    assert!(!err.contains("metric `kw`"), "{err}");
    // Unlocked runs still run it; the lock is out of date until re-locked.
    s.run(&["run", "data.jsonl", "--no-history"]).expect_code(0);
    s.run(&["lock", "--check"]).expect_code(1);
    s.run(&["lock"]).expect_code(0);
    s.run(&["run", "data.jsonl", "--no-history", "--locked"])
        .expect_code(0);
}

fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_locked_service_keeps_serving_the_locked_version_until_the_lock_names_the_new_one() {
    let s = Scratch::new();
    let len = copy_component(&s, "response-length", "len.wasm");
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n",
    );
    s.run(&["lock"]).expect_code(0);
    let old = caliper_engine::plugin::digest_of(&std::fs::read(&len).unwrap());
    let server = Server::start(&s, &["--locked"]);
    assert_eq!(server.metric_view("len")["digest"], old.as_str());

    let newer = with_custom_section(&std::fs::read(&len).unwrap(), "v2");
    let new = caliper_engine::plugin::digest_of(&newer);
    replace(&len, &newer);
    assert!(
        wait_until(Duration::from_secs(10), || {
            server.metric_view("len")["last_reload"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("does not match the lock file"))
        }),
        "{}",
        server.metric_view("len")
    );
    let m = server.metric_view("len");
    assert_eq!(m["status"], "stale", "{m}");
    assert_eq!(m["digest"], old.as_str(), "{m}");
    let reply = server.post("/v1/evaluate", r#"{"sample": {"output": "one two"}}"#);
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Re-locking admits the new version without a restart.
    s.run(&["lock"]).expect_code(0);
    assert!(
        wait_until(Duration::from_secs(10), || {
            let m = server.metric_view("len");
            m["status"] == "serving" && m["digest"] == new.as_str()
        }),
        "{}",
        server.metric_view("len")
    );
    server.stop();
}
