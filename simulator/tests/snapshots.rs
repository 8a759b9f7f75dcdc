//! Snapshots of representative objects and events, as an SDK receives them: any change of shape
//! (a field gone, renamed, retyped or re-valued) shows up as a snapshot diff to review. Ids,
//! secrets, fingerprints, timestamps and the simulator's address are redacted; everything else is
//! kept as it is.
//!
//! Update with `INSTA_UPDATE=always cargo test -p stripe-sim --test snapshots` and review the
//! diff of `tests/snapshots/`.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, TestSim};
use insta::dynamic_redaction;
use insta::internals::{Content, ContentPath, Redaction};
use serde_json::{json, Value};

/// Replaces a string (an id, a secret) with `placeholder`; leaves `null` and objects (an
/// expanded or embedded object keeps its own, redacted, fields) as they are.
fn string(placeholder: &'static str) -> Redaction {
    dynamic_redaction(move |value: Content, _: ContentPath<'_>| {
        if value.as_str().is_some() {
            Content::from(placeholder)
        } else {
            value
        }
    })
}

/// Replaces a timestamp; leaves `null` as it is.
fn time() -> Redaction {
    dynamic_redaction(|value: Content, _: ContentPath<'_>| {
        if value.as_i64().is_some() || value.as_u64().is_some() {
            Content::from("[time]")
        } else {
            value
        }
    })
}

/// Replaces the simulator's address (a random port) and the token or session id ending a hosted
/// URL (`http://127.0.0.1:PORT/b/test_…` → `[base]/b/[token]`); list URLs (`/v1/…`) stay.
fn base_url(base: &str) -> Redaction {
    let base = base.to_string();
    dynamic_redaction(
        move |value: Content, _: ContentPath<'_>| match value.as_str() {
            Some(url) if url.starts_with(&base) => {
                let path = &url[base.len()..];
                let kept = path.rsplit_once('/').map_or(path, |(head, _)| head);
                Content::from(format!("[base]{kept}/[token]"))
            }
            _ => value,
        },
    )
}

/// Snapshots `value` with every id, secret and time redacted, keys sorted.
fn snapshot(t: &TestSim, name: &str, value: &Value) {
    insta::with_settings!({ sort_maps => true, omit_expression => true }, {
        insta::assert_json_snapshot!(name, value, {
            ".**.id" => string("[id]"),
            ".**.payment_intent" => string("[pi]"),
            ".**.latest_charge" => string("[ch]"),
            ".**.charge" => string("[ch]"),
            ".**.payment_method" => string("[pm]"),
            ".**.payment_link" => string("[plink]"),
            ".**.customer" => string("[cus]"),
            ".**.client_secret" => string("[secret]"),
            ".**.balance_transaction" => string("[txn]"),
            ".**.fingerprint" => string("[fingerprint]"),
            ".**.created" => time(),
            ".**.expires_at" => time(),
            ".**.canceled_at" => time(),
            ".**.url" => base_url(&t.base),
            ".**.receipt_url" => base_url(&t.base),
        });
    });
}

#[tokio::test]
async fn completed_session_and_its_payment_objects_keep_their_shape() {
    // Arrange
    let t = common::start().await;
    let opened = t.visit(&t.lifetime_link(), Some("order_42")).await;
    let id = str_of(&opened["id"]);

    // Act
    t.pay(
        &id,
        json!({ "card": "4242424242424242", "email": "ada@example.com", "name": "Ada Lovelace" }),
    )
    .await
    .ok();
    let session = t.object(&format!("/v1/checkout/sessions/{id}")).await;
    let intent = t
        .object(&format!(
            "/v1/payment_intents/{}",
            str_of(&session["payment_intent"])
        ))
        .await;
    let charge = t
        .object(&format!("/v1/charges/{}", str_of(&intent["latest_charge"])))
        .await;

    // Assert
    snapshot(&t, "completed_checkout_session", &session);
    snapshot(&t, "succeeded_payment_intent", &intent);
    snapshot(&t, "succeeded_card_charge", &charge);
}

#[tokio::test]
async fn checkout_session_completed_event_keeps_its_shape() {
    // Arrange
    let t = common::start().await;
    let opened = t.visit(&t.lifetime_link(), Some("order_42")).await;

    // Act
    t.pay_card(&str_of(&opened["id"]), "4242424242424242")
        .await
        .ok();
    let event = t
        .get_with("/v1/events", &[("type", "checkout.session.completed")])
        .await
        .ok()["data"][0]
        .clone();

    // Assert
    snapshot(&t, "checkout_session_completed_event", &event);
}

#[tokio::test]
async fn partial_refund_and_its_charge_refunded_event_keep_their_shape() {
    // Arrange
    let t = common::start().await;
    let (_, _, charge) = t.paid_with("4242424242424242").await;

    // Act
    let refund = t
        .post(
            "/v1/refunds",
            &[
                ("charge", &charge),
                ("amount", "4900"),
                ("reason", "requested_by_customer"),
                ("metadata[ticket]", "T-17"),
            ],
        )
        .await
        .ok();
    let refunded = t
        .get_with("/v1/events", &[("type", "charge.refunded")])
        .await
        .ok()["data"][0]
        .clone();

    // Assert
    snapshot(&t, "partial_refund", &refund);
    snapshot(&t, "charge_refunded_event", &refunded);
}

#[tokio::test]
async fn card_decline_error_envelope_keeps_its_shape() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = t.pay_card(&opened, "4000000000009995").await;

    // Assert
    assert_eq!(answer.status, 402);
    snapshot(&t, "insufficient_funds_decline", &answer.body);
}

#[tokio::test]
async fn seeded_payment_link_keeps_its_shape() {
    // Arrange
    let t = common::start().await;

    // Act
    let link = t
        .object(&format!("/v1/payment_links/{}", t.lifetime_link()))
        .await;

    // Assert
    snapshot(&t, "seeded_payment_link", &link);
}
