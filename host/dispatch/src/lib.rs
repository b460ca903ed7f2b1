//! # caliper-dispatch: runs scored by a pool of workers over NATS JetStream
//!
//! Owns the distributed path: the streams and the consumer ([`queue`]),
//! what a job and a result are ([`protocol`]), the worker that scores jobs
//! ([`worker`]), the dispatcher that publishes a run's samples and
//! collects their results ([`dispatcher`], a [`caliper_run::runner::Remote`],
//! so a dispatched run reads, orders, aggregates and reports exactly as a
//! local one), and the live queue through which `caliper serve` hands its
//! ingested traffic to the pool ([`live`]).
//!
//! Guarantees: at-least-once delivery (a job is acked only after its result
//! is stored; a worker that dies leaves its jobs to be redelivered after
//! `ack_wait_ms`), idempotent results (a job is up to 16 consecutive
//! samples; a result's message id is derived from the run, the job's first
//! sample and the metrics' digests, so a job scored twice is stored once,
//! and the dispatcher keeps the first answer per job), and
//! no job scored with other metrics than the run's (a lock digest travels
//! with every job; a worker with another lock refuses it and the run fails,
//! naming both). Not guaranteed: ordering between workers (the dispatcher
//! restores input order), or progress without a worker (the run fails after
//! `stall_timeout_ms` without a result).
//!
//! It never reads a dataset or a config, and never writes a report: the
//! CLI hands it the loaded metrics and the `[dispatch]` settings.

pub mod dispatcher;
pub mod live;
pub mod protocol;
pub mod queue;
pub mod worker;

/// Why dispatching or working could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The NATS server could not be reached.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        /// The server's URL.
        url: String,
        /// The client's error.
        message: String,
    },
    /// A stream or the consumer could not be created or read.
    #[error("JetStream {what}: {message}")]
    JetStream {
        /// What was asked.
        what: String,
        /// The server's or client's error.
        message: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the NATS runtime: {0}")]
    Runtime(std::io::Error),
}
