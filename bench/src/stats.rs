//! Medians, spreads and percentiles: every figure in the table is the median of several runs,
//! shown with how far the runs strayed from it.

use std::time::Duration;

/// Several runs of one measurement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Runs {
    values: Vec<f64>,
}

impl Runs {
    pub fn new(mut values: Vec<f64>) -> Runs {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        Runs { values }
    }

    /// The middle run (the mean of the two middle ones for an even count); 0 when empty.
    pub fn median(&self) -> f64 {
        let n = self.values.len();
        match n {
            0 => 0.0,
            _ if n % 2 == 1 => self.values[n / 2],
            _ => (self.values[n / 2 - 1] + self.values[n / 2]) / 2.0,
        }
    }

    /// The smallest and the largest run.
    pub fn range(&self) -> (f64, f64) {
        (
            self.values.first().copied().unwrap_or(0.0),
            self.values.last().copied().unwrap_or(0.0),
        )
    }

    /// The largest distance of any run from the median, as a fraction of the median.
    pub fn spread(&self) -> f64 {
        let median = self.median();
        if median == 0.0 {
            return 0.0;
        }
        self.values
            .iter()
            .map(|v| ((v - median) / median).abs())
            .fold(0.0, f64::max)
    }
}

/// The `p`-th percentile (0..=100) of latencies, nearest-rank on a sorted copy.
pub fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    latencies.sort_unstable();
    let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
    latencies[rank.clamp(1, latencies.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Runs::new(vec![3.0, 1.0, 2.0]).median(), 2.0);
        assert_eq!(Runs::new(vec![4.0, 1.0, 2.0, 3.0]).median(), 2.5);
        assert_eq!(Runs::new(vec![]).median(), 0.0);
    }

    #[test]
    fn spread_is_the_worst_run_relative_to_the_median() {
        let runs = Runs::new(vec![90.0, 100.0, 120.0]);
        assert!((runs.spread() - 0.2).abs() < 1e-9);
        assert_eq!(Runs::new(vec![5.0]).spread(), 0.0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut l: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut l, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&mut l, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&mut l, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&mut [], 99.0), Duration::ZERO);
    }
}
