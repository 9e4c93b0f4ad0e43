//! Where request durations get their time: the system's monotonic clock, or, for tests that
//! pause time, tokio's clock.
//!
//! A layer reads its clock twice per request: when the request enters and when it ends. The
//! default reads `std::time::Instant::now()` directly (one predictable branch on top of it);
//! the tokio clock is opt-in, through [`TestMeter::with_tokio_clock`](crate::testing::TestMeter::with_tokio_clock).

use std::time::{Duration, Instant};

/// A source of instants: a `Copy` value kept beside a layer's settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Clock {
    /// The system's monotonic clock.
    #[default]
    Std,
    /// Tokio's clock (`tokio::time::Instant::now()`), which stands still while the runtime's
    /// time is paused and jumps as paused time advances. Outside a runtime, or without
    /// tokio's `test-util` feature, it is the system clock.
    #[cfg(feature = "testing")]
    Tokio,
}

impl Clock {
    /// The current instant.
    #[inline]
    pub(crate) fn now(self) -> Instant {
        match self {
            Self::Std => Instant::now(),
            #[cfg(feature = "testing")]
            Self::Tokio => tokio::time::Instant::now().into_std(),
        }
    }

    /// The time from `start` (an instant of this clock) until now.
    #[inline]
    pub(crate) fn since(self, start: Instant) -> Duration {
        self.now().saturating_duration_since(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_system_clock() {
        let clock = Clock::default();
        assert_eq!(clock, Clock::Std);
        let start = clock.now();
        assert!(clock.since(start) < Duration::from_secs(60));
    }

    #[cfg(feature = "testing")]
    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let clock = Clock::Tokio;
        let start = clock.now();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(clock.since(start), Duration::from_millis(50));
    }
}
