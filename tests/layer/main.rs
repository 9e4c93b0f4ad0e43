//! The layer in process, through the public API: route labels (`routes`), how requests end
//! (`outcomes`), recorders kept apart and layers on layers (`isolation`), the naming
//! schemes (`naming`), and request labels at the edges (`request_labels`).

#[path = "../common/mod.rs"]
mod common;

mod isolation;
mod naming;
mod outcomes;
mod request_labels;
mod routes;
