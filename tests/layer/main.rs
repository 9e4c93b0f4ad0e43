//! The layer in process, through the public API: route labels (`routes`), how requests end
//! (`outcomes`), recorders kept apart and layers on layers (`isolation`), and the naming
//! schemes (`naming`).

#[path = "../common/mod.rs"]
mod common;

mod isolation;
mod naming;
mod outcomes;
mod routes;
