//! Runs metrics over a dataset on all cores.
//!
//! Strategy: one reader thread streams records in chunks into a bounded
//! channel; `jobs` worker threads each own one [`MetricInstance`] per metric
//! (reused across samples) and send back every chunk's evaluations; the
//! calling thread puts chunks back in input order, hands each evaluation to
//! the sink and folds it into the aggregates. Bounded channels keep memory
//! constant whatever the dataset size; reordering keeps output
//! deterministic whatever the thread timing. A fixed number of chunk
//! tokens caps the chunks between the reader and the sink, so a sample that
//! stalls one worker (a metric running to its deadline) holds the reader
//! back instead of letting the reorder buffer grow with the dataset.
//!
//! Architecture invariants: a plugin failure never stops the run (it is an
//! outcome); a bad record is counted and reported, never silently dropped;
//! cancelling (Ctrl-C, `--strict`) stops reading and drains what is in
//! flight.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::bounded;

use crate::summary::Stats;
use caliper_dataset::{self as dataset, InputMapping, Record, RecordError, Records};
use caliper_engine::instance::MetricInstance;
use caliper_engine::metric::MetricSpec;
use caliper_engine::prepared::{Prepare, PreparedSample};
use caliper_report::compare::SampleText;
use caliper_types::outcome::Evaluation;
pub use caliper_types::sample::NO_SEGMENT;
use caliper_types::sample::{PREPARE_WINDOW_BYTES, Sample, prepare_windows};

/// Why a run stopped with an error. Metric failures are outcomes and bad
/// records are counted: neither is a `RunError`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A reader or worker thread could not be started.
    #[error("cannot start a run thread: {error}")]
    Thread {
        /// The OS error.
        error: std::io::Error,
    },
    /// The remote scorer failed (`caliper run --dispatch`).
    #[error("dispatch: {0}")]
    Remote(String),
    /// The sink refused an evaluation or a sample (a full disk, a closed pipe).
    #[error("writing results: {error}")]
    Sink {
        /// The sink's error.
        error: std::io::Error,
    },
}

/// Why [`sample_texts`] could not read a dataset.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The dataset could not be opened or read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A record could not be read (caliper compare needs every sample's text).
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Records per chunk sent to a worker (at least; a larger `batch_size`
/// makes chunks larger so batches fill up).
const CHUNK: usize = 16;

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    /// Worker threads.
    pub jobs: usize,
    /// Stop at the first bad record.
    pub strict: bool,
    /// Metadata key to split figures by.
    pub group_by: Option<String>,
    /// Set to stop early (Ctrl-C).
    pub cancel: Arc<AtomicBool>,
    /// Score elsewhere (`caliper run --dispatch`): each of the `jobs`
    /// lanes hands its chunks to this instead of running the metrics.
    pub remote: Option<Arc<dyn Remote>>,
}

/// Metrics that run elsewhere (a pool of `caliper worker`s): the run reads,
/// maps, orders and aggregates as always, and asks this for the
/// evaluations.
pub trait Remote: Send + Sync {
    /// The evaluations of `samples`: per sample, per metric in config
    /// order, the evaluation, or `None` where the metric's `when` filter
    /// leaves the sample out. Blocks until every sample's are in; an error
    /// ends the run (nothing is written).
    fn score(&self, samples: &[&Sample]) -> Result<Vec<Vec<Option<Evaluation>>>, String>;
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            strict: false,
            group_by: None,
            cancel: Arc::new(AtomicBool::new(false)),
            remote: None,
        }
    }
}

/// Where a run's output goes. Closures `FnMut(&Evaluation) -> io::Result<()>`
/// are sinks that ignore samples.
pub trait Sink {
    /// Every evaluation, in input order.
    fn evaluation(&mut self, e: &Evaluation) -> std::io::Result<()>;
    /// Whether [`Sink::sample`] should be called (it costs keeping every
    /// sample until it is written).
    fn wants_samples(&self) -> bool {
        false
    }
    /// Every scored sample, before its evaluations.
    fn sample(&mut self, _sample: &Sample) -> std::io::Result<()> {
        Ok(())
    }
}

impl<F: FnMut(&Evaluation) -> std::io::Result<()>> Sink for F {
    fn evaluation(&mut self, e: &Evaluation) -> std::io::Result<()> {
        self(e)
    }
}

