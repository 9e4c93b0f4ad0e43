//! Where a request's series are: a layer's shared state ([`meter`]) and the reference each
//! request carries to it ([`meter_ref`]), the series registered with each recorder
//! ([`table`]), one (route, method)'s handles ([`series`]), registering them with a recorder
//! ([`registrar`]), the switches the request path reads ([`recording`]), and the lock-free
//! structures they live in ([`route_index`], [`arena`]).

pub(crate) mod arena;
pub(crate) mod located;
pub(crate) mod meter;
pub(crate) mod meter_ref;
pub(crate) mod recording;
pub(crate) mod registrar;
pub(crate) mod request_label;
pub(crate) mod route_index;
pub(crate) mod series;
pub(crate) mod table;
