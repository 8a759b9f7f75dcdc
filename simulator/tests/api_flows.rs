//! Whole flows through the API on a real socket: catalogue and payment links, buyers visiting and
//! paying (cards, declines, SEPA and ACH debits), refunds, expiry, lists, expansion, events,
//! customers and idempotency.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, TestSim, CLOCK_START};
use reqwest::Method;
use serde_json::{json, Value};

/// The types of the events about one object (`data.object.id`), oldest first.
fn types_about(t: &TestSim, id: &str) -> Vec<String> {
    t.sim
        .events()
        .iter()
        .filter(|e| e["data"]["object"]["id"] == id)
        .map(|e| str_of(&e["type"]))
        .collect()
}

fn checkout_session_events(t: &TestSim) -> Vec<String> {
    t.sim
        .events()
        .iter()
        .map(|e| str_of(&e["type"]))
        .filter(|ty| ty.starts_with("checkout.session."))
        .collect()
}

async fn session(t: &TestSim, id: &str) -> Value {
    t.object(&format!("/v1/checkout/sessions/{id}")).await
}

async fn intent(t: &TestSim, id: &str) -> Value {
    t.object(&format!("/v1/payment_intents/{id}")).await
}

async fn charge(t: &TestSim, id: &str) -> Value {
    t.object(&format!("/v1/charges/{id}")).await
}

// ----- catalogue, payment links and visits -----

#[tokio::test]
async fn payment_link_built_through_the_api_opens_sessions_with_its_items_and_metadata() {
    // Arrange
    let t = common::start().await;
    let product = t.create_product("Team plan").await;
    let price = t.create_price(&str_of(&product["id"]), 2500, "usd").await;
    let link = t
        .post(
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &str_of(&price["id"])),
                ("line_items[0][quantity]", "3"),
                ("metadata[plan]", "team"),
                ("after_completion[type]", "redirect"),
                (
                    "after_completion[redirect][url]",
                    "https://example.com/done?cs={CHECKOUT_SESSION_ID}",
                ),
            ],
        )
        .await
        .ok();

    // Act
    let opened = t.visit(&str_of(&link["id"]), Some("order_7")).await;

    // Assert
    assert_eq!(product["object"], "product");
    assert_eq!(price["unit_amount"], 2500);
    assert_eq!(price["currency"], "usd");
    assert_eq!(link["active"], true);
    assert!(str_of(&link["url"]).starts_with(&format!("{}/b/", t.base)));
    assert!(str_of(&opened["id"]).starts_with("cs_test_"));
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["payment_status"], "unpaid");
    assert_eq!(opened["amount_total"], 7500);
    assert_eq!(opened["currency"], "usd");
    assert_eq!(opened["payment_link"], link["id"]);
    assert_eq!(opened["metadata"], json!({ "plan": "team" }));
    assert_eq!(opened["client_reference_id"], "order_7");
    assert_eq!(opened["payment_intent"], Value::Null);
    assert_eq!(opened["customer_details"], Value::Null);
    assert_eq!(
        opened["success_url"],
        "https://example.com/done?cs={CHECKOUT_SESSION_ID}"
    );
    assert_eq!(
        opened["url"],
        format!("{}/c/pay/{}", t.base, str_of(&opened["id"]))
    );
    assert_eq!(opened["created"], CLOCK_START);
    assert_eq!(opened["expires_at"], CLOCK_START + 86_400);
    assert_eq!(
        t.event_types().await,
        ["product.created", "price.created", "payment_link.created"]
    );
}

#[tokio::test]
async fn valid_client_reference_id_is_kept_on_the_session() {
    // Arrange
    let t = common::start().await;
    let max_length = "a".repeat(200);

    // Act
    let with_dash = t.visit(&t.lifetime_link(), Some("order_42-b")).await;
    let longest = t.visit(&t.lifetime_link(), Some(&max_length)).await;

    // Assert
    assert_eq!(with_dash["client_reference_id"], "order_42-b");
    assert_eq!(longest["client_reference_id"], max_length.as_str());
}

#[tokio::test]
async fn client_reference_id_with_a_space_is_silently_dropped() {
    // Arrange
    let t = common::start().await;

    // Act
    let opened = t.visit(&t.lifetime_link(), Some("order 1")).await;

    // Assert: the session opens all the same, without the reference.
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["client_reference_id"], Value::Null);
}

#[tokio::test]
async fn client_reference_id_over_200_characters_is_silently_dropped() {
    // Arrange
    let t = common::start().await;
    let too_long = "a".repeat(201);

    // Act
    let opened = t.visit(&t.lifetime_link(), Some(&too_long)).await;

    // Assert
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["client_reference_id"], Value::Null);
}

#[tokio::test]
async fn client_reference_id_with_other_punctuation_is_silently_dropped() {
    // Arrange
    let t = common::start().await;

    // Act
    let opened = t.visit(&t.lifetime_link(), Some("order@1")).await;

    // Assert
    assert_eq!(opened["client_reference_id"], Value::Null);
}

#[tokio::test]
async fn visit_without_client_reference_id_leaves_it_null() {
    // Arrange
    let t = common::start().await;

    // Act
    let opened = t.visit(&t.lifetime_link(), None).await;

    // Assert
    assert_eq!(opened["client_reference_id"], Value::Null);
    assert_eq!(opened["amount_total"], 19_900);
}

#[tokio::test]
async fn every_visit_opens_a_new_session() {
    // Arrange
    let t = common::start().await;

    // Act
    let first = t.visit(&t.lifetime_link(), None).await;
    let second = t.visit(&t.lifetime_link(), None).await;

    // Assert
    assert_ne!(first["id"], second["id"]);
    assert_eq!(t.count("/v1/checkout/sessions").await, 2);
}

#[tokio::test]
async fn visiting_a_deactivated_link_is_refused_and_opens_no_session() {
    // Arrange
    let t = common::start().await;
    let link = t.lifetime_link();
    t.post(&format!("/v1/payment_links/{link}"), &[("active", "false")])
        .await
        .ok();

    // Act
    let answer = t
        .control(
            Method::POST,
            &format!("/_sim/payment_links/{link}/visit"),
            Some(json!({})),
        )
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(t.count("/v1/checkout/sessions").await, 0);
}

