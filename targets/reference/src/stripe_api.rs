//! The two Stripe API reads this app makes.
//!
//! Webhooks are the source of truth, but two places must ask Stripe directly: the return route
//! shows the session's state to the buyer, and a refund for a payment we have not recorded yet
//! must find out whether that payment is ours (then Stripe is asked to retry the refund later).

use std::time::Duration;

use reqwest::StatusCode;

use crate::stripe_objects::{CheckoutSession, List};

/// How long one Stripe call may take; Stripe itself waits for our webhook answer, so a lookup
/// must finish well within that.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a Stripe call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum StripeApiError {
    #[error("Stripe has no such object")]
    NotFound,
    #[error("Stripe unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("Stripe answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unexpected Stripe response: {0}")]
    Decode(#[source] reqwest::Error),
}

/// A minimal Stripe client (GET only) authenticated with the secret key.
#[derive(Debug, Clone)]
pub struct StripeApi {
    http: reqwest::Client,
    base: String,
    secret_key: String,
}

impl StripeApi {
    /// `base` is the origin without `/v1`, e.g. `https://api.stripe.com` or a simulator's URL.
    pub fn new(base: &str, secret_key: &str) -> Result<StripeApi, reqwest::Error> {
        Ok(StripeApi {
            http: reqwest::Client::builder().timeout(TIMEOUT).build()?,
            base: base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        })
    }

    /// `GET /v1/checkout/sessions/{id}`.
    pub async fn retrieve_session(&self, id: &str) -> Result<CheckoutSession, StripeApiError> {
        self.get(&format!("/v1/checkout/sessions/{id}"), &[]).await
    }

    /// `GET /v1/checkout/sessions?payment_intent=…&limit=1`: the session a payment belongs to.
    pub async fn session_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<CheckoutSession>, StripeApiError> {
        let list: List<CheckoutSession> = self
            .get(
                "/v1/checkout/sessions",
                &[("payment_intent", payment_intent), ("limit", "1")],
            )
            .await?;
        Ok(list.data.into_iter().next())
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, StripeApiError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .map_err(StripeApiError::Unreachable)?;
        match response.status() {
            status if status.is_success() => {
                response.json::<T>().await.map_err(StripeApiError::Decode)
            }
            StatusCode::NOT_FOUND => Err(StripeApiError::NotFound),
            status => Err(StripeApiError::Status {
                status: status.as_u16(),
                body: response.text().await.unwrap_or_default(),
            }),
        }
    }
}
