//! Where request durations get their time: the system's monotonic clock, or, for tests that
//! pause time, tokio's clock.
//!
//! A layer reads its clock twice per request: when the request enters and when it ends. Each
//! reading is a [`Stamp`], a plain count of nanoseconds, so the duration is one subtraction.
//! On Linux and Android the system clock is read with `clock_gettime(CLOCK_MONOTONIC)`, the
//! call and the clock `std::time::Instant` uses there, through `nix`; that saves the checked
//! normalisation of seconds and nanoseconds `Instant`'s subtraction does (about 55
//! instructions per request). Elsewhere the reading is an `Instant`'s distance from a fixed
//! one. The test kit's layers read tokio's clock instead (see
//! [`TestMeter`](crate::testing::TestMeter)).

use std::time::{Duration, Instant};

/// One reading of a [`Clock`]: nanoseconds on that clock's scale. Only the difference of two
/// readings of the same clock means anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

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
    /// The current instant (for the test kit's snapshots; requests are timed with stamps).
    #[cfg(feature = "testing")]
    pub(crate) fn now(self) -> Instant {
        match self {
            Self::Std => Instant::now(),
            #[cfg(feature = "testing")]
            Self::Tokio => tokio::time::Instant::now().into_std(),
        }
    }

    /// The current reading, if the clock can be read.
    #[inline]
    fn read(self) -> Option<u64> {
        match self {
            Self::Std => monotonic_nanos(),
            #[cfg(feature = "testing")]
            Self::Tokio => Some(nanos_since_base(tokio::time::Instant::now().into_std())),
        }
    }

    /// The current reading. Should the clock fail to be read, the reading is one no later
    /// reading is after, so the duration it starts is 0 rather than a number from nowhere.
    #[inline]
    pub(crate) fn stamp(self) -> Stamp {
        Stamp(self.read().unwrap_or(u64::MAX))
    }

    /// The nanoseconds from `start` (a reading of this clock) until now; 0 if the clock went
    /// backwards or cannot be read.
    #[inline]
    pub(crate) fn nanos_since(self, start: Stamp) -> u64 {
        self.read().map_or(0, |now| now.saturating_sub(start.0))
    }
}

/// Seconds in a count of nanoseconds, rounded once.
#[inline]
pub(crate) fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// The time in a count of nanoseconds.
pub(crate) fn duration(nanos: u64) -> Duration {
    Duration::from_nanos(nanos)
}

/// `CLOCK_MONOTONIC` in nanoseconds (about 584 years before it wraps). Reading it fails only
/// for a clock the kernel does not have, and every Linux that runs `Instant` has this one.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn monotonic_nanos() -> Option<u64> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).ok()?;
    // A monotonic clock's seconds and nanoseconds are never negative.
    Some(
        (now.tv_sec() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(now.tv_nsec() as u64),
    )
}

/// The system's monotonic clock as nanoseconds on a fixed scale.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
fn monotonic_nanos() -> Option<u64> {
    Some(nanos_since_base(Instant::now()))
}

/// `at` as nanoseconds on a scale fixed once per process: the first reading is 2^63, and
/// instants on either side of it keep their distances (292 years each way).
///
/// A paused tokio clock starts when its runtime is built, often before the first reading, so
/// instants before it are readings too; an `Instant` cannot always be moved before it (on
/// Windows it counts from boot), so the scale is centred on it instead.
#[cfg_attr(
    all(
        any(target_os = "linux", target_os = "android"),
        not(feature = "testing")
    ),
    allow(dead_code)
)]
fn nanos_since_base(at: Instant) -> u64 {
    const MIDDLE: u64 = 1 << 63;
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    match at.checked_duration_since(base) {
        Some(after) => MIDDLE.saturating_add(nanos(after)),
        None => MIDDLE.saturating_sub(nanos(base.duration_since(at))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_system_clock() {
        let clock = Clock::default();
        assert_eq!(clock, Clock::Std);
        // Nested spans: the stamps' span lies within the outer `Instant` span and contains
        // the inner one, so on the same clock its length lies between theirs.
        let outer = Instant::now();
        let start = clock.stamp();
        let inner = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        let inner = inner.elapsed();
        let measured = duration(clock.nanos_since(start));
        let outer = outer.elapsed();
        assert!(
            inner <= measured && measured <= outer,
            "{inner:?} {measured:?} {outer:?}"
        );
        assert!(inner >= Duration::from_millis(5));
        assert!(clock.nanos_since(clock.stamp()) < 60_000_000_000);
    }

    #[test]
    fn a_stamp_counts_from_the_monotonic_clock() {
        let (a, b) = (Clock::Std.stamp(), Clock::Std.stamp());
        assert!(b >= a);
        assert_eq!(Clock::Std.nanos_since(Stamp(u64::MAX)), 0);
    }

    #[test]
    fn seconds_are_rounded_once() {
        assert_eq!(seconds(5_000_000), 0.005);
        assert_eq!(seconds(2_500_000_000), 2.5);
        assert_eq!(seconds(1_100_000_000), 1.1);
        assert_eq!(seconds(0), 0.0);
    }

    /// Two instants before the fixed one keep their distance. Where an `Instant` cannot reach
    /// back before the machine booted (Windows counts from boot), the fixed instant cannot lie
    /// days before the first reading, and a paused tokio clock, which starts when its runtime
    /// is built, reads instants before it: those must not all become the same reading.
    #[test]
    fn instants_before_the_fixed_one_keep_their_distance() {
        let Some(early) = Instant::now().checked_sub(Duration::from_secs(3 << 20)) else {
            return;
        };
        let later = early + Duration::from_millis(50);
        let (a, b) = (nanos_since_base(early), nanos_since_base(later));
        assert_eq!(b.saturating_sub(a), 50_000_000, "{a} {b}");
        // And across the fixed instant: a reading before it and one after it.
        let now = Instant::now();
        let span = now.duration_since(early);
        let across = nanos_since_base(now).saturating_sub(nanos_since_base(early));
        assert_eq!(u128::from(across), span.as_nanos());
    }

    #[cfg(feature = "testing")]
    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let clock = Clock::Tokio;
        let start = clock.stamp();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(clock.nanos_since(start), 50_000_000);
    }
}