// ----- cards -----

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
    let pi = intent(&t, &str_of(&paid["payment_intent"])).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount"], 19_900);
    assert_eq!(pi["amount_received"], 19_900);
    assert_eq!(pi["last_payment_error"], Value::Null);
    let ch = charge(&t, &str_of(&pi["latest_charge"])).await;
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
        let ch = charge(&t, &ch).await;
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
        let s = session(&t, &opened).await;
        assert_eq!(s["status"], "open", "{number}");
        assert_eq!(s["payment_status"], "unpaid", "{number}");
        assert!(s["url"].is_string(), "{number}");
        let pi_id = str_of(&s["payment_intent"]);
        assert_eq!(error["payment_intent"]["id"], pi_id.as_str(), "{number}");
        // …the PaymentIntent waiting for a new method, with the error…
        let pi = intent(&t, &pi_id).await;
        assert_eq!(pi["status"], "requires_payment_method", "{number}");
        assert_eq!(pi["last_payment_error"]["type"], "card_error");
        assert_eq!(pi["last_payment_error"]["code"], *code, "{number}");
        assert_eq!(
            pi["last_payment_error"]["decline_code"], *decline_code,
            "{number}"
        );
        assert_eq!(pi["amount_received"], 0);
        // …a failed charge…
        let ch = charge(&t, &str_of(&error["charge"])).await;
        assert_eq!(ch["status"], "failed", "{number}");
        assert_eq!(ch["paid"], false);
        assert_eq!(ch["failure_code"], *code, "{number}");
        assert_eq!(ch["failure_message"], *message, "{number}");
        assert_eq!(pi["latest_charge"], ch["id"]);
        // …and the events of a failed attempt.
        assert_eq!(
            types_about(&t, &pi_id),
            ["payment_intent.created", "payment_intent.payment_failed"],
            "{number}"
        );
        assert_eq!(types_about(&t, &str_of(&ch["id"])), ["charge.failed"]);
    }
    assert!(
        checkout_session_events(&t).is_empty(),
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
    let ch = charge(&t, &str_of(&answer.error(402)["charge"])).await;
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
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["last_payment_error"], Value::Null);
    assert_ne!(pi["latest_charge"], failed_charge.as_str());
    let charges = t
        .get_with("/v1/charges", &[("payment_intent", &pi_id)])
        .await
        .ok();
    let statuses: Vec<&Value> = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses, [&json!("succeeded"), &json!("failed")]);
    assert_eq!(
        types_about(&t, &pi_id),
        [
            "payment_intent.created",
            "payment_intent.payment_failed",
            "payment_intent.succeeded"
        ]
    );
    assert_eq!(checkout_session_events(&t), ["checkout.session.completed"]);
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
    assert_eq!(session(&t, &opened).await["payment_intent"], Value::Null);
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
    assert_eq!(session(&t, &opened).await["status"], "open");
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
    assert_eq!(session(&t, &opened).await["status"], "open");
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

// ----- bank debits -----

#[tokio::test]
async fn sepa_debit_that_succeeds_completes_unpaid_then_pays_after_180_seconds() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_eur_session().await;

    // Act
    let completed = t
        .pay(
            &opened,
            json!({ "sepa_debit": { "iban": "DE89370400440532013000" } }),
        )
        .await
        .ok();

    // Assert: submitted, not yet paid.
    assert_eq!(completed["status"], "complete");
    assert_eq!(completed["payment_status"], "unpaid");
    let pi_id = str_of(&completed["payment_intent"]);
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "processing");
    let ch_id = str_of(&pi["latest_charge"]);
    assert_eq!(charge(&t, &ch_id).await["status"], "pending");
    assert_eq!(
        charge(&t, &ch_id).await["payment_method_details"]["type"],
        "sepa_debit"
    );
    assert_eq!(checkout_session_events(&t), ["checkout.session.completed"]);
    assert_eq!(
        t.events_of("checkout.session.completed")[0]["data"]["object"]["payment_status"],
        "unpaid"
    );

    // Act: one second short of the settlement delay, nothing happens…
    t.advance(179).await;
    assert_eq!(intent(&t, &pi_id).await["status"], "processing");
    assert_eq!(checkout_session_events(&t).len(), 1);
    // …and at 180 seconds the debit succeeds.
    t.advance(1).await;

    // Assert
    assert_eq!(
        checkout_session_events(&t),
        [
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded"
        ]
    );
    let event = &t.events_of("checkout.session.async_payment_succeeded")[0];
    assert_eq!(event["created"], CLOCK_START + 180);
    assert_eq!(event["data"]["object"]["payment_status"], "paid");
    let s = session(&t, &opened).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount_received"], 4900);
    let ch = charge(&t, &ch_id).await;
    assert_eq!(ch["status"], "succeeded");
    assert_eq!(ch["paid"], true);
    assert_eq!(
        types_about(&t, &pi_id),
        [
            "payment_intent.created",
            "payment_intent.processing",
            "payment_intent.succeeded"
        ]
    );
    assert_eq!(
        types_about(&t, &ch_id),
        ["charge.pending", "charge.succeeded"]
    );
}

#[tokio::test]
async fn sepa_debit_that_fails_completes_unpaid_then_fails_after_180_seconds() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_eur_session().await;
    let completed = t
        .pay(
            &opened,
            json!({ "sepa_debit": { "iban": "DE62370400440532013001" } }),
        )
        .await
        .ok();
    let pi_id = str_of(&completed["payment_intent"]);

    // Act
    t.advance(180).await;

    // Assert
    assert_eq!(
        checkout_session_events(&t),
        [
            "checkout.session.completed",
            "checkout.session.async_payment_failed"
        ]
    );
    let event = &t.events_of("checkout.session.async_payment_failed")[0];
    assert_eq!(event["data"]["object"]["payment_status"], "unpaid");
    let s = session(&t, &opened).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "unpaid");
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(
        pi["last_payment_error"]["code"],
        "generic_could_not_process"
    );
    assert_eq!(pi["amount_received"], 0);
    let ch = charge(&t, &str_of(&pi["latest_charge"])).await;
    assert_eq!(ch["status"], "failed");
    assert_eq!(ch["failure_code"], "generic_could_not_process");
    assert_eq!(
        types_about(&t, &pi_id),
        [
            "payment_intent.created",
            "payment_intent.processing",
            "payment_intent.payment_failed"
        ]
    );
}

#[tokio::test]
async fn ach_debit_that_succeeds_completes_unpaid_then_pays_after_180_seconds() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let completed = t
        .pay(
            &opened,
            json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000123456789" } }),
        )
        .await
        .ok();
    assert_eq!(completed["payment_status"], "unpaid");
    let pi_id = str_of(&completed["payment_intent"]);
    assert_eq!(intent(&t, &pi_id).await["status"], "processing");

    // Act
    t.advance(180).await;

    // Assert
    assert_eq!(
        checkout_session_events(&t),
        [
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded"
        ]
    );
    assert_eq!(session(&t, &opened).await["payment_status"], "paid");
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    let ch = charge(&t, &str_of(&pi["latest_charge"])).await;
    assert_eq!(ch["status"], "succeeded");
    assert_eq!(ch["payment_method_details"]["type"], "us_bank_account");
    assert_eq!(
        ch["payment_method_details"]["us_bank_account"]["last4"],
        "6789"
    );
}

