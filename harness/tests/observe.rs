//! Apps of other shapes: orders created and read by commands (`[observe]`) instead of JSON
//! routes, each instance of the app (`--jobs 2`) on its own database through `{tmp}`. The worked
//! example of the README, `tests/apps/http_server/target.observe.toml`: Python's standard library
//! and the sqlite3 shell (the test says so and passes when either is missing).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use stripe_harness::{run_scenarios_in_jobs, Scenario, TargetChoice, TargetFile};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn available(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn orders_read_and_created_by_commands_are_judged_alike_in_one_job_and_in_two() {
    if !available("python3") || !available("sqlite3") {
        eprintln!("skipped: python3 and sqlite3 are needed for this example");
        return;
    }
    let file =
        TargetFile::load(&workspace().join("tests/apps/http_server/target.observe.toml")).unwrap();
    let scenarios: Vec<Scenario> = [
        "card_success",
        "refund_full",
        "sepa_failure",
        "amount_mismatch",
        "forged_tampered",
        "duplicate_delivery",
    ]
    .iter()
    .map(|n| Scenario::load(&workspace().join("scenarios").join(format!("{n}.toml"))).unwrap())
    .collect();

    let choice = TargetChoice::File(Box::new(file));
    let two = run_scenarios_in_jobs(&choice, &scenarios, 3, 2).unwrap();
    let one = run_scenarios_in_jobs(&choice, &scenarios, 3, 1).unwrap();

    for result in &two {
        assert!(result.passed(), "{}: {:?}", result.name, result.failure);
    }
    assert_eq!(two.len(), scenarios.len());
    // Results do not depend on the number of instances (ids are shown as aliases).
    let snapshots = |results: &[stripe_harness::ScenarioResult]| {
        results.iter().map(|r| r.snapshot()).collect::<Vec<_>>()
    };
    assert_eq!(snapshots(&one), snapshots(&two));
}
