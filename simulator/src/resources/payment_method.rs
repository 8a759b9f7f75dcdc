//! PaymentMethods (`pm_…`): what the buyer entered on the checkout form, one per payment attempt
//! (a card, a SEPA Direct Debit IBAN or an ACH account) with the billing details the form
//! collected. A charge copies its details into `payment_method_details`; a PaymentIntent names
//! it in `payment_method` (expandable) and shows it whole in `last_payment_error.payment_method`.
//! Retrieve only: Checkout creates them, never the API here.

use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::params::Metadata;
use crate::resources::charge::MethodDetails;
use crate::store::Store;
use crate::table::Identified;

/// What the checkout form collected besides the payment method itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BillingDetails {
    pub email: Option<String>,
    pub name: Option<String>,
    /// The billing country (Checkout asks for it; an IBAN names it).
    pub country: Option<String>,
}

impl BillingDetails {
    /// `billing_details` as PaymentMethods and charges render it.
    pub fn render(&self) -> Value {
        json!({
            "address": {
                "city": null,
                "country": self.country,
                "line1": null,
                "line2": null,
                "postal_code": null,
                "state": null,
            },
            "email": self.email,
            "name": self.name,
            "phone": null,
            "tax_id": null,
        })
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub created: i64,
    pub billing: BillingDetails,
    pub details: MethodDetails,
    /// The same for the same card number or bank account, as on Stripe.
    pub fingerprint: String,
    /// The card check Stripe ran on the CVC (`pass`, or `fail` for the incorrect-CVC card).
    pub cvc_check: String,
    pub metadata: Metadata,
}

impl Identified for PaymentMethod {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `display_brand`: the brand as the network names itself to buyers.
fn display_brand(brand: &str) -> &str {
    match brand {
        "amex" => "american_express",
        other => other,
    }
}

impl PaymentMethod {
    pub fn type_name(&self) -> &'static str {
        self.details.type_name()
    }

    pub fn render(&self) -> Value {
        let type_name = self.type_name();
        let details = match &self.details {
            MethodDetails::Card {
                brand,
                last4,
                exp_month,
                exp_year,
                funding,
                country,
            } => json!({
                "brand": brand,
                "checks": {
                    "address_line1_check": null,
                    "address_postal_code_check": null,
                    "cvc_check": self.cvc_check,
                },
                "country": country,
                "display_brand": display_brand(brand),
                "exp_month": exp_month,
                "exp_year": exp_year,
                "fingerprint": self.fingerprint,
                "funding": funding,
                "generated_from": null,
                "last4": last4,
                "networks": { "available": [brand], "preferred": null },
                "regulated_status": "unregulated",
                "three_d_secure_usage": { "supported": true },
                "wallet": null,
            }),
            MethodDetails::SepaDebit {
                last4,
                country,
                bank_code,
            } => json!({
                "bank_code": bank_code,
                "branch_code": "",
                "country": country,
                "fingerprint": self.fingerprint,
                "generated_from": { "charge": null, "setup_attempt": null },
                "last4": last4,
            }),
            MethodDetails::UsBankAccount {
                last4,
                routing_number,
            } => json!({
                "account_holder_type": "individual",
                "account_type": "checking",
                "bank_name": "STRIPE TEST BANK",
                "financial_connections_account": null,
                "fingerprint": self.fingerprint,
                "last4": last4,
                "networks": { "preferred": "ach", "supported": ["ach"] },
                "routing_number": routing_number,
                "status_details": null,
            }),
        };
        json!({
            "id": self.id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": self.billing.render(),
            type_name: details,
            "created": self.created,
            "customer": null,
            "customer_account": null,
            "livemode": false,
            "metadata": self.metadata,
            "type": type_name,
        })
    }
}

/// A fingerprint that stays the same for the same card number or account within one seed, as
/// Stripe's does within one account: 16 characters of `[0-9A-Za-z]` from FNV-1a over both.
pub fn fingerprint(seed: u64, identity: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.to_le_bytes().iter().chain(identity.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (0..16)
        .map(|_| {
            // SplitMix64 steps spread the hash over every character.
            hash = hash.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = hash;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ALPHABET[(z % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

impl Store {
    pub fn retrieve_payment_method(&self, id: &str) -> ApiResult<Value> {
        self.payment_methods
            .find(id, "payment_method", "payment_method")
            .map(PaymentMethod::render)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_card_has_the_same_fingerprint_and_another_card_another() {
        let a = fingerprint(42, "4242424242424242");
        assert_eq!(a.len(), 16);
        assert_eq!(a, fingerprint(42, "4242424242424242"));
        assert_ne!(a, fingerprint(42, "5555555555554444"));
        assert_ne!(a, fingerprint(43, "4242424242424242"));
    }

    #[test]
    fn a_card_renders_its_details_under_its_type() {
        let pm = PaymentMethod {
            id: "pm_1".into(),
            created: 1,
            billing: BillingDetails {
                email: Some("ada@example.com".into()),
                name: None,
                country: Some("US".into()),
            },
            details: MethodDetails::Card {
                brand: "amex".into(),
                last4: "0005".into(),
                exp_month: 12,
                exp_year: 2034,
                funding: "credit".into(),
                country: "US".into(),
            },
            fingerprint: "abc".into(),
            cvc_check: "pass".into(),
            metadata: Metadata::new(),
        };
        let v = pm.render();
        assert_eq!(v["type"], "card");
        assert_eq!(v["card"]["display_brand"], "american_express");
        assert_eq!(v["card"]["last4"], "0005");
        assert_eq!(v["billing_details"]["email"], "ada@example.com");
        assert_eq!(v["billing_details"]["address"]["country"], "US");
        assert!(v.get("sepa_debit").is_none());
    }
}
