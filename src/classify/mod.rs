//! What a request's outcome was, in four parts: its method slot (`method`), its transport
//! (`protocol`: scheme and protocol version), why it failed (`error_type`) and how it ended
//! (`outcome`, the key of its per-outcome series).

mod error_type;
mod method;
mod outcome;
mod protocol;

pub use error_type::ErrorType;
pub(crate) use error_type::service_error_type;
pub(crate) use method::KnownMethods;
pub use method::{DEFAULT_KNOWN_METHODS, MAX_KNOWN_METHODS, OTHER_METHOD};
pub(crate) use outcome::Outcome;
#[cfg(any(feature = "prometheus", feature = "testing"))]
pub(crate) use outcome::label_class;
pub use protocol::UrlScheme;
pub(crate) use protocol::{ProtocolVersion, protocol_version, url_scheme};
