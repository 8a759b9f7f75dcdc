//! The control layer has one vocabulary and one set of checks, whichever adapter reaches it: the
//! Rust handle and the `/_sim` routes refuse the same mistakes with the same words, and an
//! unknown word always lists the known ones.

#![allow(clippy::unwrap_used)]

mod common;

use reqwest::Method;
use serde_json::json;
use stripe_sim::{
    ClockMode, DuplicateMode, EventType, Fault, FaultKind, Forgery, ReleaseOrderWord, Simulator,
    Vocabulary,
};

#[tokio::test]
async fn an_unknown_fault_word_is_refused_over_http_listing_the_known_ones() {
    // Arrange
    let t = common::start().await;

    // Act
    let answer = t
        .control(
            Method::POST,
            "/_sim/webhooks/faults",
            Some(json!({ "fault": "tampr" })),
        )
        .await;

    // Assert
    let error = answer.error(400);
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("unknown fault 'tampr'"), "{message}");
    assert!(
        message
            .contains("duplicate, drop, delay, tamper, stale, wrong_secret, unsigned, bad_header"),
        "{message}"
    );
    assert!(t.sim.faults().is_empty());
}

#[tokio::test]
async fn a_misspelt_duplicate_mode_is_an_error_not_a_silent_default() {
    // Arrange
    let t = common::start().await;

    // Act: in a fault and in a release.
    let fault = t
        .control(
            Method::POST,
            "/_sim/webhooks/faults",
            Some(json!({ "fault": "duplicate", "duplicate_mode": "sequental" })),
        )
        .await;
    let release = t
        .control(
            Method::POST,
            "/_sim/webhooks/release",
            Some(json!({ "duplicate": "sequental" })),
        )
        .await;
    let order = t
        .control(
            Method::POST,
            "/_sim/webhooks/release",
            Some(json!({ "order": "revers" })),
        )
        .await;

    // Assert
    for answer in [&fault, &release] {
        let message = answer.error(400)["message"].as_str().unwrap().to_string();
        assert!(message.contains("concurrent, sequential"), "{message}");
    }
    let message = order.error(400)["message"].as_str().unwrap().to_string();
    assert!(message.contains("as_is, reverse, shuffle"), "{message}");
}

#[tokio::test]
async fn the_handle_refuses_the_faults_the_routes_refuse() {
    // Arrange
    let t = common::start().await;
    let pointless = [
        Fault::new(FaultKind::Delay),
        Fault {
            count: 0,
            ..Fault::new(FaultKind::Drop)
        },
        Fault {
            event_type: Some("checkout.sesion.completed".into()),
            ..Fault::new(Forgery::Stale)
        },
    ];

    for fault in pointless {
        // Act
        let through_handle = t.sim.add_fault(fault.clone()).unwrap_err();
        let through_http = t
            .control(
                Method::POST,
                "/_sim/webhooks/faults",
                Some(serde_json::to_value(&fault).unwrap()),
            )
            .await;

        // Assert: the same 400, the same words.
        assert_eq!(through_handle.status, 400);
        assert_eq!(
            through_http.error(400)["message"].as_str().unwrap(),
            through_handle.message
        );
    }
    assert!(t.sim.faults().is_empty());
}

#[tokio::test]
async fn vocabulary_words_round_trip_through_their_names() {
    for word in ReleaseOrderWord::ALL {
        assert_eq!(ReleaseOrderWord::parse_word(word.as_str()), Ok(*word));
    }
    for mode in DuplicateMode::ALL {
        assert_eq!(mode.as_str().parse::<DuplicateMode>(), Ok(*mode));
    }
    for kind in FaultKind::ALL {
        let json = serde_json::to_string(kind).unwrap();
        assert_eq!(serde_json::from_str::<FaultKind>(&json).unwrap(), *kind);
    }
    for event_type in EventType::ALL {
        let json = serde_json::to_string(event_type).unwrap();
        assert_eq!(json, format!("\"{}\"", event_type.as_str()));
    }
}

