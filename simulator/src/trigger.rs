//! `stripe-sim trigger <event-type>`: runs the real flow that produces an event against a running
//! simulator, over its public HTTP API, like the Stripe CLI's `trigger`.

use serde_json::{json, Value};

/// What `trigger` can produce, with the flow it runs.
pub const TRIGGERS: &[(&str, &str)] = &[
    (
        "checkout.session.completed",
        "pays a new session with 4242424242424242",
    ),
    (
        "checkout.session.async_payment_succeeded",
        "pays a EUR session with SEPA DE89370400440532013000, advances 180 s",
    ),
    (
        "checkout.session.async_payment_failed",
        "pays a EUR session with SEPA DE62370400440532013001, advances 180 s",
    ),
    ("checkout.session.expired", "expires a new session"),
    (
        "payment_intent.created",
        "pays a new session with 4242424242424242",
    ),
    (
        "payment_intent.succeeded",
        "pays a new session with 4242424242424242",
    ),
    (
        "payment_intent.processing",
        "pays a EUR session with SEPA DE89370400440532013000",
    ),
    (
        "payment_intent.payment_failed",
        "pays with the declined card 4000000000000002",
    ),
    (
        "payment_intent.canceled",
        "a declined attempt, then the session expires",
    ),
    (
        "charge.succeeded",
        "pays a new session with 4242424242424242",
    ),
    (
        "charge.pending",
        "pays a EUR session with SEPA DE89370400440532013000",
    ),
    (
        "charge.failed",
        "pays with the declined card 4000000000000002",
    ),
    ("charge.refunded", "pays, then refunds in full"),
    ("refund.created", "pays, then refunds in full"),
    (
        "refund.updated",
        "pays with 4000000000005126, refunds, advances 60 s",
    ),
    (
        "charge.refund.updated",
        "pays with 4000000000005126, refunds, advances 60 s",
    ),
    (
        "refund.failed",
        "pays with 4000000000005126, refunds, advances 60 s",
    ),
    ("customer.created", "creates a customer"),
    ("product.created", "creates a product"),
    ("price.created", "creates a product and a price"),
    ("payment_link.created", "creates a payment link"),
    (
        "payment_link.updated",
        "creates a payment link, then deactivates it",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("unknown event type '{0}'; `stripe-sim trigger --list` shows the supported ones")]
    Unknown(String),
    #[error("cannot reach the simulator at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{method} {path} answered {status}: {body}")]
    Api {
        method: String,
        path: String,
        status: u16,
        body: String,
    },
}

