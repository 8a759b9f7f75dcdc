//! The design variants: each is a different but correct way to implement the spec.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{charge, event, paid_session, TestApp};
use reference_target::Design;
use serde_json::json;

fn design(names: &str) -> Design {
    Design::parse(names).unwrap()
}

fn pi(session: &serde_json::Value) -> String {
    session["payment_intent"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_early_refund_marks_the_order_refunded_at_once_in_refund_at_once() {
    let app = TestApp::with_design(design("refund_at_once")).await;
    let id = app.lifetime_order().await;
    let paid = paid_session(&id);
    app.stripe.put_session(&paid);

    let (status, body) = app
        .deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 19900)))
        .await;
    let (late, _) = app
        .deliver(&event("checkout.session.completed", paid.clone()))
        .await;

    assert_eq!((status, late), (StatusCode::OK, StatusCode::OK));
    assert_eq!(body, json!({"received": true}));
    let order = app.order(&id).await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["providerOrderId"], paid["id"]);
    assert_eq!(order["providerCaptureId"], paid["payment_intent"]);
}

#[tokio::test]
async fn a_partial_early_refund_waits_for_the_payment_in_refund_at_once() {
    let app = TestApp::with_design(design("refund_at_once")).await;
    let id = app.lifetime_order().await;
    let paid = paid_session(&id);
    app.stripe.put_session(&paid);

    let (status, _) = app
        .deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 500)))
        .await;
    let while_waiting = app.status_of(&id).await;
    app.deliver(&event("checkout.session.completed", paid))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(while_waiting, "pending");
    assert_eq!(app.status_of(&id).await, "paid");
}

#[tokio::test]
async fn a_second_payment_is_recorded_in_latest_session_and_not_in_the_default() {
    for (names, expect_second) in [("latest_session", true), ("", false)] {
        let app = TestApp::with_design(design(names)).await;
        let id = app.lifetime_order().await;
        let first = app.pay(&id).await;
        let second = paid_session(&id);

        app.deliver(&event("checkout.session.completed", second.clone()))
            .await;

        let order = app.order(&id).await;
        let recorded = if expect_second { &second } else { &first };
        assert_eq!(order["status"], "paid", "{names}");
        assert_eq!(order["providerOrderId"], recorded["id"], "{names}");
        assert_eq!(
            order["providerCaptureId"], recorded["payment_intent"],
            "{names}"
        );
    }
}

#[tokio::test]
async fn in_latest_session_a_refund_of_the_later_payment_waits_for_it_to_be_recorded() {
    let app = TestApp::with_design(design("latest_session")).await;
    let id = app.lifetime_order().await;
    app.pay(&id).await;
    let second = paid_session(&id);
    app.stripe.put_session(&second);
    let refund = event("charge.refunded", charge(&pi(&second), 19900, 19900));

    let (early, _) = app.deliver(&refund).await;
    app.deliver(&event("checkout.session.completed", second.clone()))
        .await;
    let (retried, _) = app.deliver(&refund).await;

    assert_eq!(early, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retried, StatusCode::OK);
    let order = app.order(&id).await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["providerOrderId"], second["id"]);
}

#[tokio::test]
async fn in_latest_session_an_earlier_payment_arriving_late_does_not_replace_the_later() {
    let app = TestApp::with_design(design("latest_session")).await;
    let id = app.lifetime_order().await;
    let earlier = paid_session(&id);
    let later = paid_session(&id);
    app.stripe.put_session(&earlier);
    app.stripe.put_session(&later);

    app.deliver(&event("checkout.session.completed", later.clone()))
        .await;
    app.deliver(&event("checkout.session.completed", earlier))
        .await;

    assert_eq!(app.order(&id).await["providerOrderId"], later["id"]);
}

#[tokio::test]
async fn orders_in_memory_are_paid_refunded_and_deduplicated_like_in_sqlite() {
    let app = TestApp::with_design(design("memory")).await;
    let id = app.lifetime_order().await;
    let paid = app.pay(&id).await;
    let refund = event("charge.refunded", charge(&pi(&paid), 19900, 19900));

    let (first, _) = app.deliver(&refund).await;
    let (again, body) = app.deliver(&refund).await;

    assert_eq!((first, again), (StatusCode::OK, StatusCode::OK));
    assert_eq!(body, json!({"received": true, "duplicate": true}));
    assert_eq!(app.status_of(&id).await, "refunded");
    assert_eq!(app.state.store().processed_event_count().unwrap(), 2);
}

#[tokio::test]
async fn concurrent_duplicates_apply_once_in_memory() {
    let app = TestApp::with_design(design("memory")).await;
    let id = app.lifetime_order().await;
    let completed = event("checkout.session.completed", paid_session(&id));

    let answers = deliver_at_once(&app, &completed, 8).await;

    assert!(answers.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(app.status_of(&id).await, "paid");
    assert_eq!(app.state.store().processed_event_count().unwrap(), 1);
}

async fn deliver_at_once(app: &TestApp, event: &serde_json::Value, n: usize) -> Vec<StatusCode> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let url = app.url.clone();
        let body = event.to_string();
        handles.push(tokio::spawn(async move {
            let signature = common::sign(common::WEBHOOK_SECRET, common::now(), &body);
            reqwest::Client::new()
                .post(format!("{url}/api/webhooks/stripe"))
                .header("stripe-signature", signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
