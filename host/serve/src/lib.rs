//! # caliper-serve: the live service behind `caliper serve`
//!
//! Scores requests (`/v1/evaluate`, a
//! guardrail), scores production traffic in the background (`/v1/ingest`),
//! exports Prometheus metrics, and hot-reloads metrics when their files or
//! `caliper.toml` change.
//!
//! Threads: a tokio runtime for HTTP; wasm evaluations on tokio's blocking
//! pool (request path; bounded by `serve.max_concurrency`, which
//! [`admission`] enforces before anything is spawned) and on ingest worker
//! threads; one watcher thread that rebuilds changed metrics off the
//! request path and swaps them in ([`crate::registry`]); a sweeper task
//! that drops idle instances after `serve.idle_instance_timeout_ms`.
//!
//! Connections (`http.rs`): at most `serve.max_connections` (more are
//! answered 503 and closed), headers within `serve.header_timeout_ms`,
//! bodies within `serve.body_timeout_ms`.
//!
//! Shutdown (SIGINT/SIGTERM): stop accepting, let requests in flight finish
//! (at most `serve.shutdown_timeout_ms`), wait for every evaluation thread
//! (each ends within a tick of its request's deadline) so that no guest
//! outlives the runtime, drain the ingest queue (at most
//! `serve.drain_timeout_ms`), then stop. A deadline that is hit is logged.
//!
//! Modules: [`registry`] (the hot-reloaded metric set), [`watch`] (the file
//! watcher, also behind `caliper run --watch`), [`admission`], [`ingest`],
//! [`telemetry`] (Prometheus), [`alerts`] (Prometheus alert rules for the
//! configured metrics) and the HTTP layer. It never loads a component itself
//! (that is `caliper-engine`) and never parses `caliper.toml` itself (that is
//! `caliper-config`).

pub mod admission;
pub mod alerts;
mod api;
mod http;
pub mod ingest;
pub mod otlp_export;
pub mod registry;
mod service;
pub mod telemetry;
pub mod watch;

pub use api::{AppState, AuthToken, public_text};
pub use service::{ServeOptions, TOKEN_ENV, auth_token, run};
