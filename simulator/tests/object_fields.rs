//! Every object the API returns carries every field of Stripe's own example of it
//! (`tests/fixtures/stripe_fixtures.json`, from Stripe's `fixtures3.json`), with the same JSON
//! type. Strictly typed SDKs (stripe-go, async-stripe, Stripe.net) fail to decode an object with
//! a field missing or of the wrong type, so this is what "an SDK cannot tell us from Stripe" rests
//! on.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{json, Value};

const FIXTURES: &str = include_str!("fixtures/stripe_fixtures.json");

/// Stripe's example of `resource`.
fn fixture(resource: &str) -> Value {
    let all: Value = serde_json::from_str(FIXTURES).unwrap();
    let example = all[resource].clone();
    assert!(example.is_object(), "no fixture for {resource}");
    example
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// How deep below the top level sub-objects are compared (`customer_details.address` is 1).
const NESTED_DEPTH: usize = 2;

/// Differences between Stripe's example and ours: keys we lack and types that disagree. `null`
/// on either side matches anything (nullable fields; the fixture fills some with examples and
/// leaves others null). Sub-objects are compared too, down to [`NESTED_DEPTH`].
fn differences(path: &str, stripe: &Value, ours: &Value, depth: usize, out: &mut Vec<String>) {
    let (Value::Object(stripe), Value::Object(ours)) = (stripe, ours) else {
        return;
    };
    for (key, expected) in stripe {
        let here = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let Some(actual) = ours.get(key) else {
            out.push(format!("missing `{here}`"));
            continue;
        };
        let (want, got) = (kind(expected), kind(actual));
        if want != "null" && got != "null" && want != got {
            out.push(format!("`{here}` is {got}, Stripe's is {want}"));
        }
        if depth < NESTED_DEPTH {
            differences(&here, expected, actual, depth + 1, out);
        }
    }
}

/// Asserts that `ours` has every field of Stripe's `resource` example, but for `exceptions`
/// (dotted paths, each justified where it is passed).
fn assert_like_stripe(resource: &str, ours: &Value, exceptions: &[&str]) {
    assert_like(resource, &fixture(resource), ours, exceptions);
}

/// [`assert_like_stripe`] against a given example.
fn assert_like(resource: &str, example: &Value, ours: &Value, exceptions: &[&str]) {
    assert_eq!(ours["object"], resource, "not a {resource}: {ours}");
    let mut found = Vec::new();
    differences("", example, ours, 0, &mut found);
    let unexpected: Vec<&String> = found
        .iter()
        .filter(|d| !exceptions.iter().any(|e| d.contains(&format!("`{e}`"))))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{resource} differs from Stripe's example:\n  {}\nobject: {ours:#}",
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    // Exceptions must stay honest: each one must still be needed.
    for exception in exceptions {
        assert!(
            found.iter().any(|d| d.contains(&format!("`{exception}`"))),
            "exception `{exception}` for {resource} is no longer needed"
        );
    }
}

/// A payment link's `after_completion` holds the hash of its own type only; Stripe's example is a
/// hosted-confirmation link, so a redirect link lacks `hosted_confirmation` (and vice versa).
const REDIRECT_LINK: &[&str] = &["after_completion.hosted_confirmation"];

/// Since API 2022-11-15 a charge's `refunds` list is only present when expanded.
const CHARGE: &[&str] = &["refunds"];

/// A bank-debit charge: `refunds` as for every charge, and `payment_method_details` holds the
/// hash of its own method (`sepa_debit`), not the `card` of Stripe's example.
const SEPA_CHARGE: &[&str] = &["refunds", "payment_method_details.card"];

#[tokio::test]
async fn open_checkout_session_has_every_field_of_stripes_session() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;

    // Act
    let ours = t.object(&format!("/v1/checkout/sessions/{session}")).await;

    // Assert: `line_items` is expandable only and absent from Stripe's example too.
    assert_like_stripe("checkout.session", &ours, &[]);
    assert!(ours.get("line_items").is_none());
}

