//! Checkout events: what pays, what fails, what is ignored, and idempotency.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{event, paid_session, session, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_completed_paid_session_with_the_right_amount_marks_the_order_paid() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let session = paid_session(&id);

    let (status, body) = app
        .deliver(&event("checkout.session.completed", session.clone()))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true}));
    let order = app.order(&id).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["providerOrderId"], session["id"]);
    assert_eq!(order["providerCaptureId"], session["payment_intent"]);
}

#[tokio::test]
async fn a_mismatched_amount_leaves_the_order_pending() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;

    let (status, body) = app
        .deliver(&event(
            "checkout.session.completed",
            session(Some(&id), 9900, "usd", "paid"),
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["received"], true);
    let order = app.order(&id).await;
    assert_eq!(order["status"], "pending");
    assert_eq!(order["providerOrderId"], json!(null));
}

#[tokio::test]
async fn a_mismatched_currency_leaves_the_order_pending() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;

    let (status, _) = app
        .deliver(&event(
            "checkout.session.completed",
            session(Some(&id), 19900, "eur", "paid"),
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "pending");
}

#[tokio::test]
async fn an_order_for_another_provider_stays_pending() {
    let app = TestApp::start().await;
    let id = app.order_with(19900, "USD", "paypal").await;

    let (status, _) = app
        .deliver(&event("checkout.session.completed", paid_session(&id)))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "pending");
}

#[tokio::test]
async fn an_unpaid_completion_leaves_the_order_pending_until_the_async_success() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let mut sepa = session(Some(&id), 19900, "usd", "unpaid");

    let (first, _) = app
        .deliver(&event("checkout.session.completed", sepa.clone()))
        .await;
    let after_completion = app.status_of(&id).await;
    sepa["payment_status"] = json!("paid");
    let (second, _) = app
        .deliver(&event("checkout.session.async_payment_succeeded", sepa))
        .await;

    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(after_completion, "pending");
    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn an_async_failure_fails_a_pending_order() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let sepa = session(Some(&id), 19900, "usd", "unpaid");
    app.deliver(&event("checkout.session.completed", sepa.clone()))
        .await;

    let (status, _) = app
        .deliver(&event("checkout.session.async_payment_failed", sepa))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "failed");
}

#[tokio::test]
async fn an_async_failure_does_not_touch_a_paid_order() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    app.pay(&id).await;

    let (status, _) = app
        .deliver(&event(
            "checkout.session.async_payment_failed",
            session(Some(&id), 19900, "usd", "unpaid"),
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn a_late_unpaid_completion_does_not_undo_an_async_success() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let mut sepa = session(Some(&id), 19900, "usd", "paid");
    app.deliver(&event(
        "checkout.session.async_payment_succeeded",
        sepa.clone(),
    ))
    .await;

    sepa["payment_status"] = json!("unpaid");
    let (status, _) = app
        .deliver(&event("checkout.session.completed", sepa))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn a_failed_order_can_still_be_paid_by_a_new_session() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    app.deliver(&event(
        "checkout.session.async_payment_failed",
        session(Some(&id), 19900, "usd", "unpaid"),
    ))
    .await;

    app.pay(&id).await;

    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn a_paid_order_keeps_the_session_that_paid_it_first() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let first = app.pay(&id).await;

    let (status, body) = app
        .deliver(&event("checkout.session.completed", paid_session(&id)))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true, "ignored": true}));
    assert_eq!(app.order(&id).await["providerOrderId"], first["id"]);
}

#[tokio::test]
async fn sessions_without_a_known_order_are_acknowledged_and_ignored() {
    let app = TestApp::start().await;

    let (no_reference, a) = app
        .deliver(&event(
            "checkout.session.completed",
            session(None, 19900, "usd", "paid"),
        ))
        .await;
    let (unknown, b) = app
        .deliver(&event(
            "checkout.session.completed",
            paid_session("no-such-order"),
        ))
        .await;

    assert_eq!((no_reference, unknown), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a, json!({"received": true, "ignored": true}));
    assert_eq!(b, json!({"received": true, "ignored": true}));
}

#[tokio::test]
async fn other_event_types_are_acknowledged_as_ignored() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;

    let (status, body) = app
        .deliver(&event(
            "payment_intent.succeeded",
            json!({"id": "pi_1", "object": "payment_intent"}),
        ))
        .await;
    let (expired, _) = app
        .deliver(&event("checkout.session.expired", paid_session(&id)))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true, "ignored": true}));
    assert_eq!(expired, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "pending");
}

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let completed = event("checkout.session.completed", paid_session(&id));
    app.deliver(&completed).await;
    let after_first = app.order(&id).await;

    let (status, body) = app.deliver(&completed).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true, "duplicate": true}));
    assert_eq!(app.order(&id).await, after_first);
}

#[tokio::test]
async fn another_event_with_the_same_effect_changes_nothing() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let session = paid_session(&id);
    app.deliver(&event("checkout.session.completed", session.clone()))
        .await;
    let after_first = app.order(&id).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let (status, _) = app
        .deliver(&event("checkout.session.completed", session.clone()))
        .await;
    let (async_status, _) = app
        .deliver(&event("checkout.session.async_payment_succeeded", session))
        .await;

    assert_eq!((status, async_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(app.order(&id).await, after_first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicate_deliveries_apply_exactly_once() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let id = app.lifetime_order().await;
    let completed = event("checkout.session.completed", paid_session(&id));

    let deliveries: Vec<_> = (0..12)
        .map(|_| {
            let app = app.clone();
            let completed = completed.clone();
            tokio::spawn(async move { app.deliver(&completed).await })
        })
        .collect();
    let mut applied = 0;
    for delivery in deliveries {
        let (status, body) = delivery.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        if body == json!({"received": true}) {
            applied += 1;
        } else {
            assert_eq!(body, json!({"received": true, "duplicate": true}));
        }
    }

    assert_eq!(applied, 1);
    assert_eq!(app.status_of(&id).await, "paid");
    assert_eq!(app.state.store().processed_event_count().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_distinct_events_for_one_payment_apply_once() {
    let app = std::sync::Arc::new(TestApp::start().await);
    let id = app.lifetime_order().await;
    let session = paid_session(&id);

    let deliveries: Vec<_> = (0..8)
        .map(|i| {
            let app = app.clone();
            let kind = if i % 2 == 0 {
                "checkout.session.completed"
            } else {
                "checkout.session.async_payment_succeeded"
            };
            let event = event(kind, session.clone());
            tokio::spawn(async move { app.deliver(&event).await })
        })
        .collect();
    let mut applied = 0;
    for delivery in deliveries {
        let (status, body) = delivery.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        applied += usize::from(body == json!({"received": true}));
    }

    assert_eq!(applied, 1);
    assert_eq!(app.order(&id).await["providerOrderId"], session["id"]);
}

#[tokio::test]
async fn unparseable_json_with_a_valid_signature_is_rejected() {
    let app = TestApp::start().await;
    let body = "{not json";
    let signature = common::sign(common::WEBHOOK_SECRET, common::now(), body);

    let (status, error) = app.deliver_raw(body, Some(&signature)).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"].is_string());
}

#[tokio::test]
async fn a_checkout_event_without_a_session_object_is_rejected() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let mut broken = event("checkout.session.completed", paid_session(&id));
    broken["data"]["object"]
        .as_object_mut()
        .unwrap()
        .remove("payment_status");

    let (status, _) = app.deliver(&broken).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.status_of(&id).await, "pending");
}
