//! Products, prices and payment links built through the API, and buyers visiting links: the
//! sessions a visit opens, which `client_reference_id` values are kept, and deactivated links.

#![allow(clippy::unwrap_used)]

mod common;

use common::{pluck, str_of, CLOCK_START};
use reqwest::Method;
use serde_json::{json, Value};

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
    assert_eq!(pluck(&items, "description"), ["First", "Second"]);
    assert_eq!(items["data"][1]["amount_total"], 400);
}
