//! Throughput of property-based histories against the embedded reference target: cases per
//! second and steps per second. Run with `cargo bench -p stripe-harness`; the aim is 200 cases of
//! 20 steps per second on 2 cores.

use std::time::Instant;

use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::TargetChoice;

fn main() {
    let cases: u32 = std::env::var("BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    for concurrency in [1, 2, 4] {
        let config = PropConfig {
            cases,
            seed: 424242,
            max_steps: 20,
            concurrency,
            out: std::env::temp_dir().join("stripe-harness-bench"),
            ..PropConfig::default()
        };
        let started = Instant::now();
        let outcome = match run_prop(&TargetChoice::Reference(None), &config) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("bench could not start: {e}");
                std::process::exit(1);
            }
        };
        let secs = started.elapsed().as_secs_f64();
        if let Some(found) = &outcome.found {
            eprintln!(
                "unexpected failure against the reference target: {:?}",
                found.result.failure
            );
            std::process::exit(1);
        }
        println!(
            "prop_throughput concurrency={concurrency}: {} cases (up to 20 steps) in {secs:.2}s = {:.1} cases/s",
            outcome.cases_run,
            outcome.cases_run as f64 / secs
        );
    }
}
