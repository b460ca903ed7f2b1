//! `caliper serve`: the live service with hot reload.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use caliper_serve::registry::Registry;
use caliper_serve::{self as serve, ServeOptions};
use clap::Args;

use crate::common::{Exit, Global, cache_override};

/// Serve the metrics of a config over HTTP, reloading them when files change
///
/// Routes:
///
///   POST /v1/evaluate   score samples now; guardrail verdict (allow/block)
///   POST /v1/ingest     queue production samples for background scoring
///   POST /v1/traces     OTLP/HTTP traces: LLM spans scored like /v1/ingest
///   GET  /v1/metrics    metrics, versions, digests, reload status
///   GET  /metrics       Prometheus text exposition
///   GET  /healthz       liveness;  GET /readyz: readiness
///
/// Request body of /v1/evaluate and /v1/ingest: {"sample": {...}} or
/// {"samples": [{...}, ...]}, each shaped like a dataset line (see [input]
/// in caliper.toml); /v1/evaluate also takes "metrics": ["name", ...] and
/// "deadline_ms".
///
/// Hot reload: when caliper.toml or a metric's .wasm changes (atomic rename
/// or a write that was closed), the metric is rebuilt and validated off the
/// request path, then swapped in; requests in flight finish on the old
/// version. A reload that fails keeps the old version serving and is shown
/// in /v1/metrics and in caliper_reloads_total{result="failed"}.
///
/// Limits: evaluations at once (serve.max_concurrency, per metric
/// serve.metric_concurrency), guest memory (serve.memory_budget_mib); a
/// request over a limit gets 503 naming it (caliper_shed_total{reason}).
/// Connections, header and body timeouts: serve.max_connections,
/// serve.header_timeout_ms, serve.body_timeout_ms.
///
/// Auth: with serve.auth_token_file or the environment variable
/// CALIPER_SERVE_TOKEN (which wins), every route but /healthz and /readyz
/// needs `Authorization: Bearer <token>`.
///
/// Prints `listening on http://ADDR` on stdout once it accepts requests.
/// SIGINT/SIGTERM: stop accepting, finish requests in flight (at most
/// serve.shutdown_timeout_ms), score the queued ingest samples (at most
/// serve.drain_timeout_ms), exit 0.
///
/// Examples:
///
///   caliper serve
///   caliper serve -c prod.toml --bind 0.0.0.0:7878
///   curl -s localhost:7878/v1/evaluate -d '{"sample": {"input": "Hallo", "output": "Hi"}}'
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ServeCommand {
    /// Config file.
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    config: PathBuf,
    /// Address to listen on [default: serve.bind in the config, else
    /// 127.0.0.1:7878]; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Do not watch files (no hot reload).
    #[arg(long)]
    no_watch: bool,
    /// Refuse any metric whose component differs from caliper.lock, at
    /// start and at every reload (a new version stays out until the lock
    /// file names it).
    #[arg(long)]
    locked: bool,
}

impl ServeCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let registry = Arc::new(Registry::open(
            &self.config,
            cache_override(global),
            self.locked,
            Arc::new(crate::common::component_source()),
        )?);
        let options = ServeOptions {
            bind: self.bind,
            watch: !self.no_watch,
            token_env: std::env::var(serve::TOKEN_ENV).ok(),
        };
        serve::run(registry, options, |addr| {
            tracing::info!(%addr, "listening");
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on http://{addr}");
            let _ = out.flush();
        })?;
        Ok(Exit::Success)
    }
}
