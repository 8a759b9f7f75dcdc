//! Forged, replayed and tampered webhooks are rejected with 400 and change nothing.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{event, now, paid_session, sign, TestApp, WEBHOOK_SECRET};
use serde_json::{json, Value};

/// An app with a pending order and a signed-able completed event that would pay it.
async fn arrange() -> (TestApp, String, Value, String) {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let completed = event("checkout.session.completed", paid_session(&id));
    let before = app.order(&id).await;
    let body = completed.to_string();
    (app, id, before, body)
}

async fn assert_rejected(app: &TestApp, id: &str, before: &Value, response: (StatusCode, Value)) {
    assert_eq!(response.0, StatusCode::BAD_REQUEST);
    assert_eq!(response.1, json!({"error": "invalid signature"}));
    assert_eq!(&app.order(id).await, before);
    assert_eq!(app.state.store().processed_event_count().unwrap(), 0);
}

#[tokio::test]
async fn a_bad_signature_is_rejected() {
    let (app, id, before, body) = arrange().await;
    let header = format!("t={},v1={}", now(), "0".repeat(64));

    let response = app.deliver_raw(&body, Some(&header)).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_signature_made_with_another_secret_is_rejected() {
    let (app, id, before, body) = arrange().await;
    let header = sign("whsec_someone_else", now(), &body);

    let response = app.deliver_raw(&body, Some(&header)).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_signature_keyed_without_the_whsec_prefix_is_rejected() {
    let (app, id, before, body) = arrange().await;
    let header = sign(WEBHOOK_SECRET.trim_start_matches("whsec_"), now(), &body);

    let response = app.deliver_raw(&body, Some(&header)).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_replay_older_than_five_minutes_is_rejected() {
    let (app, id, before, body) = arrange().await;
    let header = sign(WEBHOOK_SECRET, now() - 301, &body);

    let response = app.deliver_raw(&body, Some(&header)).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_missing_header_is_rejected() {
    let (app, id, before, body) = arrange().await;

    let response = app.deliver_raw(&body, None).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_malformed_header_is_rejected() {
    let (app, id, before, body) = arrange().await;

    for header in ["garbage", "t=now,v1=abc", &format!("t={}", now())] {
        let response = app.deliver_raw(&body, Some(header)).await;
        assert_rejected(&app, &id, &before, response).await;
    }
}

#[tokio::test]
async fn a_tampered_body_is_rejected() {
    let app = TestApp::start().await;
    let id = app.lifetime_order().await;
    let before = app.order(&id).await;
    let cheap = event(
        "checkout.session.completed",
        common::session(Some(&id), 100, "usd", "paid"),
    )
    .to_string();
    let header = sign(WEBHOOK_SECRET, now(), &cheap);
    let tampered = cheap.replace("\"amount_total\":100", "\"amount_total\":19900");
    assert_ne!(tampered, cheap);

    let response = app.deliver_raw(&tampered, Some(&header)).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_re_serialised_body_no_longer_matches_its_signature() {
    let (app, id, before, body) = arrange().await;
    let header = sign(WEBHOOK_SECRET, now(), &body);
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();

    let response = app.deliver_raw(&pretty, Some(&header)).await;

    assert_rejected(&app, &id, &before, response).await;
}

#[tokio::test]
async fn a_header_with_a_rolled_secret_and_a_v0_is_accepted() {
    let (app, id, _, body) = arrange().await;
    let t = now();
    let old = sign("whsec_rolled_secret_fedcba9876543210", t, &body);
    let current = sign(WEBHOOK_SECRET, t, &body);
    let header = format!("{old},{},v0=deadbeef", current.split(',').nth(1).unwrap());

    let (status, _) = app.deliver_raw(&body, Some(&header)).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn a_timestamp_slightly_in_the_future_is_accepted() {
    let (app, id, _, body) = arrange().await;
    let header = sign(WEBHOOK_SECRET, now() + 120, &body);

    let (status, _) = app.deliver_raw(&body, Some(&header)).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.status_of(&id).await, "paid");
}
