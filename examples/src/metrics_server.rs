//! `--serve-metrics ADDR`: serves a Prometheus scrape body at `GET /metrics` over plain
//! HTTP (metrics hold no secrets). The body comes from `talos_rollout::metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

/// Binds `addr` and serves `body()` at `/metrics` until the process exits; returns the
/// address bound (useful with port 0) after announcing it on stderr.
///
/// # Errors
/// When `addr` cannot be bound (in use, or not an address of this machine).
pub async fn serve(
    addr: SocketAddr,
    body: impl Fn() -> String + Send + Sync + 'static,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for --serve-metrics; choose a free address and port")
    })?;
    let bound = listener.local_addr()?;
    let body = Arc::new(body);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let body = Arc::clone(&body);
            async move {
                (
                    [(CONTENT_TYPE, talos_rollout::metrics::CONTENT_TYPE)],
                    body(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
    eprintln!("serving metrics on http://{bound}/metrics");
    Ok(bound)
}
