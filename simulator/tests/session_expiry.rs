//! Checkout Session expiry: after 24 hours on the simulator clock, or at once through the expire
//! endpoint, and what an expired session still allows.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, CLOCK_START};
use serde_json::Value;

#[tokio::test]
async fn open_session_expires_after_24_hours() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    t.advance(86_399).await;
    let still_open = t.session(&opened).await;
    t.advance(1).await;

    // Assert
    assert_eq!(still_open["status"], "open");
    let s = t.session(&opened).await;
    assert_eq!(s["status"], "expired");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["url"], Value::Null);
    let expired = t.events_of("checkout.session.expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["created"], CLOCK_START + 86_400);
    assert_eq!(expired[0]["data"]["object"]["id"], opened.as_str());
    assert_eq!(expired[0]["data"]["object"]["url"], Value::Null);
    assert_eq!(expired[0]["request"]["id"], Value::Null);
}

#[tokio::test]
async fn completed_session_does_not_expire() {
    // Arrange
    let t = common::start().await;
    let paid = t.paid_session().await;

    // Act
    t.advance(2 * 86_400).await;

    // Assert
    assert_eq!(t.session(&str_of(&paid["id"])).await["status"], "complete");
    assert!(t.events_of("checkout.session.expired").is_empty());
}

#[tokio::test]
async fn expire_endpoint_expires_an_open_session_at_once() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let expired = t
        .post(&format!("/v1/checkout/sessions/{opened}/expire"), &[])
        .await
        .ok();

    // Assert
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["url"], Value::Null);
    let events = t.events_of("checkout.session.expired");
    assert_eq!(events.len(), 1);
    assert!(str_of(&events[0]["request"]["id"]).starts_with("req_"));
    // The scheduled expiry later finds nothing to do.
    t.advance(86_400).await;
    assert_eq!(t.events_of("checkout.session.expired").len(), 1);
}

#[tokio::test]
async fn expiring_a_complete_session_is_refused() {
    // Arrange
    let t = common::start().await;
    let paid = t.paid_session().await;
    let id = str_of(&paid["id"]);

    // Act
    let answer = t
        .post(&format!("/v1/checkout/sessions/{id}/expire"), &[])
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert!(str_of(&error["message"]).contains("\"complete\""));
    assert_eq!(t.session(&id).await["status"], "complete");
    assert!(t.events_of("checkout.session.expired").is_empty());
}

#[tokio::test]
async fn expiring_a_session_after_a_decline_cancels_its_payment_intent() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let declined = t.pay_card(&opened, "4000000000000002").await;
    let pi_id = str_of(&declined.error(402)["payment_intent"]["id"]);

    // Act
    t.post(&format!("/v1/checkout/sessions/{opened}/expire"), &[])
        .await
        .ok();

    // Assert
    let pi = t.intent(&pi_id).await;
    assert_eq!(pi["status"], "canceled");
    assert_eq!(pi["cancellation_reason"], "abandoned");
    assert_eq!(pi["canceled_at"], CLOCK_START);
    assert_eq!(
        t.types_about(&pi_id).last().map(String::as_str),
        Some("payment_intent.canceled")
    );
}

#[tokio::test]
async fn expired_session_cannot_be_paid() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    t.advance(86_400).await;

    // Act
    let answer = t.pay_card(&opened, "4242424242424242").await;

    // Assert
    assert_eq!(answer.error(400)["code"], "checkout_session_expired");
    assert_eq!(t.count("/v1/payment_intents").await, 0);
}
