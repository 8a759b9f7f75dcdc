//! Charges: one per payment attempt, succeeded, pending (bank debits) or failed. Retrieve and
//! list only; `amount_refunded` is cumulative and `refunded` is true only once fully refunded.

use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::params::Metadata;
use crate::resources::event::CreatedFilter;
use crate::resources::payment_method::BillingDetails;
use crate::resources::refund::Refund;
use crate::store::{list_object, ListQuery, Store};
use crate::table::Identified;
use crate::test_cards::{DelayedOutcome, RefundBehaviour};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChargeStatus {
    Succeeded,
    Pending,
    Failed,
}

impl ChargeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Succeeded => "succeeded",
            ChargeStatus::Pending => "pending",
            ChargeStatus::Failed => "failed",
        }
    }
}

/// The payment method used, as `payment_method_details` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MethodDetails {
    Card {
        brand: String,
        last4: String,
        exp_month: u32,
        exp_year: u32,
        funding: String,
        country: String,
    },
    SepaDebit {
        last4: String,
        country: String,
        bank_code: String,
    },
    UsBankAccount {
        last4: String,
        routing_number: String,
    },
}

impl MethodDetails {
    pub fn type_name(&self) -> &'static str {
        match self {
            MethodDetails::Card { .. } => "card",
            MethodDetails::SepaDebit { .. } => "sepa_debit",
            MethodDetails::UsBankAccount { .. } => "us_bank_account",
        }
    }

    fn render(&self, amount: i64, fingerprint: &str) -> Value {
        match self {
            MethodDetails::Card {
                brand,
                last4,
                exp_month,
                exp_year,
                funding,
                country,
            } => json!({
                "card": {
                    "amount_authorized": amount,
                    "authorization_code": null,
                    "brand": brand,
                    "checks": { "address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass" },
                    "country": country,
                    "electronic_commerce_indicator": null,
                    "exp_month": exp_month,
                    "exp_year": exp_year,
                    "extended_authorization": { "status": "disabled" },
                    "fingerprint": fingerprint,
                    "funding": funding,
                    "incremental_authorization": { "status": "unavailable" },
                    "installments": null,
                    "last4": last4,
                    "mandate": null,
                    "multicapture": { "status": "unavailable" },
                    "network": brand,
                    "network_token": { "used": false },
                    "network_transaction_id": null,
                    "overcapture": { "maximum_amount_capturable": amount, "status": "unavailable" },
                    "regulated_status": "unregulated",
                    "three_d_secure": null,
                    "transaction_link_id": null,
                    "wallet": null,
                },
                "type": "card",
            }),
            MethodDetails::SepaDebit {
                last4,
                country,
                bank_code,
            } => json!({
                "sepa_debit": {
                    "bank_code": bank_code,
                    "branch_code": "",
                    "country": country,
                    "fingerprint": fingerprint,
                    "last4": last4,
                    "mandate": null,
                },
                "type": "sepa_debit",
            }),
            MethodDetails::UsBankAccount {
                last4,
                routing_number,
            } => json!({
                "us_bank_account": {
                    "account_holder_type": "individual",
                    "account_type": "checking",
                    "bank_name": "STRIPE TEST BANK",
                    "fingerprint": fingerprint,
                    "last4": last4,
                    "payment_reference": null,
                    "routing_number": routing_number,
                },
                "type": "us_bank_account",
            }),
        }
    }
}

/// `outcome` of a charge: how the network answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Authorized,
    IssuerDeclined { reason: String },
    Blocked,
}

