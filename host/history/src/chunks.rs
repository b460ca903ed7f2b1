//! How a run's samples and evaluations are stored: in chunks of
//! [`CHUNK_SAMPLES`] samples, in input order, each one row, so that a run of
//! a million samples is a thousand inserts instead of millions.
//!
//! A chunk has two parts:
//! - its **evaluations** and sample ids (table `run_chunks`, one row per
//!   run and chunk): JSON `{"metrics": [..], "ids": [..], "evals": [..]}`,
//!   each evaluation a row `[metric, sample, outcome, value, duration_us,
//!   reason, labels]` that names its metric and sample by their index in the
//!   two lists (the metric's name, version and digest are the run's, in
//!   `run_metrics`);
//! - its samples' **texts** (table `sample_texts`), JSON `[[input, output,
//!   metadata], ..]`, stored once per content under its SHA-256: the runs of
//!   one dataset share them, and pruning a run keeps what another still
//!   uses.
//!
//! Both are stored zstd-compressed (level 1): the rows repeat metric
//! indexes, outcomes and reasons, and shrink about fifteenfold. The
//! texts' key is the digest of their JSON before compression.
//!
//! Encoding is pure (no SQLite here): the recorder fills a [`ChunkBuilder`]
//! on the scoring thread without copying strings, and its writer thread
//! stores the finished [`Chunk`].

use std::collections::HashMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use caliper_types::outcome::{Evaluation, Status};
use caliper_types::sample::Sample;

/// Samples per chunk.
pub const CHUNK_SAMPLES: usize = 1024;

/// A finished chunk, ready to store.
#[derive(Debug)]
pub struct Chunk {
    /// Its position in the run, from 0.
    pub seq: i64,
    /// The `run_chunks.body`: compressed JSON.
    pub body: Vec<u8>,
    /// The samples' texts, unless the run keeps ids only.
    pub texts: Option<Texts>,
}

/// The texts of a chunk's samples, not yet compressed: a writer compresses
/// them only when no stored row has their digest yet.
#[derive(Debug)]
pub struct Texts {
    json: Vec<u8>,
    /// The SHA-256 of the JSON: the `sample_texts` key.
    pub digest: [u8; 32],
}

impl Texts {
    /// The `sample_texts.body`: the JSON, compressed.
    pub fn compressed(&self) -> Vec<u8> {
        compress(&self.json)
    }
}

/// A chunk being filled.
#[derive(Debug)]
pub struct ChunkBuilder {
    seq: i64,
    keep_texts: bool,
    metrics: Vec<String>,
    metric_index: HashMap<String, usize>,
    ids: Vec<u8>,
    samples: usize,
    last_id: Option<String>,
    evals: Vec<u8>,
    evals_count: usize,
    texts: Vec<u8>,
}

impl ChunkBuilder {
    /// An empty chunk number `seq`; `keep_texts` false for an ids-only run.
    pub fn new(seq: i64, keep_texts: bool) -> Self {
        ChunkBuilder {
            seq,
            keep_texts,
            metrics: Vec::new(),
            metric_index: HashMap::new(),
            ids: Vec::new(),
            samples: 0,
            last_id: None,
            evals: Vec::new(),
            evals_count: 0,
            texts: Vec::new(),
        }
    }

    /// Samples in the chunk.
    pub fn len(&self) -> usize {
        self.samples
    }

    /// Whether the chunk holds no sample.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// Adds a sample (its evaluations follow).
    pub fn sample(&mut self, s: &Sample) {
        let metadata = (!s.metadata.is_empty()).then_some(&s.metadata);
        self.push_id(&s.id, Some((&s.input, &s.output, metadata)));
    }

    fn push_id(
        &mut self,
        id: &str,
        texts: Option<(&str, &str, Option<&caliper_types::sample::Metadata>)>,
    ) {
        push_json(&mut self.ids, self.samples, &id);
        if self.keep_texts {
            let (input, output, metadata) = texts.unwrap_or(("", "", None));
            push_json(&mut self.texts, self.samples, &(input, output, metadata));
        }
        self.samples += 1;
        self.last_id = Some(id.to_owned());
    }

