//! The parts of Stripe's wire objects this app reads, with Stripe's exact field names.
//!
//! Only the fields the rules need are declared and everything nullable is an `Option`, so a
//! payload rendered at another API version (extra fields, nulls) still parses.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The event types this app subscribes to, plus everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventType {
    CheckoutSessionCompleted,
    CheckoutSessionAsyncPaymentSucceeded,
    CheckoutSessionAsyncPaymentFailed,
    ChargeRefunded,
    /// Acknowledged and ignored: Stripe keeps retrying anything that is not 2xx.
    Other(String),
}

impl EventType {
    pub fn parse(name: &str) -> EventType {
        match name {
            "checkout.session.completed" => EventType::CheckoutSessionCompleted,
            "checkout.session.async_payment_succeeded" => {
                EventType::CheckoutSessionAsyncPaymentSucceeded
            }
            "checkout.session.async_payment_failed" => EventType::CheckoutSessionAsyncPaymentFailed,
            "charge.refunded" => EventType::ChargeRefunded,
            other => EventType::Other(other.to_owned()),
        }
    }
}

/// An event envelope; `data.object` is parsed once the type says what it is.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// `checkout.session.status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Complete,
    Expired,
    #[serde(other)]
    Unknown,
}

impl SessionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Complete => "complete",
            SessionStatus::Expired => "expired",
            SessionStatus::Unknown => "unknown",
        }
    }
}

/// `checkout.session.payment_status`: only `paid` means the money arrived; delayed methods
/// complete the session as `unpaid` first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Paid,
    Unpaid,
    NoPaymentRequired,
    #[serde(other)]
    Unknown,
}

impl PaymentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Paid => "paid",
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::NoPaymentRequired => "no_payment_required",
            PaymentStatus::Unknown => "unknown",
        }
    }
}

/// A Checkout Session (`cs_…`), from an event or from `GET /v1/checkout/sessions`.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lowercase ISO code (`usd`).
    #[serde(default)]
    pub currency: Option<String>,
    pub payment_status: PaymentStatus,
    #[serde(default = "unknown_status")]
    pub status: SessionStatus,
    /// `pi_…`; an object when the API caller asked for `expand[]=payment_intent`.
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    /// Unix seconds: which of two sessions is the later (the `latest_session` variant).
    #[serde(default)]
    pub created: Option<i64>,
}

fn unknown_status() -> SessionStatus {
    SessionStatus::Unknown
}

/// A Charge (`ch_…`), the object of `charge.refunded`.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
    #[serde(default, deserialize_with = "expandable_id")]
    pub payment_intent: Option<String>,
    pub amount: i64,
    /// Cumulative over all refunds of this charge.
    pub amount_refunded: i64,
    /// True only once the charge is fully refunded; a partial refund leaves it false.
    pub refunded: bool,
    #[serde(default)]
    pub currency: Option<String>,
}

/// A list response (`{"object":"list","data":[…]}`).
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
}

/// Accepts an id string, an expanded object with an `id`, or null.
fn expandable_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Expandable {
        Id(String),
        Object { id: String },
    }
    Ok(
        Option::<Expandable>::deserialize(deserializer)?.map(|value| match value {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_with_nulls_and_extra_fields_parses() {
        let session: CheckoutSession = serde_json::from_value(json!({
            "id": "cs_test_1", "object": "checkout.session", "client_reference_id": null,
            "amount_total": null, "currency": null, "payment_status": "unpaid",
            "status": "open", "payment_intent": null, "ui_mode": "hosted"
        }))
        .unwrap();
        assert_eq!(session.client_reference_id, None);
        assert_eq!(session.payment_status, PaymentStatus::Unpaid);
        assert_eq!(session.status, SessionStatus::Open);
    }

    #[test]
    fn an_expanded_payment_intent_yields_its_id() {
        let session: CheckoutSession = serde_json::from_value(json!({
            "id": "cs_test_1", "payment_status": "paid", "status": "complete",
            "payment_intent": {"id": "pi_1", "object": "payment_intent"}
        }))
        .unwrap();
        assert_eq!(session.payment_intent.as_deref(), Some("pi_1"));
    }

    #[test]
    fn unknown_statuses_do_not_break_parsing() {
        let session: CheckoutSession = serde_json::from_value(json!({
            "id": "cs_test_1", "payment_status": "something_new", "status": "brand_new"
        }))
        .unwrap();
        assert_eq!(session.payment_status, PaymentStatus::Unknown);
        assert_eq!(session.status, SessionStatus::Unknown);
    }
}
