//! Delayed payment methods (SEPA and ACH debits): the session completes unpaid, then the debit
//! settles or fails 180 simulated seconds later.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, Resp, TestSim, CLOCK_START};
use serde_json::{json, Value};

/// Pays `session` by SEPA Direct Debit from `iban` (a test IBAN decides the outcome).
async fn pay_sepa(t: &TestSim, session: &str, iban: &str) -> Resp {
    t.pay(session, json!({ "sepa_debit": { "iban": iban } }))
        .await
}

/// Pays `session` by ACH Direct Debit from the test bank's `account` (the number decides the
/// outcome).
async fn pay_ach(t: &TestSim, session: &str, account: &str) -> Resp {
    let bank_account = json!({ "routing_number": "110000000", "account_number": account });
    t.pay(session, json!({ "us_bank_account": bank_account }))
        .await
}

/// Asserts what every settled debit shares (one `async_payment_succeeded`, the session paid, the
/// PaymentIntent and its charge succeeded) and returns the PaymentIntent and the charge.
async fn assert_settled(t: &TestSim, session: &str, pi_id: &str) -> (Value, Value) {
    assert_eq!(
        t.checkout_session_events(),
        [
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded"
        ]
    );
    let s = t.session(session).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    let pi = t.intent(pi_id).await;
    assert_eq!(pi["status"], "succeeded");
    let ch = t.charge(&str_of(&pi["latest_charge"])).await;
    assert_eq!(ch["status"], "succeeded");
    (pi, ch)
}

/// Asserts what every failed debit shares (one `async_payment_failed`, the session complete but
/// unpaid, the PaymentIntent waiting for a new method with Stripe's failed-attempt error, its
/// charge failed with the bank's `code`) and returns the PaymentIntent and the charge.
async fn assert_failed(t: &TestSim, session: &str, pi_id: &str, code: &str) -> (Value, Value) {
    assert_eq!(
        t.checkout_session_events(),
        [
            "checkout.session.completed",
            "checkout.session.async_payment_failed"
        ]
    );
    let s = t.session(session).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "unpaid");
    let pi = t.intent(pi_id).await;
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(
        pi["last_payment_error"]["code"],
        "payment_intent_payment_attempt_failed"
    );
    assert_eq!(pi["last_payment_error"]["type"], "invalid_request_error");
    let ch = t.charge(&str_of(&pi["latest_charge"])).await;
    assert_eq!(ch["status"], "failed");
    assert_eq!(ch["failure_code"], code);
    (pi, ch)
}

#[tokio::test]
async fn sepa_debit_that_succeeds_completes_unpaid_then_pays_after_180_seconds() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_eur_session().await;

    // Act
    let completed = pay_sepa(&t, &opened, "DE89370400440532013000").await.ok();

    // Assert: submitted, not yet paid.
    assert_eq!(completed["status"], "complete");
    assert_eq!(completed["payment_status"], "unpaid");
    let pi_id = str_of(&completed["payment_intent"]);
    let pi = t.intent(&pi_id).await;
    assert_eq!(pi["status"], "processing");
    let ch_id = str_of(&pi["latest_charge"]);
    assert_eq!(t.charge(&ch_id).await["status"], "pending");
    assert_eq!(
        t.charge(&ch_id).await["payment_method_details"]["type"],
        "sepa_debit"
    );
    assert_eq!(t.checkout_session_events(), ["checkout.session.completed"]);
    assert_eq!(
        t.events_of("checkout.session.completed")[0]["data"]["object"]["payment_status"],
        "unpaid"
    );

    // Act: one second short of the settlement delay, nothing happens…
    t.advance(179).await;
    assert_eq!(t.intent(&pi_id).await["status"], "processing");
    assert_eq!(t.checkout_session_events().len(), 1);
    // …and at 180 seconds the debit succeeds.
    t.advance(1).await;

    // Assert
    let (pi, ch) = assert_settled(&t, &opened, &pi_id).await;
    let event = &t.events_of("checkout.session.async_payment_succeeded")[0];
    assert_eq!(event["created"], CLOCK_START + 180);
    assert_eq!(event["data"]["object"]["payment_status"], "paid");
    assert_eq!(pi["amount_received"], 4900);
    assert_eq!(ch["id"], ch_id.as_str());
    assert_eq!(ch["paid"], true);
    assert_eq!(
        t.types_about(&pi_id),
        [
            "payment_intent.created",
            "payment_intent.processing",
            "payment_intent.succeeded"
        ]
    );
    assert_eq!(
        t.types_about(&ch_id),
        ["charge.pending", "charge.succeeded"]
    );
}

