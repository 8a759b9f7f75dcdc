//! Injected time.
//!
//! Signature freshness and order timestamps both depend on "now". Taking it from a [`Clock`]
//! instead of the wall clock lets tests and an embedding harness pin or move time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The machine's wall clock: what a deployed app uses, and what Stripe signs against.
    #[default]
    System,
    /// A clock that only moves when told to (milliseconds since the epoch), shared by clones.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock frozen at `unix_secs`.
    pub fn manual(unix_secs: i64) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(unix_secs.saturating_mul(1000))))
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Clock::Manual(millis) => millis.load(Ordering::SeqCst),
        }
    }

    /// Seconds since the Unix epoch (the unit of Stripe's signature timestamps).
    pub fn now_secs(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    /// Moves a manual clock forward; the system clock cannot be moved and ignores this.
    pub fn advance_secs(&self, secs: i64) {
        if let Clock::Manual(millis) = self {
            millis.fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
        }
    }
}

/// Formats milliseconds since the epoch as RFC 3339 UTC, e.g. `2023-11-14T22:13:20.000Z`.
pub fn rfc3339(unix_millis: i64) -> String {
    let secs = unix_millis.div_euclid(1000);
    let millis = unix_millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm), so the
/// crate needs no date library for one timestamp format.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual(1_700_000_000);
        assert_eq!(clock.now_secs(), 1_700_000_000);
        clock.clone().advance_secs(301);
        assert_eq!(clock.now_secs(), 1_700_000_301);
    }
}
