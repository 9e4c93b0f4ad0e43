//! The exposition formats and the endpoint that serves them: the text formats, Prometheus text
//! 0.0.4 and OpenMetrics 1.0 (`text`), the protobuf format (`protobuf`), the choice among
//! them by a scrape's `Accept` header (`accept`), the render that concurrent scrapes share
//! (`scrape`), the buffers a scrape's text is written into and given back from once sent
//! (`recycle`), and the `/metrics` endpoint with its content types (`endpoint`). Both the text
//! render (`text_render`) and the protobuf one take the store's one walk
//! ([`Store::walk`](super::store::Store::walk)).

pub(super) mod accept;
pub(super) mod endpoint;
pub(super) mod protobuf;
pub(super) mod recycle;
pub(super) mod scrape;
pub(super) mod text;
pub(super) mod text_render;

pub use endpoint::{CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE};
