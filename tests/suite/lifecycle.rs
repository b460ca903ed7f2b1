//! The whole package lifecycle across two machines: one team packs a
//! metric with its manifest and examples, signs it and publishes it to an
//! OCI registry; another checkout names it by `oci://` reference, trusts
//! only that team's key, pins it in caliper.lock and runs it `--locked`.
//! A different package pushed under the same tag is then refused, by the
//! lock and by the trust policy.

use std::process::Command;

use caliper_tests::{Registry, Run, Scratch, wasm};

/// A machine: its own package store and compile cache.
fn caliper(s: &Scratch, args: &[&str]) -> Run {
    let output = Command::new(caliper_tests::caliper_bin())
        .args(args)
        .current_dir(s.path())
        .env("CALIPER_CACHE_DIR", s.path().join("cache"))
        .env("DOCKER_CONFIG", s.path().join("no-docker-config"))
        .env_remove("CALIPER_REGISTRY_USER")
        .env_remove("CALIPER_REGISTRY_PASSWORD")
        .env_remove("RUST_LOG")
        .output()
        .expect("running caliper");
    Run(output)
}

#[test]
fn packed_signed_published_then_pulled_pinned_verified_and_run_on_another_checkout() {
    let registry = Registry::start();
    let reference = format!("oci://{}/metrics/keyword:1.0.0", registry.host);
    let repo = caliper_tests::repo();

    // The owning team.
    let team = Scratch::new();
    let keygen = caliper(&team, &["keygen", "-o", "team.pem"]).expect_code(0);
    let public = keygen
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("public key: ").map(str::to_owned))
        .unwrap();
    let manifest = repo.join("plugins/keyword/metric.toml");
    let component = wasm("keyword");
    caliper(
        &team,
        &[
            "pack",
            component.to_str().unwrap(),
            "-m",
            manifest.to_str().unwrap(),
            "-o",
            "keyword.wasm",
        ],
    )
    .expect_code(0);
    caliper(&team, &["sign", "keyword.wasm", "--key", "team.pem"]).expect_code(0);
    caliper(&team, &["publish", "keyword.wasm", &reference]).expect_code(0);
    let signed = std::fs::read(team.path().join("keyword.wasm")).unwrap();
    let signed_digest = caliper_engine::plugin::digest_of(&signed);

    // Another checkout: nothing local but caliper.toml and data.
    let user = Scratch::new();
    user.write(
        "caliper.toml",
        &format!(
            "[trust]\nkeys = [\"{public}\"]\nrequire_signature = true\n\n\
             [[metric]]\nname = \"no-competitors\"\npath = \"{reference}\"\n\
             config = {{ must_not_include = [\"Globex\"] }}\n"
        ),
    );
    user.write(
        "data.jsonl",
        "{\"id\": \"a\", \"output\": \"Try Globex instead\"}\n{\"id\": \"b\", \"output\": \"We can help\"}\n",
    );
    // The package can be looked at and tested straight from the registry.
    let inspect = caliper(&user, &["inspect", &reference, "--json"]).expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout()).unwrap();
    assert_eq!(v["digest"], signed_digest.as_str());
    assert!(v["manifest"]["review_by"].is_string(), "{v}");
    let cases = repo.join("plugins/keyword/cases.jsonl");
    caliper(
        &user,
        &["test", &reference, "--cases", cases.to_str().unwrap()],
    )
    .expect_code(0);
    caliper(&user, &["lock"]).expect_code(0);
    let lock = std::fs::read_to_string(user.path().join("caliper.lock")).unwrap();
    assert!(lock.contains(&signed_digest), "{lock}");
    assert!(lock.contains(&reference), "{lock}");
    let inspect = caliper(&user, &["list", "--json"]).expect_code(0);
    let list: serde_json::Value = serde_json::from_str(&inspect.stdout()).unwrap();
    assert_eq!(list[0]["digest"], signed_digest.as_str());
    assert_eq!(list[0]["stage"], "gate", "the package's default stage");
    caliper(
        &user,
        &[
            "run",
            "data.jsonl",
            "-o",
            "out.jsonl",
            "--locked",
            "--no-history",
        ],
    )
    .expect_code(0);
    let results = user.results("out.jsonl");
    let outcomes: Vec<&str> = results
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["fail", "pass"]);
    assert!(
        results
            .iter()
            .all(|r| r["digest"] == signed_digest.as_str())
    );

    // Someone pushes an unsigned build under the same tag.
    caliper(&team, &["publish", component.to_str().unwrap(), &reference]).expect_code(0);
    let run = caliper(&user, &["run", "data.jsonl", "--locked", "--no-history"]).expect_code(2);
    assert!(
        run.stderr().contains("metric `no-competitors`"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains(&format!("expected {signed_digest}")),
        "{}",
        run.stderr()
    );
    let run = caliper(&user, &["run", "data.jsonl", "--no-history"]).expect_code(2);
    assert!(run.stderr().contains("not signed"), "{}", run.stderr());
}
