//! Shared test support: the target on a real loopback socket, an independent webhook signer,
//! Stripe-shaped event builders, and a tiny fake Stripe answering `/v1/checkout/sessions`.

// Each integration-test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use reference_target::{serve, AppState, Config, Defect};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const WEBHOOK_SECRET: &str = "whsec_test_secret_0123456789abcdef";
pub const SECRET_KEY: &str = "sk_test_reference_0123456789";

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A process-unique number for ids.
pub fn unique() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `t=…,v1=…` computed here, independently of the crate's signer.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// An event envelope around `object`.
pub fn event(event_type: &str, object: Value) -> Value {
    json!({
        "id": format!("evt_test_{}", unique()),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": now(),
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": event_type,
        "data": {"object": object},
    })
}

/// A complete Checkout Session for `order_id` (`client_reference_id`), with a fresh `cs_`/`pi_`.
pub fn session(order_id: Option<&str>, amount: i64, currency: &str, payment_status: &str) -> Value {
    let n = unique();
    json!({
        "id": format!("cs_test_{n}"),
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": order_id,
        "currency": currency,
        "customer": null,
        "livemode": false,
        "metadata": {},
        "mode": "payment",
        "payment_intent": format!("pi_test_{n}"),
        "payment_link": "plink_test_1",
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": "complete",
        "url": null,
        // Later sessions are created later (the latest_session variant compares them).
        "created": 1_700_000_000 + n,
    })
}

/// The Lifetime price: USD 199.00 paid by card.
pub fn paid_session(order_id: &str) -> Value {
    session(Some(order_id), 19900, "usd", "paid")
}

/// A Charge for `payment_intent` as sent with `charge.refunded`.
pub fn charge(payment_intent: &str, amount: i64, amount_refunded: i64) -> Value {
    json!({
        "id": format!("ch_test_{}", unique()),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "captured": true,
        "currency": "usd",
        "paid": true,
        "payment_intent": payment_intent,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    })
}

/// A stand-in for Stripe's two session reads, with sessions the test puts in.
pub struct FakeStripe {
    pub base_url: String,
    sessions: Arc<Mutex<HashMap<String, Value>>>,
    _shutdown: oneshot::Sender<()>,
}

#[derive(Clone)]
struct FakeState {
    sessions: Arc<Mutex<HashMap<String, Value>>>,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let sessions = Arc::new(Mutex::new(HashMap::new()));
        let app = Router::new()
            .route("/v1/checkout/sessions", get(list_sessions))
            .route("/v1/checkout/sessions/{id}", get(retrieve_session))
            .with_state(FakeState {
                sessions: sessions.clone(),
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        FakeStripe {
            base_url,
            sessions,
            _shutdown: shutdown,
        }
    }

    /// Stores (or replaces) a session, as Stripe would after the buyer's checkout.
    pub fn put_session(&self, session: &Value) {
        let id = session["id"].as_str().unwrap().to_owned();
        self.sessions.lock().unwrap().insert(id, session.clone());
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SECRET_KEY}"))
}

fn stripe_error(status: StatusCode, code: &str, message: String) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({"error": {"type": "invalid_request_error", "code": code, "message": message}})),
    )
}

async fn retrieve_session(
    State(state): State<FakeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "api_key_invalid",
            "bad key".into(),
        );
    }
    match state.sessions.lock().unwrap().get(&id) {
        Some(session) => (StatusCode::OK, Json(session.clone())),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "resource_missing",
            format!("No such checkout.session: '{id}'"),
        ),
    }
}

async fn list_sessions(
    State(state): State<FakeState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "api_key_invalid",
            "bad key".into(),
        );
    }
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10);
    let data: Vec<Value> = state
        .sessions
        .lock()
        .unwrap()
        .values()
        .filter(|s| {
            query
                .get("payment_intent")
                .is_none_or(|pi| s["payment_intent"] == **pi)
        })
        .take(limit)
        .cloned()
        .collect();
    (
        StatusCode::OK,
        Json(
            json!({"object": "list", "url": "/v1/checkout/sessions", "has_more": false, "data": data}),
        ),
    )
}

/// The target on a real loopback socket, talking to its own [`FakeStripe`].
pub struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub stripe: FakeStripe,
    pub state: AppState,
    _shutdown: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::with_defect(None).await
    }

    pub async fn with_design(design: reference_target::Design) -> TestApp {
        let stripe = FakeStripe::start().await;
        let config = Config {
            port: 0,
            stripe_secret_key: SECRET_KEY.into(),
            stripe_webhook_secret: WEBHOOK_SECRET.into(),
            stripe_api_base: stripe.base_url.clone(),
            design,
            order_id_seed: Some(unique()),
            ..Config::default()
        };
        TestApp::with_config(config, stripe).await
    }

    pub async fn with_defect(defect: Option<Defect>) -> TestApp {
        let stripe = FakeStripe::start().await;
        let config = Config {
            port: 0,
            stripe_secret_key: SECRET_KEY.into(),
            stripe_webhook_secret: WEBHOOK_SECRET.into(),
            stripe_api_base: stripe.base_url.clone(),
            defect,
            order_id_seed: Some(unique()),
            ..Config::default()
        };
        TestApp::with_config(config, stripe).await
    }

    pub async fn with_config(config: Config, stripe: FakeStripe) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(config).unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        TestApp {
            url,
            http: reqwest::Client::new(),
            stripe,
            state,
            _shutdown: shutdown,
        }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Creates an order and returns its id.
    pub async fn order_with(&self, amount: i64, currency: &str, provider: &str) -> String {
        let (status, order) = self
            .post_json(
                "/api/orders",
                &json!({"productId": "lifetime", "productName": "Lifetime",
                        "amount": amount, "currency": currency, "provider": provider}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        order["id"].as_str().unwrap().to_owned()
    }

    /// The guide's order: Lifetime, USD 199.00, provider stripe.
    pub async fn lifetime_order(&self) -> String {
        self.order_with(19900, "USD", "stripe").await
    }

    pub async fn order(&self, id: &str) -> Value {
        let (status, order) = self.get(&format!("/api/orders/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        order
    }

    pub async fn status_of(&self, id: &str) -> String {
        self.order(id).await["status"].as_str().unwrap().to_owned()
    }

    /// Delivers `event` signed now with the right secret, as Stripe would.
    pub async fn deliver(&self, event: &Value) -> (StatusCode, Value) {
        let body = event.to_string();
        let signature = sign(WEBHOOK_SECRET, now(), &body);
        self.deliver_raw(&body, Some(&signature)).await
    }

    /// Delivers exact bytes with an exact (or no) `Stripe-Signature` header.
    pub async fn deliver_raw(&self, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/api/webhooks/stripe", self.url))
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        read(request.send().await.unwrap()).await
    }

    /// Pays `order_id` by card: the session is known to Stripe and its completed event delivered.
    pub async fn pay(&self, order_id: &str) -> Value {
        let session = paid_session(order_id);
        self.stripe.put_session(&session);
        let (status, body) = self
            .deliver(&event("checkout.session.completed", session.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        session
    }

    pub async fn capture(&self, session_id: &str) -> (StatusCode, Value) {
        self.post_json("/api/orders/capture", &json!({ "session_id": session_id }))
            .await
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// A loopback URL nothing listens on: Stripe "unreachable".
pub async fn unreachable_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}
