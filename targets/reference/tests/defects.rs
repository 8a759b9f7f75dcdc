//! Every defect changes an observable outcome: the same scenario is run against the correct
//! target and against the defective one, and the two must differ the way the bug says.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{charge, event, now, paid_session, session, sign, TestApp, WEBHOOK_SECRET};
use reference_target::Defect;
use serde_json::{json, Value};

fn pi(session: &Value) -> String {
    session["payment_intent"].as_str().unwrap().to_owned()
}

/// A scenario's outcome: the status of the order at the end.
async fn final_status<F, Fut>(defect: Option<Defect>, scenario: F) -> String
where
    F: FnOnce(TestApp, String) -> Fut,
    Fut: std::future::Future<Output = (TestApp, String)>,
{
    let app = TestApp::with_defect(defect).await;
    let id = app.lifetime_order().await;
    let (app, id) = scenario(app, id).await;
    app.status_of(&id).await
}

#[tokio::test]
async fn nosig_accepts_an_unsigned_forged_payment() {
    async fn forge(app: TestApp, id: String) -> (TestApp, String) {
        let body = event("checkout.session.completed", paid_session(&id)).to_string();
        app.deliver_raw(&body, None).await;
        (app, id)
    }

    assert_eq!(final_status(None, forge).await, "pending");
    assert_eq!(final_status(Some(Defect::NoSig), forge).await, "paid");
}

#[tokio::test]
async fn noamount_lets_a_cheaper_payment_pay_the_order() {
    async fn underpay(app: TestApp, id: String) -> (TestApp, String) {
        app.deliver(&event(
            "checkout.session.completed",
            session(Some(&id), 100, "usd", "paid"),
        ))
        .await;
        (app, id)
    }

    assert_eq!(final_status(None, underpay).await, "pending");
    assert_eq!(final_status(Some(Defect::NoAmount), underpay).await, "paid");
}

#[tokio::test]
async fn currency_case_rejects_genuine_usd_payments() {
    async fn pay(app: TestApp, id: String) -> (TestApp, String) {
        app.deliver(&event("checkout.session.completed", paid_session(&id)))
            .await;
        (app, id)
    }

    assert_eq!(final_status(None, pay).await, "paid");
    assert_eq!(
        final_status(Some(Defect::CurrencyCase), pay).await,
        "pending"
    );
}

#[tokio::test]
async fn unpaid_fails_marks_a_delayed_payment_failed() {
    async fn submit_sepa(app: TestApp, id: String) -> (TestApp, String) {
        app.deliver(&event(
            "checkout.session.completed",
            session(Some(&id), 19900, "usd", "unpaid"),
        ))
        .await;
        (app, id)
    }

    assert_eq!(final_status(None, submit_sepa).await, "pending");
    assert_eq!(
        final_status(Some(Defect::UnpaidFails), submit_sepa).await,
        "failed"
    );
}

#[tokio::test]
async fn unpaid_fails_lets_a_stale_failure_overwrite_a_paid_order() {
    async fn pay_then_stale_failure(app: TestApp, id: String) -> (TestApp, String) {
        app.deliver(&event("checkout.session.completed", paid_session(&id)))
            .await;
        app.deliver(&event(
            "checkout.session.async_payment_failed",
            session(Some(&id), 19900, "usd", "unpaid"),
        ))
        .await;
        (app, id)
    }

    assert_eq!(final_status(None, pay_then_stale_failure).await, "paid");
    assert_eq!(
        final_status(Some(Defect::UnpaidFails), pay_then_stale_failure).await,
        "failed"
    );
}

#[tokio::test]
async fn resurrect_turns_a_refunded_order_back_to_paid() {
    async fn refund_then_late_completion(app: TestApp, id: String) -> (TestApp, String) {
        let paid = app.pay(&id).await;
        app.deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 19900)))
            .await;
        app.deliver(&event("checkout.session.completed", paid))
            .await;
        (app, id)
    }

    assert_eq!(
        final_status(None, refund_then_late_completion).await,
        "refunded"
    );
    assert_eq!(
        final_status(Some(Defect::Resurrect), refund_then_late_completion).await,
        "paid"
    );
}

#[tokio::test]
async fn refund_lost_drops_a_refund_that_overtakes_its_payment() {
    async fn refund_first(app: TestApp, id: String) -> (TestApp, String) {
        let paid = paid_session(&id);
        app.stripe.put_session(&paid);
        let refund = event("charge.refunded", charge(&pi(&paid), 19900, 19900));
        // Stripe retries only what was not acknowledged with a 2xx.
        let (first, _) = app.deliver(&refund).await;
        app.deliver(&event("checkout.session.completed", paid))
            .await;
        if first != StatusCode::OK {
            app.deliver(&refund).await;
        }
        (app, id)
    }

    assert_eq!(final_status(None, refund_first).await, "refunded");
    assert_eq!(
        final_status(Some(Defect::RefundLost), refund_first).await,
        "paid"
    );
}

