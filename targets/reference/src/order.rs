//! Orders: the app's own record of what is being bought.
//!
//! The guide creates the order before the buyer goes to Stripe so the app, not Stripe, is the
//! authority on what a payment is for: the webhook later checks the paid amount and currency
//! against this record.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

/// Where an order is in its life. `paid` never returns to `pending`/`failed`, and `refunded` is
/// final; the transitions live in [`crate::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Failed,
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::Refunded => "refunded",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status string in the database that is not one of ours (the table's CHECK prevents it).
#[derive(Debug, thiserror::Error)]
#[error("unknown order status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(OrderStatus::Pending),
            "paid" => Ok(OrderStatus::Paid),
            "failed" => Ok(OrderStatus::Failed),
            "refunded" => Ok(OrderStatus::Refunded),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// An order as stored and as served by `GET /api/orders/{id}` (camelCase on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// UUID-shaped; also the Stripe `client_reference_id`.
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    /// Minor units (cents), as Stripe's `amount_total`.
    pub amount: i64,
    /// ISO 4217, stored uppercase; Stripe reports it lowercase, so compare case-insensitively.
    pub currency: String,
    /// Which provider is expected to pay it; only `stripe` orders react to Stripe events.
    pub provider: String,
    pub status: OrderStatus,
    /// The Checkout Session (`cs_…`) that paid the order.
    pub provider_order_id: Option<String>,
    /// The PaymentIntent (`pi_…`) that paid the order; refunds arrive keyed by it.
    pub provider_capture_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The provider name the Stripe webhook acts for.
pub const STRIPE_PROVIDER: &str = "stripe";

impl Order {
    pub fn is_stripe(&self) -> bool {
        self.provider == STRIPE_PROVIDER
    }
}

/// A validated `POST /api/orders` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub product_id: String,
    pub product_name: String,
    pub amount: i64,
    pub currency: String,
    pub provider: String,
}

/// Why an order request was refused; the message goes back to the client as `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRequestError {
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("{0} must be a non-empty string")]
    MissingString(&'static str),
    #[error("amount must be a positive integer (minor units)")]
    BadAmount,
    #[error("currency must be a three-letter ISO code")]
    BadCurrency,
}

impl NewOrder {
    /// Validates a request body. It is taken as a raw JSON value so that every mistake gets our
    /// own 400 message instead of a framework rejection.
    pub fn from_json(body: &Value) -> Result<NewOrder, OrderRequestError> {
        let object = body.as_object().ok_or(OrderRequestError::NotAnObject)?;
        let string = |field: &'static str| -> Result<String, OrderRequestError> {
            match object.get(field).and_then(Value::as_str).map(str::trim) {
                Some(value) if !value.is_empty() => Ok(value.to_owned()),
                _ => Err(OrderRequestError::MissingString(field)),
            }
        };
        let amount = object
            .get("amount")
            .and_then(Value::as_i64)
            .filter(|amount| *amount > 0)
            .ok_or(OrderRequestError::BadAmount)?;
        let currency = object
            .get("currency")
            .and_then(Value::as_str)
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .ok_or(OrderRequestError::BadCurrency)?
            .to_ascii_uppercase();
        Ok(NewOrder {
            product_id: string("productId")?,
            product_name: string("productName")?,
            amount,
            currency,
            provider: string("provider")?,
        })
    }

    /// The pending order this request creates.
    pub fn into_order(self, id: String, now: String) -> Order {
        Order {
            id,
            product_id: self.product_id,
            product_name: self.product_name,
            amount: self.amount,
            currency: self.currency,
            provider: self.provider,
            status: OrderStatus::Pending,
            provider_order_id: None,
            provider_capture_id: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({"productId":"lifetime","productName":"Lifetime","amount":19900,"currency":"USD","provider":"stripe"})
    }

    #[test]
    fn the_guides_example_order_is_valid() {
        let order = NewOrder::from_json(&valid()).unwrap();
        assert_eq!(order.amount, 19900);
        assert_eq!(order.currency, "USD");
        assert_eq!(order.provider, "stripe");
    }

    #[test]
    fn a_lowercase_currency_is_stored_uppercase() {
        let mut body = valid();
        body["currency"] = json!("usd");
        assert_eq!(NewOrder::from_json(&body).unwrap().currency, "USD");
    }

    #[test]
    fn amounts_that_are_not_positive_integers_are_rejected() {
        for amount in [
            json!(0),
            json!(-5),
            json!(199.5),
            json!("19900"),
            json!(null),
        ] {
            let mut body = valid();
            body["amount"] = amount.clone();
            assert_eq!(
                NewOrder::from_json(&body),
                Err(OrderRequestError::BadAmount),
                "{amount}"
            );
        }
    }

    #[test]
    fn currencies_that_are_not_three_letters_are_rejected() {
        for currency in [json!("US"), json!("USDT"), json!("U$D"), json!(840)] {
            let mut body = valid();
            body["currency"] = currency.clone();
            assert_eq!(
                NewOrder::from_json(&body),
                Err(OrderRequestError::BadCurrency),
                "{currency}"
            );
        }
    }

    #[test]
    fn an_empty_or_missing_provider_is_rejected() {
        let mut body = valid();
        body["provider"] = json!("");
        assert_eq!(
            NewOrder::from_json(&body),
            Err(OrderRequestError::MissingString("provider"))
        );
        body.as_object_mut().unwrap().remove("provider");
        assert_eq!(
            NewOrder::from_json(&body),
            Err(OrderRequestError::MissingString("provider"))
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_rejected() {
        assert_eq!(
            NewOrder::from_json(&json!([1, 2])),
            Err(OrderRequestError::NotAnObject)
        );
    }
}
