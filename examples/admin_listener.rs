//! The public application on one port, `/metrics` on an admin port of its own: the layout for
//! production, where the admin port is reachable by Prometheus but not from the internet.
//!
//! Run it with:
//!
//! ```sh
//! cargo run --example admin_listener
//! ```
//!
//! The application listens on `127.0.0.1:3000` (`ROUTEMETER_ADDR`), the admin listener on
//! `127.0.0.1:9464` (`ROUTEMETER_ADMIN_ADDR`); `127.0.0.1:0` picks a free port. The first two
//! lines of standard output are `listening on http://ADDR` and `admin on http://ADDR`. Then:
//!
//! ```sh
//! curl localhost:3000/users/42         # the application
//! curl -i localhost:3000/metrics       # 404: not served to the public
//! curl localhost:9464/metrics          # the admin listener
//! ```
//!
//! Bind the admin address to an interface that only the monitoring network reaches (a private
//! address, a pod IP behind a NetworkPolicy), never to the load balancer's. Requests to the
//! admin listener are not measured: scrapes do not show up as traffic of the application.
//!
//! `ROUTEMETER_REGION`, when set, becomes a `region` label on every series
//! (`PrometheusSetup::global_label`), for fleets whose Prometheus scrapes several regions.
//!
//! Ctrl-C or SIGTERM stops both listeners after in-flight requests finish.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use routemeter::prometheus::{PrometheusMetrics, PrometheusSetup};
use tokio::net::TcpListener;

/// The quickstart's graceful-shutdown signal (Ctrl-C or SIGTERM), shared with it.
#[allow(dead_code)]
mod quickstart;

/// The public application: its routes and the routemeter layer, and no `/metrics`.
pub(crate) fn app(metrics: &PrometheusMetrics) -> Router {
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
pub(crate) fn admin(metrics: &PrometheusMetrics) -> Router {
    Router::new()
        .route("/", get(|| async { "ok\n" }))
        .route("/metrics", metrics.endpoint())
}

/// Serves [`app`] on `public` and [`admin`] on `admin_listener` until `shutdown` completes,
/// then lets in-flight requests on both finish.
pub(crate) async fn serve(
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

/// A socket address from the environment variable `name`, or `default`.
fn addr(name: &str, default: &str) -> Result<SocketAddr, String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .parse()
        .map_err(|e| format!("{name} is not a socket address: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let public_addr = addr("ROUTEMETER_ADDR", "127.0.0.1:3000")?;
    let admin_addr = addr("ROUTEMETER_ADMIN_ADDR", "127.0.0.1:9464")?;
    let mut setup = PrometheusSetup::new();
    if let Ok(region) = std::env::var("ROUTEMETER_REGION") {
        setup = setup.global_label("region", region)?;
    }
    let metrics = setup.install()?;
    let public = TcpListener::bind(public_addr).await?;
    let admin_listener = TcpListener::bind(admin_addr).await?;
    println!("listening on http://{}", public.local_addr()?);
    println!("admin on http://{}", admin_listener.local_addr()?);
    serve(
        public,
        admin_listener,
        &metrics,
        quickstart::shutdown_signal(),
    )
    .await?;
    println!("shut down");
    Ok(())
}
