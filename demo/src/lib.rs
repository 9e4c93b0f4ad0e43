//! The applications routemeter's examples serve, as functions: `examples/quickstart.rs` and
//! `examples/admin_listener.rs` start them on a port, and the tests that need a running app start
//! the very same routers on a free loopback port.

pub mod admin;
pub mod quickstart;
