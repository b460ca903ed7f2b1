//! The connection layer of `caliper serve`: hyper's HTTP/1 server under a
//! connection limit, a header-read timeout (a client that sends half a
//! header and waits — slowloris — is disconnected), and a graceful shutdown
//! with a deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::admission::Bound;
use crate::telemetry::Telemetry;

/// What the connection layer enforces.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Most open connections.
    pub max_connections: usize,
    /// Time to send a request's headers.
    pub header_timeout: Duration,
    /// Time requests in flight get once shutdown begins.
    pub shutdown_timeout: Duration,
}

/// The answer to a connection over the limit.
fn too_many_connections() -> Vec<u8> {
    let body = r#"{"error":{"code":"overloaded","bound":"connections","message":"too many open connections (serve.max_connections); retry later"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, asks every connection to finish its request in flight and
/// close, and waits for them up to `settings.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: Settings,
    telemetry: Arc<Telemetry>,
    shutdown: impl Future<Output = ()>,
) {
    let limit = settings.max_connections.clamp(1, 1 << 20);
    let slots = Arc::new(Semaphore::new(limit));
    let (closing_tx, closing_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            telemetry.shed(Bound::Connections);
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut closing = closing_rx.clone();
        let telemetry = telemetry.clone();
        telemetry.connections.inc();
        tokio::spawn(async move {
            let _permit = permit;
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(settings.header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let closing = async move {
                let _ = closing.wait_for(|c| *c).await;
            };
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = closing => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            telemetry.connections.dec();
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let all = u32::try_from(limit).unwrap_or(u32::MAX);
    match tokio::time::timeout(settings.shutdown_timeout, slots.acquire_many(all)).await {
        Ok(_) => {}
        Err(_) => tracing::warn!(
            open = limit - slots.available_permits(),
            "connections still open after serve.shutdown_timeout_ms = {} ms; closing them",
            settings.shutdown_timeout.as_millis()
        ),
    }
}

/// Answers a connection over the limit with 503 (best effort) and closes it.
async fn refuse(stream: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let mut stream = stream;
    let _ = tokio::time::timeout(Duration::from_millis(100), async {
        let _ = stream.write_all(&too_many_connections()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
