//! charge.refunded: full vs partial, and refunds that overtake their payment.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{charge, event, paid_session, session, FakeStripe, TestApp};
use reference_target::Config;
use serde_json::json;

fn pi(session: &serde_json::Value) -> String {
    session["payment_intent"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_full_refund_marks_a_paid_order_refunded() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = app.pay(&id).await;

    let (status, body) = app
        .deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 19900)))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true}));
    assert_eq!(app.status_of(&id).await, "refunded");
}

#[tokio::test]
async fn a_partial_refund_leaves_the_order_paid_until_it_is_full() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = app.pay(&id).await;

    let (partial, _) = app
        .deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 5000)))
        .await;
    let after_partial = app.status_of(&id).await;
    let (rest, _) = app
        .deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 19900)))
        .await;

    assert_eq!((partial, rest), (StatusCode::OK, StatusCode::OK));
    assert_eq!(after_partial, "paid");
    assert_eq!(app.status_of(&id).await, "refunded");
}

#[tokio::test]
async fn a_refunded_order_is_not_paid_again_by_a_late_completed_event() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = app.pay(&id).await;
    app.deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 19900)))
        .await;

    let (status, _) = app
        .deliver(&event("checkout.session.completed", paid))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "refunded");
}

#[tokio::test]
async fn a_refund_before_its_payment_is_retried_and_applies_after_the_payment() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = paid_session(&id);
    app.stripe.put_session(&paid);
    let refund = event("charge.refunded", charge(&pi(&paid), 19900, 19900));

    let (early, early_body) = app.deliver(&refund).await;
    let while_waiting = app.status_of(&id).await;
    app.deliver(&event("checkout.session.completed", paid.clone()))
        .await;
    let (retry, _) = app.deliver(&refund).await;

    assert_eq!(early, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(early_body, json!({"error": "payment not known yet; retry"}));
    assert_eq!(while_waiting, "pending");
    assert_eq!(retry, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "refunded");
}

#[tokio::test]
async fn a_refund_of_a_payment_stripe_cannot_place_is_acknowledged() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;

    let (status, body) = app
        .deliver(&event(
            "charge.refunded",
            charge("pi_unknown_1", 19900, 19900),
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true, "ignored": true}));
    assert_eq!(app.status_of(&id).await, "pending");
}

#[tokio::test]
async fn a_refund_of_a_payment_that_is_not_genuinely_ours_is_acknowledged() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paypal = app.order_with(19900, "USD", "paypal").await;
    let cheap = session(Some(&id), 100, "usd", "paid");
    let other_provider = paid_session(&paypal);
    let unpaid = session(Some(&id), 19900, "usd", "unpaid");
    let stranger = paid_session("not-our-order");

    for foreign in [cheap, other_provider, unpaid, stranger] {
        app.stripe.put_session(&foreign);
        let (status, _) = app
            .deliver(&event(
                "charge.refunded",
                charge(&pi(&foreign), 19900, 19900),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{foreign}");
    }

    assert_eq!(app.status_of(&id).await, "pending");
    assert_eq!(app.status_of(&paypal).await, "pending");
}

#[tokio::test]
async fn a_refund_of_a_second_unrecorded_payment_does_not_wait_forever() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    app.pay(&id).await;
    let second = paid_session(&id);
    app.stripe.put_session(&second);

    let (status, _) = app
        .deliver(&event(
            "charge.refunded",
            charge(&pi(&second), 19900, 19900),
        ))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn a_refund_lookup_that_cannot_reach_stripe_is_retried() {
    let stripe = FakeStripe::start().await;
    let config = Config {
        port: 0,
        stripe_secret_key: common::SECRET_KEY.into(),
        stripe_webhook_secret: common::WEBHOOK_SECRET.into(),
        stripe_api_base: common::unreachable_url().await,
        ..Config::default()
    };
    let app = TestApp::with_config(config, stripe).await;
    let id = app.lifetime_order().await;

    let (status, _) = app
        .deliver(&event(
            "charge.refunded",
            charge("pi_somewhere", 19900, 19900),
        ))
        .await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.status_of(&id).await, "pending");
    assert_eq!(app.state.store().processed_event_count().unwrap(), 0);
}

#[tokio::test]
async fn a_duplicate_refund_changes_nothing() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = app.pay(&id).await;
    let refund = event("charge.refunded", charge(&pi(&paid), 19900, 19900));
    app.deliver(&refund).await;
    let after_first = app.order(&id).await;

    let (status, body) = app.deliver(&refund).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"received": true, "duplicate": true}));
    assert_eq!(app.order(&id).await, after_first);
}
