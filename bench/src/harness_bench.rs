//! Harness throughput against the embedded reference target: scripted scenarios per second (every
//! scenario in `scenarios/`, played again and again on one harness), and property cases per
//! second with histories of exactly 20 generated steps.

use std::time::Instant;

use stripe_harness::harness::scenario_seed;
use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::{run_scenario, Harness, Scenario, TargetChoice};

use crate::stats::Runs;

/// Scripted scenarios per second, one run per entry; fails if any scenario fails.
pub fn scripted(runs: usize, passes: usize, jobs: usize) -> Result<Runs, String> {
    let scenarios =
        stripe_harness::library_scenarios().map_err(|e| format!("loading scenarios: {e}"))?;
    let mut rates = Vec::new();
    for run in 0..=runs {
        // Each job plays every scenario `passes` times on its own simulator and target.
        let started = Instant::now();
        let played: Result<Vec<usize>, String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..jobs)
                .map(|job| {
                    let scenarios = &scenarios;
                    scope.spawn(move || play_passes(scenarios, passes, (run * jobs + job) as u64))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| "a harness job panicked".to_string())?)
                .collect()
        });
        let played: usize = played
            .inspect_err(|e| eprintln!("stripe-bench: {e}"))?
            .iter()
            .sum();
        // The first run is the warm-up.
        if run > 0 {
            rates.push(played as f64 / started.elapsed().as_secs_f64());
        }
    }
    Ok(Runs::new(rates))
}

fn play_passes(scenarios: &[Scenario], passes: usize, seed: u64) -> Result<usize, String> {
    let runtime = stripe_harness::runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let harness = Harness::start(&TargetChoice::reference(), seed)
            .await
            .map_err(|e| e.to_string())?;
        let mut played = 0;
        for pass in 0..passes {
            for scenario in scenarios {
                // Every pass gets fresh ids: the target remembers the events it processed, and
                // the same ids again would (rightly) be ignored as redeliveries.
                let mut scenario = scenario.clone();
                let pass_seed = seed.wrapping_mul(1_000_003).wrapping_add(pass as u64);
                scenario.seed = Some(scenario_seed(pass_seed, &scenario.name));
                let result = run_scenario(&harness, &scenario).await;
                if let Some(failure) = &result.failure {
                    return Err(format!(
                        "scenario {} failed against the reference target at step {}: {} (expected {}, observed {})",
                        scenario.name, failure.step, failure.violation.rule, failure.violation.expected, failure.violation.observed
                    ));
                }
                played += 1;
            }
        }
        harness.stop().await;
        Ok(played)
    })
}

/// Property-run throughput.
#[derive(Debug, Clone)]
pub struct PropFigures {
    pub cases_per_second: Runs,
    /// The mean number of steps a case played once interpreted.
    pub steps_per_case: f64,
}

/// Property cases per second, histories of exactly `steps` generated steps.
pub fn prop(runs: usize, cases: u32, steps: usize, jobs: usize) -> Result<PropFigures, String> {
    let mut rates = Vec::new();
    let mut steps_per_case = 0.0;
    for run in 0..runs {
        let config = PropConfig {
            cases,
            seed: 20261127 + run as u64,
            max_steps: steps,
            min_steps: steps,
            jobs,
            out: std::env::temp_dir().join("stripe-bench-prop"),
            ..PropConfig::default()
        };
        let outcome = run_prop(&TargetChoice::reference(), &config).map_err(|e| e.to_string())?;
        if let Some(found) = outcome.first() {
            return Err(format!(
                "a property failed against the reference target: {:?}",
                found.result.failure
            ));
        }
        rates.push(outcome.cases_per_second());
        steps_per_case = outcome.steps_run as f64 / outcome.cases_run.max(1) as f64;
    }
    Ok(PropFigures {
        cases_per_second: Runs::new(rates),
        steps_per_case,
    })
}

/// Scripted scenarios per second against the Python example target (`targets/python/`, set up
/// by its `setup.sh`), `jobs` instances of the app at once (`--jobs`), each run starting its
/// apps: what a user's `run --target targets/python/target.toml --jobs N` takes.
pub fn python(runs: usize, jobs: usize) -> Result<Runs, String> {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../targets/python/target.toml");
    if !file
        .parent()
        .is_some_and(|d| d.join(".venv/bin/python").exists())
    {
        return Err("targets/python/.venv is missing: run targets/python/setup.sh".into());
    }
    let target = stripe_harness::TargetFile::load(&file).map_err(|e| e.to_string())?;
    let choice = TargetChoice::File(Box::new(target));
    let scenarios = stripe_harness::library_scenarios().map_err(|e| e.to_string())?;
    let mut rates = Vec::new();
    for run in 0..=runs {
        let started = Instant::now();
        let results =
            stripe_harness::run_scenarios_in_jobs(&choice, &scenarios, run as u64 + 1, jobs)
                .map_err(|e| e.to_string())?;
        if let Some(failed) = results.iter().find(|r| !r.passed()) {
            return Err(format!("{} failed against the Python target", failed.name));
        }
        if run > 0 {
            rates.push(results.len() as f64 / started.elapsed().as_secs_f64());
        }
    }
    Ok(Runs::new(rates))
}
