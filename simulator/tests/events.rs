//! Events through the API: type filters and wildcards, `created` filters, retrieval by id, and the
//! request ids that tie answers and the events they caused together.

#![allow(clippy::unwrap_used)]

mod common;

use common::{pluck, str_of, CLOCK_START};
use serde_json::Value;

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
    let types = |list: &Value| pluck(list, "type");
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
