//! Deterministic ids: a refused request (400, 401, 404) leaves the seeded id stream where it was,
//! so a replay with extra bad requests in it gives the same ids afterwards.

#![allow(clippy::unwrap_used)]

mod common;

use common::str_of;
use reqwest::Method;
use serde_json::json;

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
