//! Customers: create, retrieve, update (metadata merges, no-op updates) and list by email, and the
//! customer a session with `customer_creation=always` makes when paid.

#![allow(clippy::unwrap_used)]

mod common;

use common::str_of;
use serde_json::json;

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
    let pi = t.intent(&str_of(&paid["payment_intent"])).await;
    assert_eq!(pi["customer"], customer.as_str());
}
