//! Shared helpers of the integration tests: a simulator on a real socket with a manual clock, a
//! small client that speaks Stripe's form encoding, and shortcuts for the objects most tests need.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.

#![allow(dead_code, clippy::unwrap_used)]

pub mod browser;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use stripe_sim::{ClockMode, Simulator};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Where every manual clock starts: 2026-01-01T00:00:00Z, so runs are reproducible.
pub const CLOCK_START: i64 = 1_767_225_600;

/// The seeded "Lifetime" payment link: USD 199.00, redirect after completion.
pub const LIFETIME_REDIRECT: &str =
    "http://localhost:3000/dashboard/billing?provider=stripe&session_id={CHECKOUT_SESSION_ID}";

/// Everything a value may contain unescaped; the rest is percent-encoded (as stripe-node does).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Form-encodes `pairs`, leaving the brackets of keys as they are (the SDKs do the same).
pub fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON, or `Value::Null` when it is not JSON (HTML pages, empty bodies).
    pub body: Value,
}

impl Resp {
    async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body, after checking the status; panics with the body otherwise.
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got: {}", self.text);
        self.body
    }

    /// The `error` hash of a Stripe error envelope, after checking the status and the shape.
    pub fn error(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        let error = &self.body["error"];
        assert!(
            error.is_object(),
            "not a Stripe error envelope: {}",
            self.text
        );
        assert!(
            error["type"].is_string(),
            "error without type: {}",
            self.text
        );
        assert!(
            error["message"].is_string(),
            "error without message: {}",
            self.text
        );
        error
    }

    /// The id of the object in the body.
    pub fn id(&self) -> String {
        str_of(&self.body["id"])
    }
}

/// A string field, or a panic naming the value.
pub fn str_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_string()
}

/// One string field of every object in a list's `data`, in order.
pub fn pluck(list: &Value, field: &str) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|object| str_of(&object[field]))
        .collect()
}