/// A small client of a running simulator.
pub struct SimClient {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl SimClient {
    pub fn new(base: &str, key: &str) -> Self {
        SimClient {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: Option<&[(&str, String)]>,
        json_body: Option<Value>,
    ) -> Result<Value, TriggerError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.key);
        if let Some(form) = form {
            let body: Vec<String> = form
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        k,
                        percent_encoding::utf8_percent_encode(
                            v,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                })
                .collect();
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"));
        }
        if let Some(body) = json_body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| TriggerError::Unreachable {
                url: self.base.clone(),
                message: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(TriggerError::Api {
                method: method.to_string(),
                path: path.to_string(),
                status,
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<Value, TriggerError> {
        self.send(reqwest::Method::POST, path, Some(form), None)
            .await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Result<Value, TriggerError> {
        self.send(reqwest::Method::POST, path, None, Some(body))
            .await
    }

    /// Like [`SimClient::post_json`], but a 402 card error is an expected outcome, not a failure.
    async fn pay(&self, session: &str, body: Value) -> Result<(), TriggerError> {
        match self
            .post_json(&format!("/_sim/checkout/sessions/{session}/pay"), body)
            .await
        {
            Ok(_) | Err(TriggerError::Api { status: 402, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn delete(&self, path: &str) -> Result<Value, TriggerError> {
        self.send(reqwest::Method::DELETE, path, None, None).await
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_string()
}

/// Creates a one-item session in `currency` and returns its id.
async fn new_session(client: &SimClient, currency: &str) -> Result<String, TriggerError> {
    let session = client
        .post_form(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment".into()),
                ("success_url", "https://example.com/success".into()),
                ("line_items[0][quantity]", "1".into()),
                ("line_items[0][price_data][currency]", currency.into()),
                ("line_items[0][price_data][unit_amount]", "2000".into()),
                (
                    "line_items[0][price_data][product_data][name]",
                    "stripe-sim trigger".into(),
                ),
            ],
        )
        .await?;
    Ok(id(&session))
}

async fn paid_intent(client: &SimClient, card: &str) -> Result<String, TriggerError> {
    let session = new_session(client, "usd").await?;
    client.pay(&session, json!({ "card": card })).await?;
    let paid = client
        .send(
            reqwest::Method::GET,
            &format!("/v1/checkout/sessions/{session}"),
            None,
            None,
        )
        .await?;
    Ok(paid["payment_intent"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn advance(client: &SimClient, seconds: i64) -> Result<(), TriggerError> {
    client
        .post_json("/_sim/clock/advance", json!({ "seconds": seconds }))
        .await
        .map(|_| ())
}

/// Runs the flow for `event_type`.
pub async fn trigger(client: &SimClient, event_type: &str) -> Result<(), TriggerError> {
    match event_type {
        "checkout.session.completed"
        | "payment_intent.created"
        | "payment_intent.succeeded"
        | "charge.succeeded" => {
            let session = new_session(client, "usd").await?;
            client
                .pay(&session, json!({ "card": "4242424242424242" }))
                .await
        }
        "checkout.session.async_payment_succeeded"
        | "payment_intent.processing"
        | "charge.pending" => {
            let session = new_session(client, "eur").await?;
            client
                .pay(
                    &session,
                    json!({ "sepa_debit": { "iban": "DE89370400440532013000" } }),
                )
                .await?;
            if event_type == "checkout.session.async_payment_succeeded" {
                advance(client, 180).await?;
            }
            Ok(())
        }
        "checkout.session.async_payment_failed" => {
            let session = new_session(client, "eur").await?;
            client
                .pay(
                    &session,
                    json!({ "sepa_debit": { "iban": "DE62370400440532013001" } }),
                )
                .await?;
            advance(client, 180).await
        }
        "checkout.session.expired" => {
            let session = new_session(client, "usd").await?;
            client
                .post_form(&format!("/v1/checkout/sessions/{session}/expire"), &[])
                .await
                .map(|_| ())
        }
        "payment_intent.payment_failed" | "charge.failed" => {
            let session = new_session(client, "usd").await?;
            client
                .pay(&session, json!({ "card": "4000000000000002" }))
                .await
        }
        "payment_intent.canceled" => {
            let session = new_session(client, "usd").await?;
            client
                .pay(&session, json!({ "card": "4000000000000002" }))
                .await?;
            client
                .post_form(&format!("/v1/checkout/sessions/{session}/expire"), &[])
                .await
                .map(|_| ())
        }
        "charge.refunded" | "refund.created" => {
            let intent = paid_intent(client, "4242424242424242").await?;
            client
                .post_form("/v1/refunds", &[("payment_intent", intent)])
                .await
                .map(|_| ())
        }
        "refund.updated" | "charge.refund.updated" | "refund.failed" => {
            let intent = paid_intent(client, "4000000000005126").await?;
            client
                .post_form("/v1/refunds", &[("payment_intent", intent)])
                .await?;
            advance(client, 60).await
        }
        "customer.created" => client
            .post_form("/v1/customers", &[("email", "trigger@example.com".into())])
            .await
            .map(|_| ()),
        "product.created" => client
            .post_form("/v1/products", &[("name", "stripe-sim trigger".into())])
            .await
            .map(|_| ()),
        "price.created" | "payment_link.created" | "payment_link.updated" => {
            let product = client
                .post_form("/v1/products", &[("name", "stripe-sim trigger".into())])
                .await?;
            let price = client
                .post_form(
                    "/v1/prices",
                    &[
                        ("product", id(&product)),
                        ("unit_amount", "2000".into()),
                        ("currency", "usd".into()),
                    ],
                )
                .await?;
            if event_type == "price.created" {
                return Ok(());
            }
            let link = client
                .post_form(
                    "/v1/payment_links",
                    &[
                        ("line_items[0][price]", id(&price)),
                        ("line_items[0][quantity]", "1".into()),
                    ],
                )
                .await?;
            if event_type == "payment_link.updated" {
                client
                    .post_form(
                        &format!("/v1/payment_links/{}", id(&link)),
                        &[("active", "false".into())],
                    )
                    .await?;
            }
            Ok(())
        }
        other => Err(TriggerError::Unknown(other.to_string())),
    }
}
