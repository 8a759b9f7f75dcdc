//! PaymentMethods: one real `pm_…` object per payment attempt, with the billing details the
//! checkout form collected and the card or bank details; retrievable, expandable from the
//! PaymentIntent, and shown whole wherever Stripe shows it whole (`last_payment_error`, the 402
//! card error, `payment_intent.payment_failed`).

#![allow(clippy::unwrap_used)]

mod common;

use common::str_of;
use serde_json::{json, Value};

fn assert_card_method(pm: &Value, last4: &str) {
    assert!(str_of(&pm["id"]).starts_with("pm_"), "{pm}");
    assert_eq!(pm["object"], "payment_method");
    assert_eq!(pm["type"], "card");
    assert_eq!(pm["livemode"], false);
    assert!(pm["created"].is_i64());
    assert!(pm["metadata"].is_object());
    assert!(pm["billing_details"].is_object());
    let card = &pm["card"];
    assert_eq!(card["last4"], last4);
    assert_eq!(card["exp_month"], 12);
    assert_eq!(card["exp_year"], 2034);
    for field in ["brand", "funding", "country", "fingerprint"] {
        assert!(card[field].is_string(), "card.{field} in {pm}");
    }
    assert!(card["checks"].is_object());
}

#[tokio::test]
async fn a_card_payment_leaves_a_retrievable_payment_method_with_the_buyers_details() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;

    // Act
    let paid = t
        .pay(
            &session,
            json!({ "card": "5555555555554444", "email": "ada@example.com", "name": "Ada Lovelace" }),
        )
        .await
        .ok();

    // Assert
    let intent = t.intent(&str_of(&paid["payment_intent"])).await;
    let pm_id = str_of(&intent["payment_method"]);
    let pm = t.object(&format!("/v1/payment_methods/{pm_id}")).await;
    assert_card_method(&pm, "4444");
    assert_eq!(pm["card"]["brand"], "mastercard");
    assert_eq!(pm["billing_details"]["email"], "ada@example.com");
    assert_eq!(pm["billing_details"]["name"], "Ada Lovelace");
    assert_eq!(pm["billing_details"]["address"]["country"], "US");
    let charge = t.charge(&str_of(&intent["latest_charge"])).await;
    assert_eq!(charge["payment_method"], pm_id.as_str());
    assert_eq!(charge["billing_details"], pm["billing_details"]);
    assert_eq!(
        charge["payment_method_details"]["card"]["fingerprint"],
        pm["card"]["fingerprint"]
    );
}

#[tokio::test]
async fn the_same_card_twice_has_one_fingerprint_and_two_payment_methods() {
    // Arrange
    let t = common::start().await;
    let (_, first, _) = t.paid_with("4242424242424242").await;
    let (_, second, _) = t.paid_with("4242424242424242").await;

    // Act
    let a = t
        .object(&format!(
            "/v1/payment_intents/{first}?expand[]=payment_method"
        ))
        .await;
    let b = t
        .object(&format!(
            "/v1/payment_intents/{second}?expand[]=payment_method"
        ))
        .await;

    // Assert
    assert_card_method(&a["payment_method"], "4242");
    assert_ne!(a["payment_method"]["id"], b["payment_method"]["id"]);
    assert_eq!(
        a["payment_method"]["card"]["fingerprint"],
        b["payment_method"]["card"]["fingerprint"]
    );
}

#[tokio::test]
async fn a_decline_shows_the_whole_payment_method_in_the_intent_the_error_and_the_event() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;

    // Act
    let declined = t.pay(&session, json!({ "card": "4000000000009995" })).await;

    // Assert: the 402 body, the PaymentIntent and its event carry the full object.
    let error = declined.error(402).clone();
    assert_card_method(&error["payment_method"], "9995");
    assert!(
        error.get("payment_method_type").is_none(),
        "only invoice errors carry payment_method_type: {error}"
    );
    let intent = t.intent(&str_of(&error["payment_intent"]["id"])).await;
    let last = &intent["last_payment_error"];
    assert_card_method(&last["payment_method"], "9995");
    assert_eq!(last["payment_method"]["id"], error["payment_method"]["id"]);
    assert_eq!(intent["payment_method"], Value::Null);
    let failed = &t.events_of("payment_intent.payment_failed")[0];
    assert_card_method(
        &failed["data"]["object"]["last_payment_error"]["payment_method"],
        "9995",
    );
    let pm = t
        .object(&format!(
            "/v1/payment_methods/{}",
            str_of(&last["payment_method"]["id"])
        ))
        .await;
    assert_eq!(pm["card"]["last4"], "9995");
}

