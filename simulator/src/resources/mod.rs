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

/// Currencies whose amounts have no minor unit (Stripe's zero-decimal currencies).
pub(crate) const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Formats an amount in minor units as Stripe's messages do: `$199.00`, `€49.00`, `£54.45`,
/// `₹1.50`, `¥500`, `CHF 12.50`.
pub fn display_amount(amount: i64, currency: &str) -> String {
    let major = if ZERO_DECIMAL.contains(&currency) {
        amount.to_string()
    } else {
        let sign = if amount < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", (amount / 100).abs(), (amount % 100).abs())
    };
    match currency {
        "usd" => format!("${major}"),
        "eur" => format!("€{major}"),
        "gbp" => format!("£{major}"),
        "inr" => format!("₹{major}"),
        "jpy" => format!("¥{major}"),
        other => format!("{} {major}", other.to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::display_amount;

    #[test]
    fn amounts_read_as_in_stripes_messages() {
        assert_eq!(display_amount(19_900, "usd"), "$199.00");
        assert_eq!(display_amount(5_445, "gbp"), "£54.45");
        assert_eq!(display_amount(150, "inr"), "₹1.50");
        assert_eq!(display_amount(500, "jpy"), "¥500");
        assert_eq!(display_amount(1_250, "chf"), "CHF 12.50");
        assert_eq!(display_amount(5, "eur"), "€0.05");
    }
}
