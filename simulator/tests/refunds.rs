//! Refunds: full and partial, the amounts a charge can still give back, and the test cards whose
//! refunds fail or stay pending for 60 simulated seconds.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, CLOCK_START};
use serde_json::json;

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
    let c = t.charge(&ch).await;
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
    let c = t.charge(&ch).await;
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
    let c = t.charge(&ch).await;
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

    // Assert: after an earlier refund, Stripe speaks of what is left.
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "amount_too_large");
    assert_eq!(error["param"], "amount");
    assert_eq!(
        error["message"],
        "Refund amount ($100.00) is greater than unrefunded amount on charge ($99.00)"
    );
    assert_eq!(t.count("/v1/refunds").await, 1);
    assert_eq!(t.charge(&ch).await["amount_refunded"], 10_000);
    assert_eq!(t.sim.events().len(), events_before);
}

#[tokio::test]
async fn refund_larger_than_a_never_refunded_charge_names_the_charge_amount() {
    // Arrange
    let t = common::start().await;
    let (_, pi, _) = t.paid_with("4242424242424242").await;

    // Act
    let answer = t
        .post(
            "/v1/refunds",
            &[("payment_intent", &pi), ("amount", "20000")],
        )
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "amount_too_large");
    assert_eq!(error["param"], "amount");
    assert_eq!(
        error["message"],
        "Refund amount ($200.00) is greater than charge amount ($199.00)"
    );
    assert_eq!(t.count("/v1/refunds").await, 0);
}

#[tokio::test]
async fn a_refund_that_failed_gives_its_amount_back_and_the_charge_reads_as_never_refunded() {
    // Arrange: a refund of the card whose refunds fail, then fail.
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4000000000005126").await;
    t.post("/v1/refunds", &[("charge", &ch), ("amount", "5000")])
        .await
        .ok();
    t.advance(60).await;

    // Act
    let answer = t
        .post("/v1/refunds", &[("charge", &ch), ("amount", "20000")])
        .await;

    // Assert
    assert_eq!(t.charge(&ch).await["amount_refunded"], 0);
    assert_eq!(
        answer.error(400)["message"],
        "Refund amount ($200.00) is greater than charge amount ($199.00)"
    );
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
    assert_eq!(t.charge(&ch).await["amount_refunded"], 19_900);

    // Act
    t.advance(59).await;
    let before_delay = t.object(&format!("/v1/refunds/{id}")).await;
    t.advance(1).await;

    // Assert
    assert_eq!(before_delay["status"], "succeeded");
    let failed = t.object(&format!("/v1/refunds/{id}")).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_reason"], "expired_or_canceled_card");
    let c = t.charge(&ch).await;
    assert_eq!(c["amount_refunded"], 0);
    assert_eq!(c["refunded"], false);
    assert_eq!(
        t.types_about(&id),
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
    assert_eq!(t.charge(&ch).await["amount_refunded"], 19_900);
    assert_eq!(
        t.types_about(&id),
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
