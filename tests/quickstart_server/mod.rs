//! The quickstart's application (`routemeter_demo::quickstart`, which `examples/quickstart.rs`
//! serves), served on a free loopback port for the tests that need a running app.
#![allow(dead_code, unreachable_pub)]

pub use routemeter_demo::quickstart;

use std::net::SocketAddr;

use routemeter::prometheus::PrometheusMetrics;

/// A running quickstart server.
pub struct RunningApp {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningApp {
    /// Serves `quickstart::app(metrics)` on 127.0.0.1 with a free port.
    pub async fn start(metrics: &PrometheusMetrics) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(quickstart::serve(
            listener,
            quickstart::app(metrics),
            async {
                let _ = stopped.await;
            },
        ));
        Self { addr, stop, server }
    }

    /// `http://ADDR`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts down gracefully and checks the server ended without error.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}
