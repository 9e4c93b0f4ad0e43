//! What routemeter's heavy integrations share: the gRPC example's server, which its tests start
//! too, and the instruments of the benchmarks and the load tests (a counting allocator, a
//! request driver, a counting OpenTelemetry exporter).
//!
//! Its documentation is also where the examples of routemeter's documentation that need heavy
//! crates compile as doc tests (see `doctests.md`). The crate's own test
//! `every_ignored_example_runs_elsewhere` keeps them identical to the copies in
//! `docs/recorded.md` and the guide.
#![doc = include_str!("../doctests.md")]

pub mod counting_alloc;
pub mod drive;
pub mod grpc;
pub mod otel_counting;