/// A running simulator and a client for it.
pub struct TestSim {
    pub sim: Simulator,
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

/// A simulator with a manual clock starting at [`CLOCK_START`], seed 42.
pub async fn start() -> TestSim {
    start_with_seed(42).await
}

pub async fn start_with_seed(seed: u64) -> TestSim {
    start_with(
        Simulator::builder()
            .clock(ClockMode::Manual)
            .clock_start(CLOCK_START)
            .seed(seed),
    )
    .await
}

/// A simulator from `builder`, with a client for it.
pub async fn start_with(builder: stripe_sim::SimulatorBuilder) -> TestSim {
    let sim = builder.start().await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = sim.base_url().to_string();
    let key = sim.api_key().to_string();
    TestSim {
        sim,
        http,
        base,
        key,
    }
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the API key as a Bearer token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.key)
    }

    /// A request without any `Authorization` header.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn send(&self, request: RequestBuilder) -> Resp {
        Resp::read(request.send().await.unwrap()).await
    }

    /// `POST /v1/…` with form parameters.
    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> Resp {
        self.post_raw(path, &encode(params)).await
    }

    /// `POST` with an already encoded form body.
    pub async fn post_raw(&self, path: &str, body: &str) -> Resp {
        self.send(
            self.request(Method::POST, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string()),
        )
        .await
    }

    /// `POST` with form parameters and an `Idempotency-Key`.
    pub async fn post_idempotent(&self, path: &str, key: &str, params: &[(&str, &str)]) -> Resp {
        self.send(
            self.request(Method::POST, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", key)
                .body(encode(params)),
        )
        .await
    }

    /// `GET` of a path that may carry its own query string.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }

    /// `GET` with form-encoded query parameters.
    pub async fn get_with(&self, path: &str, params: &[(&str, &str)]) -> Resp {
        let query = encode(params);
        let sep = if path.contains('?') { '&' } else { '?' };
        self.get(&format!("{path}{sep}{query}")).await
    }

    /// A control-API call with a JSON body.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Every object of a list endpoint (at most 100), newest first.
    pub async fn list_all(&self, path: &str) -> Vec<Value> {
        let list = self.get_with(path, &[("limit", "100")]).await.ok();
        assert_eq!(list["object"], "list");
        list["data"].as_array().unwrap().clone()
    }

    /// How many objects a list endpoint has (at most 100).
    pub async fn count(&self, path: &str) -> usize {
        self.list_all(path).await.len()
    }

    /// Every object of every collection and the clock, to prove a failed request changed nothing.
    pub async fn state(&self) -> (Vec<Vec<Value>>, i64) {
        let mut objects = Vec::new();
        for path in [
            "/v1/customers",
            "/v1/products",
            "/v1/prices",
            "/v1/payment_links",
            "/v1/checkout/sessions",
            "/v1/payment_intents",
            "/v1/charges",
            "/v1/refunds",
            "/v1/events",
        ] {
            objects.push(self.list_all(path).await);
        }
        (objects, self.sim.now())
    }

    /// The types of every event so far, oldest first.
    pub async fn event_types(&self) -> Vec<String> {
        self.sim
            .events()
            .iter()
            .map(|e| e.event_type.to_string())
            .collect()
    }

    /// The events of one type, oldest first, as the API renders them.
    pub fn events_of(&self, event_type: &str) -> Vec<Value> {
        self.sim
            .events()
            .into_iter()
            .filter(|e| e.event_type.as_str() == event_type)
            .filter_map(|e| self.sim.object(&e.id))
            .collect()
    }

    /// The types of the events about one object (`data.object.id`), oldest first.
    pub fn types_about(&self, id: &str) -> Vec<String> {
        self.sim
            .events()
            .iter()
            .filter(|e| e.object_id == id)
            .map(|e| e.event_type.to_string())
            .collect()
    }

    /// The types of the `checkout.session.*` events so far, oldest first.
    pub fn checkout_session_events(&self) -> Vec<String> {
        self.sim
            .events()
            .iter()
            .map(|e| e.event_type.to_string())
            .filter(|ty| ty.starts_with("checkout.session."))
            .collect()
    }

    /// Moves the simulator clock through the control API.
    pub async fn advance(&self, seconds: i64) -> Value {
        self.control(
            Method::POST,
            "/_sim/clock/advance",
            Some(json!({ "seconds": seconds })),
        )
        .await
        .ok()
    }

    // ----- objects -----

    pub async fn create_product(&self, name: &str) -> Value {
        self.post("/v1/products", &[("name", name)]).await.ok()
    }

    pub async fn create_price(&self, product: &str, amount: i64, currency: &str) -> Value {
        self.post(
            "/v1/prices",
            &[
                ("product", product),
                ("unit_amount", &amount.to_string()),
                ("currency", currency),
            ],
        )
        .await
        .ok()
    }

    /// A product and a price of `amount` minor units in `currency`: the price id.
    pub async fn price(&self, name: &str, amount: i64, currency: &str) -> String {
        let product = self.create_product(name).await;
        str_of(
            &self
                .create_price(&str_of(&product["id"]), amount, currency)
                .await["id"],
        )
    }

    /// A payment link for one unit of `price`, with extra parameters.
    pub async fn create_link(&self, price: &str, extra: &[(&str, &str)]) -> Value {
        let mut params = vec![
            ("line_items[0][price]", price),
            ("line_items[0][quantity]", "1"),
        ];
        params.extend_from_slice(extra);
        self.post("/v1/payment_links", &params).await.ok()
    }

    /// A payment link redirecting to `https://example.com/thanks?session={CHECKOUT_SESSION_ID}`.
    pub async fn link(&self, amount: i64, currency: &str) -> Value {
        let price = self.price("Pro plan", amount, currency).await;
        self.create_link(
            &price,
            &[
                ("after_completion[type]", "redirect"),
                (
                    "after_completion[redirect][url]",
                    "https://example.com/thanks?session={CHECKOUT_SESSION_ID}",
                ),
            ],
        )
        .await
    }

    /// `POST /v1/checkout/sessions` in payment mode with a success URL and `params` (line items at
    /// least).
    pub async fn create_session(&self, params: &[(&str, &str)]) -> Resp {
        let mut all = vec![
            ("mode", "payment"),
            ("success_url", "https://example.com/ok"),
        ];
        all.extend_from_slice(params);
        self.post("/v1/checkout/sessions", &all).await
    }

    /// The seeded Lifetime link (USD 199.00).
    pub fn lifetime_link(&self) -> String {
        self.sim.seeded_link("lifetime").unwrap().id.to_string()
    }

    /// A buyer opening a link through the control API: the new session.
    pub async fn visit(&self, link_id: &str, client_reference_id: Option<&str>) -> Value {
        let body = match client_reference_id {
            Some(c) => json!({ "client_reference_id": c }),
            None => json!({}),
        };
        self.control(
            Method::POST,
            &format!("/_sim/payment_links/{link_id}/visit"),
            Some(body),
        )
        .await
        .ok()
    }

    /// An open session of the seeded Lifetime link: its id.
    pub async fn open_session(&self) -> String {
        str_of(&self.visit(&self.lifetime_link(), None).await["id"])
    }

    /// An open EUR session (card or SEPA): its id.
    pub async fn open_eur_session(&self) -> String {
        let link = self.link(4900, "eur").await;
        str_of(&self.visit(&str_of(&link["id"]), None).await["id"])
    }

    /// Pays a session through the control API with any payment method body.
    pub async fn pay(&self, session: &str, body: Value) -> Resp {
        self.control(
            Method::POST,
            &format!("/_sim/checkout/sessions/{session}/pay"),
            Some(body),
        )
        .await
    }

    pub async fn pay_card(&self, session: &str, number: &str) -> Resp {
        self.pay(session, json!({ "card": number })).await
    }

    /// A session paid with 4242…: the completed session.
    pub async fn paid_session(&self) -> Value {
        let session = self.open_session().await;
        self.pay_card(&session, "4242424242424242").await.ok()
    }

    /// A session paid with `card`: (session, payment intent, charge) ids.
    pub async fn paid_with(&self, card: &str) -> (String, String, String) {
        let session = self.open_session().await;
        let paid = self.pay_card(&session, card).await.ok();
        let pi = str_of(&paid["payment_intent"]);
        let intent = self.get(&format!("/v1/payment_intents/{pi}")).await.ok();
        (session, pi, str_of(&intent["latest_charge"]))
    }

    pub async fn object(&self, path: &str) -> Value {
        self.get(path).await.ok()
    }

    pub async fn session(&self, id: &str) -> Value {
        self.object(&format!("/v1/checkout/sessions/{id}")).await
    }

    pub async fn intent(&self, id: &str) -> Value {
        self.object(&format!("/v1/payment_intents/{id}")).await
    }

    pub async fn charge(&self, id: &str) -> Value {
        self.object(&format!("/v1/charges/{id}")).await
    }
}

/// A webhook receiver on a real socket that answers every POST with `status`.
pub async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    answer(&server, status).await;
    server
}

/// Makes the receiver answer `status` from now on.
pub async fn answer(server: &MockServer, status: u16) {
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(server)
        .await;
}
