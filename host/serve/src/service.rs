//! [`run`]: binds, serves and shuts down the live service, in the order the
//! crate documentation describes; and the bearer token it requires.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::admission::Budget;
use crate::admission::MachineDefaults;
use crate::api::{AppState, AuthToken};
use crate::ingest::{IngestQueue, QueueBounds};
use crate::registry::Registry;
use crate::telemetry::Telemetry;
use crate::watch::FileWatcher;
use caliper_config::ServeConfig;

/// The environment variable that holds the bearer token (it overrides
/// `serve.auth_token_file`).
pub const TOKEN_ENV: &str = "CALIPER_SERVE_TOKEN";

/// Largest token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `serve.bind` is not a socket address.
    #[error("serve.bind = {value:?} is not an address: {error}")]
    Bind {
        /// The configured value.
        value: String,
        /// Why it does not parse.
        error: std::net::AddrParseError,
    },
    /// The bearer token file is unusable.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Files cannot be watched for hot reload.
    #[error("cannot watch files for hot reload: {error}")]
    Watch {
        /// The watcher's error.
        error: notify::Error,
    },
    /// A thread or the async runtime could not be started.
    #[error("cannot start {what}: {error}")]
    Start {
        /// What was being started.
        what: &'static str,
        /// The OS error.
        error: std::io::Error,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
}

/// Why `serve.auth_token_file` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("serve.auth_token_file = {}: {why}", path.display())]
pub struct TokenError {
    /// The configured file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub why: String,
}

/// How `caliper serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind (overrides `serve.bind`).
    pub bind: Option<SocketAddr>,
    /// Watch files and hot-reload (default on).
    pub watch: bool,
    /// The value of [`TOKEN_ENV`], if set.
    pub token_env: Option<String>,
}

/// The bearer token in force: `env` (the value of [`TOKEN_ENV`]) if set and
/// not empty, else the content of `serve.auth_token_file` (trimmed; a
/// regular file of at most 4 KiB, not empty), else none.
pub fn auth_token(serve: &ServeConfig, env: Option<&str>) -> Result<Option<String>, TokenError> {
    if let Some(token) = env.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(Some(token.to_owned()));
    }
    let Some(path) = &serve.auth_token_file else {
        return Ok(None);
    };
    let token = read_token_file(path).map_err(|why| TokenError {
        path: path.clone(),
        why,
    })?;
    Ok(Some(token))
}

/// The token in `path`, or what is wrong with the file.
fn read_token_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        return Err(format!("larger than {MAX_TOKEN_FILE_BYTES} bytes"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the auth token file can be read by other users; chmod 600 it"
            );
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(token.to_owned())
}

