//! Card payments of a Checkout Session: success cards, every decline card, Radar blocks, retries
//! after a decline, and cards refused before any PaymentIntent exists.

#![allow(clippy::unwrap_used)]

mod common;

use common::{pluck, str_of};
use serde_json::{json, Value};

#[tokio::test]
async fn successful_card_completes_the_session_paid() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let paid = t.pay_card(&opened, "4242424242424242").await.ok();

    // Assert
    assert_eq!(paid["status"], "complete");
    assert_eq!(paid["payment_status"], "paid");
    assert_eq!(paid["url"], Value::Null);
    assert_eq!(paid["customer_details"]["email"], "buyer@example.com");
    let pi = t.intent(&str_of(&paid["payment_intent"])).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount"], 19_900);
    assert_eq!(pi["amount_received"], 19_900);
    assert_eq!(pi["last_payment_error"], Value::Null);
    let ch = t.charge(&str_of(&pi["latest_charge"])).await;
    assert_eq!(ch["status"], "succeeded");
    assert_eq!(ch["paid"], true);
    assert_eq!(ch["captured"], true);
    assert_eq!(ch["amount"], 19_900);
    assert_eq!(ch["payment_intent"], pi["id"]);
    assert_eq!(ch["payment_method_details"]["card"]["last4"], "4242");
    assert_eq!(ch["payment_method_details"]["card"]["brand"], "visa");
    assert_eq!(ch["outcome"]["type"], "authorized");
    assert_eq!(
        t.event_types().await,
        [
            "payment_intent.created",
            "charge.succeeded",
            "payment_intent.succeeded",
            "checkout.session.completed"
        ]
    );
    let completed = &t.events_of("checkout.session.completed")[0];
    assert_eq!(completed["data"]["object"]["id"], opened.as_str());
    assert_eq!(completed["data"]["object"]["payment_status"], "paid");
    assert!(completed["data"]["object"].get("line_items").is_none());
}

