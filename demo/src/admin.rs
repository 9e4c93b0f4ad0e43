//! The admin-listener layout: the public application on one listener, `/metrics` on an admin
//! listener of its own (`examples/admin_listener.rs` serves it).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use routemeter::prometheus::PrometheusMetrics;
use tokio::net::TcpListener;

/// The public application: its routes and the routemeter layer, and no `/metrics`.
pub fn app(metrics: &PrometheusMetrics) -> Router {
    Router::new()
        .route("/", get(|| async { "routemeter admin-listener example\n" }))
        .route(
            "/users/{id}",
            get(|Path(id): Path<u64>| async move { format!("user {id}\n") }),
        )
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed\n") }),
        )
        .layer(metrics.layer())
}

/// The admin application: `/metrics`, and a liveness answer on `/` for load-balancer-free
/// health checks. Not measured by the layer.
pub fn admin(metrics: &PrometheusMetrics) -> Router {
    Router::new()
        .route("/", get(|| async { "ok\n" }))
        .route("/metrics", metrics.endpoint())
}

/// Serves [`app`] on `public` and [`admin`] on `admin_listener` until `shutdown` completes,
/// then lets in-flight requests on both finish.
pub async fn serve(
    public: TcpListener,
    admin_listener: TcpListener,
    metrics: &PrometheusMetrics,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let public = axum::serve(public, app(metrics)).with_graceful_shutdown(until_stopped());
    let admin = axum::serve(admin_listener, admin(metrics)).with_graceful_shutdown(until_stopped());
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
        Ok(())
    };
    tokio::try_join!(public.into_future(), admin.into_future(), signal)?;
    Ok(())
}
