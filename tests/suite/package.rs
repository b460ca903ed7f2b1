//! Metric packages: `caliper pack` embeds metric.toml (owner, stage, dates,
//! default config, labelled examples) into the component; every load checks
//! it and runs the examples; a config takes its defaults from it.

use std::path::{Path, PathBuf};

use caliper_package::Manifest;
use caliper_tests::{Scratch, repo, wasm};
use serde_json::{Value, json};

fn inspect(s: &Scratch, component: &Path) -> Value {
    let run = s
        .run(&["inspect", component.to_str().unwrap(), "--json"])
        .expect_code(0);
    serde_json::from_str(&run.stdout()).unwrap()
}

const MANIFEST: &str = r#"
owner = "platform-quality"
goal = "every SDK scores alike"
stage = "shadow"
created = 2026-10-01
review_by = "2027-04-01"
examples = "cases.jsonl"
[config]
banned = ["Acme"]
min_words = 2
"#;

const CASES: &str = r#"{"name": "banned", "sample": {"output": "try acme instead"}, "expect": {"outcome": "fail", "reason_contains": "mentions Acme"}}
{"name": "fine", "sample": {"output": "all good here"}, "expect": {"outcome": "pass"}}
"#;

#[test]
fn a_packed_metric_carries_its_manifest_and_a_config_takes_its_defaults() {
    let s = Scratch::new();
    s.write("metric.toml", MANIFEST);
    s.write("cases.jsonl", CASES);
    let component = wasm("conformance-rust");
    let packed = s
        .run(&["pack", component.to_str().unwrap(), "-o", "dist/conf.wasm"])
        .expect_code(0);
    assert!(
        packed.stdout().contains("2 examples pass"),
        "{}",
        packed.stdout()
    );
    let v = inspect(&s, &s.path().join("dist/conf.wasm"));
    let m = &v["manifest"];
    assert_eq!(m["name"], "conformance");
    assert_eq!(m["version"], "1.0.0");
    assert_eq!(m["owner"], "platform-quality");
    assert_eq!(m["stage"], "shadow");
    assert_eq!(m["review_by"], "2027-04-01");
    assert_eq!(m["created"], "2026-10-01");
    assert_eq!(m["contract"], "0.1.0");
    assert_eq!(m["config"], json!({"banned": ["Acme"], "min_words": 2}));
    assert_eq!(m["examples"].as_array().unwrap().len(), 2);
    // The standard metadata sections are there for other Wasm tools.
    let bytes = std::fs::read(s.path().join("dist/conf.wasm")).unwrap();
    let [name, version, description, authors] = standard_metadata(&bytes);
    assert_eq!(name.as_deref(), Some("conformance"));
    assert_eq!(version.as_deref(), Some("1.0.0"));
    assert!(description.unwrap().contains("conformance metric"));
    assert_eq!(authors.as_deref(), Some("platform-quality"));
    // An unpacked component says so.
    assert!(inspect(&s, &component)["manifest"].is_null());

    // No config and no stage in caliper.toml: the package's apply.
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"conf\"\npath = \"dist/conf.wasm\"\n",
    );
    s.write(
        "data.jsonl",
        "{\"id\": \"a\", \"output\": \"acme rocks here\"}\n",
    );
    s.run(&["run", "data.jsonl", "-o", "out.jsonl", "--no-history"])
        .expect_code(0);
    assert_eq!(s.results("out.jsonl")[0]["reason"], "mentions Acme");
    let list: Value =
        serde_json::from_str(&s.run(&["list", "--json"]).expect_code(0).stdout()).unwrap();
    assert_eq!(list[0]["stage"], "shadow");
    assert_eq!(list[0]["owner"], "platform-quality");
    // The config's own values win.
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"conf\"\npath = \"dist/conf.wasm\"\nstage = \"gate\"\nconfig = { banned = [\"rocks\"] }\n",
    );
    s.run(&["run", "data.jsonl", "-o", "out.jsonl", "--no-history"])
        .expect_code(0);
    assert_eq!(s.results("out.jsonl")[0]["reason"], "mentions rocks");
    let list: Value =
        serde_json::from_str(&s.run(&["list", "--json"]).expect_code(0).stdout()).unwrap();
    assert_eq!(list[0]["stage"], "gate");
}

/// The standard metadata of a component (name, version, description,
/// authors), read with the crate other Wasm tools use.
fn standard_metadata(bytes: &[u8]) -> [Option<String>; 4] {
    let payload = wasm_metadata::Payload::from_binary(bytes).unwrap();
    let m = payload.metadata();
    [
        m.name.clone(),
        m.version.as_ref().map(|v| v.to_string()),
        m.description.as_ref().map(|d| d.to_string()),
        m.authors.as_ref().map(|a| a.to_string()),
    ]
}

