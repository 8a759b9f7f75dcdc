//! Lists and `expand`: filters, cursor pagination (newest first; line items in the order given),
//! and expansion on retrieve, list and create.

#![allow(clippy::unwrap_used)]

mod common;

use common::{pluck, str_of};
use serde_json::Value;

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
    let ids = |list: &Value| pluck(list, "id");
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
    let page_ids = |list: &Value| pluck(list, "id");

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
async fn line_items_paginate_in_the_order_given() {
    // Arrange: a session of three line items.
    let t = common::start().await;
    let mut prices = Vec::new();
    for (i, name) in ["First", "Second", "Third"].iter().enumerate() {
        prices.push(t.price(name, 100 * (i as i64 + 1), "usd").await);
    }
    let id = t
        .create_session(&[
            ("line_items[0][price]", &prices[0]),
            ("line_items[1][price]", &prices[1]),
            ("line_items[2][price]", &prices[2]),
        ])
        .await
        .id();
    let path = format!("/v1/checkout/sessions/{id}/line_items");
    let names = |list: &Value| pluck(list, "description");

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
    let plain = t.session(&id).await;
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
        .create_session(&[("line_items[0][price]", &price), ("expand[]", "line_items")])
        .await
        .ok();

    // Assert
    assert_eq!(
        created["line_items"]["data"][0]["price"]["id"],
        price.as_str()
    );
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
