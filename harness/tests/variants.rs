//! No false alarms: every scenario of the library and property histories pass against the
//! reference target in every one of its correct designs (`reference_target::variant`), so a
//! scenario whose expectations hold for one design only cannot land.
//!
//! `VARIANT_CASES` sets the histories per design (200 by default, a few seconds each in debug);
//! `.ci/run` runs 10,000 per design in release.
#![allow(clippy::unwrap_used)]

use reference_target::Design;
use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::{library_scenarios, run_scenarios_in_jobs, TargetChoice};

fn cases() -> u32 {
    std::env::var("VARIANT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

#[test]
fn every_scenario_passes_under_every_design() {
    let scenarios = library_scenarios().unwrap();
    let mut failures = Vec::new();
    for design in Design::each() {
        let results =
            run_scenarios_in_jobs(&TargetChoice::design(design), &scenarios, 11, 2).unwrap();
        for result in results.iter().filter(|r| !r.passed()) {
            let f = result.failure.as_ref().unwrap();
            failures.push(format!(
                "{} under variant {design}: step {} ({}): {} — expected {}, observed {}",
                result.name,
                f.step,
                f.step_description,
                f.violation.detail,
                f.violation.expected,
                f.violation.observed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn property_histories_pass_under_every_design() {
    // The default design's histories are played by tests/prop.rs and CI's own 10,000.
    for design in Design::each().into_iter().filter(|d| !d.is_default()) {
        let out = std::env::temp_dir().join(format!(
            "stripe-harness-variants-{}-{design}",
            std::process::id()
        ));
        let config = PropConfig {
            cases: cases(),
            seed: 2027,
            jobs: 2,
            out,
            ..PropConfig::default()
        };
        let outcome = run_prop(&TargetChoice::design(design), &config).unwrap();
        if let Some(found) = outcome.found.first() {
            panic!(
                "variant {design}: {:?}\n{}",
                found.result.failure,
                found.scenario.to_toml()
            );
        }
        assert_eq!(outcome.cases_run, cases(), "variant {design}");
    }
}