#[test]
fn pack_refuses_failing_examples_and_contradictions() {
    let s = Scratch::new();
    let component = wasm("conformance-rust");
    let c = component.to_str().unwrap();
    s.write("cases.jsonl", CASES);
    // The default config does not ban Acme: the first example fails.
    s.write("metric.toml", "examples = \"cases.jsonl\"\n");
    let run = s.run(&["pack", c]).expect_code(2);
    assert!(run.stderr().contains("not packed"), "{}", run.stderr());
    assert!(
        run.stderr().contains("fails 1 of its 2 examples"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("banned"), "{}", run.stderr());
    assert!(!s.path().join("conformance-1.0.0.wasm").exists());
    for (manifest, message) in [
        (
            "name = \"other\"\n",
            "describes itself as name `conformance`",
        ),
        ("version = \"9.9.9\"\n", "version `1.0.0`"),
        ("review_by = \"soon\"\n", "review_by"),
        ("stage = \"production\"\n", "stage"),
        ("examples = \"missing.jsonl\"\n", "missing.jsonl"),
        ("ownr = \"typo\"\n", "ownr"),
    ] {
        s.write("metric.toml", manifest);
        let run = s.run(&["pack", c]).expect_code(2);
        assert!(
            run.stderr().contains(message),
            "{manifest}: {}",
            run.stderr()
        );
        assert!(
            run.stderr().contains("metric.toml"),
            "{manifest}: {}",
            run.stderr()
        );
    }
    // With no manifest at all.
    std::fs::remove_file(s.path().join("metric.toml")).unwrap();
    let run = s.run(&["pack", c]).expect_code(2);
    assert!(run.stderr().contains("metric.toml"), "{}", run.stderr());
}

/// A package whose embedded manifest is wrong, made with the library (pack
/// would refuse to make it).
fn forged(s: &Scratch, name: &str, edit: impl FnOnce(&mut Manifest)) -> PathBuf {
    let bytes = std::fs::read(wasm("conformance-rust")).unwrap();
    let mut manifest: Manifest = serde_json::from_value(json!({
        "name": "conformance", "version": "1.0.0", "description": "d", "owner": "o", "goal": "g",
        "contract": "0.1.0", "min_host": "0.1.0", "config": {},
        "examples": [{"sample": {"output": "one two three"}, "expect": {"outcome": "pass"}}],
    }))
    .unwrap();
    edit(&mut manifest);
    let path = s.path().join(name);
    std::fs::write(&path, caliper_package::embed(&bytes, &manifest).unwrap()).unwrap();
    path
}

#[test]
fn loading_refuses_a_package_whose_examples_fail_or_that_needs_a_newer_host() {
    let s = Scratch::new();
    s.write(
        "data.jsonl",
        "{\"id\": \"a\", \"output\": \"one two three\"}\n",
    );
    let good = forged(&s, "good.wasm", |_| {});
    let failing = forged(&s, "failing.wasm", |m| {
        m.examples[0]["expect"]["outcome"] = json!("fail");
    });
    let future = forged(&s, "future.wasm", |m| m.min_host = "99.0.0".into());
    let lying = forged(&s, "lying.wasm", |m| m.version = "2.0.0".into());
    let run_with = |path: &Path| {
        s.write(
            "caliper.toml",
            &format!(
                "[[metric]]\nname = \"conf\"\npath = \"{}\"\n",
                path.display()
            ),
        );
        s.run(&["run", "data.jsonl", "--no-history"])
    };
    run_with(&good).expect_code(0);
    let run = run_with(&failing).expect_code(2);
    assert!(run.stderr().contains("metric `conf`"), "{}", run.stderr());
    assert!(
        run.stderr().contains("embedded examples"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("fails 1 of its 1 examples"),
        "{}",
        run.stderr()
    );
    let run = run_with(&future).expect_code(2);
    assert!(
        run.stderr().contains("needs Caliper 99.0.0"),
        "{}",
        run.stderr()
    );
    let run = run_with(&lying).expect_code(2);
    assert!(
        run.stderr().contains("manifest is for conformance 2.0.0"),
        "{}",
        run.stderr()
    );
    // inspect and test refuse it too.
    s.run(&["inspect", future.to_str().unwrap()]).expect_code(2);
}

#[test]
fn every_example_metric_packs_from_its_metric_toml_in_every_sdk_language() {
    let s = Scratch::new();
    let mut packed = Vec::new();
    let mut sources: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (name, component) in crate::python::examples() {
        sources.push((repo().join("plugins/python").join(name), component.clone()));
    }
    for (name, component) in crate::js::examples() {
        sources.push((repo().join("plugins/js").join(name), component.clone()));
    }
    for (name, component) in crate::c_sdk::examples() {
        sources.push((repo().join("plugins/c").join(name), component.clone()));
    }
    for package in ["keyword", "pii-leak", "language-match"] {
        sources.push((repo().join("plugins").join(package), wasm(package)));
    }
    for (dir, component) in sources {
        let out = s.path().join(format!(
            "{}.wasm",
            dir.file_name().unwrap().to_string_lossy()
        ));
        let manifest = dir.join("metric.toml");
        s.run(&[
            "pack",
            component.to_str().unwrap(),
            "-m",
            manifest.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .expect_code(0);
        let m = &inspect(&s, &out)["manifest"];
        assert!(
            !m["owner"].as_str().unwrap().is_empty(),
            "{}",
            dir.display()
        );
        assert!(m["review_by"].is_string(), "{}", dir.display());
        assert!(
            !m["examples"].as_array().unwrap().is_empty(),
            "{}",
            dir.display()
        );
        packed.push(out);
    }
    assert!(packed.len() >= 9);
}