#[tokio::test]
async fn the_incorrect_cvc_card_fails_its_cvc_check() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;

    // Act
    let declined = t.pay_card(&session, "4000000000000127").await;

    // Assert
    let error = declined.error(402);
    assert_eq!(
        error["payment_method"]["card"]["checks"]["cvc_check"],
        "fail"
    );
}

#[tokio::test]
async fn a_sepa_debit_payment_method_carries_the_bank_details_and_the_iban_country() {
    // Arrange
    let t = common::start().await;
    let session = t.open_eur_session().await;

    // Act
    let paid = t
        .pay(
            &session,
            json!({ "sepa_debit": { "iban": "AT611904300234573201" }, "name": "Jenny Rosen" }),
        )
        .await
        .ok();

    // Assert
    let intent = t
        .object(&format!(
            "/v1/payment_intents/{}?expand[]=payment_method",
            str_of(&paid["payment_intent"])
        ))
        .await;
    let pm = &intent["payment_method"];
    assert_eq!(pm["type"], "sepa_debit");
    assert_eq!(pm["sepa_debit"]["last4"], "3201");
    assert_eq!(pm["sepa_debit"]["country"], "AT");
    assert_eq!(pm["sepa_debit"]["bank_code"], "19043002");
    assert!(pm["sepa_debit"]["fingerprint"].is_string());
    assert_eq!(pm["billing_details"]["name"], "Jenny Rosen");
    assert_eq!(pm["billing_details"]["address"]["country"], "AT");
    assert!(pm.get("card").is_none());
    assert_eq!(paid["customer_details"]["address"]["country"], "AT");
}

#[tokio::test]
async fn an_ach_payment_method_carries_the_routing_number_and_last4() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;

    // Act
    let paid = t
        .pay(
            &session,
            json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000123456789" } }),
        )
        .await
        .ok();

    // Assert
    let intent = t.intent(&str_of(&paid["payment_intent"])).await;
    let pm = t
        .object(&format!(
            "/v1/payment_methods/{}",
            str_of(&intent["payment_method"])
        ))
        .await;
    assert_eq!(pm["type"], "us_bank_account");
    assert_eq!(pm["us_bank_account"]["routing_number"], "110000000");
    assert_eq!(pm["us_bank_account"]["last4"], "6789");
    assert_eq!(pm["us_bank_account"]["account_holder_type"], "individual");
}

#[tokio::test]
async fn a_failed_bank_debit_says_the_attempt_failed_and_leaves_the_reason_on_the_charge() {
    // Arrange
    let t = common::start().await;
    let session = t.open_eur_session().await;
    t.pay(
        &session,
        json!({ "sepa_debit": { "iban": "DE62370400440532013001" } }),
    )
    .await
    .ok();

    // Act
    t.advance(180).await;

    // Assert
    let intent_id = str_of(&t.session(&session).await["payment_intent"]);
    let intent = t.intent(&intent_id).await;
    assert_eq!(intent["status"], "requires_payment_method");
    let error = &intent["last_payment_error"];
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "payment_intent_payment_attempt_failed");
    assert_eq!(error["message"], "The payment failed.");
    assert_eq!(
        error["doc_url"],
        "https://stripe.com/docs/error-codes/payment-intent-payment-attempt-failed"
    );
    assert_eq!(error["payment_method"]["type"], "sepa_debit");
    assert_eq!(error["payment_method"]["sepa_debit"]["last4"], "3001");
    let charge = t.charge(&str_of(&intent["latest_charge"])).await;
    assert_eq!(charge["status"], "failed");
    assert_eq!(charge["failure_code"], "generic_could_not_process");
}

#[tokio::test]
async fn an_unknown_payment_method_is_a_missing_resource() {
    // Arrange
    let t = common::start().await;

    // Act
    let answer = t.get("/v1/payment_methods/pm_nope").await;

    // Assert
    let error = answer.error(404);
    assert_eq!(error["code"], "resource_missing");
    assert_eq!(error["message"], "No such payment_method: 'pm_nope'");
}
