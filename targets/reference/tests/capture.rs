//! The return route shows status and never changes the order.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{paid_session, session, FakeStripe, TestApp};
use reference_target::Config;
use serde_json::json;

#[tokio::test]
async fn capture_reports_the_session_without_changing_the_order() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = paid_session(&id);
    app.stripe.put_session(&paid);
    let before = app.order(&id).await;

    let (status, body) = app.capture(paid["id"].as_str().unwrap()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"orderId": id, "sessionStatus": "complete", "paymentStatus": "paid", "orderStatus": "pending"})
    );
    assert_eq!(app.order(&id).await, before);
}

#[tokio::test]
async fn capture_after_the_webhook_reports_the_paid_order() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let paid = app.pay(&id).await;

    let (status, body) = app.capture(paid["id"].as_str().unwrap()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["orderStatus"], "paid");
}

#[tokio::test]
async fn capture_of_a_session_without_an_order_reports_nulls() {
    let app = TestApp::start().await;
    let anonymous = session(None, 19900, "usd", "unpaid");
    app.stripe.put_session(&anonymous);

    let (status, body) = app.capture(anonymous["id"].as_str().unwrap()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"orderId": null, "sessionStatus": "complete", "paymentStatus": "unpaid", "orderStatus": null})
    );
}

#[tokio::test]
async fn capture_of_an_unknown_session_is_404() {
    let app = TestApp::start().await;

    let (status, body) = app.capture("cs_test_nope").await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn capture_without_a_usable_session_id_is_400() {
    let app = TestApp::start().await;

    let (missing, _) = app.post_json("/api/orders/capture", &json!({})).await;
    let (empty, _) = app.capture("").await;
    let (path_like, _) = app.capture("../../v1/charges").await;

    assert_eq!(missing, StatusCode::BAD_REQUEST);
    assert_eq!(empty, StatusCode::BAD_REQUEST);
    assert_eq!(path_like, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn capture_when_stripe_is_unreachable_is_502() {
    let stripe = FakeStripe::start().await;
    let config = Config {
        port: 0,
        stripe_secret_key: common::SECRET_KEY.into(),
        stripe_webhook_secret: common::WEBHOOK_SECRET.into(),
        stripe_api_base: common::unreachable_url().await,
        ..Config::default()
    };
    let app = TestApp::with_config(config, stripe).await;

    let (status, body) = app.capture("cs_test_1").await;

    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn capture_with_a_wrong_secret_key_is_502_not_a_crash() {
    let stripe = FakeStripe::start().await;
    let config = Config {
        port: 0,
        stripe_secret_key: "sk_test_wrong".into(),
        stripe_webhook_secret: common::WEBHOOK_SECRET.into(),
        stripe_api_base: stripe.base_url.clone(),
        ..Config::default()
    };
    let app = TestApp::with_config(config, stripe).await;
    let id = app.lifetime_order().await;
    let paid = paid_session(&id);
    app.stripe.put_session(&paid);

    let (status, _) = app.capture(paid["id"].as_str().unwrap()).await;

    assert_eq!(status, StatusCode::BAD_GATEWAY);
}