#[tokio::test]
async fn ach_debit_from_a_closed_account_fails_after_180_seconds() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let completed = t
        .pay(
            &opened,
            json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000111111113" } }),
        )
        .await
        .ok();
    let pi_id = str_of(&completed["payment_intent"]);

    // Act
    t.advance(180).await;

    // Assert
    assert_eq!(
        checkout_session_events(&t),
        [
            "checkout.session.completed",
            "checkout.session.async_payment_failed"
        ]
    );
    let s = session(&t, &opened).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "unpaid");
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(pi["last_payment_error"]["code"], "account_closed");
    let ch = charge(&t, &str_of(&pi["latest_charge"])).await;
    assert_eq!(ch["status"], "failed");
    assert_eq!(ch["failure_code"], "account_closed");
}

#[tokio::test]
async fn ach_account_that_never_settles_stays_processing() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let completed = t
        .pay(
            &opened,
            json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000000000009" } }),
        )
        .await
        .ok();

    // Act
    t.advance(7 * 86_400).await;

    // Assert
    let pi = intent(&t, &str_of(&completed["payment_intent"])).await;
    assert_eq!(pi["status"], "processing");
    assert_eq!(checkout_session_events(&t), ["checkout.session.completed"]);
}

#[tokio::test]
async fn sepa_debit_is_refused_on_a_usd_session() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = t
        .pay(
            &opened,
            json!({ "sepa_debit": { "iban": "DE89370400440532013000" } }),
        )
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    let s = session(&t, &opened).await;
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_intent"], Value::Null);
    assert!(t.sim.events().is_empty());
}

#[tokio::test]
async fn unknown_iban_is_refused_and_leaves_the_session_open() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_eur_session().await;
    let events_before = t.sim.events().len();

    // Act
    let answer = t
        .pay(
            &opened,
            json!({ "sepa_debit": { "iban": "DE00000000000000000000" } }),
        )
        .await;

    // Assert
    assert_eq!(answer.error(400)["param"], "sepa_debit[iban]");
    assert_eq!(session(&t, &opened).await["status"], "open");
    assert_eq!(t.sim.events().len(), events_before);
}

// ----- refunds -----

#[tokio::test]
async fn full_refund_marks_the_charge_refunded() {
    // Arrange
    let t = common::start().await;
    let (_, pi, ch) = t.paid_with("4242424242424242").await;

    // Act
    let refund = t.post("/v1/refunds", &[("charge", &ch)]).await.ok();

    // Assert
    assert!(str_of(&refund["id"]).starts_with("re_"));
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["amount"], 19_900);
    assert_eq!(refund["charge"], ch.as_str());
    assert_eq!(refund["payment_intent"], pi.as_str());
    let c = charge(&t, &ch).await;
    assert_eq!(c["amount_refunded"], 19_900);
    assert_eq!(c["refunded"], true);
    let types = t.event_types().await;
    assert_eq!(
        types[types.len() - 2..],
        ["refund.created", "charge.refunded"]
    );
    let refunded = &t.events_of("charge.refunded")[0];
    assert_eq!(refunded["data"]["object"]["refunded"], true);
}

#[tokio::test]
async fn partial_refunds_accumulate_and_mark_the_charge_refunded_only_when_full() {
    // Arrange
    let t = common::start().await;
    let (_, pi, ch) = t.paid_with("4242424242424242").await;

    // Act: a partial refund, by PaymentIntent…
    let first = t
        .post(
            "/v1/refunds",
            &[
                ("payment_intent", &pi),
                ("amount", "5000"),
                ("reason", "requested_by_customer"),
            ],
        )
        .await
        .ok();

    // Assert
    assert_eq!(first["amount"], 5000);
    assert_eq!(first["reason"], "requested_by_customer");
    let c = charge(&t, &ch).await;
    assert_eq!(c["amount_refunded"], 5000);
    assert_eq!(c["refunded"], false);
    assert_eq!(t.events_of("refund.created").len(), 1);
    assert_eq!(t.events_of("charge.refunded").len(), 1);
    assert_eq!(
        t.events_of("charge.refunded")[0]["data"]["object"]["refunded"],
        false
    );

    // Act: …then the rest, by charge.
    let second = t.post("/v1/refunds", &[("charge", &ch)]).await.ok();

    // Assert
    assert_eq!(second["amount"], 14_900);
    let c = charge(&t, &ch).await;
    assert_eq!(c["amount_refunded"], 19_900);
    assert_eq!(c["refunded"], true);
    let refunded = t.events_of("charge.refunded");
    assert_eq!(refunded.len(), 2);
    assert_eq!(refunded[1]["data"]["object"]["amount_refunded"], 19_900);
    assert_eq!(refunded[1]["data"]["object"]["refunded"], true);
    assert_eq!(t.events_of("refund.created").len(), 2);
    let listed = t.get_with("/v1/refunds", &[("charge", &ch)]).await.ok();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn refund_larger_than_the_unrefunded_amount_is_refused_with_amount_too_large() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &ch), ("amount", "10000")])
        .await
        .ok();
    let events_before = t.sim.events().len();

    // Act
    let answer = t
        .post("/v1/refunds", &[("charge", &ch), ("amount", "10000")])
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "amount_too_large");
    assert_eq!(error["param"], "amount");
    assert_eq!(t.count("/v1/refunds").await, 1);
    assert_eq!(charge(&t, &ch).await["amount_refunded"], 10_000);
    assert_eq!(t.sim.events().len(), events_before);
}

#[tokio::test]
async fn second_refund_after_a_full_refund_is_refused_with_charge_already_refunded() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &ch)]).await.ok();

    // Act
    let answer = t.post("/v1/refunds", &[("charge", &ch)]).await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["code"], "charge_already_refunded");
    assert_eq!(
        error["message"],
        format!("Charge {ch} has already been refunded.")
    );
    assert_eq!(t.count("/v1/refunds").await, 1);
}

#[tokio::test]
async fn refund_of_a_failed_charge_is_refused() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let declined = t.pay_card(&opened, "4000000000000002").await;
    let ch = str_of(&declined.error(402)["charge"]);

    // Act
    let answer = t.post("/v1/refunds", &[("charge", &ch)]).await;

    // Assert
    assert_eq!(answer.error(400)["param"], "charge");
    assert_eq!(t.count("/v1/refunds").await, 0);
}

#[tokio::test]
async fn refund_of_card_5126_succeeds_then_fails_after_60_seconds_giving_the_amount_back() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4000000000005126").await;
    let refund = t.post("/v1/refunds", &[("charge", &ch)]).await.ok();
    let id = str_of(&refund["id"]);
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(charge(&t, &ch).await["amount_refunded"], 19_900);

    // Act
    t.advance(59).await;
    let before_delay = t.object(&format!("/v1/refunds/{id}")).await;
    t.advance(1).await;

    // Assert
    assert_eq!(before_delay["status"], "succeeded");
    let failed = t.object(&format!("/v1/refunds/{id}")).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_reason"], "expired_or_canceled_card");
    let c = charge(&t, &ch).await;
    assert_eq!(c["amount_refunded"], 0);
    assert_eq!(c["refunded"], false);
    assert_eq!(
        types_about(&t, &id),
        [
            "refund.created",
            "refund.updated",
            "charge.refund.updated",
            "refund.failed"
        ]
    );
    let failed_event = &t.events_of("refund.failed")[0];
    assert_eq!(failed_event["created"], CLOCK_START + 60);
    let updated = &t.events_of("refund.updated")[0];
    assert_eq!(
        updated["data"]["previous_attributes"],
        json!({ "status": "succeeded" })
    );
}

