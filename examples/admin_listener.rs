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
//! (`PrometheusBuilder::constant_label`), for fleets whose Prometheus scrapes several regions.
//!
//! Ctrl-C or SIGTERM stops both listeners after in-flight requests finish.
//!
//! The two routers are `demo/src/admin.rs`: the fleet test serves the same ones.

use std::net::SocketAddr;

use routemeter::prometheus::PrometheusBuilder;
use routemeter_demo::admin::serve;
use routemeter_demo::quickstart::shutdown_signal;
use tokio::net::TcpListener;

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
    let mut setup = PrometheusBuilder::new();
    if let Ok(region) = std::env::var("ROUTEMETER_REGION") {
        setup = setup.constant_label("region", region)?;
    }
    let metrics = setup.install()?;
    let public = TcpListener::bind(public_addr).await?;
    let admin_listener = TcpListener::bind(admin_addr).await?;
    println!("listening on http://{}", public.local_addr()?);
    println!("admin on http://{}", admin_listener.local_addr()?);
    serve(public, admin_listener, &metrics, shutdown_signal()).await?;
    println!("shut down");
    Ok(())
}
