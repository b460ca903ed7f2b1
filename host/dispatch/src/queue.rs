//! The JetStream side both ends share: connecting, and the two streams and
//! the one consumer (created if missing, with the same settings from both
//! ends).
//!
//! - `jobs_stream`: work-queue retention (a job is deleted once acked),
//!   file storage, subjects `PREFIX.jobs.>`;
//! - `results_stream`: limits retention (`results_max_age_s`), file storage,
//!   subjects `PREFIX.results.>`; the dispatcher purges its run's results
//!   when it is done;
//! - `consumer`: the durable pull consumer on the jobs that every worker
//!   shares (work queues allow one per subject), explicit acks, `ack_wait_ms`,
//!   `max_ack_pending`, unlimited deliveries (a job that can never succeed is
//!   terminated by the worker, not retried).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use caliper_config::DispatchConfig;

use crate::DispatchError;

/// A connection and its JetStream context.
pub struct Connection {
    /// The JetStream API.
    pub js: jetstream::Context,
    /// The work-queue stream.
    pub jobs: stream::Stream,
    /// The results stream.
    pub results: stream::Stream,
    /// The client (for what the server says of itself).
    pub client: async_nats::Client,
    /// Notified on every reconnection: ephemeral consumers (the
    /// dispatcher's reader) are gone after a server restart.
    pub reconnected: Arc<tokio::sync::Notify>,
}

impl Connection {
    /// The largest message the server takes, in bytes (`None` before the
    /// server has said).
    pub fn max_payload(&self) -> Option<usize> {
        Some(self.client.server_info().max_payload).filter(|&m| m > 0)
    }
}

fn js_error(what: &str) -> impl Fn(String) -> DispatchError + '_ {
    move |message| DispatchError::JetStream {
        what: what.to_owned(),
        message,
    }
}

/// Connects to `url` and makes sure both streams exist.
pub async fn connect(url: &str, settings: &DispatchConfig) -> Result<Connection, DispatchError> {
    let reconnected = Arc::new(tokio::sync::Notify::new());
    let notify = reconnected.clone();
    let client = async_nats::ConnectOptions::new()
        .name("caliper")
        .event_callback(move |event| {
            let notify = notify.clone();
            async move {
                match event {
                    async_nats::Event::Connected => notify.notify_one(),
                    async_nats::Event::Disconnected => {
                        tracing::warn!("disconnected from NATS; reconnecting")
                    }
                    _ => {}
                }
            }
        })
        // Survive a server restart: reconnect for ever, requests time out
        // and are retried by the callers.
        .retry_on_initial_connect()
        .max_reconnects(None)
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(url);
    let client = tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .map_err(|_| DispatchError::Connect {
            url: url.to_owned(),
            message: "no answer within 10 s".into(),
        })?
        .map_err(|e| DispatchError::Connect {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    let js = jetstream::new(client.clone());
    let prefix = &settings.subject_prefix;
    let jobs = js
        .get_or_create_stream(stream::Config {
            name: settings.jobs_stream.clone(),
            subjects: vec![format!("{prefix}.jobs.>")],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| js_error(&format!("stream {}", settings.jobs_stream))(e.to_string()))?;
    let results = js
        .get_or_create_stream(stream::Config {
            name: settings.results_stream.clone(),
            subjects: vec![format!("{prefix}.results.>")],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(settings.results_max_age_s),
            ..Default::default()
        })
        .await
        .map_err(|e| js_error(&format!("stream {}", settings.results_stream))(e.to_string()))?;
    Ok(Connection {
        js,
        jobs,
        results,
        client,
        reconnected,
    })
}

/// The workers' shared pull consumer.
pub async fn workers_consumer(
    conn: &Connection,
    settings: &DispatchConfig,
) -> Result<consumer::PullConsumer, DispatchError> {
    conn.jobs
        .get_or_create_consumer(
            &settings.consumer,
            consumer::pull::Config {
                durable_name: Some(settings.consumer.clone()),
                filter_subject: format!("{}.jobs.>", settings.subject_prefix),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_millis(settings.ack_wait_ms),
                max_ack_pending: settings.max_ack_pending,
                max_deliver: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| js_error(&format!("consumer {}", settings.consumer))(e.to_string()))
}
