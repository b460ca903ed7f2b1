//! Property tests of the `caliper.toml` parser: arbitrary text, and
//! arbitrary (bounded) TOML built from the real sections and keys with
//! values of every type, never panic; they parse or give an error (256
//! cases each, so the suite stays fast).

use std::path::Path;

use caliper_config::Config;
use proptest::prelude::*;

const SECTIONS: &[&str] = &[
    "input",
    "defaults",
    "cache",
    "serve",
    "history",
    "trust",
    "audit",
    "metric",
    "metric.limits",
    "metric.gate",
    "metric.when",
    "metric.alert",
    "metric.regression",
    "nope",
];
const KEYS: &[&str] = &[
    "name",
    "path",
    "config",
    "config_json",
    "when",
    "limits",
    "gate",
    "stage",
    "failure_mode",
    "alert",
    "examples",
    "regression",
    "owner",
    "review_by",
    "timeout_ms",
    "memory_mib",
    "fuel",
    "batch_size",
    "fresh_instance",
    "min_pass_rate",
    "max_error_rate",
    "max_invalid_records",
    "expand_turns",
    "format",
    "output",
    "input",
    "messages",
    "max_line_bytes",
    "bind",
    "request_timeout_ms",
    "max_body_bytes",
    "max_samples_per_request",
    "queue_capacity",
    "ingest_sample_rate",
    "ingest_workers",
    "disabled",
    "samples",
    "keys",
    "require_signature",
    "runs",
    "max_drop",
    "alpha",
    "for",
    "max_fail_rate",
    "dir",
    "unknown_key",
];

/// A TOML value of any type (no string ever names an `oci://` reference:
/// parsing one would ask a registry).
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::sample::select(
            &[
                "\"gate\"",
                "\"shadow\"",
                "\"alert\"",
                "\"fail_closed\"",
                "\"fail_open\"",
                "\"ids\"",
                "\"full\"",
                "\"csv\"",
                "\"jsonl\"",
                "\"/output\"",
                "\"m.wasm\"",
                "\"10m\"",
                "\"{}\"",
                "\"\"",
                "\"[1,\"",
                "2027-04-01",
                "\"x\\u0000y\"",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z0-9 ._-]{0,10}".prop_map(|s| format!("{s:?}")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

fn document() -> impl Strategy<Value = String> {
    let table = (
        prop::sample::select(SECTIONS),
        any::<bool>(),
        prop::collection::vec((prop::sample::select(KEYS), value()), 0..6),
    )
        .prop_map(|(section, array, entries)| {
            let header = if array || section.starts_with("metric") {
                format!("[[{section}]]")
            } else {
                format!("[{section}]")
            };
            let header = if section.contains('.') {
                format!("[{section}]")
            } else {
                header
            };
            let body: String = entries
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect();
            format!("{header}\n{body}")
        });
    prop::collection::vec(table, 0..6).prop_map(|tables| tables.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in prop_oneof![
        ".{0,300}",
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]) {
        prop_assume!(!text.contains("oci:"));
        let _ = Config::parse(&text, Path::new("/nonexistent"));
    }

    #[test]
    fn arbitrary_toml_of_real_sections_and_keys_parses_or_errs(text in document()) {
        match Config::parse(&text, Path::new("/nonexistent")) {
            Ok(config) => {
                // What parsed is usable: every metric has an instance name.
                for m in &config.metrics {
                    let _ = m.instance_name();
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