#[tokio::test]
async fn refund_of_card_7726_is_pending_then_succeeds_after_60_seconds() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4000000000007726").await;
    let refund = t.post("/v1/refunds", &[("charge", &ch)]).await.ok();
    let id = str_of(&refund["id"]);

    // Act
    t.advance(60).await;

    // Assert
    assert_eq!(refund["status"], "pending");
    let settled = t.object(&format!("/v1/refunds/{id}")).await;
    assert_eq!(settled["status"], "succeeded");
    assert_eq!(charge(&t, &ch).await["amount_refunded"], 19_900);
    assert_eq!(
        types_about(&t, &id),
        ["refund.created", "refund.updated", "charge.refund.updated"]
    );
    let updated = &t.events_of("refund.updated")[0];
    assert_eq!(
        updated["data"]["previous_attributes"],
        json!({ "status": "pending" })
    );
    assert_eq!(updated["data"]["object"]["status"], "succeeded");
    assert!(t.events_of("refund.failed").is_empty());
}

// ----- expiry -----

#[tokio::test]
async fn open_session_expires_after_24_hours() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    t.advance(86_399).await;
    let still_open = session(&t, &opened).await;
    t.advance(1).await;

    // Assert
    assert_eq!(still_open["status"], "open");
    let s = session(&t, &opened).await;
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
    assert_eq!(
        session(&t, &str_of(&paid["id"])).await["status"],
        "complete"
    );
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
    assert_eq!(session(&t, &id).await["status"], "complete");
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
    let pi = intent(&t, &pi_id).await;
    assert_eq!(pi["status"], "canceled");
    assert_eq!(pi["cancellation_reason"], "abandoned");
    assert_eq!(pi["canceled_at"], CLOCK_START);
    assert_eq!(
        types_about(&t, &pi_id).last().map(String::as_str),
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

// ----- checkout sessions through the API -----

#[tokio::test]
async fn checkout_session_created_with_price_data_totals_its_line_items() {
    // Arrange
    let t = common::start().await;
    let price = t.price("Hoodie", 4000, "usd").await;

    // Act
    let created = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price]", &price),
                ("line_items[0][quantity]", "2"),
                ("line_items[1][price_data][currency]", "usd"),
                ("line_items[1][price_data][unit_amount]", "1500"),
                (
                    "line_items[1][price_data][product_data][name]",
                    "Sticker pack",
                ),
                ("line_items[1][quantity]", "3"),
                (
                    "success_url",
                    "https://example.com/ok?cs={CHECKOUT_SESSION_ID}",
                ),
                ("cancel_url", "https://example.com/cancel"),
                ("client_reference_id", "user 42 / any text"),
                ("customer_email", "buyer@example.com"),
                ("metadata[order]", "42"),
            ],
        )
        .await
        .ok();

    // Assert
    assert_eq!(created["status"], "open");
    assert_eq!(created["mode"], "payment");
    assert_eq!(created["amount_subtotal"], 12_500);
    assert_eq!(created["amount_total"], 12_500);
    assert_eq!(created["currency"], "usd");
    assert_eq!(created["payment_link"], Value::Null);
    assert_eq!(created["payment_intent"], Value::Null);
    assert_eq!(created["client_reference_id"], "user 42 / any text");
    assert_eq!(created["customer_email"], "buyer@example.com");
    assert_eq!(created["metadata"], json!({ "order": "42" }));
    assert_eq!(created["expires_at"], CLOCK_START + 86_400);
    let id = str_of(&created["id"]);
    let items = t
        .object(&format!("/v1/checkout/sessions/{id}/line_items"))
        .await;
    assert_eq!(items["object"], "list");
    assert_eq!(
        items["url"],
        format!("/v1/checkout/sessions/{id}/line_items")
    );
    let data = items["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["description"], "Hoodie");
    assert_eq!(data[0]["quantity"], 2);
    assert_eq!(data[0]["amount_total"], 8000);
    assert_eq!(data[0]["price"]["id"], price.as_str());
    assert_eq!(data[1]["description"], "Sticker pack");
    assert_eq!(data[1]["amount_total"], 4500);
    assert_eq!(data[1]["price"]["unit_amount"], 1500);
    assert_eq!(data[1]["price"]["active"], false);
}

#[tokio::test]
async fn checkout_session_with_expires_at_in_bounds_expires_then() {
    // Arrange
    let t = common::start().await;
    let at = CLOCK_START + 3600;

    // Act
    let created = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "500"),
                ("line_items[0][price_data][product_data][name]", "Sticker"),
                ("success_url", "https://example.com/ok"),
                ("expires_at", &at.to_string()),
            ],
        )
        .await
        .ok();
    t.advance(3600).await;

    // Assert
    assert_eq!(created["expires_at"], at);
    let s = session(&t, &str_of(&created["id"])).await;
    assert_eq!(s["status"], "expired");
}

#[tokio::test]
async fn checkout_session_expires_at_outside_30_minutes_to_24_hours_is_refused() {
    // Arrange
    let t = common::start().await;
    let price = t.price("Hoodie", 4000, "usd").await;
    let too_soon = (CLOCK_START + 29 * 60).to_string();
    let too_late = (CLOCK_START + 86_401).to_string();

    for at in [too_soon, too_late] {
        // Act
        let answer = t
            .post(
                "/v1/checkout/sessions",
                &[
                    ("mode", "payment"),
                    ("line_items[0][price]", &price),
                    ("success_url", "https://example.com/ok"),
                    ("expires_at", &at),
                ],
            )
            .await;

        // Assert
        let error = answer.error(400);
        assert_eq!(error["param"], "expires_at");
        assert_eq!(t.count("/v1/checkout/sessions").await, 0);
    }
}

#[tokio::test]
async fn checkout_session_paid_through_the_api_redirects_to_its_success_url() {
    // Arrange
    let t = common::start().await;
    let created = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "eur"),
                ("line_items[0][price_data][unit_amount]", "990"),
                ("line_items[0][price_data][product_data][name]", "E-book"),
                ("success_url", "https://example.com/ok"),
            ],
        )
        .await
        .ok();

    // Act
    let paid = t
        .pay_card(&str_of(&created["id"]), "4242424242424242")
        .await
        .ok();

    // Assert
    assert_eq!(paid["status"], "complete");
    assert_eq!(paid["payment_method_types"], json!(["card", "sepa_debit"]));
    let pi = intent(&t, &str_of(&paid["payment_intent"])).await;
    assert_eq!(pi["currency"], "eur");
    assert_eq!(pi["amount"], 990);
}

