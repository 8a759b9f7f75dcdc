//! The process path: the harness starts a target from a target file (the reference target's own
//! binary, with a defect), talks to it over HTTP, and stops it; and targets that cannot start,
//! are never ready, or crash give clear errors.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use stripe_harness::target::{Target, TargetEnv, TargetError};
use stripe_harness::{run_scenarios, TargetChoice, TargetFile};

mod common;
use common::{reference_binary, scenario};

fn target_file(binary: &Path, defect: &str) -> TargetFile {
    TargetFile::parse(&format!(
        "name = \"reference binary ({defect})\"\n[start]\ncommand = [\"{}\"]\nenv = {{ DEFECT = \"{defect}\" }}\nready_path = \"/health\"\nready_timeout_secs = 30\n",
        binary.display()
    ))
    .unwrap()
}

#[tokio::test]
async fn a_started_process_target_is_judged_like_the_embedded_one() {
    let binary = reference_binary();
    let scenarios = vec![
        scenario("card_success"),
        scenario("forged_unsigned"),
        scenario("refund_before_payment"),
    ];

    let correct = run_scenarios(
        &TargetChoice::File(Box::new(target_file(&binary, ""))),
        &scenarios,
        3,
    )
    .await
    .unwrap();
    assert!(
        correct.iter().all(|r| r.passed()),
        "{:?}",
        correct.iter().map(|r| &r.failure).collect::<Vec<_>>()
    );

    let buggy = run_scenarios(
        &TargetChoice::File(Box::new(target_file(&binary, "nosig"))),
        &scenarios,
        3,
    )
    .await
    .unwrap();
    let failing: Vec<&str> = buggy
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(failing, ["forged_unsigned"]);
}

#[tokio::test]
async fn a_target_that_matches_literal_paths_finds_its_orders() {
    // Arrange: the reference binary matching paths as sent, like Python's http.server: a
    // percent-encoded `-` in an order id would answer 404.
    let binary = reference_binary();
    let file = TargetFile::parse(&format!(
        "name = \"literal paths\"\n[start]\ncommand = [\"{}\"]\nenv = {{ LITERAL_PATHS = \"true\" }}\nready_path = \"/health\"\nready_timeout_secs = 30\n",
        binary.display()
    ))
    .unwrap();
    let scenarios = vec![scenario("card_success"), scenario("refund_full")];

    // Act
    let results = run_scenarios(&TargetChoice::File(Box::new(file)), &scenarios, 4)
        .await
        .unwrap();

    // Assert: order ids (UUIDs) travel unencoded, so every order is found.
    for result in &results {
        assert!(result.passed(), "{}: {:?}", result.name, result.failure);
    }
}

fn env() -> TargetEnv {
    TargetEnv {
        api_base: "http://127.0.0.1:9".into(),
        api_key: "sk_test_x".into(),
        webhook_secret: "whsec_x".into(),
    }
}

async fn start(toml: &str) -> Result<Target, TargetError> {
    Target::from_file(TargetFile::parse(toml).unwrap(), &env()).await
}

#[tokio::test]
async fn a_target_that_cannot_start_is_named_in_the_error() {
    let Err(err) = start("name = \"ghost\"\n[start]\ncommand = [\"/nonexistent/app\"]\n").await
    else {
        panic!("must not start")
    };
    let message = err.to_string();
    assert!(
        message.contains("ghost") && message.contains("could not start"),
        "{message}"
    );
}

#[tokio::test]
async fn a_target_that_crashes_at_start_shows_what_it_printed() {
    let Err(err) = start("name = \"crasher\"\n[start]\ncommand = \"echo booting; echo 'fatal: no database' >&2; exit 3\"\n").await else {
        panic!("must not start")
    };
    let message = err.to_string();
    assert!(message.contains("exited"), "{message}");
    assert!(message.contains("fatal: no database"), "{message}");
}

#[tokio::test]
async fn a_target_that_is_never_ready_times_out_with_a_clear_error() {
    let Err(err) = start("name = \"sleeper\"\n[start]\ncommand = \"echo waiting; sleep 30\"\nready_timeout_secs = 1\n").await else {
        panic!("must not be ready")
    };
    let message = err.to_string();
    assert!(
        message.contains("not ready") && message.contains("sleeper") && message.contains("waiting"),
        "{message}"
    );
}

#[tokio::test]
async fn stopping_a_target_stops_the_processes_it_started() {
    // A shell that starts a background child, then becomes the reference target: stopping the
    // target must stop the child too (it would create the marker two seconds later).
    let binary = reference_binary();
    let marker = std::env::temp_dir().join(format!("harness-child-{}", std::process::id()));
    let toml = format!(
        "name = \"parent\"\n[start]\ncommand = \"(sleep 2; touch {}) & exec {}\"\nready_path = \"/health\"\nready_timeout_secs = 30\n",
        marker.display(),
        binary.display()
    );
    let target = start(&toml).await.unwrap();
    target.stop().await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(!marker.exists(), "a child of the target outlived it");
}

#[tokio::test]
async fn a_target_that_hangs_stops_the_run_after_consecutive_timeouts_instead_of_waiting_out_every_scenario(
) {
    // A "target" that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().await.push(socket);
        }
    });
    let file = TargetFile::parse(&format!(
        "name = \"frozen\"\nurl = \"{url}\"\nwebhook_secret = \"whsec_x\"\nsimulator_port = 0\ncall_timeout_secs = 1\nmax_consecutive_timeouts = 2\n"
    ))
    .unwrap();
    let scenarios = vec![
        scenario("card_success"),
        scenario("refund_full"),
        scenario("refund_partial"),
        scenario("sepa_success"),
        scenario("buyer_pays_twice"),
    ];
    let started = std::time::Instant::now();

    let outcome = run_scenarios(&TargetChoice::File(Box::new(file)), &scenarios, 5).await;

    // Two timeouts, not five scenarios' worth of them.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let Err(stripe_harness::HarnessError::Stopped(stopped)) = outcome else {
        panic!("a hung target stops the run: {outcome:?}")
    };
    let message = stopped.to_string();
    assert!(
        message.contains("target frozen hangs: 2 calls in a row got no answer within 1 s"),
        "{message}"
    );
    assert!(
        message.contains("the run stopped during scenario refund_full (1 of 5 played)"),
        "{message}"
    );
    // The scenario whose call timed out first failed with a clear error.
    let failure = stopped.results[0]
        .failure
        .as_ref()
        .expect("a hung target fails");
    assert!(
        failure.violation.observed.contains("frozen")
            && failure.violation.observed.contains("the target hangs"),
        "{:?}",
        failure.violation
    );
}
