//! The Prometheus recorder behind real servers and real clients: exact counts under concurrent
//! scrapes (`exact_recording`), the live page in a browser (`live_page`), process and runtime
//! metrics (`process_metrics`), the request logs (`request_logs`), labels from the request
//! (`request_labels`), buckets of a route's own (`route_buckets`), status classes
//! (`status_classes`), and a real Prometheus scraping the quickstart (`real_prometheus`, which
//! installs the global recorder). The request matrix over
//! HTTP/1.1 and h2c, which needs WebSocket and compression crates, is
//! `integrations/tests/real_server.rs`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../quickstart_server/mod.rs"]
mod quickstart_server;

mod exact_recording;
mod live_page;
mod process_metrics;
mod real_prometheus;
mod request_labels;
mod request_logs;
mod route_buckets;
mod status_classes;
