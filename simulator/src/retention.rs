//! Bounded memory: how long events and delivery records are kept, and how many objects the
//! simulator stores before it refuses new writes.
//!
//! Stripe lists events for 30 days; so does the simulator by default, in simulator time, and it
//! keeps at most a set number of events and of delivery records, evicting the oldest first. An
//! evicted event answers 404 like any unknown id; the delivery log counts what it dropped. Two
//! things are never evicted, whatever the limits: an event with a delivery still to make, and a
//! delivery record that is not finished (held, pending or in flight). Everything else Stripe
//! keeps for ever (payments, customers, …) stays too; `max_objects` bounds those by refusing new
//! writes with a clear error instead of growing until the machine swaps.
//!
//! Eviction runs before each operation and looks only at the oldest event and record, so it
//! costs nothing while nothing is due.

use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// Stripe lists events for 30 days.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Events kept at most, and delivery records kept at most, by default: about 100–250 MiB of
/// events for a payment-heavy history, enough for days of development and a long test run.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// How long an endpoint may fail every delivery before it is disabled by default: three days of
/// simulator time, as long as Stripe's live retries last.
pub const DEFAULT_DISABLE_ENDPOINT_AFTER: i64 = 3 * 24 * 3600;

/// The limits of one simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events and delivery records older than this many days of simulator time are dropped
    /// (`None`: kept for ever).
    pub days: Option<u32>,
    /// At most this many events, and at most this many delivery records (`None`: no limit).
    pub max_records: Option<usize>,
    /// Past this many stored objects (customers, products, prices, links, sessions, payments,
    /// charges, refunds, endpoints; events and delivery records have their own limit), new writes
    /// are refused (`None`: no limit).
    pub max_objects: Option<usize>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            days: Some(DEFAULT_RETENTION_DAYS),
            max_records: Some(DEFAULT_MAX_RECORDS),
            max_objects: None,
        }
    }
}

impl Retention {
    /// Keeps everything: the simulator as it was before limits existed.
    pub fn unlimited() -> Self {
        Retention {
            days: None,
            max_records: None,
            max_objects: None,
        }
    }
}

/// `3 days`, `2 h 30 min`, `45 s`: for messages.
pub fn describe_seconds(seconds: i64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let minutes = rest / 60;
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} day{}", if days == 1 { "" } else { "s" }));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 && days == 0 {
        parts.push(format!("{minutes} min"));
    }
    if parts.is_empty() {
        parts.push(format!("{seconds} s"));
    }
    parts.join(" ")
}

impl Store {
    /// Drops what retention says is too old or too many: expired idempotency keys, then the
    /// oldest events and delivery records while they are past the limits and finished with.
    pub fn enforce_retention(&mut self, now: i64) {
        self.idempotency.expire(now);
        let limits = self.config.retention;
        let cutoff = limits.days.map(|d| now - i64::from(d) * 86_400);
        let too_old = |created: i64| cutoff.is_some_and(|c| created < c);
        let max = limits.max_records.unwrap_or(usize::MAX);
        while let Some(event) = self.events.oldest() {
            let due = self.events.len() > max || too_old(event.created);
            let delivered = self
                .deliveries
                .of_event(&event.id)
                .all(|r| r.status.is_final());
            if !due || !delivered {
                break;
            }
            self.events.evict_oldest();
            self.events_dropped += 1;
        }
        loop {
            let over = self.deliveries.len() > max;
            if !self
                .deliveries
                .evict_oldest_if(|r| over || too_old(r.created))
            {
                break;
            }
        }
    }

    /// Stored objects that count against `max_objects`: everything but events and delivery
    /// records.
    pub fn object_count(&self) -> usize {
        crate::persist::object_count(self)
    }

    /// Refuses a new write once the store holds `max_objects`.
    pub fn admit_write(&self) -> ApiResult<()> {
        match self.config.retention.max_objects {
            Some(max) if self.object_count() >= max => Err(ApiError::store_full(max)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(describe_seconds(3 * 86_400), "3 days");
        assert_eq!(describe_seconds(86_400 + 7200), "1 day 2 h");
        assert_eq!(describe_seconds(9000), "2 h 30 min");
        assert_eq!(describe_seconds(45), "45 s");
    }
}