// ----- lists -----

#[tokio::test]
async fn sessions_list_filters_by_payment_link_payment_intent_and_status() {
    // Arrange: a paid and an open session of the Lifetime link, an open one of another link.
    let t = common::start().await;
    let paid = t.paid_session().await;
    let lifetime_open = t.open_session().await;
    let other = t.link(1000, "usd").await;
    let other_open = t.visit(&str_of(&other["id"]), None).await;

    // Act
    let by_link = t
        .get_with(
            "/v1/checkout/sessions",
            &[("payment_link", &t.lifetime_link())],
        )
        .await
        .ok();
    let by_intent = t
        .get_with(
            "/v1/checkout/sessions",
            &[("payment_intent", &str_of(&paid["payment_intent"]))],
        )
        .await
        .ok();
    let open = t
        .get_with("/v1/checkout/sessions", &[("status", "open")])
        .await
        .ok();
    let complete = t
        .get_with("/v1/checkout/sessions", &[("status", "complete")])
        .await
        .ok();

    // Assert
    let ids = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| str_of(&s["id"]))
            .collect()
    };
    assert_eq!(ids(&by_link), [lifetime_open.clone(), str_of(&paid["id"])]);
    assert_eq!(ids(&by_intent), [str_of(&paid["id"])]);
    assert_eq!(ids(&open), [str_of(&other_open["id"]), lifetime_open]);
    assert_eq!(ids(&complete), [str_of(&paid["id"])]);
    assert_eq!(by_link["url"], "/v1/checkout/sessions");
    assert_eq!(by_link["has_more"], false);
}

#[tokio::test]
async fn lists_paginate_newest_first_with_limit_starting_after_and_ending_before() {
    // Arrange: five customers, c0 oldest.
    let t = common::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = t
            .post("/v1/customers", &[("email", &format!("c{i}@example.com"))])
            .await;
        ids.push(c.id());
    }
    let page_ids = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| str_of(&c["id"]))
            .collect()
    };

    // Act
    let first = t.get_with("/v1/customers", &[("limit", "2")]).await.ok();
    let second = t
        .get_with(
            "/v1/customers",
            &[("limit", "2"), ("starting_after", &ids[3])],
        )
        .await
        .ok();
    let last = t
        .get_with(
            "/v1/customers",
            &[("limit", "2"), ("starting_after", &ids[1])],
        )
        .await
        .ok();
    let back = t
        .get_with(
            "/v1/customers",
            &[("limit", "2"), ("ending_before", &ids[2])],
        )
        .await
        .ok();
    let everything = t.get("/v1/customers").await.ok();

    // Assert
    assert_eq!(page_ids(&first), [ids[4].clone(), ids[3].clone()]);
    assert_eq!(first["has_more"], true);
    assert_eq!(page_ids(&second), [ids[2].clone(), ids[1].clone()]);
    assert_eq!(second["has_more"], true);
    assert_eq!(page_ids(&last), [ids[0].clone()]);
    assert_eq!(last["has_more"], false);
    assert_eq!(page_ids(&back), [ids[4].clone(), ids[3].clone()]);
    assert_eq!(back["has_more"], false);
    assert_eq!(everything["data"].as_array().unwrap().len(), 5);
    assert_eq!(everything["has_more"], false);
}

#[tokio::test]
async fn ending_before_with_a_small_limit_says_newer_objects_remain() {
    // Arrange
    let t = common::start().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            t.post("/v1/customers", &[("name", &format!("c{i}"))])
                .await
                .id(),
        );
    }

    // Act
    let page = t
        .get_with(
            "/v1/customers",
            &[("limit", "1"), ("ending_before", &ids[1])],
        )
        .await
        .ok();

    // Assert: the page right before c1 holds c2; c3 remains beyond it.
    assert_eq!(page["data"][0]["id"], ids[2].as_str());
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn expand_replaces_ids_with_objects_on_retrieve() {
    // Arrange
    let t = common::start().await;
    let paid = t.paid_session().await;
    let id = str_of(&paid["id"]);

    // Act
    let expanded = t
        .get_with(
            &format!("/v1/checkout/sessions/{id}"),
            &[
                ("expand[]", "payment_intent.latest_charge"),
                ("expand[]", "line_items"),
            ],
        )
        .await
        .ok();
    let indexed = t
        .get_with(
            &format!("/v1/checkout/sessions/{id}"),
            &[("expand[0]", "payment_intent")],
        )
        .await
        .ok();

    // Assert
    assert_eq!(expanded["payment_intent"]["object"], "payment_intent");
    assert_eq!(expanded["payment_intent"]["id"], paid["payment_intent"]);
    assert_eq!(
        expanded["payment_intent"]["latest_charge"]["object"],
        "charge"
    );
    assert_eq!(
        expanded["payment_intent"]["latest_charge"]["status"],
        "succeeded"
    );
    assert_eq!(expanded["line_items"]["object"], "list");
    assert_eq!(expanded["line_items"]["data"][0]["description"], "Lifetime");
    assert_eq!(indexed["payment_intent"]["object"], "payment_intent");
    // Without expand, ids stay ids and line items stay out.
    let plain = session(&t, &id).await;
    assert!(plain["payment_intent"].is_string());
    assert!(plain.get("line_items").is_none());
}

#[tokio::test]
async fn expand_on_lists_reaches_into_every_item() {
    // Arrange
    let t = common::start().await;
    t.paid_session().await;
    t.paid_session().await;

    // Act
    let list = t
        .get_with(
            "/v1/checkout/sessions",
            &[("expand[]", "data.payment_intent")],
        )
        .await
        .ok();

    // Assert
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for s in data {
        assert_eq!(s["payment_intent"]["object"], "payment_intent");
        assert_eq!(s["payment_intent"]["status"], "succeeded");
    }
}

#[tokio::test]
async fn expand_on_create_returns_the_expanded_object() {
    // Arrange
    let t = common::start().await;
    let price = t.price("Hoodie", 4000, "usd").await;

    // Act
    let created = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price]", &price),
                ("success_url", "https://example.com/ok"),
                ("expand[]", "line_items"),
            ],
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        created["line_items"]["data"][0]["price"]["id"],
        price.as_str()
    );
}

#[tokio::test]
async fn payment_link_line_items_are_listed_in_the_order_given() {
    // Arrange
    let t = common::start().await;
    let a = t.price("First", 100, "usd").await;
    let b = t.price("Second", 200, "usd").await;
    let link = t
        .post(
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &a),
                ("line_items[0][quantity]", "1"),
                ("line_items[1][price]", &b),
                ("line_items[1][quantity]", "2"),
            ],
        )
        .await
        .ok();

    // Act
    let items = t
        .object(&format!(
            "/v1/payment_links/{}/line_items",
            str_of(&link["id"])
        ))
        .await;

    // Assert
    let names: Vec<&Value> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["description"])
        .collect();
    assert_eq!(names, [&json!("First"), &json!("Second")]);
    assert_eq!(items["data"][1]["amount_total"], 400);
}

