//! The layer and the Prometheus recorder behind real servers and real clients: the request
//! matrix over HTTP/1.1 and h2c (`real_server`), exact counts under concurrent scrapes
//! (`exact_recording`), the live page in a browser (`live_page`), and process and runtime
//! metrics (`process_metrics`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../quickstart_server/mod.rs"]
mod quickstart_server;

mod exact_recording;
mod live_page;
mod process_metrics;
mod real_server;
