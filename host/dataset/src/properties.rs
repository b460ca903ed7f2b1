//! Property tests: arbitrary records through the mapping and arbitrary
//! bytes through the readers never panic, and every error names the file
//! and the record (256 cases each, so the suite stays fast).

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::csv::CsvRecords;
use crate::jsonl::JsonlRecords;
use crate::mapping::Mapper;
use caliper_types::input::InputMapping;

/// Keys the mapping looks at, so that arbitrary records often hit them.
const KEYS: &[&str] = &[
    "id", "input", "output", "messages", "context", "expected", "metadata", "role", "content",
    "text", "type", "model", "x",
];
const ROLES: &[&str] = &["user", "assistant", "system", "tool", ""];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(ROLES).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

/// Arbitrary JSON, biased towards the mapping's keys and message shapes.
fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![prop::sample::select(KEYS).prop_map(str::to_owned), ".{0,6}"],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn mappings() -> impl Strategy<Value = InputMapping> {
    let pointer = prop_oneof![
        Just(String::new()),
        prop::sample::select(KEYS).prop_map(|k| format!("/{k}")),
        prop::sample::select(KEYS).prop_map(|k| format!("/{k}/0")),
        Just("/a~1b/~0".to_owned()),
    ];
    (any::<bool>(), any::<bool>(), pointer.clone(), pointer).prop_map(
        |(expand_turns, extra_fields_as_metadata, output, input)| InputMapping {
            expand_turns,
            extra_fields_as_metadata,
            output: if output.is_empty() {
                "/output".into()
            } else {
                output
            },
            input: if input.is_empty() {
                "/input".into()
            } else {
                input
            },
            ..InputMapping::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_record_maps_or_gives_an_error_naming_file_and_line(
        record in json(),
        mapping in mappings(),
        line in 1u64..1_000_000,
    ) {
        let mapper = Mapper::new(Path::new("data/any.jsonl"), mapping.clone());
        match mapper.map(line, record) {
            Ok(samples) => {
                prop_assert!(!samples.is_empty());
                for s in &samples {
                    prop_assert!(!s.id.is_empty());
                }
                if mapping.expand_turns {
                    let ids: std::collections::HashSet<_> = samples.iter().map(|s| &s.id).collect();
                    prop_assert_eq!(ids.len(), samples.len(), "turn ids are distinct");
                }
            }
            Err(e) => {
                prop_assert_eq!(e.line, line);
                prop_assert!(!e.unreadable);
                let prefix = format!("data/any.jsonl:{line}: ");
                prop_assert!(e.to_string().starts_with(&prefix), "{}", e);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn any_bytes_read_as_jsonl_or_csv_never_panic_and_name_their_line(
        lines in prop::collection::vec(
            prop_oneof![
                json().prop_map(|v| v.to_string().into_bytes()),
                prop::collection::vec(any::<u8>(), 0..40),
                "[a-z\",\\r\\n]{0,30}".prop_map(String::into_bytes),
            ],
            0..8,
        ),
        max in 1usize..200,
        capacity in 1usize..64,
    ) {
        let input: Vec<u8> = lines.join(&b"\n"[..]);
        let newlines = input.iter().filter(|&&b| b == b'\n').count() as u64;
        let path = Path::new("d.jsonl");
        let reader = std::io::BufReader::with_capacity(capacity, &input[..]);
        for r in JsonlRecords::new(reader, Mapper::new(path, InputMapping::default()), max) {
            prop_assert!(r.line >= 1 && r.line <= newlines + 1);
            if let Err(e) = r.samples {
                prop_assert!(e.to_string().starts_with(&format!("d.jsonl:{}: ", r.line)), "{}", e);
            }
        }
        let path = Path::new("d.csv");
        let reader = std::io::BufReader::with_capacity(capacity, &input[..]);
        for r in CsvRecords::new(reader, Mapper::new(path, InputMapping::default()), max) {
            prop_assert!(r.line >= 1 && r.line <= newlines + 1);
            if let Err(e) = r.samples {
                prop_assert!(e.to_string().starts_with(&format!("d.csv:{}: ", r.line)), "{}", e);
            }
        }
    }
}
