//! Checkout Sessions created through the API: line items from prices and `price_data`, the bounds
//! of `expires_at`, and paying a session that no payment link opened.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, CLOCK_START};
use serde_json::{json, Value};

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
        .create_session(&[
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "500"),
            ("line_items[0][price_data][product_data][name]", "Sticker"),
            ("expires_at", &at.to_string()),
        ])
        .await
        .ok();
    t.advance(3600).await;

    // Assert
    assert_eq!(created["expires_at"], at);
    let s = t.session(&str_of(&created["id"])).await;
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
            .create_session(&[("line_items[0][price]", &price), ("expires_at", &at)])
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
        .create_session(&[
            ("line_items[0][price_data][currency]", "eur"),
            ("line_items[0][price_data][unit_amount]", "990"),
            ("line_items[0][price_data][product_data][name]", "E-book"),
        ])
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
    let pi = t.intent(&str_of(&paid["payment_intent"])).await;
    assert_eq!(pi["currency"], "eur");
    assert_eq!(pi["amount"], 990);
}