/// Runs the service until SIGINT/SIGTERM, then drains in-flight requests and
/// the ingest queue. `on_listening` is called with the bound address (the
/// CLI prints it, which is how tests find a port chosen by the OS).
pub fn run(
    registry: Arc<Registry>,
    options: ServeOptions,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let snapshot = registry.snapshot();
    let serve = snapshot.config().serve.clone();
    let bind: SocketAddr = match options.bind {
        Some(addr) => addr,
        None => serve.bind.parse().map_err(|error| ServeError::Bind {
            value: serve.bind.clone(),
            error,
        })?,
    };
    let token = auth_token(&serve, options.token_env.as_deref())?;
    if token.is_none() && !bind.ip().is_loopback() {
        tracing::warn!(
            %bind,
            "listening on a non-loopback address without auth: anyone who can reach it can \
             score samples and read /metrics; set serve.auth_token_file or {TOKEN_ENV}"
        );
    }
    let concurrency = Budget::new(serve.concurrency() as u64);
    let memory = Budget::new(serve.memory_budget());
    for m in snapshot.serving() {
        if m.spec.limits.memory_mib > memory.capacity() {
            tracing::warn!(
                metric = %m.spec.name,
                "memory_mib = {} exceeds serve.memory_budget_mib = {}: each evaluation takes \
                 the whole budget",
                m.spec.limits.memory_mib,
                memory.capacity()
            );
        }
    }
    tracing::info!(
        max_concurrency = concurrency.capacity(),
        metric_concurrency = serve.per_metric_concurrency(),
        memory_budget_mib = memory.capacity(),
        max_connections = serve.max_connections,
        auth = token.is_some(),
        "limits"
    );
    let telemetry = Arc::new(Telemetry::new());
    telemetry.record_initial(&snapshot);
    let workers = serve
        .ingest_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let exporter = match &serve.otlp_endpoint {
        None => None,
        Some(endpoint) => {
            tracing::info!(
                endpoint,
                "evaluations of spans go to the OTLP endpoint as events"
            );
            Some(Arc::new(
                crate::otlp_export::Exporter::start(
                    endpoint,
                    &serve.otlp_service_name,
                    telemetry.otlp_events.clone(),
                )
                .map_err(|error| ServeError::Start {
                    what: "the OTLP exporter",
                    error,
                })?,
            ))
        }
    };
    let live = match (&config_dispatch(&snapshot), exporter.clone()) {
        (Some(dispatch), exporter) => {
            let url = dispatch.nats.clone().unwrap_or_default();
            let telemetry = telemetry.clone();
            let on_result: Arc<caliper_dispatch::live::OnResult> = Arc::new(
                move |evaluations: Vec<caliper_types::outcome::Evaluation>| {
                    for e in &evaluations {
                        telemetry.record(e, "ingest");
                    }
                    telemetry.ingest.with_label_values(&["scored"]).inc();
                    if let Some(x) = &exporter {
                        x.offer_by_id(&evaluations);
                    }
                },
            );
            Some(Arc::new(
                caliper_dispatch::live::LiveQueue::start(&url, dispatch, on_result).map_err(
                    |e| ServeError::Start {
                        what: "the dispatch queue",
                        error: std::io::Error::other(e.to_string()),
                    },
                )?,
            ))
        }
        (None, _) => None,
    };
    let ingest = IngestQueue::start(
        registry.clone(),
        telemetry.clone(),
        memory.clone(),
        QueueBounds {
            capacity: serve.queue_capacity,
            max_bytes: serve.queue_max_bytes,
            workers,
        },
        exporter,
        live,
    )
    .map_err(|error| ServeError::Start {
        what: "the ingest workers",
        error,
    })?;
    let state = Arc::new(AppState {
        registry: registry.clone(),
        telemetry: telemetry.clone(),
        ingest: ingest.clone(),
        ready: AtomicBool::new(true),
        ingest_requests: Default::default(),
        concurrency: concurrency.clone(),
        memory,
        auth: token.as_deref().map(AuthToken::new),
        body_timeout: Duration::from_millis(serve.body_timeout_ms),
    });

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = if options.watch {
        // Watching starts before the listener, so no change after
        // "listening" can be missed.
        let mut watcher = FileWatcher::new().map_err(|error| ServeError::Watch { error })?;
        watcher.set_files(registry.watched_files());
        let (registry, telemetry, stop) = (registry.clone(), telemetry.clone(), stop.clone());
        let debounce = Duration::from_millis(serve.reload_debounce_ms);
        Some(
            std::thread::Builder::new()
                .name("caliper-watch".into())
                .spawn(move || watch_and_reload(watcher, &registry, &telemetry, debounce, &stop))
                .map_err(|error| ServeError::Start {
                    what: "the watcher thread",
                    error,
                })?,
        )
    } else {
        None
    };

    // Blocking threads are only spawned for admitted evaluations, so the
    // pool never needs more than the concurrency bound (plus a few for
    // whatever else tokio runs there).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("caliper-http")
        .max_blocking_threads(serve.concurrency() + 4)
        .thread_keep_alive(Duration::from_secs(2))
        .build()
        .map_err(|error| ServeError::Start {
            what: "the async runtime",
            error,
        })?;
    let result = runtime.block_on(async {
        let listen = |error| ServeError::Listen { addr: bind, error };
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(listen)?;
        on_listening(listener.local_addr().map_err(listen)?);
        let app = crate::api::router(state.clone(), serve.max_body_bytes);
        let sweeper = tokio::spawn(sweep_idle(
            registry.clone(),
            Duration::from_millis(serve.idle_instance_timeout_ms),
        ));
        let shutdown_state = state.clone();
        crate::http::serve(
            listener,
            app,
            crate::http::Settings {
                max_connections: serve.max_connections,
                header_timeout: Duration::from_millis(serve.header_timeout_ms),
                shutdown_timeout: Duration::from_millis(serve.shutdown_timeout_ms),
            },
            telemetry.clone(),
            async move {
                shutdown_signal().await;
                shutdown_state.ready.store(false, Ordering::SeqCst);
                tracing::info!("shutting down: finishing requests in flight");
            },
        )
        .await;
        sweeper.abort();
        Ok(())
    });
    state.ready.store(false, Ordering::SeqCst);
    // Evaluation threads still running (their requests gave up waiting, or
    // shutdown cut them off) end within a tick of their request's deadline;
    // the runtime must outlive them, as guests wait on its timers.
    let threads_deadline =
        Instant::now() + Duration::from_millis(serve.request_timeout_ms) + Duration::from_secs(1);
    if !concurrency.wait_idle(threads_deadline) {
        tracing::warn!(
            running = concurrency.in_use(),
            "evaluation threads still running past their deadline; stopping anyway"
        );
    }
    let queued = ingest.depth();
    tracing::info!(queued, "draining the ingest queue");
    let drained = ingest.drain(Instant::now() + Duration::from_millis(serve.drain_timeout_ms));
    let count = |result: &str| telemetry.ingest.with_label_values(&[result]).get();
    if !drained {
        tracing::warn!(
            dropped = count("dropped"),
            "the ingest drain hit serve.drain_timeout_ms = {}; samples left were dropped",
            serve.drain_timeout_ms
        );
    }
    tracing::info!(
        accepted = count("accepted"),
        scored = count("scored"),
        rejected = count("rejected"),
        sampled_out = count("sampled_out"),
        dropped = count("dropped"),
        "ingest queue drained"
    );
    stop.store(true, Ordering::SeqCst);
    if let Some(w) = watcher {
        let _ = w.join();
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!("stopped");
    result
}

/// Drops idle instances past their timeout, in every serving metric.
async fn sweep_idle(registry: Arc<Registry>, timeout: Duration) {
    let period = (timeout / 2).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let snapshot = registry.snapshot();
        let metrics: Vec<_> = snapshot.serving().cloned().collect();
        // Dropping a store unmaps its memory: off the async threads.
        let _ = tokio::task::spawn_blocking(move || {
            for m in metrics {
                m.trim_idle();
            }
        })
        .await;
    }
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
        // New metrics and versions get their counters at 0.
        telemetry.declare(&registry.snapshot());
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

/// `[dispatch]`, when live traffic goes to the worker pool.
fn config_dispatch(
    snapshot: &crate::registry::Snapshot,
) -> Option<&caliper_config::DispatchConfig> {
    let dispatch = &snapshot.config().dispatch;
    dispatch.ingest.then_some(dispatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_environment_first_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  from-file\n").unwrap();
        let mut serve = ServeConfig::default();
        assert_eq!(auth_token(&serve, None).unwrap(), None);
        serve.auth_token_file = Some(file.clone());
        assert_eq!(
            auth_token(&serve, None).unwrap().as_deref(),
            Some("from-file")
        );
        assert_eq!(
            auth_token(&serve, Some("env")).unwrap().as_deref(),
            Some("env")
        );
        // An empty variable does not count.
        assert_eq!(
            auth_token(&serve, Some(" ")).unwrap().as_deref(),
            Some("from-file")
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(
            auth_token(&serve, None)
                .unwrap_err()
                .to_string()
                .contains("auth_token_file")
        );
        serve.auth_token_file = Some(dir.path().to_owned());
        assert!(auth_token(&serve, None).is_err());
    }
}
