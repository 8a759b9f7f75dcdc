//! Every defect of the reference target must fail at least one scenario, and the README's table
//! of which scenarios catch which defect is generated here, so it cannot go stale: run with
//! `UPDATE_README=1` to rewrite it after changing scenarios or defects.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use reference_target::Defect;
use stripe_harness::{run_scenarios, TargetChoice};

const START: &str = "<!-- defect-table:start -->";
const END: &str = "<!-- defect-table:end -->";

#[tokio::test]
async fn every_defect_fails_at_least_one_scenario_and_the_readme_table_is_current() {
    let scenarios = stripe_harness::library_scenarios().unwrap();
    let mut caught: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for defect in Defect::ALL {
        let results = run_scenarios(&TargetChoice::defect(defect), &scenarios, 7)
            .await
            .unwrap();
        let failing: Vec<String> = results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| r.name.clone())
            .collect();
        assert!(
            !failing.is_empty(),
            "no scenario catches the defect {}",
            defect.name()
        );
        caught.insert(defect.name(), failing);
    }

    let mut table = String::from("| defect | caught by |\n|---|---|\n");
    for (defect, scenarios) in &caught {
        let names: Vec<String> = scenarios.iter().map(|s| format!("`{s}`")).collect();
        table.push_str(&format!("| `{defect}` | {} |\n", names.join(", ")));
    }
    common::check_readme_section(
        START,
        END,
        &table,
        "rerun with UPDATE_README=1 cargo test -p stripe-harness --test defects",
    );
}

#[test]
fn scenarios_played_in_jobs_give_the_same_results_in_the_same_order() {
    let scenarios = stripe_harness::library_scenarios().unwrap();
    let choice = TargetChoice::defect(Defect::RefundLost);
    let one = stripe_harness::run_scenarios_in_jobs(&choice, &scenarios, 5, 1).unwrap();
    let three = stripe_harness::run_scenarios_in_jobs(&choice, &scenarios, 5, 3).unwrap();
    let summary = |results: &[stripe_harness::ScenarioResult]| {
        results
            .iter()
            .map(|r| (r.name.clone(), r.passed(), r.snapshot()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&one), summary(&three));
    assert!(one.iter().any(|r| !r.passed()), "the defect is caught");
}
