//! `release = { parallel = true }`: held deliveries reach the target all at once, each once, as
//! after an outage; one the target refuses comes back on Stripe's retry schedule.
#![allow(clippy::unwrap_used)]

use stripe_harness::{run_scenarios, Scenario, TargetChoice};

const RACE: &str = r#"# Rule: a refund and its payment released at once leave the order refunded.
[[step]]
create_order = { as = "a" }
[[step]]
open_link = { as = "s1", order = "a" }
[[step]]
hold = {}
[[step]]
pay = { session = "s1", card = "4242424242424242" }
[[step]]
refund = { session = "s1" }
[[step]]
release = { events = ["charge.refunded", "checkout.session.completed"], parallel = true }
[[step]]
advance = { seconds = 300 }
[[step]]
expect = { order = "a", status = "refunded" }
"#;

#[tokio::test]
async fn every_held_event_reaches_the_target_once_and_a_refused_one_is_retried() {
    let scenario = Scenario::parse(RACE, "parallel_race").unwrap();
    for choice in [
        TargetChoice::reference(),
        TargetChoice::design(reference_target::Design::parse("refund_at_once").unwrap()),
    ] {
        let results = run_scenarios(&choice, std::slice::from_ref(&scenario), 5)
            .await
            .unwrap();
        let result = &results[0];
        assert!(result.passed(), "{:?}", result.failure);
        let release = &result.trace[5];
        assert!(release.step.contains("parallel"), "{}", release.step);
        let spec_events: Vec<&str> = release
            .deliveries
            .iter()
            .map(|d| d.event_type.as_str())
            .filter(|t| ["charge.refunded", "checkout.session.completed"].contains(t))
            .collect();
        // Each event once in the burst (the log's own copies never reach the target).
        assert_eq!(spec_events.len(), 2, "{spec_events:?}");
        assert!(release.deliveries.iter().all(|d| d.attempt == 1));
    }
}

#[tokio::test]
async fn the_refund_lost_defect_is_caught_by_a_parallel_release() {
    let scenario = Scenario::parse(RACE, "parallel_race").unwrap();
    let results = run_scenarios(
        &TargetChoice::defect(reference_target::Defect::RefundLost),
        &[scenario],
        5,
    )
    .await
    .unwrap();
    assert!(!results[0].passed());
}