#[tokio::test]
async fn sepa_debit_that_fails_completes_unpaid_then_fails_after_180_seconds() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_eur_session().await;
    let completed = pay_sepa(&t, &opened, "DE62370400440532013001").await.ok();
    let pi_id = str_of(&completed["payment_intent"]);

    // Act
    t.advance(180).await;

    // Assert
    let (pi, _) = assert_failed(&t, &opened, &pi_id, "generic_could_not_process").await;
    let event = &t.events_of("checkout.session.async_payment_failed")[0];
    assert_eq!(event["data"]["object"]["payment_status"], "unpaid");
    assert_eq!(pi["amount_received"], 0);
    assert_eq!(
        t.types_about(&pi_id),
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
    let completed = pay_ach(&t, &opened, "000123456789").await.ok();
    assert_eq!(completed["payment_status"], "unpaid");
    let pi_id = str_of(&completed["payment_intent"]);
    assert_eq!(t.intent(&pi_id).await["status"], "processing");

    // Act
    t.advance(180).await;

    // Assert
    let (_, ch) = assert_settled(&t, &opened, &pi_id).await;
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
    let completed = pay_ach(&t, &opened, "000111111113").await.ok();
    let pi_id = str_of(&completed["payment_intent"]);

    // Act
    t.advance(180).await;

    // Assert
    assert_failed(&t, &opened, &pi_id, "account_closed").await;
}

#[tokio::test]
async fn ach_account_that_never_settles_stays_processing() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;
    let completed = pay_ach(&t, &opened, "000000000009").await.ok();

    // Act
    t.advance(7 * 86_400).await;

    // Assert
    let pi = t.intent(&str_of(&completed["payment_intent"])).await;
    assert_eq!(pi["status"], "processing");
    assert_eq!(t.checkout_session_events(), ["checkout.session.completed"]);
}

#[tokio::test]
async fn sepa_debit_is_refused_on_a_usd_session() {
    // Arrange
    let t = common::start().await;
    let opened = t.open_session().await;

    // Act
    let answer = pay_sepa(&t, &opened, "DE89370400440532013000").await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    let s = t.session(&opened).await;
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
    let answer = pay_sepa(&t, &opened, "DE00000000000000000000").await;

    // Assert
    assert_eq!(answer.error(400)["param"], "sepa_debit[iban]");
    assert_eq!(t.session(&opened).await["status"], "open");
    assert_eq!(t.sim.events().len(), events_before);
}

/// Every failing test account: its charge's `failure_code` and `failure_message`, as Stripe's
/// SEPA and ACH failure tables give them.
const FAILURES: &[(&str, &str, &str, &str)] = &[
    (
        "sepa_debit",
        "DE62370400440532013001",
        "generic_could_not_process",
        "This payment could not be processed.",
    ),
    (
        "sepa_debit",
        "AT861904300235473202",
        "generic_could_not_process",
        "This payment could not be processed.",
    ),
    (
        "sepa_debit",
        "DE65370400440002222227",
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment.",
    ),
    (
        "us_bank_account",
        "000111111113",
        "account_closed",
        "The customer's bank account has been closed.",
    ),
    (
        "us_bank_account",
        "000111111116",
        "no_account",
        "The customer's bank account could not be located.",
    ),
    (
        "us_bank_account",
        "000222222227",
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment.",
    ),
    (
        "us_bank_account",
        "000333333335",
        "debit_not_authorized",
        "The customer has notified their bank that this payment was unauthorized.",
    ),
];

#[tokio::test]
async fn every_failing_debit_carries_stripes_failure_code_and_the_attempt_failed_error() {
    for (method, account, code, message) in FAILURES {
        // Arrange
        let t = common::start().await;
        let opened = if *method == "sepa_debit" {
            t.open_eur_session().await
        } else {
            t.open_session().await
        };
        let paid = if *method == "sepa_debit" {
            pay_sepa(&t, &opened, account).await.ok()
        } else {
            pay_ach(&t, &opened, account).await.ok()
        };

        // Act
        t.advance(180).await;

        // Assert
        let pi = t.intent(&str_of(&paid["payment_intent"])).await;
        let (_, charge) = assert_failed(&t, &opened, &str_of(&pi["id"]), code).await;
        assert_eq!(charge["failure_message"], *message, "{account}");
        let error = &pi["last_payment_error"];
        assert_eq!(error["type"], "invalid_request_error", "{account}");
        assert_eq!(error["message"], "The payment failed.", "{account}");
        assert_eq!(error["payment_method"]["type"], *method, "{account}");
        assert!(error.get("decline_code").is_none(), "{account}");
    }
}