#[tokio::test]
async fn other_success_cards_complete_the_session_with_their_brand() {
    // Arrange
    let t = common::start().await;
    let cards = [
        ("5555555555554444", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
    ];

    for (number, brand) in cards {
        // Act
        let (_, _, ch) = t.paid_with(number).await;

        // Assert
        let ch = t.charge(&ch).await;
        assert_eq!(ch["status"], "succeeded", "{number}");
        assert_eq!(ch["payment_method_details"]["card"]["brand"], brand);
        assert_eq!(
            ch["payment_method_details"]["card"]["last4"],
            &number[number.len() - 4..]
        );
    }
}

/// Every decline card of the simulator: number, `code`, `decline_code`, message.
const DECLINES: &[(&str, &str, &str, &str)] = &[
    (
        "4000000000000002",
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    ),
    (
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    (
        "4000000000009987",
        "card_declined",
        "lost_card",
        "Your card was declined.",
    ),
    (
        "4000000000009979",
        "card_declined",
        "stolen_card",
        "Your card was declined.",
    ),
    (
        "4000000000000069",
        "expired_card",
        "expired_card",
        "Your card has expired.",
    ),
    (
        "4000000000000127",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    (
        "4000000000000119",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    (
        "4000000000006975",
        "card_declined",
        "card_velocity_exceeded",
        "Your card was declined.",
    ),
    (
        "4100000000000019",
        "card_declined",
        "fraudulent",
        "Your card was declined.",
    ),
];

#[tokio::test]
async fn every_decline_card_answers_402_with_its_decline_code_and_leaves_the_session_open() {
    // Arrange
    let t = common::start().await;

    for (number, code, decline_code, message) in DECLINES {
        let opened = t.open_session().await;

        // Act
        let answer = t.pay_card(&opened, number).await;

        // Assert: the card error…
        let error = answer.error(402);
        assert_eq!(error["type"], "card_error", "{number}");
        assert_eq!(error["code"], *code, "{number}");
        assert_eq!(error["decline_code"], *decline_code, "{number}");
        assert_eq!(error["message"], *message, "{number}");
        // …the session, still open for another attempt…
        let s = t.session(&opened).await;
        assert_eq!(s["status"], "open", "{number}");
        assert_eq!(s["payment_status"], "unpaid", "{number}");
        assert!(s["url"].is_string(), "{number}");
        let pi_id = str_of(&s["payment_intent"]);
        assert_eq!(error["payment_intent"]["id"], pi_id.as_str(), "{number}");
        // …the PaymentIntent waiting for a new method, with the error…
        let pi = t.intent(&pi_id).await;
        assert_eq!(pi["status"], "requires_payment_method", "{number}");
        assert_eq!(pi["last_payment_error"]["type"], "card_error");
        assert_eq!(pi["last_payment_error"]["code"], *code, "{number}");
        assert_eq!(
            pi["last_payment_error"]["decline_code"], *decline_code,
            "{number}"
        );
        assert_eq!(pi["amount_received"], 0);
        // …a failed charge…
        let ch = t.charge(&str_of(&error["charge"])).await;
        assert_eq!(ch["status"], "failed", "{number}");
        assert_eq!(ch["paid"], false);
        assert_eq!(ch["failure_code"], *code, "{number}");
        assert_eq!(ch["failure_message"], *message, "{number}");
        assert_eq!(pi["latest_charge"], ch["id"]);
        // …and the events of a failed attempt.
        assert_eq!(
            t.types_about(&pi_id),
            ["payment_intent.created", "payment_intent.payment_failed"],
            "{number}"
        );
        assert_eq!(t.types_about(&str_of(&ch["id"])), ["charge.failed"]);
    }
    assert!(
        t.checkout_session_events().is_empty(),
        "a decline must not emit a checkout.session event"
    );
}

#[tokio::test]
async fn fraudulent_card_is_blocked_by_radar() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = t.pay_card(&opened, "4100000000000019").await;

    // Assert
    let ch = t.charge(&str_of(&answer.error(402)["charge"])).await;
    assert_eq!(ch["outcome"]["type"], "blocked");
    assert_eq!(ch["outcome"]["risk_level"], "highest");
}

#[tokio::test]
async fn retry_after_a_decline_completes_the_session_with_the_same_payment_intent() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let declined = t.pay_card(&opened, "4000000000009995").await;
    let pi_id = str_of(&declined.error(402)["payment_intent"]["id"]);
    let failed_charge = str_of(&declined.error(402)["charge"]);

    // Act
    let paid = t.pay_card(&opened, "4242424242424242").await.ok();

    // Assert
    assert_eq!(paid["status"], "complete");
    assert_eq!(paid["payment_status"], "paid");
    assert_eq!(paid["payment_intent"], pi_id.as_str());
    let pi = t.intent(&pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["last_payment_error"], Value::Null);
    assert_ne!(pi["latest_charge"], failed_charge.as_str());
    let charges = t
        .get_with("/v1/charges", &[("payment_intent", &pi_id)])
        .await
        .ok();
    assert_eq!(pluck(&charges, "status"), ["succeeded", "failed"]);
    assert_eq!(
        t.types_about(&pi_id),
        [
            "payment_intent.created",
            "payment_intent.payment_failed",
            "payment_intent.succeeded"
        ]
    );
    assert_eq!(t.checkout_session_events(), ["checkout.session.completed"]);
}

#[tokio::test]
async fn card_number_failing_luhn_is_refused_before_any_payment_intent_exists() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = t.pay_card(&opened, "4242424242424241").await;

    // Assert
    let error = answer.error(402);
    assert_eq!(error["code"], "incorrect_number");
    assert_eq!(error["message"], "Your card number is incorrect.");
    assert_eq!(t.session(&opened).await["payment_intent"], Value::Null);
    assert!(t.sim.events().is_empty());
}

#[tokio::test]
async fn real_card_number_is_declined_in_test_mode() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = t.pay_card(&opened, "4111111111111111").await;

    // Assert
    let error = answer.error(402);
    assert_eq!(error["code"], "card_declined");
    assert_eq!(error["decline_code"], "test_mode_live_card");
    assert_eq!(t.session(&opened).await["status"], "open");
}

#[tokio::test]
async fn card_with_a_past_expiry_is_refused_with_invalid_expiry_year() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = t
        .pay(
            &opened,
            json!({ "card": { "number": "4242424242424242", "exp_month": 1, "exp_year": 2020, "cvc": "123" } }),
        )
        .await;

    // Assert
    let error = answer.error(402);
    assert_eq!(error["code"], "invalid_expiry_year");
    assert_eq!(error["param"], "exp_year");
    assert_eq!(t.session(&opened).await["status"], "open");
}

#[tokio::test]
async fn paying_a_completed_session_again_is_refused() {
    // Arrange
    let t = common::start().await;
    let paid = t.paid_session().await;
    let events_before = t.sim.events().len();

    // Act
    let answer = t.pay_card(&str_of(&paid["id"]), "4242424242424242").await;

    // Assert
    assert_eq!(answer.error(400)["code"], "checkout_session_complete");
    assert_eq!(t.sim.events().len(), events_before);
    assert_eq!(t.count("/v1/charges").await, 1);
}