    /// Adds an evaluation of the last sample added (or of a new sample of
    /// that id, without texts, when none was).
    pub fn evaluation(&mut self, e: &Evaluation) {
        if self.last_id.as_deref() != Some(e.sample_id.as_str()) {
            self.push_id(&e.sample_id, None);
        }
        let metric = match self.metric_index.get(&e.metric) {
            Some(&i) => i,
            None => {
                self.metrics.push(e.metric.clone());
                self.metric_index
                    .insert(e.metric.clone(), self.metrics.len() - 1);
                self.metrics.len() - 1
            }
        };
        let (reason, labels) = if self.keep_texts {
            (
                e.reason.as_deref(),
                (!e.labels.is_empty()).then_some(&e.labels),
            )
        } else {
            (None, None)
        };
        let row = (
            metric,
            self.samples - 1,
            e.outcome.as_str(),
            e.value,
            e.duration_us,
            reason,
            labels,
        );
        push_json(&mut self.evals, self.evals_count, &row);
        self.evals_count += 1;
    }

    /// The chunk, encoded.
    pub fn finish(self) -> Chunk {
        let mut body = Vec::with_capacity(self.ids.len() + self.evals.len() + 64);
        body.extend_from_slice(b"{\"metrics\":");
        serde_json::to_writer(&mut body, &self.metrics).expect("strings serialise");
        body.extend_from_slice(b",\"ids\":[");
        body.extend_from_slice(&self.ids);
        body.extend_from_slice(b"],\"evals\":[");
        body.extend_from_slice(&self.evals);
        body.extend_from_slice(b"]}");
        let texts = self.keep_texts.then(|| {
            let mut texts = Vec::with_capacity(self.texts.len() + 2);
            texts.push(b'[');
            texts.extend_from_slice(&self.texts);
            texts.push(b']');
            let digest: [u8; 32] = Sha256::digest(&texts).into();
            Texts {
                json: texts,
                digest,
            }
        });
        Chunk {
            seq: self.seq,
            body: compress(&body),
            texts,
        }
    }
}

/// zstd's fastest regular level.
const LEVEL: i32 = 1;

fn compress(json: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(json, LEVEL).expect("compressing into memory")
}

/// Largest chunk JSON accepted when reading (a chunk of 1,024 samples of
/// 64 KiB each fits); a damaged or hostile row cannot exhaust memory.
const MAX_JSON: u64 = 256 << 20;

fn decompress(stored: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut json = Vec::with_capacity(stored.len() * 8);
    zstd::stream::read::Decoder::new(stored)
        .ok()?
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .ok()?;
    (json.len() as u64 <= MAX_JSON).then_some(json)
}

/// Appends `value` as JSON to a comma-separated list that has `len` items.
fn push_json(out: &mut Vec<u8>, len: usize, value: &impl serde::Serialize) {
    if len > 0 {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, value).expect("history rows serialise");
}

/// One stored evaluation, as a reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvaluation {
    /// The metric instance.
    pub metric: String,
    /// The sample id.
    pub sample_id: String,
    /// The outcome.
    pub outcome: Status,
    /// The value.
    pub value: Option<f64>,
    /// Wall time in microseconds.
    pub duration_us: u64,
    /// The reason (none in an ids-only run).
    pub reason: Option<String>,
    /// The labels (none in an ids-only run).
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Body {
    metrics: Vec<String>,
    ids: Vec<String>,
    evals: Vec<Row>,
}

#[derive(Deserialize)]
struct Row(
    usize,
    usize,
    String,
    Option<f64>,
    u64,
    Option<String>,
    Option<std::collections::BTreeMap<String, String>>,
);

