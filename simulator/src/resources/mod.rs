//! One file per Stripe resource: its stored form, its JSON rendering (every field Stripe's
//! fixtures list, `null` where Stripe has null) and its operations as `impl Store` blocks.

pub mod charge;
pub mod checkout_session;
pub mod customer;
pub mod event;
pub mod line_item;
pub mod payment_intent;
pub mod payment_link;
pub mod payment_method;
pub mod price;
pub mod product;
pub mod refund;
pub mod webhook_endpoint;

/// Formats an amount in minor units for messages: `$199.00`, `EUR 12.50`.
pub fn display_amount(amount: i64, currency: &str) -> String {
    let major = format!("{}.{:02}", amount / 100, (amount % 100).abs());
    match currency {
        "usd" => format!("${major}"),
        "eur" => format!("€{major}"),
        "gbp" => format!("£{major}"),
        other => format!("{} {major}", other.to_uppercase()),
    }
}
