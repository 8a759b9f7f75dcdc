//! When failed deliveries are retried, in simulator time.
//!
//! Stripe publishes only the shape: "three times over the course of a few hours" in test mode,
//! "up to three days with an exponential back off" in live mode. The exact delays are ours to
//! choose, so both presets are listed here and any list can be configured instead.

/// Delays (seconds of simulator time) before each retry; the number of entries is the number of
/// retries after the first attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub delays: Vec<i64>,
}

impl RetryPolicy {
    /// Test mode (the default): 3 retries, after 5 minutes, 30 minutes and 2 hours (2 h 35 min in
    /// all).
    pub fn test_mode() -> Self {
        RetryPolicy {
            delays: vec![5 * 60, 30 * 60, 2 * 3600],
        }
    }

    /// Live mode: 9 retries backing off from 1 minute to 1 day, about 2.9 days in all.
    pub fn live_mode() -> Self {
        RetryPolicy {
            delays: vec![
                60,
                5 * 60,
                30 * 60,
                3600,
                3 * 3600,
                6 * 3600,
                12 * 3600,
                24 * 3600,
                24 * 3600,
            ],
        }
    }

    /// The delay before retry number `retry` (1-based), or `None` when retries are exhausted.
    pub fn delay_before_retry(&self, retry: usize) -> Option<i64> {
        retry
            .checked_sub(1)
            .and_then(|i| self.delays.get(i))
            .copied()
    }

    /// `test`, `live`, or a comma-separated list of seconds (`60,300,3600`).
    pub fn parse(text: &str) -> Result<RetryPolicy, String> {
        match text.trim() {
            "test" => Ok(RetryPolicy::test_mode()),
            "live" => Ok(RetryPolicy::live_mode()),
            "" | "none" => Ok(RetryPolicy { delays: Vec::new() }),
            list => list
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|d| *d >= 0)
                        .ok_or_else(|| format!("invalid retry delay '{s}': expected seconds"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|delays| RetryPolicy { delays }),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::test_mode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_mode_retries_three_times_within_a_few_hours() {
        let policy = RetryPolicy::test_mode();
        assert_eq!(policy.delays.len(), 3);
        let total: i64 = policy.delays.iter().sum();
        assert!(total > 3600 && total < 6 * 3600, "{total}");
        assert_eq!(policy.delay_before_retry(1), Some(300));
        assert_eq!(policy.delay_before_retry(4), None);
    }

    #[test]
    fn live_mode_backs_off_for_up_to_three_days() {
        let policy = RetryPolicy::live_mode();
        let total: i64 = policy.delays.iter().sum();
        assert!(total > 2 * 86_400 && total <= 3 * 86_400, "{total}");
        assert!(policy.delays.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn custom_schedules_parse_from_text() {
        assert_eq!(RetryPolicy::parse("1,2, 3").unwrap().delays, vec![1, 2, 3]);
        assert!(RetryPolicy::parse("1,x").is_err());
        assert_eq!(
            RetryPolicy::parse("live").unwrap(),
            RetryPolicy::live_mode()
        );
    }
}
