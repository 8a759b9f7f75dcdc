//! Orders: creation, validation, reading back, and the ways to start the target.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{FakeStripe, TestApp, SECRET_KEY, WEBHOOK_SECRET};
use reference_target::{run, Config, RunningTarget, StartError};
use serde_json::json;

fn lifetime() -> serde_json::Value {
    json!({"productId":"lifetime","productName":"Lifetime","amount":19900,"currency":"USD","provider":"stripe"})
}

#[tokio::test]
async fn health_answers_ok() {
    let app = TestApp::start().await;

    let (status, body) = app.get("/health").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn creating_an_order_returns_201_with_a_pending_order() {
    let app = TestApp::start().await;

    let (status, order) = app.post_json("/api/orders", &lifetime()).await;

    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(order["productId"], "lifetime");
    assert_eq!(order["productName"], "Lifetime");
    assert_eq!(order["amount"], 19900);
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["provider"], "stripe");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["providerOrderId"], json!(null));
    assert_eq!(order["providerCaptureId"], json!(null));
    assert!(order["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(order["createdAt"], order["updatedAt"]);
    let keys: Vec<&String> = order.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "productId",
            "productName",
            "amount",
            "currency",
            "provider",
            "status",
            "providerOrderId",
            "providerCaptureId",
            "createdAt",
            "updatedAt"
        ]
    );
}

#[tokio::test]
async fn order_ids_are_unique_uuids_usable_as_client_reference_ids() {
    let app = TestApp::start().await;

    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        ids.insert(app.lifetime_order().await);
    }

    assert_eq!(ids.len(), 20);
    for id in &ids {
        assert_eq!(id.len(), 36, "{id}");
        assert!(
            id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'),
            "{id}"
        );
        assert_eq!(&id[14..15], "4", "{id}");
    }
}

#[tokio::test]
async fn an_order_reads_back_exactly_as_created() {
    let app = TestApp::start().await;
    let (_, created) = app.post_json("/api/orders", &lifetime()).await;

    let read = app.order(created["id"].as_str().unwrap()).await;

    assert_eq!(read, created);
}

#[tokio::test]
async fn an_unknown_order_is_404_with_a_json_error() {
    let app = TestApp::start().await;

    let (status, body) = app.get("/api/orders/does-not-exist").await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "order not found"}));
}

#[tokio::test]
async fn invalid_orders_are_rejected_with_400_and_a_json_error() {
    let app = TestApp::start().await;
    let cases = [
        ("amount", json!(0)),
        ("amount", json!(-100)),
        ("amount", json!(199.5)),
        ("amount", json!("19900")),
        ("currency", json!("US")),
        ("currency", json!("DOLLARS")),
        ("currency", json!(840)),
        ("provider", json!("")),
        ("provider", json!(7)),
    ];

    for (field, value) in cases {
        let mut body = lifetime();
        body[field] = value.clone();
        let (status, error) = app.post_json("/api/orders", &body).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}");
        assert!(error["error"].as_str().unwrap().contains(field), "{error}");
    }
}

#[tokio::test]
async fn a_missing_field_or_a_body_that_is_not_json_is_rejected() {
    let app = TestApp::start().await;
    let mut no_amount = lifetime();
    no_amount.as_object_mut().unwrap().remove("amount");

    let (missing, _) = app.post_json("/api/orders", &no_amount).await;
    let not_json = app
        .http
        .post(format!("{}/api/orders", app.url))
        .body("amount=19900")
        .send()
        .await
        .unwrap();

    assert_eq!(missing, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.status().as_u16(), 400);
    let body: serde_json::Value = not_json.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn a_lowercase_currency_is_stored_uppercase() {
    let app = TestApp::start().await;

    let id = app.order_with(9900, "usd", "stripe").await;

    assert_eq!(app.order(&id).await["currency"], "USD");
}

#[tokio::test]
async fn unknown_routes_answer_404_json() {
    let app = TestApp::start().await;

    let (status, body) = app.get("/api/nothing-here").await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn orders_survive_a_restart_with_a_database_file() {
    let path = std::env::temp_dir().join(format!(
        "reference-target-orders-{}.sqlite",
        common::unique()
    ));
    let path = path.to_string_lossy().into_owned();
    let config = |stripe: &FakeStripe| Config {
        port: 0,
        stripe_secret_key: SECRET_KEY.into(),
        stripe_webhook_secret: WEBHOOK_SECRET.into(),
        stripe_api_base: stripe.base_url.clone(),
        database_path: path.clone(),
        ..Config::default()
    };
    let first_stripe = FakeStripe::start().await;
    let first = TestApp::with_config(config(&first_stripe), first_stripe).await;
    let id = first.lifetime_order().await;
    drop(first);

    let second_stripe = FakeStripe::start().await;
    let second = TestApp::with_config(config(&second_stripe), second_stripe).await;

    assert_eq!(second.status_of(&id).await, "pending");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

#[tokio::test]
async fn a_running_target_serves_until_stopped() {
    let target = RunningTarget::start(Config {
        port: 0,
        stripe_secret_key: SECRET_KEY.into(),
        stripe_webhook_secret: WEBHOOK_SECRET.into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let health = format!("{}/health", target.base_url());

    let before = reqwest::get(&health).await.unwrap().status();
    target.stop().await.unwrap();
    let after = reqwest::get(&health).await;

    assert_eq!(before.as_u16(), 200);
    assert!(after.is_err(), "the server should be gone");
}

#[tokio::test]
async fn run_serves_the_router_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        stripe_secret_key: SECRET_KEY.into(),
        stripe_webhook_secret: WEBHOOK_SECRET.into(),
        ..Config::default()
    };
    let server = tokio::spawn(run(listener, config, async {
        let _ = stopped.await;
    }));

    let status = reqwest::get(&url).await.unwrap().status();
    stop.send(()).unwrap();

    assert_eq!(status.as_u16(), 200);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_target_refuses_to_start_without_a_webhook_secret() {
    let result = RunningTarget::start(Config {
        port: 0,
        stripe_secret_key: SECRET_KEY.into(),
        ..Config::default()
    })
    .await;

    assert!(matches!(
        result,
        Err(StartError::MissingSetting("STRIPE_WEBHOOK_SECRET"))
    ));
}