#[tokio::test]
async fn line_items_paginate_in_the_order_given() {
    // Arrange: a session of three line items.
    let t = common::start().await;
    let mut params = vec![
        ("mode".to_string(), "payment".to_string()),
        (
            "success_url".to_string(),
            "https://example.com/ok".to_string(),
        ),
    ];
    for (i, name) in ["First", "Second", "Third"].iter().enumerate() {
        let price = t.price(name, 100 * (i as i64 + 1), "usd").await;
        params.push((format!("line_items[{i}][price]"), price));
    }
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = t.post("/v1/checkout/sessions", &params).await.id();
    let path = format!("/v1/checkout/sessions/{id}/line_items");
    let names = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| str_of(&i["description"]))
            .collect()
    };

    // Act
    let first = t.get_with(&path, &[("limit", "2")]).await.ok();
    let cursor = str_of(&first["data"][1]["id"]);
    let rest = t
        .get_with(&path, &[("limit", "2"), ("starting_after", &cursor)])
        .await
        .ok();
    let last = str_of(&rest["data"][0]["id"]);
    let back = t
        .get_with(&path, &[("limit", "1"), ("ending_before", &last)])
        .await
        .ok();

    // Assert
    assert_eq!(names(&first), ["First", "Second"]);
    assert_eq!(first["has_more"], true);
    assert_eq!(names(&rest), ["Third"]);
    assert_eq!(rest["has_more"], false);
    assert_eq!(names(&back), ["Second"]);
    assert_eq!(back["has_more"], true);
}

#[tokio::test]
async fn expanding_an_empty_reference_leaves_it_null() {
    // Arrange: an open session has no PaymentIntent and no customer yet.
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let expanded = t
        .get_with(
            &format!("/v1/checkout/sessions/{opened}"),
            &[("expand[]", "payment_intent"), ("expand[]", "customer")],
        )
        .await
        .ok();

    // Assert
    assert_eq!(expanded["payment_intent"], Value::Null);
    assert_eq!(expanded["customer"], Value::Null);
}

// ----- events -----

#[tokio::test]
async fn events_list_filters_by_type_and_by_wildcard() {
    // Arrange: a completed session and an expired one.
    let t = common::start().await;
    t.paid_session().await;
    let opened = t.open_session().await;
    t.post(&format!("/v1/checkout/sessions/{opened}/expire"), &[])
        .await
        .ok();

    // Act
    let exact = t
        .get_with("/v1/events", &[("type", "checkout.session.completed")])
        .await
        .ok();
    let wildcard = t
        .get_with("/v1/events", &[("type", "checkout.session.*")])
        .await
        .ok();
    let several = t
        .get_with(
            "/v1/events",
            &[
                ("types[]", "charge.succeeded"),
                ("types[]", "payment_intent.*"),
            ],
        )
        .await
        .ok();

    // Assert
    let types = |list: &Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| str_of(&e["type"]))
            .collect()
    };
    assert_eq!(types(&exact), ["checkout.session.completed"]);
    assert_eq!(
        types(&wildcard),
        ["checkout.session.expired", "checkout.session.completed"]
    );
    assert_eq!(
        types(&several),
        [
            "payment_intent.succeeded",
            "charge.succeeded",
            "payment_intent.created"
        ]
    );
}

#[tokio::test]
async fn events_list_filters_by_created_gte() {
    // Arrange: a payment now and another an hour later.
    let t = common::start().await;
    t.paid_session().await;
    t.advance(3600).await;
    t.paid_session().await;

    // Act
    let later = t
        .get_with(
            "/v1/events",
            &[
                ("created[gte]", &(CLOCK_START + 3600).to_string()),
                ("limit", "100"),
            ],
        )
        .await
        .ok();

    // Assert
    let data = later["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    assert!(data.iter().all(|e| e["created"] == CLOCK_START + 3600));
    assert_eq!(t.count("/v1/events").await, 8);
}

#[tokio::test]
async fn event_retrieved_by_id_matches_the_listed_one() {
    // Arrange
    let t = common::start().await;
    t.paid_session().await;
    let listed = t.list_all("/v1/events").await[0].clone();

    // Act
    let retrieved = t
        .object(&format!("/v1/events/{}", str_of(&listed["id"])))
        .await;

    // Assert
    assert_eq!(retrieved, listed);
    assert_eq!(retrieved["api_version"], t.sim.api_version());
    assert_eq!(retrieved["livemode"], false);
}

// ----- customers -----

#[tokio::test]
async fn customers_can_be_created_retrieved_updated_and_listed_by_email() {
    // Arrange
    let t = common::start().await;
    let created = t
        .post(
            "/v1/customers",
            &[
                ("email", "ada@example.com"),
                ("name", "Ada"),
                ("metadata[tier]", "gold"),
                ("metadata[team]", "core"),
            ],
        )
        .await
        .ok();
    t.post("/v1/customers", &[("email", "bob@example.com")])
        .await
        .ok();
    let id = str_of(&created["id"]);

    // Act
    let retrieved = t.object(&format!("/v1/customers/{id}")).await;
    let updated = t
        .post(
            &format!("/v1/customers/{id}"),
            &[
                ("name", "Ada Lovelace"),
                ("metadata[tier]", ""),
                ("metadata[city]", "London"),
            ],
        )
        .await
        .ok();
    let by_email = t
        .get_with("/v1/customers", &[("email", "ada@example.com")])
        .await
        .ok();

    // Assert
    assert!(id.starts_with("cus_"));
    assert_eq!(retrieved, created);
    assert_eq!(updated["name"], "Ada Lovelace");
    assert_eq!(updated["email"], "ada@example.com");
    assert_eq!(
        updated["metadata"],
        json!({ "city": "London", "team": "core" })
    );
    let listed = by_email["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], updated);
    let update_event = &t.events_of("customer.updated")[0];
    assert_eq!(update_event["data"]["object"]["name"], "Ada Lovelace");
    assert_eq!(update_event["data"]["previous_attributes"]["name"], "Ada");
    assert_eq!(t.events_of("customer.created").len(), 2);
}

#[tokio::test]
async fn update_that_changes_nothing_emits_no_event() {
    // Arrange
    let t = common::start().await;
    let id = t.post("/v1/customers", &[("name", "Ada")]).await.id();

    // Act
    t.post(&format!("/v1/customers/{id}"), &[("name", "Ada")])
        .await
        .ok();

    // Assert
    assert!(t.events_of("customer.updated").is_empty());
}

#[tokio::test]
async fn session_with_customer_creation_always_makes_a_customer_when_paid() {
    // Arrange
    let t = common::start().await;
    let price = t.price("Course", 9900, "usd").await;
    let link = t
        .create_link(&price, &[("customer_creation", "always")])
        .await;
    let opened = t.visit(&str_of(&link["id"]), None).await;

    // Act
    let paid = t
        .pay(
            &str_of(&opened["id"]),
            json!({ "card": "4242424242424242", "email": "grace@example.com", "name": "Grace" }),
        )
        .await
        .ok();

    // Assert
    let customer = str_of(&paid["customer"]);
    let c = t.object(&format!("/v1/customers/{customer}")).await;
    assert_eq!(c["email"], "grace@example.com");
    assert_eq!(c["name"], "Grace");
    assert_eq!(paid["customer_details"]["email"], "grace@example.com");
    let pi = intent(&t, &str_of(&paid["payment_intent"])).await;
    assert_eq!(pi["customer"], customer.as_str());
}

// ----- idempotency -----

#[tokio::test]
async fn same_idempotency_key_and_parameters_replay_the_first_answer() {
    // Arrange
    let t = common::start().await;
    let params = [("email", "ada@example.com"), ("metadata[a]", "1")];
    let first = t.post_idempotent("/v1/customers", "key-1", &params).await;

    // Act
    let replay = t.post_idempotent("/v1/customers", "key-1", &params).await;

    // Assert
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(replay.status, 200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.text, first.text);
    assert_eq!(t.count("/v1/customers").await, 1);
    assert_eq!(t.events_of("customer.created").len(), 1);
    assert_eq!(
        t.events_of("customer.created")[0]["request"]["idempotency_key"],
        "key-1"
    );
}

#[tokio::test]
async fn replay_ignores_the_order_of_parameters() {
    // Arrange
    let t = common::start().await;
    let first = t
        .post_idempotent(
            "/v1/customers",
            "key-order",
            &[("email", "ada@example.com"), ("name", "Ada")],
        )
        .await;

    // Act
    let replay = t
        .post_idempotent(
            "/v1/customers",
            "key-order",
            &[("name", "Ada"), ("email", "ada@example.com")],
        )
        .await;

    // Assert
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
}

#[tokio::test]
async fn same_idempotency_key_with_other_parameters_is_an_idempotency_error() {
    // Arrange
    let t = common::start().await;
    t.post_idempotent("/v1/customers", "key-2", &[("email", "ada@example.com")])
        .await
        .ok();

    // Act
    let answer = t
        .post_idempotent("/v1/customers", "key-2", &[("email", "bob@example.com")])
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "idempotency_error");
    assert!(str_of(&error["message"]).contains("'key-2'"));
    let customers = t.list_all("/v1/customers").await;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["email"], "ada@example.com");
}