#[tokio::test]
async fn the_clock_never_goes_back_through_either_adapter() {
    // Arrange
    let t = common::start().await;
    let before = t.sim.now();

    // Act
    let through_handle = t.sim.advance(-5);
    let through_http = t
        .control(
            Method::POST,
            "/_sim/clock/advance",
            Some(json!({ "seconds": -5 })),
        )
        .await;

    // Assert
    assert_eq!(
        through_handle.unwrap_err().param.as_deref(),
        Some("seconds")
    );
    assert_eq!(through_http.error(400)["param"], "seconds");
    assert_eq!(t.sim.now(), before);
}

#[tokio::test]
async fn shutdown_stops_the_server_and_waits_for_it() {
    // Arrange
    let sim = Simulator::builder()
        .clock(ClockMode::Manual)
        .seed(1)
        .start()
        .await
        .unwrap();
    let url = format!("{}/_sim/health", sim.base_url());
    assert!(reqwest::get(&url).await.unwrap().status().is_success());

    // Act
    sim.shutdown().await;

    // Assert: nothing listens any more.
    assert!(reqwest::get(&url).await.is_err());
}

// ----- the operations the dashboard's buttons use -----

#[tokio::test]
async fn expire_refund_and_endpoint_switches_are_control_operations_like_their_api_routes() {
    // Arrange
    let t = common::start().await;
    let open = t.open_session().await;
    let (paid, intent, charge) = t.paid_with("4242424242424242").await;
    let endpoint = t
        .sim
        .add_webhook_endpoint(stripe_sim::EndpointSpec::all_events(
            "http://127.0.0.1:9/hook",
        ))
        .unwrap();
    let open = stripe_sim::SessionId::parse(&open).unwrap();
    let intent = stripe_sim::PaymentIntentId::parse(&intent).unwrap();

    // Act
    let expired = t.sim.expire_session(&open).unwrap();
    let again = t.sim.expire_session(&open).unwrap_err();
    let partial = t.sim.refund(&intent, Some(900)).unwrap();
    let rest = t.sim.refund(&intent, None).unwrap();
    let too_much = t.sim.refund(&intent, Some(1)).unwrap_err();
    let disabled = t
        .sim
        .set_webhook_endpoint_enabled(&endpoint.id, false)
        .unwrap();
    let enabled = t
        .sim
        .set_webhook_endpoint_enabled(&endpoint.id, true)
        .unwrap();

    // Assert
    assert_eq!(expired.status.as_str(), "expired");
    assert!(
        again.message.contains("can be expired"),
        "{}",
        again.message
    );
    assert_eq!(
        (partial["amount"].as_i64(), rest["amount"].as_i64()),
        (Some(900), Some(19_000))
    );
    assert_eq!(
        too_much.code,
        Some("charge_already_refunded"),
        "{}",
        too_much.message
    );
    assert_eq!((disabled.status, enabled.status), ("disabled", "enabled"));
    let detail = t
        .sim
        .session_detail(&stripe_sim::SessionId::parse(&paid).unwrap())
        .unwrap();
    assert_eq!(detail.charges.len(), 1);
    assert_eq!(detail.charges[0]["id"], charge.as_str());
    assert_eq!(detail.refunds.len(), 2);
    assert!(detail
        .events
        .iter()
        .any(|e| e.event_type == EventType::ChargeRefunded));
}

#[tokio::test]
async fn recent_events_are_newest_first_and_filtered_by_type_pattern_and_object() {
    // Arrange
    let t = common::start().await;
    let first = t.paid_session().await["id"].as_str().unwrap().to_string();
    t.paid_session().await;

    // Act
    let newest = t.sim.recent_events(None, None, 3);
    let sessions = t.sim.recent_events(Some("checkout.session.*"), None, 10);
    let about_first = t.sim.recent_events(None, Some(&first), 10);

    // Assert
    let all = t.sim.events();
    assert_eq!(newest.len(), 3);
    assert_eq!(newest[0].id, all.last().unwrap().id);
    assert_eq!(sessions.len(), 2);
    assert!(sessions
        .iter()
        .all(|e| e.event_type == EventType::CheckoutSessionCompleted));
    assert_eq!(about_first.len(), 1);
    assert_eq!(t.sim.payment_links().len(), 1, "the seeded link");
}
