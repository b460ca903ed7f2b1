//! Secrets and files: outputs keep the usual file mode (`caliper sign`
//! keeps a package's), the run history is private (0600) and can keep only
//! sample ids and outcomes (`[history] samples = "ids"`), and `history`,
//! `audit` and `compare` still work on such a history.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use caliper_tests::{Scratch, wasm};
use serde_json::{Value, json};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The mode a new file of this process gets (0666 less the umask), which
/// the `caliper` it starts inherits.
fn usual_mode() -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::File::create(&probe).unwrap();
    mode(&probe)
}

#[test]
fn sign_keeps_the_package_mode_and_a_new_output_gets_the_usual_one() {
    let s = Scratch::new();
    s.run(&["keygen", "-o", "team.pem"]).expect_code(0);
    assert_eq!(mode(&s.path().join("team.pem")), 0o600, "a secret key");
    let package = s.path().join("keyword.wasm");
    std::fs::copy(wasm("keyword"), &package).unwrap();
    for wanted in [0o644, 0o640, 0o755] {
        std::fs::set_permissions(&package, std::fs::Permissions::from_mode(wanted)).unwrap();
        s.run(&["sign", "keyword.wasm", "--key", "team.pem"])
            .expect_code(0);
        assert_eq!(mode(&package), wanted, "signed in place");
    }
    s.run(&[
        "sign",
        "keyword.wasm",
        "--key",
        "team.pem",
        "-o",
        "signed.wasm",
    ])
    .expect_code(0);
    assert_eq!(mode(&s.path().join("signed.wasm")), usual_mode());
    s.run(&["verify", "signed.wasm"]).expect_code(0);
}

const SECRET_INPUT: &str = "my card number is 4111-1111-1111-1111";
const SECRET_OUTPUT: &str = "noted your card 4111-1111-1111-1111 thanks";
const CUSTOMER: &str = "ACME-Confidential-Customer";

/// Ten samples; in `after`, four outputs are too long for the metric.
fn dataset(s: &Scratch, name: &str, long: usize) {
    let lines: Vec<Value> = (0..10)
        .map(|i| {
            let output = if i < long {
                format!("{SECRET_OUTPUT} {}", "word ".repeat(20))
            } else {
                SECRET_OUTPUT.to_owned()
            };
            json!({"id": format!("q{i}"), "input": SECRET_INPUT, "output": output,
                   "metadata": {"customer": CUSTOMER, "channel": if i % 2 == 0 { "web" } else { "app" }}})
        })
        .collect();
    s.jsonl(name, &lines);
}

/// A scratch directory with the `before`/`after` datasets and a config
/// keeping `[history] samples = SAMPLES`; `extra` is added to the metric.
fn with_history(samples: &str, extra: &str) -> Scratch {
    let s = Scratch::new();
    dataset(&s, "before.jsonl", 0);
    dataset(&s, "after.jsonl", 4);
    s.write(
        "caliper.toml",
        &format!(
            "[history]\nsamples = \"{samples}\"\n\n[[metric]]\nname = \"len\"\npath = {:?}\n\
             config = {{ unit = \"words\", min = 1, max = 12 }}\n{extra}",
            wasm("response-length").display().to_string()
        ),
    );
    s
}

#[test]
fn the_history_is_private_and_ids_mode_keeps_no_text_yet_history_audit_and_compare_work() {
    let s = with_history("ids", "owner = \"quality\"\n");
    s.run(&["run", "before.jsonl", "--group-by", "customer"])
        .expect_code(0);
    s.run(&["run", "after.jsonl", "--group-by", "customer"])
        .expect_code(0);
    let db = s.path().join(".caliper/history.db");
    assert_eq!(mode(&db), 0o600, "the history holds raw samples: private");

    // Nothing of the samples is in any file of the history.
    for entry in std::fs::read_dir(db.parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in ["4111-1111", CUSTOMER, "noted your card"] {
            assert!(
                !text.contains(secret),
                "{secret} stored in {}",
                path.display()
            );
        }
    }

    // `history` and `audit` read only ids and outcomes.
    let v: Value =
        serde_json::from_str(&s.run(&["history", "--json"]).expect_code(0).stdout()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v[0]["metrics"][0]["figures"]["pass_rate"], 0.6);
    let audit = s.run(&["audit", "--json"]);
    assert!(matches!(audit.code(), 0 | 1), "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    assert_eq!(report["metrics"][0]["metric"], "len", "{report}");

    // `compare` of the stored runs: the flips, by id, without texts.
    let run = s
        .run(&[
            "compare",
            "--baseline",
            "last~1",
            "last",
            "--format",
            "json",
        ])
        .expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    let metric = &v["metrics"][0];
    assert_eq!(metric["transitions"]["pass_fail"], 4, "{metric}");
    let flip = &metric["flipped"][0];
    assert!(
        flip["sample_id"].as_str().unwrap().starts_with('q'),
        "{flip}"
    );
    assert!(!run.stdout().contains("4111"), "no texts: {}", run.stdout());
    // Segments need the datasets, and say so.
    let args = [
        "compare",
        "--baseline",
        "last~1",
        "last",
        "--format",
        "json",
        "--group-by",
        "channel",
    ];
    let err = s.run(&args).expect_code(2).stderr();
    assert!(err.contains("--candidate-data"), "{err}");
    let mut with_data = args.to_vec();
    with_data.extend([
        "--baseline-data",
        "before.jsonl",
        "--candidate-data",
        "after.jsonl",
    ]);
    let v: Value = serde_json::from_str(&s.run(&with_data).expect_code(0).stdout()).unwrap();
    assert_eq!(
        v["segments"]["web"][0]["transitions"]["pass_fail"], 2,
        "{v}"
    );
}

#[test]
fn a_full_history_keeps_texts_for_compare() {
    let s = with_history("full", "");
    s.run(&["run", "before.jsonl"]).expect_code(0);
    s.run(&["run", "after.jsonl"]).expect_code(0);
    assert_eq!(mode(&s.path().join(".caliper/history.db")), 0o600);
    let run = s
        .run(&[
            "compare",
            "--baseline",
            "last~1",
            "last",
            "--format",
            "json",
            "--group-by",
            "channel",
        ])
        .expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(v["metrics"][0]["flipped"][0]["input"], SECRET_INPUT);
    assert_eq!(
        v["segments"]["web"][0]["transitions"]["pass_fail"], 2,
        "{v}"
    );
    // A typo is an error, not a silent default.
    s.write("caliper.toml", "[history]\nsamples = \"none\"\n");
    let err = s.run(&["history"]).expect_code(2).stderr();
    assert!(
        err.contains("samples") || err.contains("unknown variant"),
        "{err}"
    );
}