#[tokio::test]
async fn same_idempotency_key_on_another_endpoint_is_an_idempotency_error() {
    // Arrange
    let t = common::start().await;
    t.post_idempotent("/v1/customers", "shared-key", &[("name", "Ada")])
        .await
        .ok();
    let products_before = t.count("/v1/products").await;

    // Act
    let answer = t
        .post_idempotent("/v1/products", "shared-key", &[("name", "Ada")])
        .await;

    // Assert
    assert_eq!(answer.error(400)["type"], "idempotency_error");
    assert_eq!(t.count("/v1/products").await, products_before);
}

#[tokio::test]
async fn replayed_refund_does_not_refund_twice() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    let params = [("charge", ch.as_str()), ("amount", "1000")];
    let first = t.post_idempotent("/v1/refunds", "refund-1", &params).await;

    // Act
    let replay = t.post_idempotent("/v1/refunds", "refund-1", &params).await;

    // Assert
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(t.count("/v1/refunds").await, 1);
    assert_eq!(charge(&t, &ch).await["amount_refunded"], 1000);
    assert_eq!(t.events_of("refund.created").len(), 1);
}

#[tokio::test]
async fn validation_error_under_an_idempotency_key_is_not_kept() {
    // Arrange: the first attempt is invalid…
    let t = common::start().await;
    let invalid = t
        .post_idempotent("/v1/customers", "key-3", &[("colour", "red")])
        .await;
    assert_eq!(invalid.error(400)["code"], "parameter_unknown");

    // Act: …so the corrected retry with the same key runs.
    let corrected = t
        .post_idempotent("/v1/customers", "key-3", &[("name", "Ada")])
        .await;

    // Assert
    assert_eq!(corrected.status, 200);
    assert_eq!(corrected.header("idempotent-replayed"), None);
    assert_eq!(t.count("/v1/customers").await, 1);
}

#[tokio::test]
async fn idempotency_key_on_a_get_has_no_effect() {
    // Arrange
    let t = common::start().await;
    let get = || {
        t.request(Method::GET, "/v1/customers")
            .header("idempotency-key", "get-key")
    };
    t.send(get()).await.ok();
    t.post("/v1/customers", &[("name", "Ada")]).await.ok();

    // Act
    let second = t.send(get()).await;

    // Assert
    assert_eq!(second.header("idempotent-replayed"), None);
    assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
}

// ----- responses and control API -----

#[tokio::test]
async fn every_api_answer_carries_a_request_id_and_the_api_version() {
    // Arrange
    let t = common::start().await;

    // Act
    let ok = t.get("/v1/customers").await;
    let missing = t.get("/v1/customers/cus_nope").await;

    // Assert
    for answer in [&ok, &missing] {
        assert!(answer.header("request-id").unwrap().starts_with("req_"));
        assert_eq!(answer.header("stripe-version"), Some(t.sim.api_version()));
    }
    assert_ne!(ok.header("request-id"), missing.header("request-id"));
}

#[tokio::test]
async fn events_caused_by_api_requests_carry_their_request_id() {
    // Arrange
    let t = common::start().await;

    // Act
    let answer = t.post("/v1/customers", &[("name", "Ada")]).await;

    // Assert
    let event = &t.events_of("customer.created")[0];
    assert_eq!(event["request"]["id"], answer.header("request-id").unwrap());
    assert_eq!(event["request"]["idempotency_key"], Value::Null);
}

#[tokio::test]
async fn control_clock_reports_and_advances_simulator_time() {
    // Arrange
    let t = common::start().await;
    t.open_session().await;

    // Act
    let before = t.control(Method::GET, "/_sim/clock", None).await.ok();
    let after = t.advance(90).await;

    // Assert
    assert_eq!(before["now"], CLOCK_START);
    assert_eq!(before["mode"], "manual");
    assert_eq!(before["next_job_at"], CLOCK_START + 86_400);
    assert_eq!(after["now"], CLOCK_START + 90);
    assert_eq!(t.sim.now(), CLOCK_START + 90);
}

