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
