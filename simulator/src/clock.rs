//! Simulator time.
//!
//! Every timestamp in an API object (`created`, `expires_at`, …) and every scheduled job (delayed
//! payment settlement, session expiry, webhook retries) reads this clock, never the wall clock, so
//! a test can move days ahead in microseconds. Two modes:
//!
//! * `System`: wall-clock time plus whatever the control API has advanced it by. Jobs fire on
//!   their own as real time passes (a background ticker runs them).
//! * `Manual`: frozen at its start time; it moves only when advanced, and advancing fires every
//!   job that falls due, in time order.
//!
//! Webhook *signatures* are the one exception: they use the wall clock of each delivery attempt,
//! because the receiving app checks them against its own wall clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Which way the simulator clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    System,
    Manual,
}

impl std::str::FromStr for ClockMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system" => Ok(ClockMode::System),
            "manual" => Ok(ClockMode::Manual),
            other => Err(format!(
                "unknown clock mode '{other}' (expected system or manual)"
            )),
        }
    }
}

/// The simulator clock: unix seconds.
#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    /// System mode: seconds added to the wall clock. Manual mode: the current time itself.
    value: AtomicI64,
}

impl Clock {
    /// A clock following the wall clock.
    pub fn system() -> Self {
        Clock {
            mode: ClockMode::System,
            value: AtomicI64::new(0),
        }
    }

    /// A clock frozen at `start` (unix seconds) until advanced.
    pub fn manual(start: i64) -> Self {
        Clock {
            mode: ClockMode::Manual,
            value: AtomicI64::new(start),
        }
    }

    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// What the clock holds: the offset from the wall clock (system mode) or the time itself
    /// (manual mode). A state file keeps it.
    pub fn raw(&self) -> i64 {
        self.value.load(Ordering::SeqCst)
    }

    /// A clock in `mode` that reads `now` at the moment it is made: a restarted simulator's
    /// time goes on from where the state file left it (the clock never goes back).
    pub fn resumed(mode: ClockMode, now: i64) -> Self {
        match mode {
            ClockMode::Manual => Clock::manual(now),
            ClockMode::System => {
                let clock = Clock::system();
                clock.advance((now - wall_clock_now()).max(0));
                clock
            }
        }
    }

    /// The current simulator time in unix seconds.
    pub fn now(&self) -> i64 {
        match self.mode {
            ClockMode::System => wall_clock_now() + self.value.load(Ordering::SeqCst),
            ClockMode::Manual => self.value.load(Ordering::SeqCst),
        }
    }

    /// Moves the clock forward. Callers run due jobs afterwards.
    pub fn advance(&self, seconds: i64) {
        self.value.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// Unix seconds from the machine's clock. Only the clock itself and webhook signing call this.
pub fn wall_clock_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The civil (UTC) date of unix seconds: (year, month 1–12, day 1–31), by Howard Hinnant's
/// days-from-civil algorithm run backwards.
pub fn civil_date(unix_seconds: i64) -> (i64, u32, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual(1_700_000_000);
        assert_eq!(clock.now(), 1_700_000_000);
        clock.advance(86_400);
        assert_eq!(clock.now(), 1_700_086_400);
    }

    #[test]
    fn civil_dates_come_out_of_unix_time() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_767_225_600), (2026, 1, 1));
        assert_eq!(civil_date(1_767_225_599), (2025, 12, 31));
    }

    #[test]
    fn system_clock_adds_advances_to_wall_time() {
        let clock = Clock::system();
        let before = wall_clock_now();
        clock.advance(3600);
        assert!(clock.now() >= before + 3600);
    }
}