#[tokio::test]
async fn control_reset_forgets_everything_but_the_seed() {
    // Arrange
    let t = common::start().await;
    let link = t.lifetime_link();
    t.paid_session().await;
    t.post("/v1/customers", &[("name", "Ada")]).await.ok();

    // Act
    let answer = t.control(Method::POST, "/_sim/reset", None).await.ok();

    // Assert
    assert_eq!(answer["reset"], true);
    assert_eq!(t.count("/v1/checkout/sessions").await, 0);
    assert_eq!(t.count("/v1/customers").await, 0);
    assert_eq!(t.count("/v1/events").await, 0);
    assert_eq!(t.count("/v1/payment_links").await, 1);
    assert_eq!(t.lifetime_link(), link, "the same seed gives the same ids");
}

#[tokio::test]
async fn control_health_answers_without_a_key_and_info_with_one() {
    // Arrange
    let t = common::start().await;

    // Act
    let health = t.send(t.anonymous(Method::GET, "/_sim/health")).await.ok();
    let info = t.control(Method::GET, "/_sim/info", None).await.ok();
    let info_without_key = t.send(t.anonymous(Method::GET, "/_sim/info")).await;

    // Assert
    assert_eq!(health["status"], "ok");
    assert_eq!(info["base_url"], t.base.as_str());
    assert_eq!(info["seed"], 42);
    assert_eq!(info["clock"], "manual");
    assert_eq!(
        info["payment_links"]["lifetime"]["id"],
        t.lifetime_link().as_str()
    );
    info_without_key.error(401);
}

#[tokio::test]
async fn same_seed_and_requests_give_the_same_ids() {
    // Arrange
    let a = common::start_with_seed(7).await;
    let b = common::start_with_seed(7).await;

    // Act
    let paid_a = a.paid_session().await;
    let paid_b = b.paid_session().await;

    // Assert
    assert_eq!(paid_a["id"], paid_b["id"]);
    assert_eq!(paid_a["payment_intent"], paid_b["payment_intent"]);
}

/// Every kind of refused request, none of which may move the id stream.
async fn refused_requests(t: &common::TestSim, price: &str, paid_session: Option<&str>) {
    let mut answers = vec![
        t.post("/v1/customers", &[("nope", "1")]).await,
        t.send(
            t.http
                .get(t.url("/v1/customers"))
                .bearer_auth("sk_test_wrongkey1234"),
        )
        .await,
        t.get("/v1/customers/cus_nope").await,
        t.post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price]", price),
                ("success_url", "https://example.com/\u{1}"),
            ],
        )
        .await,
        // Valid line items before a bad URL: the items must not take ids.
        t.post(
            "/v1/payment_links",
            &[
                ("line_items[0][price]", price),
                ("after_completion[type]", "redirect"),
                ("after_completion[redirect][url]", "javascript:alert(1)"),
            ],
        )
        .await,
        t.post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "100"),
                ("line_items[0][price_data][product_data][name]", "X"),
                ("expires_at", "1"),
            ],
        )
        .await,
        t.post("/v1/refunds", &[("charge", "ch_nope")]).await,
        t.post("/v1/webhook_endpoints/we_nope", &[("disabled", "true")])
            .await,
        t.post("/v1/checkout/sessions/cs_nope/expire", &[]).await,
        t.control(
            Method::POST,
            "/_sim/webhook_endpoints/we_nope/roll_secret",
            None,
        )
        .await,
        t.pay_card("cs_test_nope", "4242424242424242").await,
        t.control(
            Method::POST,
            "/_sim/payment_links/plink_nope/visit",
            Some(json!({})),
        )
        .await,
    ];
    if let Some(session) = paid_session {
        answers.push(t.pay_card(session, "4242424242424242").await);
    }
    for answer in answers {
        assert!(
            (400..500).contains(&answer.status) && answer.status != 402,
            "expected a refusal: {} {}",
            answer.status,
            answer.text
        );
    }
}

/// A history of successful requests (and one decline), with refused requests slipped in
/// between every step when `with_refusals`; answers every id it saw, in order.
async fn history(t: &common::TestSim, with_refusals: bool) -> Vec<String> {
    let mut ids = Vec::new();
    let price = t.price("Plan", 2500, "usd").await;
    ids.push(price.clone());
    let refuse = |paid: Option<String>| {
        let price = price.clone();
        async move {
            if with_refusals {
                refused_requests(t, &price, paid.as_deref()).await;
            }
        }
    };
    refuse(None).await;
    let customer = t.post("/v1/customers", &[("email", "a@example.com")]).await;
    ids.push(customer.id());
    refuse(None).await;
    let link = t
        .create_link(
            &price,
            &[
                ("after_completion[type]", "redirect"),
                (
                    "after_completion[redirect][url]",
                    "https://example.com/done?s={CHECKOUT_SESSION_ID}",
                ),
            ],
        )
        .await;
    ids.push(str_of(&link["id"]));
    refuse(None).await;
    let session = t.visit(&str_of(&link["id"]), Some("order_1")).await;
    let session_id = str_of(&session["id"]);
    ids.push(session_id.clone());
    let declined = t.pay_card(&session_id, "4000000000000002").await;
    assert_eq!(declined.status, 402);
    refuse(None).await;
    let paid = t.pay_card(&session_id, "4242424242424242").await.ok();
    ids.push(str_of(&paid["payment_intent"]));
    refuse(Some(session_id.clone())).await;
    let intent = t
        .get(&format!(
            "/v1/payment_intents/{}",
            str_of(&paid["payment_intent"])
        ))
        .await
        .ok();
    ids.push(str_of(&intent["latest_charge"]));
    let refund = t
        .post(
            "/v1/refunds",
            &[
                ("charge", &str_of(&intent["latest_charge"])),
                ("amount", "100"),
            ],
        )
        .await;
    ids.push(refund.id());
    refuse(Some(session_id)).await;
    let endpoint = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://example.com/hook"),
                ("enabled_events[0]", "*"),
            ],
        )
        .await
        .ok();
    ids.push(str_of(&endpoint["id"]));
    ids.push(str_of(&endpoint["secret"]));
    let rolled = t
        .control(
            Method::POST,
            &format!(
                "/_sim/webhook_endpoints/{}/roll_secret",
                str_of(&endpoint["id"])
            ),
            None,
        )
        .await
        .ok();
    ids.push(str_of(&rolled["secret"]));
    refuse(None).await;
    let later = t.post("/v1/customers", &[("email", "b@example.com")]).await;
    ids.push(later.id());
    for event in t.list_all("/v1/events").await {
        ids.push(str_of(&event["id"]));
    }
    ids
}

#[tokio::test]
async fn refused_requests_between_the_same_successful_ones_leave_every_id_the_same() {
    // Arrange: two simulators of one seed.
    let quiet = common::start_with_seed(7).await;
    let noisy = common::start_with_seed(7).await;

    // Act: the same history, one of them with a dozen refusals between every step (unknown
    // param, wrong key, unknown ids, invalid URLs, a paid session paid again, …).
    let expected = history(&quiet, false).await;
    let got = history(&noisy, true).await;

    // Assert
    assert!(expected.len() > 20, "{expected:?}");
    assert_eq!(got, expected);
}