#[tokio::test]
async fn completed_checkout_session_has_every_field_of_stripes_session() {
    // Arrange
    let t = common::start().await;
    let paid = t.paid_session().await;

    // Act
    let ours = t
        .object(&format!(
            "/v1/checkout/sessions/{}",
            paid["id"].as_str().unwrap()
        ))
        .await;

    // Assert
    assert_like_stripe("checkout.session", &ours, &[]);
    assert!(ours["customer_details"].is_object());
}

#[tokio::test]
async fn checkout_session_created_through_the_api_has_every_field_of_stripes_session() {
    // Arrange
    let t = common::start().await;

    // Act
    let ours = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "500"),
                ("line_items[0][price_data][product_data][name]", "Sticker"),
                ("success_url", "https://example.com/ok"),
            ],
        )
        .await
        .ok();

    // Assert
    assert_like_stripe("checkout.session", &ours, &[]);
}

#[tokio::test]
async fn payment_links_of_both_completion_kinds_have_every_field_of_stripes_link() {
    // Arrange
    let t = common::start().await;
    let price = t.price("Pro plan", 1000, "usd").await;
    let hosted = t
        .create_link(
            &price,
            &[
                ("after_completion[type]", "hosted_confirmation"),
                (
                    "after_completion[hosted_confirmation][custom_message]",
                    "Thanks!",
                ),
            ],
        )
        .await;

    // Act
    let seeded = t
        .object(&format!("/v1/payment_links/{}", t.lifetime_link()))
        .await;
    let hosted = t
        .object(&format!(
            "/v1/payment_links/{}",
            hosted["id"].as_str().unwrap()
        ))
        .await;

    // Assert
    assert_like_stripe("payment_link", &seeded, REDIRECT_LINK);
    assert_like_stripe("payment_link", &hosted, &[]);
}

#[tokio::test]
async fn payment_intents_in_every_state_have_every_field_of_stripes_intent() {
    // Arrange: one declined (requires_payment_method with last_payment_error), one succeeded,
    // one processing (ACH) and one canceled (declined, then the session expired).
    let t = common::start().await;
    let declined = t.open_session().await;
    t.pay_card(&declined, "4000000000000002").await;
    let (_, succeeded, _) = t.paid_with("4242424242424242").await;
    let ach = t.open_session().await;
    let processing = t
        .pay(
            &ach,
            json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000000000009" } }),
        )
        .await
        .ok();
    let abandoned = t.open_session().await;
    t.pay_card(&abandoned, "4000000000009995").await;
    t.post(&format!("/v1/checkout/sessions/{abandoned}/expire"), &[])
        .await
        .ok();

    for session in [declined, abandoned] {
        let pi =
            t.object(&format!("/v1/checkout/sessions/{session}")).await["payment_intent"].clone();
        // Act
        let ours = t
            .object(&format!("/v1/payment_intents/{}", pi.as_str().unwrap()))
            .await;
        // Assert
        assert_like_stripe("payment_intent", &ours, &[]);
    }
    for pi in [succeeded, common::str_of(&processing["payment_intent"])] {
        let ours = t.object(&format!("/v1/payment_intents/{pi}")).await;
        assert_like_stripe("payment_intent", &ours, &[]);
    }
}

#[tokio::test]
async fn charges_of_every_outcome_have_every_field_of_stripes_charge() {
    // Arrange: succeeded (card), failed (card decline), pending (SEPA).
    let t = common::start().await;
    let (_, _, succeeded) = t.paid_with("4242424242424242").await;
    let declined = t.open_session().await;
    let failed = t.pay_card(&declined, "4000000000000002").await.body["error"]["charge"].clone();
    let sepa = t.open_eur_session().await;
    let pending = t
        .pay(
            &sepa,
            json!({ "sepa_debit": { "iban": "DE89370400440532013000" } }),
        )
        .await
        .ok();
    let pending_pi = t
        .object(&format!(
            "/v1/payment_intents/{}",
            pending["payment_intent"].as_str().unwrap()
        ))
        .await;

    for (charge, exceptions) in [
        (succeeded, CHARGE),
        (common::str_of(&failed), CHARGE),
        (common::str_of(&pending_pi["latest_charge"]), SEPA_CHARGE),
    ] {
        // Act
        let ours = t.object(&format!("/v1/charges/{charge}")).await;
        // Assert
        assert_like_stripe("charge", &ours, exceptions);
    }
}

