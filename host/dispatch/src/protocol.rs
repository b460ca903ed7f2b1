//! What travels between `caliper run --dispatch` and the workers: subjects,
//! message ids and payloads, and the lock that says which metrics a job
//! needs. Pure data; no connection.

use caliper_engine::metric::MetricSpec;
use caliper_types::digest::digest_of;
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;
use serde::{Deserialize, Serialize};

/// Header naming the lock a job needs ([`lock_digest`]).
pub const LOCK_HEADER: &str = "Caliper-Lock";
/// JetStream's de-duplication header.
pub const MSG_ID: &str = "Nats-Msg-Id";

/// The subject of a run's jobs.
pub fn job_subject(prefix: &str, run: &str) -> String {
    format!("{prefix}.jobs.{run}")
}

/// The subject of a run's results.
pub fn result_subject(prefix: &str, run: &str) -> String {
    format!("{prefix}.results.{run}")
}

/// A job's message id (`index`: its first sample's): publishing it again
/// (a retry after a lost ack) is stored once.
pub fn job_id(run: &str, index: u64) -> String {
    format!("{run}.{index}")
}

/// A result's message id, from (run, the job's first sample, the metrics'
/// digests): a redelivered job scored again by another worker publishes the
/// same id, and the stream keeps one.
pub fn result_id(run: &str, index: u64, lock: &str) -> String {
    let lock = lock.trim_start_matches("sha256:");
    format!("{run}.{index}.{}", &lock[..lock.len().min(16)])
}

/// One metric as a job needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedMetric {
    /// The instance name.
    pub name: String,
    /// `sha256:…` of its component.
    pub digest: String,
    /// Its config, as JSON text.
    pub config: String,
    /// Its `when` filter, as JSON.
    pub when: String,
}

/// The metrics of `specs`, in order, as a lock.
pub fn lock(specs: &[std::sync::Arc<MetricSpec>]) -> Vec<LockedMetric> {
    specs
        .iter()
        .map(|s| LockedMetric {
            name: s.name.clone(),
            digest: s.plugin.digest.clone(),
            config: s.config.clone(),
            when: serde_json::to_string(&s.when).unwrap_or_default(),
        })
        .collect()
}

/// `sha256:…` of a lock: what a job's [`LOCK_HEADER`] carries and a worker
/// compares with its own.
pub fn lock_digest(lock: &[LockedMetric]) -> String {
    digest_of(&serde_json::to_vec(lock).unwrap_or_default())
}

/// A job: consecutive samples of a run (one chunk of the runner, cut to
/// fit the server's `max_payload`), scored and acked together.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The run's id.
    pub run: String,
    /// The position in the run of the first sample.
    pub index: u64,
    /// The samples.
    pub samples: Vec<Sample>,
}

/// What a worker answers for a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResult {
    /// The job's index (its first sample's position in the run).
    pub index: u64,
    /// The worker that scored it.
    pub worker: String,
    /// Per sample of the job, per metric in lock order: the evaluation, or
    /// `None` where `when` leaves the sample out.
    #[serde(default)]
    pub evaluations: Vec<Vec<Option<Evaluation>>>,
    /// Why the worker will not score it (a lock it does not have).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_name_their_parts() {
        assert_eq!(job_subject("caliper", "r1"), "caliper.jobs.r1");
        assert_eq!(result_subject("caliper", "r1"), "caliper.results.r1");
        assert_eq!(job_id("r1", 7), "r1.7");
        assert_eq!(
            result_id("r1", 7, "sha256:0123456789abcdef0123"),
            "r1.7.0123456789abcdef"
        );
        let a = vec![LockedMetric {
            name: "m".into(),
            digest: "sha256:aa".into(),
            config: "{}".into(),
            when: "{}".into(),
        }];
        let mut b = a.clone();
        assert_eq!(lock_digest(&a), lock_digest(&b));
        b[0].config = "{\"max\":3}".into();
        assert_ne!(lock_digest(&a), lock_digest(&b));
    }
}
