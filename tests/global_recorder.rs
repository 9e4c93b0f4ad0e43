//! The global recorder: a layer built before it exists reports once it is installed, a second
//! install is an error, not a panic, and the installed handle's layers and layers on the global
//! recorder are layers into one recorder (a request through both is counted once). One test,
//! because the global recorder is per process.

mod common;

use axum::Router;
use axum::routing::get;
use common::get as get_status;
use routemeter::prometheus::{PrometheusBuilder, PrometheusError};

#[tokio::test]
async fn layers_follow_the_global_recorder_and_install_fails_cleanly() {
    let early = routemeter::RouteMeterLayer::new();
    let app = Router::new()
        .route("/early/{id}", get(|| async { "x" }))
        .layer(early.clone());
    // No recorder yet: recorded into the facade's no-op recorder.
    assert_eq!(get_status(&app, "/early/1").await, 200);

    let metrics = routemeter::prometheus::install().expect("first install succeeds");
    let again = PrometheusBuilder::new().install().unwrap_err();
    assert!(
        matches!(again, PrometheusError::GlobalRecorderInstalled),
        "{again:?}"
    );
    assert!(again.to_string().contains("already installed"));
    assert!(matches!(
        routemeter::prometheus::install(),
        Err(PrometheusError::GlobalRecorderInstalled)
    ));

    assert_eq!(get_status(&app, "/early/2").await, 200);
    assert_eq!(get_status(&app, "/early/3").await, 200);
    // A second layer built the same way, in the same process, records too.
    let late = Router::new()
        .route("/late", get(|| async { "y" }))
        .layer(routemeter::RouteMeterLayer::new());
    assert_eq!(get_status(&late, "/late").await, 200);

    let text = metrics.render();
    assert!(
        text.contains("http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/early/{id}\",http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"1.1\"} 2"),
        "{text}"
    );
    assert!(text.contains("http_route=\"/late\""), "{text}");
    assert!(
        text.contains("# HELP http_server_request_duration_seconds"),
        "{text}"
    );
    // The installed handle's layer holds the recorder itself; with a layer on the global
    // recorder around it or inside it, each request is still counted once.
    let inner_global = Router::new()
        .route("/both/inner", get(|| async { "z" }))
        .layer(routemeter::RouteMeterLayer::new())
        .layer(metrics.layer());
    let outer_global = Router::new()
        .route("/both/outer", get(|| async { "z" }))
        .layer(metrics.layer())
        .layer(routemeter::RouteMeterLayer::new());
    for _ in 0..3 {
        assert_eq!(get_status(&inner_global, "/both/inner").await, 200);
        assert_eq!(get_status(&outer_global, "/both/outer").await, 200);
    }
    let text = metrics.render();
    for route in ["/both/inner", "/both/outer"] {
        let count = format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",http_route=\"{route}\",http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"1.1\"}} 3\n"
        );
        assert!(text.contains(&count), "{count} in {text}");
    }

    // The facade's macros report to the same recorder.
    metrics::counter!("app_events_total").increment(1);
    assert!(metrics.render().contains("app_events_total 1"));
}