/// A chunk body's sample ids and evaluations; `None` if it is not one.
pub fn decode(body: &[u8]) -> Option<(Vec<String>, Vec<StoredEvaluation>)> {
    let b: Body = serde_json::from_slice(&decompress(body)?).ok()?;
    let evals = b
        .evals
        .into_iter()
        .map(|Row(m, s, outcome, value, duration_us, reason, labels)| {
            Some(StoredEvaluation {
                metric: b.metrics.get(m)?.clone(),
                sample_id: b.ids.get(s)?.clone(),
                outcome: Status::parse(&outcome).unwrap_or(Status::Error),
                value,
                duration_us,
                reason,
                labels: labels.unwrap_or_default(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((b.ids, evals))
}

/// The texts of a chunk: input, output and metadata per sample, in the order
/// of its ids; `None` if the body is not one.
pub fn decode_texts(
    body: &[u8],
) -> Option<Vec<(String, String, Option<caliper_types::sample::Metadata>)>> {
    serde_json::from_slice(&decompress(body)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(sample: &str, metric: &str, outcome: Status) -> Evaluation {
        Evaluation {
            sample_id: sample.into(),
            metric: metric.into(),
            name: "n".into(),
            version: "1.0.0".into(),
            digest: "sha256:00".into(),
            outcome,
            value: Some(0.5),
            reason: Some("why \"quoted\"".into()),
            labels: [("k".to_owned(), "v".to_owned())].into(),
            duration_us: 7,
        }
    }

    #[test]
    fn a_chunk_round_trips_and_its_texts_are_content_addressed() {
        let mut c = ChunkBuilder::new(3, true);
        let s = Sample {
            id: "a".into(),
            input: "in".into(),
            output: "out ü".into(),
            ..Sample::default()
        };
        c.sample(&s);
        c.evaluation(&eval("a", "m1", Status::Pass));
        c.evaluation(&eval("a", "m2", Status::Fail));
        // an evaluation without its sample first
        c.evaluation(&eval("b", "m1", Status::Error));
        assert_eq!(c.len(), 2);
        let chunk = c.finish();
        assert_eq!(chunk.seq, 3);
        let (ids, evals) = decode(&chunk.body).unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(evals.len(), 3);
        assert_eq!(evals[1].metric, "m2");
        assert_eq!(evals[1].outcome, Status::Fail);
        assert_eq!(evals[2].sample_id, "b");
        assert_eq!(evals[0].reason.as_deref(), Some("why \"quoted\""));
        assert_eq!(evals[0].labels["k"], "v");
        let texts = chunk.texts.unwrap();
        let digest = texts.digest;
        let decoded = decode_texts(&texts.compressed()).unwrap();
        assert_eq!(decoded[0].0, "in");
        assert_eq!(decoded[0].1, "out ü");
        assert_eq!(decoded[1].1, "");
        // the same content gives the same key
        let mut again = ChunkBuilder::new(0, true);
        again.sample(&s);
        again.evaluation(&eval("b", "m1", Status::Error));
        assert_eq!(again.finish().texts.unwrap().digest, digest);
    }

    #[test]
    fn an_ids_only_chunk_keeps_no_text_reason_or_label() {
        let mut c = ChunkBuilder::new(0, false);
        let s = Sample {
            id: "a".into(),
            output: "secret".into(),
            ..Sample::default()
        };
        c.sample(&s);
        c.evaluation(&eval("a", "m1", Status::Pass));
        let chunk = c.finish();
        assert!(chunk.texts.is_none());
        assert!(!String::from_utf8_lossy(&decompress(&chunk.body).unwrap()).contains("secret"));
        let (_, evals) = decode(&chunk.body).unwrap();
        assert_eq!(evals[0].reason, None);
        assert!(evals[0].labels.is_empty());
        assert_eq!(evals[0].value, Some(0.5));
    }

    #[test]
    fn a_damaged_body_is_refused_not_misread() {
        let bad =
            compress(b"{\"metrics\":[],\"ids\":[],\"evals\":[[0,0,\"pass\",null,1,null,null]]}");
        assert!(decode(&bad).is_none(), "an index out of range");
        assert!(decode(&compress(b"not json")).is_none());
        assert!(decode(b"not compressed").is_none());
        // A bomb: more than MAX_JSON once decompressed.
        let bomb = compress(&vec![b' '; MAX_JSON as usize + 1]);
        assert!(bomb.len() < 1 << 20);
        assert!(decode(&bomb).is_none());
    }
}
