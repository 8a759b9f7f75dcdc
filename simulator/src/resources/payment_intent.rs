//! PaymentIntents: created by Checkout at the first payment attempt (API ≥ 2022-08-01), never
//! through the API here. Retrieve and list only.

use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::params::Metadata;
use crate::resources::event::CreatedFilter;
use crate::store::{ListQuery, Store};
use crate::table::Identified;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    Processing,
    Succeeded,
    Canceled,
}

impl PaymentIntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentIntentStatus::RequiresPaymentMethod => "requires_payment_method",
            PaymentIntentStatus::Processing => "processing",
            PaymentIntentStatus::Succeeded => "succeeded",
            PaymentIntentStatus::Canceled => "canceled",
        }
    }
}

impl crate::vocabulary::Vocabulary for PaymentIntentStatus {
    const WHAT: &'static str = "PaymentIntent status";
    const ALL: &'static [Self] = &[
        PaymentIntentStatus::RequiresPaymentMethod,
        PaymentIntentStatus::Processing,
        PaymentIntentStatus::Succeeded,
        PaymentIntentStatus::Canceled,
    ];

    fn as_str(&self) -> &'static str {
        PaymentIntentStatus::as_str(*self)
    }
}

crate::vocabulary::serde_as_word!(PaymentIntentStatus);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentIntentStatus,
    pub amount_received: i64,
    pub customer: Option<String>,
    pub metadata: Metadata,
    pub latest_charge: Option<String>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    /// The `last_payment_error` hash, kept as Stripe renders it.
    pub last_payment_error: Option<Value>,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    pub client_secret: String,
    pub receipt_email: Option<String>,
}

impl Identified for PaymentIntent {
    fn id(&self) -> &str {
        &self.id
    }
}

impl PaymentIntent {
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "allowed_payment_method_types": null,
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_details": { "tip": {} },
            "amount_received": self.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": null,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": "automatic_async",
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": null,
            "description": null,
            "excluded_payment_method_types": null,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "managed_payments": null,
            "metadata": self.metadata,
            "next_action": null,
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {},
            "payment_method_types": self.payment_method_types,
            "payment_record": null,
            "processing": null,
            "receipt_email": self.receipt_email,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": self.status.as_str(),
            "transfer_data": null,
            "transfer_group": null,
        })
    }
}

impl Store {
    pub fn retrieve_payment_intent(&self, id: &str) -> ApiResult<Value> {
        self.payment_intents
            .find(id, "payment_intent", "intent")
            .map(PaymentIntent::render)
    }

    pub fn list_payment_intents(&self, mut query: ListQuery) -> ApiResult<Value> {
        let customer = query.params.string("customer")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        query.list(
            &self.payment_intents,
            "payment_intent",
            "/v1/payment_intents",
            |pi| {
                customer
                    .as_ref()
                    .is_none_or(|c| pi.customer.as_ref() == Some(c))
                    && created.accepts(pi.created)
            },
            |pi| Ok(pi.render()),
        )
    }
}