/// Aggregates of a run.
pub struct RunTotals {
    /// Records read (good and bad).
    pub records: u64,
    /// Samples scored.
    pub samples: u64,
    /// Bad records.
    pub invalid_records: u64,
    /// The first few bad records, for the report.
    pub invalid_examples: Vec<RecordError>,
    /// Per metric, in config order.
    pub overall: Vec<Stats>,
    /// Per segment, then per metric (with `group_by`).
    pub segments: BTreeMap<String, Vec<Stats>>,
    /// Why the run stopped before the end of the input, if it did.
    pub stopped: Option<Stop>,
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Cancelled (Ctrl-C).
    Cancelled,
    /// `--strict` and a bad record.
    Strict(RecordError),
    /// The dataset could not be read further (an I/O error).
    Unreadable(RecordError),
}

/// Chunks in flight per worker: read but not yet handed to the sink.
const CHUNKS_PER_WORKER: usize = 4;

/// Bad records kept verbatim for the report.
const INVALID_EXAMPLES: usize = 20;

enum Item {
    Invalid(RecordError),
    Scored {
        /// Whether this is the first sample of its record.
        new_record: bool,
        group: Option<String>,
        /// One entry per metric; `None` when its `when` filter excluded the
        /// sample.
        evals: Vec<Option<Evaluation>>,
        /// The sample, when the sink wants it (boxed: most runs carry none).
        sample: Option<Box<Sample>>,
    },
}

