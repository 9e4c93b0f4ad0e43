//! The W3C trace context of a request, for exemplars.
//!
//! When exemplars are on, the layer reads the trace id from the request's `traceparent` header
//! and makes it the *current* trace id of the thread while it records the request's duration.
//! A recorder that keeps exemplars (this crate's Prometheus recorder does) reads it from there:
//! the `metrics` facade has no way to pass it along with the value.

use std::cell::Cell;

/// A W3C trace id: 16 bytes, never all zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TraceId([u8; 16]);

impl std::fmt::Debug for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl TraceId {
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The id as 32 lowercase hex digits.
    #[cfg(any(test, feature = "prometheus"))]
    pub(crate) fn hex(self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        out
    }

    /// The trace id of a `traceparent` header value
    /// (`{version}-{trace-id}-{parent-id}-{flags}`), or `None` when it is not a valid one.
    ///
    /// Follows the W3C Trace Context rules: version `ff` is invalid; version `00` has exactly
    /// four fields; later versions may append fields after a `-`; ids are lowercase hex and not
    /// all zero.
    pub(crate) fn from_traceparent(value: &[u8]) -> Option<Self> {
        if value.len() < 55 {
            return None;
        }
        let version = hex_byte(&value[0..2])?;
        if version == 0xff || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        if version == 0 && value.len() != 55 {
            return None;
        }
        if value.len() > 55 && value[55] != b'-' {
            return None;
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = hex_byte(&value[3 + 2 * i..5 + 2 * i])?;
        }
        let mut parent_zero = true;
        for i in 0..8 {
            parent_zero &= hex_byte(&value[36 + 2 * i..38 + 2 * i])? == 0;
        }
        hex_byte(&value[53..55])?;
        (id != [0; 16] && !parent_zero).then_some(Self(id))
    }

    /// The trace id of a request's `traceparent` header, if it has a valid one for a sampled
    /// trace.
    #[inline]
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        if headers.is_empty() {
            return None;
        }
        Self::from_header_map(headers)
    }

    fn from_header_map(headers: &http::HeaderMap) -> Option<Self> {
        // A name made once: looking up by `&str` would parse and check it on every request.
        static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
        let value = headers.get(&TRACEPARENT)?.as_bytes();
        let id = Self::from_traceparent(value)?;
        // Only a sampled trace (flag bit 0) is kept by tracing back ends: an exemplar pointing
        // at any other would lead nowhere.
        let flags = hex_byte(&value[53..55])?;
        (flags & 1 == 1).then_some(id)
    }
}

/// An optional trace id in 16 bytes: a valid trace id is never all zeros, so zeros stand for
/// none (an `Option<TraceId>` would take 17, and a request's record has no byte to spare).
#[derive(Clone, Copy, Default)]
pub(crate) struct MaybeTraceId([u8; 16]);

impl MaybeTraceId {
    #[inline]
    pub(crate) fn new(id: Option<TraceId>) -> Self {
        Self(id.map_or([0; 16], |id| id.0))
    }

    #[inline]
    pub(crate) fn get(self) -> Option<TraceId> {
        (self.0 != [0; 16]).then_some(TraceId(self.0))
    }
}

/// Two lowercase hex digits.
fn hex_byte(two: &[u8]) -> Option<u8> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    Some(digit(two[0])? << 4 | digit(two[1])?)
}

thread_local! {
    static CURRENT: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// Whether any thread has set a current trace id yet: until then a histogram reads no
/// thread-local to learn there is none.
static EVER_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `f` with `id` as the thread's current trace id.
pub(crate) fn with_current<T>(id: TraceId, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<TraceId>);
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    // Set before the thread-local, on the same thread that then reads it: that thread's
    // reads see both.
    if !EVER_SET.load(std::sync::atomic::Ordering::Relaxed) {
        EVER_SET.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let _reset = Reset(CURRENT.with(|c| c.replace(Some(id))));
    f()
}

/// The thread's current trace id: set while a layer records a request that carried one.
#[cfg(any(test, feature = "prometheus"))]
#[inline]
pub(crate) fn current() -> Option<TraceId> {
    if !EVER_SET.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    CURRENT.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_the_spec_example() {
        let id = TraceId::from_traceparent(VALID.as_bytes()).unwrap();
        assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(&id.hex(), b"4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn rejects_invalid_values() {
        let bad = [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ];
        for b in bad {
            assert_eq!(TraceId::from_traceparent(b.as_bytes()), None, "{b}");
        }
        // A later version may carry more fields.
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-beef";
        assert!(TraceId::from_traceparent(future.as_bytes()).is_some());
    }

    /// Any byte string: never a panic, and whatever parses prints back as it was written.
    #[test]
    fn any_input_is_safe() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"0123456789abcdefABCDEF-x\xff ";
        for _ in 0..200_000 {
            let mut v = VALID.as_bytes().to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % (v.len() + 1);
                match next() % 3 {
                    0 if at < v.len() => v[at] = alphabet[(next() as usize) % alphabet.len()],
                    1 => v.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                    _ if at < v.len() => {
                        v.remove(at);
                    }
                    _ => {}
                }
            }
            if let Some(id) = TraceId::from_traceparent(&v) {
                assert_eq!(&v[3..35], &id.hex());
            }
        }
    }

    #[test]
    fn only_sampled_traces_give_an_exemplar() {
        let headers = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("traceparent", http::HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(TraceId::from_headers(&headers(VALID)).is_some());
        let unsampled = VALID.replace("-01", "-00");
        assert!(TraceId::from_traceparent(unsampled.as_bytes()).is_some());
        assert_eq!(TraceId::from_headers(&headers(&unsampled)), None);
        assert_eq!(TraceId::from_headers(&http::HeaderMap::new()), None);
    }

    #[test]
    fn current_is_scoped() {
        let id = TraceId::from_bytes([1; 16]);
        assert_eq!(current(), None);
        with_current(id, || assert_eq!(current(), Some(id)));
        assert_eq!(current(), None);
    }
}
