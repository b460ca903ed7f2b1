//! `caliper serve`: the live service. Scores requests (`/v1/evaluate`, a
//! guardrail), scores production traffic in the background (`/v1/ingest`),
//! exports Prometheus metrics, and hot-reloads metrics when their files or
//! `caliper.toml` change.
//!
//! Threads: a tokio runtime for HTTP; wasm evaluations on tokio's blocking
//! pool (request path) and on ingest worker threads; one watcher thread that
//! rebuilds changed metrics off the request path and swaps them in
//! ([`crate::registry`]).

mod api;
pub mod ingest;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::registry::Registry;
use crate::watch::FileWatcher;
pub use api::AppState;
use ingest::IngestQueue;
use telemetry::Telemetry;

/// How `caliper serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind (overrides `serve.bind`).
    pub bind: Option<SocketAddr>,
    /// Watch files and hot-reload (default on).
    pub watch: bool,
}

/// Runs the service until SIGINT/SIGTERM, then drains in-flight requests and
/// the ingest queue. `on_listening` is called with the bound address (the
/// CLI prints it, which is how tests find a port chosen by the OS).
pub fn run(
    registry: Arc<Registry>,
    options: ServeOptions,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let snapshot = registry.snapshot();
    let serve = snapshot.config.serve.clone();
    let bind: SocketAddr = match options.bind {
        Some(addr) => addr,
        None => serve
            .bind
            .parse()
            .with_context(|| format!("serve.bind = {:?} is not an address", serve.bind))?,
    };
    let telemetry = Arc::new(Telemetry::new());
    telemetry.record_initial(&snapshot);
    let workers = serve
        .ingest_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let ingest = IngestQueue::start(
        registry.clone(),
        telemetry.clone(),
        serve.queue_capacity,
        workers,
    )?;
    let state = Arc::new(AppState {
        registry: registry.clone(),
        telemetry: telemetry.clone(),
        ingest: ingest.clone(),
        ready: AtomicBool::new(true),
        ingest_requests: Default::default(),
    });

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = if options.watch {
        // Watching starts before the listener, so no change after
        // "listening" can be missed.
        let mut watcher = FileWatcher::new().context("cannot watch files for hot reload")?;
        watcher.set_files(registry.watched_files());
        let (registry, telemetry, stop) = (registry.clone(), telemetry.clone(), stop.clone());
        let debounce = Duration::from_millis(serve.reload_debounce_ms);
        Some(
            std::thread::Builder::new()
                .name("caliper-watch".into())
                .spawn(move || watch_and_reload(watcher, &registry, &telemetry, debounce, &stop))?,
        )
    } else {
        None
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("caliper-http")
        .build()?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        on_listening(listener.local_addr()?);
        let app = api::router(state.clone(), serve.max_body_bytes);
        let shutdown_state = state.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                shutdown_state.ready.store(false, Ordering::SeqCst);
                tracing::info!("shutting down: finishing requests in flight");
            })
            .await
            .context("HTTP server failed")
    });
    state.ready.store(false, Ordering::SeqCst);
    let queued = ingest.depth();
    tracing::info!(queued, "draining the ingest queue");
    ingest.drain();
    let count = |result: &str| telemetry.ingest.with_label_values(&[result]).get();
    tracing::info!(
        accepted = count("accepted"),
        scored = count("scored"),
        rejected = count("rejected"),
        sampled_out = count("sampled_out"),
        "ingest queue drained"
    );
    stop.store(true, Ordering::SeqCst);
    if let Some(w) = watcher {
        let _ = w.join();
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    tracing::info!("stopped");
    result
}

/// The watcher thread: waits for changes to the config or a metric file and
/// reloads what changed.
fn watch_and_reload(
    mut watcher: FileWatcher,
    registry: &Registry,
    telemetry: &Telemetry,
    debounce: Duration,
    stop: &AtomicBool,
) {
    loop {
        let Some(changed) = watcher.wait(debounce, &|| stop.load(Ordering::SeqCst)) else {
            return;
        };
        let events = registry.reload(&changed);
        telemetry.record_reloads(&events);
        // The config may now name other files.
        watcher.set_files(registry.watched_files());
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