impl Outcome {
    fn render(&self) -> Value {
        let (network_status, reason, risk_level, seller_message, kind) = match self {
            Outcome::Authorized => (
                "approved_by_network",
                None,
                "normal",
                "Payment complete.",
                "authorized",
            ),
            Outcome::IssuerDeclined { reason } => (
                "declined_by_network",
                Some(reason.clone()),
                "normal",
                "The bank did not return any further details with this decline.",
                "issuer_declined",
            ),
            Outcome::Blocked => (
                "not_sent_to_network",
                Some("highest_risk_level".to_string()),
                "highest",
                "Stripe blocked this payment as too risky.",
                "blocked",
            ),
        };
        json!({
            "advice_code": null,
            "network_advice_code": null,
            "network_decline_code": null,
            "network_status": network_status,
            "reason": reason,
            "risk_level": risk_level,
            "risk_score": if risk_level == "highest" { 95 } else { 20 },
            "seller_message": seller_message,
            "type": kind,
        })
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Charge {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub status: ChargeStatus,
    pub amount_refunded: i64,
    pub payment_intent: String,
    pub payment_method: String,
    pub method: MethodDetails,
    pub fingerprint: String,
    pub outcome: Option<Outcome>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub customer: Option<String>,
    pub billing_email: Option<String>,
    pub billing_name: Option<String>,
    pub billing_country: Option<String>,
    pub balance_transaction: Option<String>,
    /// The receipt page, once the charge succeeded (Stripe makes one for every successful
    /// payment and keeps it up to date with the refunds).
    pub receipt_url: Option<String>,
    pub metadata: Metadata,
    /// How refunds of this charge settle (from the test card).
    pub refund_behaviour: RefundBehaviour,
    /// For a pending bank debit: how it will settle.
    pub pending_outcome: Option<DelayedOutcome>,
}

impl Identified for Charge {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Where the simulator serves the receipt of a charge (`http/receipts.rs`).
pub fn receipt_url(base_url: &str, charge_id: &str) -> String {
    format!("{base_url}/receipts/payment/{charge_id}")
}

/// Where the simulator serves the receipt of a refund, linked from its charge's receipt.
pub fn refund_receipt_url(base_url: &str, refund_id: &str) -> String {
    format!("{base_url}/receipts/refund/{refund_id}")
}

impl Charge {
    pub fn paid(&self) -> bool {
        self.status == ChargeStatus::Succeeded
    }

    pub fn refunded(&self) -> bool {
        self.paid() && self.amount_refunded >= self.amount
    }

    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": if self.status == ChargeStatus::Failed { 0 } else { self.amount },
            "amount_refunded": self.amount_refunded,
            "application": null,
            "application_fee": null,
            "application_fee_amount": null,
            "balance_transaction": self.balance_transaction,
            "billing_details": BillingDetails {
                email: self.billing_email.clone(),
                name: self.billing_name.clone(),
                country: self.billing_country.clone(),
            }.render(),
            "calculated_statement_descriptor": "STRIPE-SIM",
            "captured": self.status != ChargeStatus::Failed,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": null,
            "disputed": false,
            "failure_balance_transaction": null,
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "fraud_details": {},
            "livemode": false,
            "metadata": self.metadata,
            "on_behalf_of": null,
            "outcome": self.outcome.as_ref().map(Outcome::render),
            "paid": self.paid(),
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "payment_method_details": self.method.render(self.amount, &self.fingerprint),
            "receipt_email": null,
            "receipt_number": null,
            "receipt_url": self.receipt_url,
            "refunded": self.refunded(),
            "review": null,
            "shipping": null,
            "source": null,
            "source_transfer": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": self.status.as_str(),
            "transfer_data": null,
            "transfer_group": null,
        })
    }
}

impl Store {
    pub fn retrieve_charge(&self, id: &str) -> ApiResult<Value> {
        self.charges.find(id, "charge", "id").map(Charge::render)
    }

    pub fn list_charges(&self, mut query: ListQuery) -> ApiResult<Value> {
        let payment_intent = query.params.string("payment_intent")?;
        let customer = query.params.string("customer")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        query.list(
            &self.charges,
            "charge",
            "/v1/charges",
            |c| {
                payment_intent
                    .as_ref()
                    .is_none_or(|p| &c.payment_intent == p)
                    && customer
                        .as_ref()
                        .is_none_or(|cu| c.customer.as_ref() == Some(cu))
                    && created.accepts(c.created)
            },
            |c| Ok(c.render()),
        )
    }

    /// `refunds` of a charge, for `expand[]=refunds`.
    pub fn charge_refunds_list(&self, charge_id: &str) -> Value {
        let data: Vec<Value> = self
            .refunds
            .iter()
            .rev()
            .filter(|r: &&Refund| r.charge == charge_id)
            .map(Refund::render)
            .collect();
        list_object(&format!("/v1/charges/{charge_id}/refunds"), data, false)
    }
}
