//! gRPC: which requests are gRPC calls, which method they name, and the status they ended with.
//!
//! Every gRPC call is an HTTP/2 `POST` answered with HTTP 200; its outcome travels in the
//! `grpc-status` trailer (or in the head, for a trailers-only response). With gRPC support on
//! ([`RouteMeterBuilder::grpc`](crate::RouteMeterBuilder::grpc)), requests whose
//! `content-type` is `application/grpc` (or `application/grpc+proto`, `…;charset`) are
//! recorded as calls, in the metric families of the OpenTelemetry RPC conventions, with the
//! status read from the response. Nothing here depends on a gRPC framework: the layer only
//! reads headers and trailers.

mod call;
mod code;
mod deadline;
mod method;

pub(crate) use call::{GrpcCall, is_grpc};
pub use code::GrpcCode;
pub(crate) use deadline::timeout;
pub(crate) use method::GrpcMethods;
#[cfg(feature = "prometheus")]
pub(crate) use method::is_method_name;
pub use method::{MAX_RPC_METHOD_LEN, OTHER_RPC_METHOD};
