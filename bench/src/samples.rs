//! The benchmark's samples, loaded once in both forms: the host's
//! [`caliper_types::sample::Sample`] (read through the host's own dataset
//! reader, as `caliper run` reads it) and the SDK's [`caliper_sdk::Sample`]
//! (parsed here with serde_json, field by field), and checked to agree.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result, bail};
use caliper_config::Config;
use caliper_sdk::{Message, MetaValue, Metadata, Sample};
use serde_json::Value;

/// The same samples in the host's and the SDK's types, in dataset order.
pub struct Samples {
    /// As the host reads them (what the Wasm side is fed).
    pub host: Vec<caliper_types::sample::Sample>,
    /// As the SDK passes them to `Metric::evaluate` (what the native side is
    /// fed).
    pub native: Vec<Sample>,
}

impl Samples {
    /// Reads `path` both ways. Fails on a bad record (the benchmark dataset
    /// has none) or when the two readings disagree.
    pub fn load(path: &Path, config: &Config) -> Result<Samples> {
        let mut host = Vec::new();
        let records = caliper_dataset::open(path, &config.input, None)
            .with_context(|| format!("cannot open dataset {}", path.display()))?;
        for record in records {
            match record.samples {
                Ok(samples) => host.extend(samples),
                Err(e) => bail!("bad record: {e}"),
            }
        }
        let native = read_native(path)?;
        if native.len() != host.len() {
            bail!(
                "the host read {} samples from {} but the native reader {}; \
                 the benchmark needs one sample per line (no `expand_turns`)",
                host.len(),
                path.display(),
                native.len()
            );
        }
        for (h, n) in host.iter().zip(&native) {
            let same = h.id == n.id
                && h.input == n.input
                && h.output == n.output
                && h.expected.as_deref() == n.expected.as_deref()
                && h.context == n.context
                && h.messages.len() == n.messages.len()
                && h.metadata.len() == n.metadata.entries().len();
            if !same {
                bail!(
                    "sample `{}` reads differently through the host's mapping and the native \
                     reader; the benchmark dataset must use Caliper's native JSONL shape",
                    h.id
                );
            }
        }
        Ok(Samples { host, native })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.native.len()
    }
}

/// Parses Caliper's native JSONL shape into SDK samples.
fn read_native(path: &Path) -> Result<Vec<Sample>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
        out.push(to_sample(value).with_context(|| format!("{}:{}", path.display(), n + 1))?);
    }
    Ok(out)
}

fn text(v: Option<&Value>, field: &str) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if field == "id" => Ok(Some(n.to_string())),
        Some(_) => bail!("field `{field}` must be a string"),
    }
}

/// One dataset line as an SDK sample (fields map 1:1).
pub fn to_sample(value: Value) -> Result<Sample> {
    let Value::Object(mut obj) = value else {
        bail!("expected a JSON object");
    };
    let messages = match obj.remove("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|m| {
                Ok(Message {
                    role: text(m.get("role"), "role")?.unwrap_or_default(),
                    content: text(m.get("content"), "content")?.unwrap_or_default(),
                })
            })
            .collect::<Result<_>>()?,
        Some(_) => bail!("field `messages` must be a list"),
    };
    let context = match obj.remove("context") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => bail!("context passages must be strings"),
            })
            .collect::<Result<_>>()?,
        Some(_) => bail!("field `context` must be a list of strings"),
    };
    let metadata = match obj.remove("metadata") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map.into_iter().map(|(k, v)| (k, meta(v))).collect(),
        Some(_) => bail!("field `metadata` must be an object"),
    };
    Ok(Sample {
        id: text(obj.get("id"), "id")?.unwrap_or_default(),
        input: text(obj.get("input"), "input")?.unwrap_or_default(),
        output: text(obj.get("output"), "output")?.unwrap_or_default(),
        messages,
        context,
        expected: text(obj.get("expected"), "expected")?,
        metadata: Metadata::from_entries(metadata),
    })
}

fn meta(v: Value) -> MetaValue {
    match v {
        Value::Null => MetaValue::Null,
        Value::Bool(b) => MetaValue::Bool(b),
        Value::Number(n) => match n.as_f64() {
            Some(f) => MetaValue::Number(f),
            None => MetaValue::Text(n.to_string()),
        },
        Value::String(s) => MetaValue::Text(s),
        other => MetaValue::Json(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_line_maps_field_by_field() {
        let v: Value = serde_json::from_str(
            r#"{"id":"a","input":"q","output":"o","messages":[{"role":"user","content":"q"}],
                "context":["c"],"expected":null,
                "metadata":{"lang":"de","n":3,"ok":true,"x":null,"o":{"k":1}}}"#,
        )
        .unwrap();
        let s = to_sample(v).unwrap();
        assert_eq!((s.id.as_str(), s.input.as_str()), ("a", "q"));
        assert_eq!(s.messages[0].role, "user");
        assert_eq!(s.context, vec!["c".to_owned()]);
        assert_eq!(s.expected, None);
        assert_eq!(s.metadata.text("lang"), Some("de"));
        assert_eq!(s.metadata.number("n"), Some(3.0));
        assert_eq!(s.metadata.get("ok"), Some(&MetaValue::Bool(true)));
        assert_eq!(s.metadata.get("x"), Some(&MetaValue::Null));
        assert_eq!(
            s.metadata.get("o"),
            Some(&MetaValue::Json(r#"{"k":1}"#.into()))
        );
    }
}
