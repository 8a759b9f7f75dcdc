//! Idempotency keys: replays of the first answer, conflicts on other parameters or endpoints,
//! refunds that must not run twice, validation errors that are not kept, and GETs that ignore keys.

#![allow(clippy::unwrap_used)]

mod common;

use common::str_of;
use reqwest::Method;

#[tokio::test]
async fn same_idempotency_key_and_parameters_replay_the_first_answer() {
    // Arrange
    let t = common::start().await;
    let params = [("email", "ada@example.com"), ("metadata[a]", "1")];
    let first = t.post_idempotent("/v1/customers", "key-1", &params).await;

    // Act
    let replay = t.post_idempotent("/v1/customers", "key-1", &params).await;

    // Assert
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(replay.status, 200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.text, first.text);
    assert_eq!(t.count("/v1/customers").await, 1);
    assert_eq!(t.events_of("customer.created").len(), 1);
    assert_eq!(
        t.events_of("customer.created")[0]["request"]["idempotency_key"],
        "key-1"
    );
}

#[tokio::test]
async fn replay_ignores_the_order_of_parameters() {
    // Arrange
    let t = common::start().await;
    let first = t
        .post_idempotent(
            "/v1/customers",
            "key-order",
            &[("email", "ada@example.com"), ("name", "Ada")],
        )
        .await;

    // Act
    let replay = t
        .post_idempotent(
            "/v1/customers",
            "key-order",
            &[("name", "Ada"), ("email", "ada@example.com")],
        )
        .await;

    // Assert
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
}

#[tokio::test]
async fn same_idempotency_key_with_other_parameters_is_an_idempotency_error() {
    // Arrange
    let t = common::start().await;
    t.post_idempotent("/v1/customers", "key-2", &[("email", "ada@example.com")])
        .await
        .ok();

    // Act
    let answer = t
        .post_idempotent("/v1/customers", "key-2", &[("email", "bob@example.com")])
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "idempotency_error");
    assert!(str_of(&error["message"]).contains("'key-2'"));
    let customers = t.list_all("/v1/customers").await;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["email"], "ada@example.com");
}

#[tokio::test]
async fn same_idempotency_key_on_another_endpoint_is_an_idempotency_error() {
    // Arrange
    let t = common::start().await;
    t.post_idempotent("/v1/customers", "shared-key", &[("name", "Ada")])
        .await
        .ok();
    let products_before = t.count("/v1/products").await;

    // Act
    let answer = t
        .post_idempotent("/v1/products", "shared-key", &[("name", "Ada")])
        .await;

    // Assert
    assert_eq!(answer.error(400)["type"], "idempotency_error");
    assert_eq!(t.count("/v1/products").await, products_before);
}

#[tokio::test]
async fn replayed_refund_does_not_refund_twice() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    let params = [("charge", ch.as_str()), ("amount", "1000")];
    let first = t.post_idempotent("/v1/refunds", "refund-1", &params).await;

    // Act
    let replay = t.post_idempotent("/v1/refunds", "refund-1", &params).await;

    // Assert
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(t.count("/v1/refunds").await, 1);
    assert_eq!(t.charge(&ch).await["amount_refunded"], 1000);
    assert_eq!(t.events_of("refund.created").len(), 1);
}

#[tokio::test]
async fn validation_error_under_an_idempotency_key_is_not_kept() {
    // Arrange: the first attempt is invalid…
    let t = common::start().await;
    let invalid = t
        .post_idempotent("/v1/customers", "key-3", &[("colour", "red")])
        .await;
    assert_eq!(invalid.error(400)["code"], "parameter_unknown");

    // Act: …so the corrected retry with the same key runs.
    let corrected = t
        .post_idempotent("/v1/customers", "key-3", &[("name", "Ada")])
        .await;

    // Assert
    assert_eq!(corrected.status, 200);
    assert_eq!(corrected.header("idempotent-replayed"), None);
    assert_eq!(t.count("/v1/customers").await, 1);
}

#[tokio::test]
async fn idempotency_key_on_a_get_has_no_effect() {
    // Arrange
    let t = common::start().await;
    let get = || {
        t.request(Method::GET, "/v1/customers")
            .header("idempotency-key", "get-key")
    };
    t.send(get()).await.ok();
    t.post("/v1/customers", &[("name", "Ada")]).await.ok();

    // Act
    let second = t.send(get()).await;

    // Assert
    assert_eq!(second.header("idempotent-replayed"), None);
    assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
}