/// Runs `specs` over `records`, calling `sink` with every evaluation in
/// input order. `progress` is called after each chunk with the number of
/// records done.
pub fn run(
    specs: &[Arc<MetricSpec>],
    records: Records,
    opts: &RunOptions,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<RunTotals, RunError> {
    let jobs = opts.jobs.max(1);
    let keep_samples = sink.wants_samples();
    let chunk_size = specs
        .iter()
        .map(|s| s.limits.batch_size)
        .max()
        .unwrap_or(1)
        .max(CHUNK);
    let (chunk_tx, chunk_rx) = bounded::<(u64, Vec<Record>)>(jobs * 2);
    let (item_tx, item_rx) = bounded::<(u64, Vec<Item>)>(jobs * 2);
    let cancel = opts.cancel.clone();
    let stop_reading = Arc::new(AtomicBool::new(false));
    let remote_error: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

    let mut totals = RunTotals {
        records: 0,
        samples: 0,
        invalid_records: 0,
        invalid_examples: Vec::new(),
        overall: vec![Stats::default(); specs.len()],
        segments: BTreeMap::new(),
        stopped: None,
    };

    let thread = |error| RunError::Thread { error };
    std::thread::scope(|scope| -> Result<(), RunError> {
        // One token per chunk allowed in flight: the reader takes one before it
        // reads a chunk, this thread gives it back when the chunk reaches the
        // sink in order.
        let in_flight = jobs * CHUNKS_PER_WORKER;
        let (token_tx, token_rx) = bounded::<()>(in_flight);
        for _ in 0..in_flight {
            token_tx.send(()).expect("capacity for every token");
        }
        // Reader.
        {
            let cancel = cancel.clone();
            let stop_reading = stop_reading.clone();
            std::thread::Builder::new()
                .name("caliper-reader".into())
                .spawn_scoped(scope, move || {
                    let mut records = records;
                    let mut seq = 0;
                    loop {
                        if token_rx.recv().is_err()
                            || cancel.load(Ordering::Relaxed)
                            || stop_reading.load(Ordering::Relaxed)
                        {
                            break;
                        }
                        let chunk: Vec<Record> = records.by_ref().take(chunk_size).collect();
                        if chunk.is_empty() || chunk_tx.send((seq, chunk)).is_err() {
                            break;
                        }
                        seq += 1;
                    }
                })
                .map_err(thread)?;
        }
        // Workers.
        for w in 0..jobs {
            let chunk_rx = chunk_rx.clone();
            let item_tx = item_tx.clone();
            let group_by = opts.group_by.clone();
            let cancel = cancel.clone();
            let remote = opts.remote.clone();
            let remote_error = &remote_error;
            std::thread::Builder::new()
                .name(format!("caliper-worker-{w}"))
                .spawn_scoped(scope, move || {
                    let mut instances: Vec<MetricInstance> =
                        specs.iter().cloned().map(MetricInstance::new).collect();
                    for (seq, chunk) in chunk_rx {
                        // After a cancel, queued chunks are dropped unscored
                        // (nothing of a cancelled run is written).
                        if cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let scorer = match &remote {
                            Some(r) => Scorer::Remote(r.as_ref()),
                            None => Scorer::Local(&mut instances),
                        };
                        let items = match score_chunk(
                            scorer,
                            specs.len(),
                            chunk,
                            group_by.as_deref(),
                            keep_samples,
                        ) {
                            Ok(items) => items,
                            Err(e) => {
                                let mut first =
                                    remote_error.lock().unwrap_or_else(|p| p.into_inner());
                                first.get_or_insert(e);
                                cancel.store(true, Ordering::Relaxed);
                                break;
                            }
                        };
                        if item_tx.send((seq, items)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(thread)?;
        }
        drop(chunk_rx);
        drop(item_tx);

        // Reorder and aggregate on this thread.
        let mut pending: BTreeMap<u64, Vec<Item>> = BTreeMap::new();
        let mut next = 0;
        let mut sink_error = None;
        for (seq, items) in item_rx.iter() {
            pending.insert(seq, items);
            while let Some(items) = pending.remove(&next) {
                next += 1;
                // The reader may take another chunk. (Fails only when the
                // reader has finished; tokens never outnumber the capacity.)
                let _ = token_tx.try_send(());
                if totals.stopped.is_some() || sink_error.is_some() {
                    continue; // drain without recording
                }
                for item in items {
                    if let Err(e) = record_item(&mut totals, item, specs.len(), opts, sink) {
                        sink_error = Some(e);
                        cancel.store(true, Ordering::Relaxed);
                        break;
                    }
                    if totals.stopped.is_some() {
                        stop_reading.store(true, Ordering::Relaxed);
                        break;
                    }
                }
                progress(totals.records);
            }
        }
        // Workers are done; a reader still waiting for a token must stop.
        drop(token_tx);
        if let Some(e) = remote_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(RunError::Remote(e));
        }
        if totals.stopped.is_none() && cancel.load(Ordering::Relaxed) && sink_error.is_none() {
            totals.stopped = Some(Stop::Cancelled);
        }
        match sink_error {
            Some(error) => Err(RunError::Sink { error }),
            None => Ok(()),
        }
    })?;
    Ok(totals)
}

/// Who scores a worker's chunks.
enum Scorer<'a> {
    /// This worker's own instances.
    Local(&'a mut [MetricInstance]),
    /// A pool elsewhere.
    Remote(&'a dyn Remote),
}

fn score_chunk(
    scorer: Scorer<'_>,
    metrics: usize,
    chunk: Vec<Record>,
    group_by: Option<&str>,
    keep_samples: bool,
) -> Result<Vec<Item>, String> {
    let mut items = Vec::with_capacity(chunk.len());
    // (index into `items`, sample) for every sample of the chunk.
    let mut samples = Vec::with_capacity(chunk.len());
    for record in chunk {
        match record.samples {
            Err(e) => items.push(Item::Invalid(e)),
            Ok(expanded) => {
                for (n, sample) in expanded.into_iter().enumerate() {
                    let group = group_by.map(|key| {
                        sample
                            .metadata_text(key)
                            .unwrap_or_else(|| NO_SEGMENT.to_owned())
                    });
                    items.push(Item::Scored {
                        new_record: n == 0,
                        group,
                        evals: vec![None; metrics],
                        sample: None,
                    });
                    samples.push((items.len() - 1, sample));
                }
            }
        }
    }
    let instances = match scorer {
        Scorer::Local(instances) => instances,
        Scorer::Remote(remote) => {
            let refs: Vec<&Sample> = samples.iter().map(|(_, s)| s).collect();
            let scored = remote.score(&refs)?;
            if scored.len() != refs.len() || scored.iter().any(|e| e.len() != metrics) {
                return Err(format!(
                    "the workers answered {} samples for {} (each with one entry per metric)",
                    scored.len(),
                    refs.len()
                ));
            }
            for ((i, _), sample_evals) in samples.iter().zip(scored) {
                if let Item::Scored { evals, .. } = &mut items[*i] {
                    *evals = sample_evals;
                }
            }
            return Ok(finish(items, samples, keep_samples));
        }
    };
    // Prepared a window at a time (every metric reuses a window's
    // conversion), so the turns of a long conversation, each with its whole
    // history, are never all copied at once.
    for window in prepare_windows(samples.iter().map(|(_, s)| s), PREPARE_WINDOW_BYTES) {
        let prepared: Vec<PreparedSample> = samples[window.clone()]
            .iter()
            .map(|(_, s)| s.prepare())
            .collect();
        for (m, instance) in instances.iter_mut().enumerate() {
            let applicable: Vec<usize> = window
                .clone()
                .filter(|&i| instance.spec().when.matches(&samples[i].1))
                .collect();
            let batch_size = instance.spec().limits.batch_size.max(1);
            for batch in applicable.chunks(batch_size) {
                let refs: Vec<&PreparedSample> =
                    batch.iter().map(|&i| &prepared[i - window.start]).collect();
                for (&i, eval) in batch.iter().zip(instance.evaluate_batch(&refs)) {
                    if let Item::Scored { evals, .. } = &mut items[samples[i].0] {
                        evals[m] = Some(eval);
                    }
                }
            }
        }
    }
    Ok(finish(items, samples, keep_samples))
}

/// The chunk's items, with their samples when the sink wants them.
fn finish(mut items: Vec<Item>, samples: Vec<(usize, Sample)>, keep_samples: bool) -> Vec<Item> {
    if keep_samples {
        for (i, s) in samples {
            if let Item::Scored { sample, .. } = &mut items[i] {
                *sample = Some(Box::new(s));
            }
        }
    }
    items
}

fn record_item(
    totals: &mut RunTotals,
    item: Item,
    metrics: usize,
    opts: &RunOptions,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    match item {
        Item::Invalid(e) => {
            totals.records += 1;
            totals.invalid_records += 1;
            if !e.unreadable {
                tracing::warn!("skipping bad record: {e}");
            }
            if totals.invalid_examples.len() < INVALID_EXAMPLES {
                totals.invalid_examples.push(e.clone());
            }
            if e.unreadable {
                totals.stopped = Some(Stop::Unreadable(e));
            } else if opts.strict {
                totals.stopped = Some(Stop::Strict(e));
            }
        }
        Item::Scored {
            new_record,
            group,
            evals,
            sample,
        } => {
            if let Some(s) = &sample {
                sink.sample(s)?;
            }
            totals.samples += 1;
            totals.records += u64::from(new_record);
            let mut segment = group.map(|g| {
                totals
                    .segments
                    .entry(g)
                    .or_insert_with(|| vec![Stats::default(); metrics])
            });
            for (i, eval) in evals.iter().enumerate() {
                match eval {
                    Some(e) => {
                        sink.evaluation(e)?;
                        totals.overall[i].add(e);
                        if let Some(seg) = segment.as_deref_mut() {
                            seg[i].add(e);
                        }
                    }
                    None => {
                        totals.overall[i].add_filtered();
                        if let Some(seg) = segment.as_deref_mut() {
                            seg[i].add_filtered();
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The texts `caliper compare` shows for the samples of a dataset (read with
/// `mapping`); `group_by` names the metadata key whose value is each
/// sample's segment.
pub fn sample_texts(
    path: &Path,
    mapping: &InputMapping,
    group_by: Option<&str>,
) -> Result<HashMap<String, SampleText>, ReadError> {
    let mut out = HashMap::new();
    for record in dataset::open(path, mapping, None)? {
        for s in record.samples? {
            let segment = group_by.map(|key| {
                s.metadata_text(key)
                    .unwrap_or_else(|| NO_SEGMENT.to_owned())
            });
            out.insert(
                s.id.clone(),
                SampleText {
                    input: s.input.to_string(),
                    output: s.output,
                    segment,
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn good(line: u64) -> Record {
        Record {
            line,
            samples: Ok(vec![Sample {
                id: format!("s{line}"),
                ..Sample::default()
            }]),
        }
    }

    #[test]
    fn an_unreadable_source_stops_the_run_where_a_bad_record_does_not() {
        let bad = |unreadable| RecordError {
            path: PathBuf::from("data.jsonl"),
            line: 2,
            message: "broken".into(),
            unreadable,
        };
        let run_over = |error: RecordError| {
            let records = vec![
                good(1),
                Record {
                    line: 2,
                    samples: Err(error),
                },
                good(3),
                good(4),
            ];
            let opts = RunOptions {
                jobs: 1,
                ..RunOptions::default()
            };
            let mut sink = |_: &Evaluation| Ok(());
            run(
                &[],
                Box::new(records.into_iter()),
                &opts,
                &mut sink,
                &|_| {},
            )
            .unwrap()
        };
        let totals = run_over(bad(false));
        assert_eq!((totals.records, totals.invalid_records), (4, 1));
        assert_eq!(totals.stopped, None);

        let totals = run_over(bad(true));
        assert_eq!(totals.stopped, Some(Stop::Unreadable(bad(true))));
        assert_eq!((totals.records, totals.invalid_records), (2, 1));
    }
}
