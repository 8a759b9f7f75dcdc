//! Every verdict comes with its evidence: a failure shows what the target answered and what it
//! printed, objects are named by alias beside their raw ids, and the trace records every webhook
//! attempt in the order the target saw it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use stripe_harness::report::describe;
use stripe_harness::trace::AttemptKind;
use stripe_harness::{run_scenarios, Scenario, TargetChoice, TargetFile};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(name: &str) -> Scenario {
    Scenario::load(&workspace().join("scenarios").join(format!("{name}.toml"))).unwrap()
}

/// The hostile example target, built if needed.
fn hostile_binary() -> PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "stripe-harness",
            "--example",
            "hostile_target",
        ])
        .current_dir(workspace())
        .status()
        .unwrap();
    assert!(status.success());
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target"));
    target_dir
        .join("debug")
        .join("examples")
        .join("hostile_target")
}

#[tokio::test]
async fn a_crashing_webhook_handler_shows_its_500_and_its_traceback_in_the_failure() {
    // Arrange: an app whose webhook handler raises on every event, like a Flask app calling
    // .get on a Session object.
    let file = TargetFile::parse(&format!(
        "name = \"crashing handler\"\ncall_timeout_secs = 5\n[start]\ncommand = [\"{}\", \"--mode\", \"webhook-500\"]\nready_path = \"/health\"\nready_timeout_secs = 30\n",
        hostile_binary().display()
    ))
    .unwrap();

    // Act
    let results = run_scenarios(
        &TargetChoice::File(Box::new(file)),
        &[scenario("card_success")],
        7,
    )
    .await
    .unwrap();

    // Assert: the failure says why, with the answer and the printed line.
    let printed = describe(&results[0], 7, " --target crashing.toml");
    assert!(!results[0].passed(), "{printed}");
    assert!(
        printed.contains("(genuine, attempt 1) → 500 in"),
        "the 500 answer is shown:\n{printed}"
    );
    assert!(
        printed.contains("<!doctype html> <title>500 Internal Server Error</title>"),
        "with the first bytes of the answer:\n{printed}"
    );
    assert!(
        printed.contains("stderr")
            && printed.contains("AttributeError: 'Session' object has no attribute 'get'"),
        "and the lines the target printed:\n{printed}"
    );
}

#[tokio::test]
async fn the_trace_names_objects_by_alias_and_keeps_attempts_in_arrival_order() {
    // Arrange: the refund is released before the payment it refunds.
    let choice = TargetChoice::defect(reference_target::Defect::RefundLost);

    // Act
    let results = run_scenarios(&choice, &[scenario("refund_before_payment")], 3)
        .await
        .unwrap();

    // Assert
    let result = &results[0];
    let created: Vec<(String, String)> = result
        .trace
        .iter()
        .flat_map(|s| s.created.iter().map(|c| (c.alias.clone(), c.id.clone())))
        .collect();
    let alias = |a: &str| {
        created
            .iter()
            .find(|(x, _)| x == a)
            .map(|(_, id)| id.clone())
    };
    assert!(alias("s1").unwrap().starts_with("cs_test_"), "{created:?}");
    assert!(alias("s1.payment_intent").unwrap().starts_with("pi_"));
    assert!(alias("a").is_some(), "the order is named too");

    let spec_events: Vec<(String, AttemptKind)> = result
        .trace
        .iter()
        .flat_map(|s| s.deliveries.iter())
        .filter(|d| {
            d.event_type == "charge.refunded" || d.event_type == "checkout.session.completed"
        })
        .map(|d| (d.event_type.clone(), d.kind))
        .collect();
    assert_eq!(
        spec_events.first().map(|(t, _)| t.as_str()),
        Some("charge.refunded"),
        "released first, seen first: {spec_events:?}"
    );

    // The failure names its rule, and its evidence the refund the target ignored.
    let failure = result.failure.as_ref().unwrap();
    assert_eq!(failure.violation.rule.id(), "scenario-expectation");
    let printed = describe(result, 3, " --defect refund_lost");
    assert!(
        printed.contains("charge.refunded") && printed.contains("\"ignored\":true"),
        "{printed}"
    );

    // Every observation says what the judge allowed, and why.
    let observed = result
        .trace
        .iter()
        .flat_map(|s| s.observations.iter())
        .find(|o| o.provider_order_id.is_some())
        .unwrap();
    assert_eq!(
        observed
            .provider_order_id
            .as_ref()
            .unwrap()
            .alias
            .as_deref(),
        Some("s1")
    );
    assert!(observed
        .allowed
        .iter()
        .any(|a| a.allowed && a.rule.is_some()));
}