#[tokio::test]
async fn stale_ok_accepts_a_replayed_old_delivery() {
    async fn replay(app: TestApp, id: String) -> (TestApp, String) {
        let body = event("checkout.session.completed", paid_session(&id)).to_string();
        let captured_an_hour_ago = sign(WEBHOOK_SECRET, now() - 3600, &body);
        app.deliver_raw(&body, Some(&captured_an_hour_ago)).await;
        (app, id)
    }

    assert_eq!(final_status(None, replay).await, "pending");
    assert_eq!(final_status(Some(Defect::StaleOk), replay).await, "paid");
}

#[tokio::test]
async fn stale_ok_still_checks_the_signature_itself() {
    let app = TestApp::with_defect(Some(Defect::StaleOk)).await;
    let id = app.lifetime_order().await;
    let body = event("checkout.session.completed", paid_session(&id)).to_string();

    let (status, _) = app
        .deliver_raw(&body, Some(&sign("whsec_forger", now(), &body)))
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.status_of(&id).await, "pending");
}

#[tokio::test]
async fn provider_ignored_pays_an_order_of_another_provider() {
    async fn pay_paypal_order(app: TestApp, _: String) -> (TestApp, String) {
        let id = app.order_with(19900, "USD", "paypal").await;
        app.deliver(&event("checkout.session.completed", paid_session(&id)))
            .await;
        (app, id)
    }

    assert_eq!(final_status(None, pay_paypal_order).await, "pending");
    assert_eq!(
        final_status(Some(Defect::ProviderIgnored), pay_paypal_order).await,
        "paid"
    );
}

#[tokio::test]
async fn capture_trusts_pays_the_order_from_the_return_page() {
    async fn return_after_sepa_submission(app: TestApp, id: String) -> (TestApp, String) {
        let submitted = session(Some(&id), 19900, "usd", "unpaid");
        app.stripe.put_session(&submitted);
        let (status, _) = app.capture(submitted["id"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        (app, id)
    }

    assert_eq!(
        final_status(None, return_after_sepa_submission).await,
        "pending"
    );
    assert_eq!(
        final_status(Some(Defect::CaptureTrusts), return_after_sepa_submission).await,
        "paid"
    );
}

#[tokio::test]
async fn capture_trusts_records_the_session_and_payment_intent() {
    let app = TestApp::with_defect(Some(Defect::CaptureTrusts)).await;
    let id = app.lifetime_order().await;
    let cheap = session(Some(&id), 100, "usd", "paid");
    app.stripe.put_session(&cheap);

    let (_, body) = app.capture(cheap["id"].as_str().unwrap()).await;

    assert_eq!(body["orderStatus"], "paid");
    let order = app.order(&id).await;
    assert_eq!(order["providerOrderId"], cheap["id"]);
    assert_eq!(order["providerCaptureId"], cheap["payment_intent"]);
}

#[tokio::test]
async fn async_fail_ignored_leaves_a_failed_debit_pending() {
    async fn failed_debit(app: TestApp, id: String) -> (TestApp, String) {
        let sepa = session(Some(&id), 19900, "usd", "unpaid");
        app.deliver(&event("checkout.session.completed", sepa.clone()))
            .await;
        app.deliver(&event("checkout.session.async_payment_failed", sepa))
            .await;
        (app, id)
    }

    assert_eq!(final_status(None, failed_debit).await, "failed");
    assert_eq!(
        final_status(Some(Defect::AsyncFailIgnored), failed_debit).await,
        "pending"
    );
}

#[tokio::test]
async fn partial_refund_full_refunds_the_order_on_a_partial_refund() {
    async fn partial_refund(app: TestApp, id: String) -> (TestApp, String) {
        let paid = app.pay(&id).await;
        app.deliver(&event("charge.refunded", charge(&pi(&paid), 19900, 1000)))
            .await;
        (app, id)
    }

    assert_eq!(final_status(None, partial_refund).await, "paid");
    assert_eq!(
        final_status(Some(Defect::PartialRefundFull), partial_refund).await,
        "refunded"
    );
}

#[tokio::test]
async fn every_defect_is_covered_by_a_test_in_this_file() {
    let source = include_str!("defects.rs");

    for defect in Defect::ALL {
        let test_prefix = format!("async fn {}_", defect.name());
        assert!(source.contains(&test_prefix), "no test for {defect}");
    }
    assert_eq!(json!(Defect::ALL.len()), json!(11));
}