#[tokio::test]
async fn expanded_charge_refunds_are_a_list() {
    // Arrange
    let t = common::start().await;
    let (_, _, charge) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &charge), ("amount", "500")])
        .await
        .ok();

    // Act
    let ours = t
        .get_with(&format!("/v1/charges/{charge}"), &[("expand[]", "refunds")])
        .await
        .ok();

    // Assert: with `refunds` expanded, no exception is needed.
    assert_like_stripe("charge", &ours, &[]);
    assert_eq!(ours["refunds"]["object"], "list");
    assert_eq!(ours["refunds"]["data"][0]["amount"], 500);
}

#[tokio::test]
async fn refunds_of_every_status_have_every_field_of_stripes_refund() {
    // Arrange: succeeded (4242), pending (7726), failed (5126 after the settlement delay).
    let t = common::start().await;
    let mut refunds = Vec::new();
    for card in ["4242424242424242", "4000000000007726", "4000000000005126"] {
        let (_, _, charge) = t.paid_with(card).await;
        refunds.push(t.post("/v1/refunds", &[("charge", &charge)]).await.id());
    }
    t.advance(60).await;

    for refund in refunds {
        // Act
        let ours = t.object(&format!("/v1/refunds/{refund}")).await;
        // Assert
        assert_like_stripe("refund", &ours, &[]);
    }
}

#[tokio::test]
async fn events_have_every_field_of_stripes_event() {
    // Arrange
    let t = common::start().await;
    t.paid_session().await;

    // Act
    let events = t.list_all("/v1/events").await;

    // Assert: `data.object` is whatever the event is about, never Stripe's example (a plan), so
    // only its presence is compared; its fields are checked by the tests of each resource.
    let mut example = fixture("event");
    example["data"]["object"] = json!({});
    assert!(!events.is_empty());
    for event in &events {
        assert_like("event", &example, event, &[]);
        assert!(event["data"]["object"]["object"].is_string());
    }
}

#[tokio::test]
async fn products_prices_customers_and_line_items_have_every_field_of_stripes_examples() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;

    // Act
    let product = t.list_all("/v1/products").await[0].clone();
    let price = t.list_all("/v1/prices").await[0].clone();
    let customer = t
        .post(
            "/v1/customers",
            &[("email", "ada@example.com"), ("name", "Ada")],
        )
        .await
        .ok();
    let items = t
        .object(&format!("/v1/checkout/sessions/{session}/line_items"))
        .await;

    // Assert
    assert_like_stripe("product", &product, &[]);
    assert_like_stripe("price", &price, &[]);
    assert_like_stripe("customer", &customer, &[]);
    assert_like_stripe("item", &items["data"][0], &[]);
}

#[tokio::test]
async fn webhook_endpoint_has_every_field_of_stripes_endpoint() {
    // Arrange
    let t = common::start().await;

    // Act: nothing happens afterwards, so nothing is ever delivered to the closed port.
    let created = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "http://127.0.0.1:9/hooks"),
                ("enabled_events[]", "checkout.session.completed"),
                ("description", "fulfilment"),
            ],
        )
        .await
        .ok();
    let retrieved = t
        .object(&format!(
            "/v1/webhook_endpoints/{}",
            created["id"].as_str().unwrap()
        ))
        .await;

    // Assert: the secret is shown at creation only, as on Stripe (it is not in the example).
    assert_like_stripe("webhook_endpoint", &created, &[]);
    assert_like_stripe("webhook_endpoint", &retrieved, &[]);
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(retrieved.get("secret").is_none());
}
