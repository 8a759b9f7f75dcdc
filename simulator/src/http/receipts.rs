//! Receipts: the page behind a succeeded charge's `receipt_url` (`/receipts/payment/{charge}`),
//! and one per refund (`/receipts/refund/{refund}`, linked from its charge's receipt). Stripe
//! makes a receipt for every successful payment and keeps it up to date with the refunds; these
//! show the amount, the payment method's brand and last4, the date, what was bought and the
//! refunds. Plain HTML like the hosted pages, every value escaped, no key needed (a receipt URL
//! is shared with the buyer).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::clock::civil_date;
use crate::http::hosted::{escape, page};
use crate::resources::charge::{receipt_url, refund_receipt_url, Charge, MethodDetails};
use crate::resources::display_amount;
use crate::resources::refund::Refund;
use crate::shared::Shared;
use crate::store::Store;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/receipts/payment/{id}", get(payment_receipt))
        .route("/receipts/refund/{id}", get(refund_receipt))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `January 1, 2026` (UTC), as Stripe's receipts write dates.
fn long_date(unix_seconds: i64) -> String {
    let (year, month, day) = civil_date(unix_seconds);
    let name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or_default();
    format!("{name} {day}, {year}")
}

/// `Visa – 4242`, `SEPA Direct Debit – 3000`, `US bank account – 6789`.
fn method_line(method: &MethodDetails) -> String {
    match method {
        MethodDetails::Card { brand, last4, .. } => {
            let brand = match brand.as_str() {
                "visa" => "Visa".to_string(),
                "mastercard" => "Mastercard".to_string(),
                "amex" => "American Express".to_string(),
                "discover" => "Discover".to_string(),
                "jcb" => "JCB".to_string(),
                "diners" => "Diners Club".to_string(),
                "unionpay" => "UnionPay".to_string(),
                other => other.to_string(),
            };
            format!("{brand} – {last4}")
        }
        MethodDetails::SepaDebit { last4, .. } => format!("SEPA Direct Debit – {last4}"),
        MethodDetails::UsBankAccount { last4, .. } => format!("US bank account – {last4}"),
    }
}

fn not_found(what: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Receipt not found",
        &format!(
            "<h1>Receipt not found</h1><p>There is no receipt for this {}.</p>",
            escape(what)
        ),
    )
}

fn row(label: &str, value: &str) -> String {
    format!(
        r#"<tr><td>{}</td><td class="amount">{}</td></tr>"#,
        escape(label),
        escape(value)
    )
}

/// What the payment bought: the line items of the Checkout Session it paid.
fn items(store: &Store, charge: &Charge) -> String {
    let Some(session) = store
        .sessions
        .iter()
        .find(|s| s.payment_intent.as_deref() == Some(charge.payment_intent.as_str()))
    else {
        return String::new();
    };
    let rows: String = session
        .line_items
        .iter()
        .map(|item| {
            row(
                &format!("{} × {}", item.description, item.quantity),
                &display_amount(item.amount(), &charge.currency),
            )
        })
        .collect();
    format!(
        r#"<h2>Summary</h2><table>{rows}<tr class="total"><td>Amount charged</td><td class="amount">{}</td></tr></table>"#,
        escape(&display_amount(charge.amount, &charge.currency))
    )
}

fn refund_status(refund: &Refund) -> &'static str {
    match refund.status.as_str() {
        "pending" => "Pending",
        "failed" => "Failed",
        _ => "Succeeded",
    }
}

/// The refunds of a charge, oldest first, each linking to its own receipt.
fn refunds(store: &Store, charge: &Charge) -> String {
    let rows: String = store
        .refunds
        .iter()
        .filter(|r| r.charge == charge.id)
        .map(|r| {
            format!(
                r#"<tr><td><a href="{url}">Refund · {date}</a> ({status})</td><td class="amount">−{amount}</td></tr>"#,
                url = escape(&refund_receipt_url(&store.config.base_url, &r.id)),
                date = escape(&long_date(r.created)),
                status = refund_status(r),
                amount = escape(&display_amount(r.amount, &r.currency)),
            )
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!("<h2>Refunds</h2><table>{rows}</table>")
}

/// The receipt of a succeeded charge, as its `receipt_url` shows it.
pub fn payment_page(store: &Store, charge_id: &str) -> Response {
    let Some(charge) = store.charges.get(charge_id).filter(|c| c.paid()) else {
        return not_found("payment");
    };
    let details = [
        row(
            "Amount paid",
            &display_amount(charge.amount, &charge.currency),
        ),
        row("Date paid", &long_date(charge.created)),
        row("Payment method", &method_line(&charge.method)),
    ]
    .concat();
    let refunded = if charge.amount_refunded > 0 {
        row(
            "Refunded",
            &display_amount(charge.amount_refunded, &charge.currency),
        )
    } else {
        String::new()
    };
    page(
        StatusCode::OK,
        "Receipt",
        &format!(
            r#"<h1>Receipt from stripe-sim</h1><p>Payment {id}</p><table>{details}{refunded}</table>{items}{refunds}"#,
            id = escape(&charge.id),
            items = items(store, charge),
            refunds = refunds(store, charge),
        ),
    )
}

/// The receipt of a refund.
pub fn refund_page(store: &Store, refund_id: &str) -> Response {
    let Some(refund) = store.refunds.get(refund_id) else {
        return not_found("refund");
    };
    let Some(charge) = store.charges.get(&refund.charge) else {
        return not_found("refund");
    };
    let details = [
        row(
            "Amount refunded",
            &display_amount(refund.amount, &refund.currency),
        ),
        row("Date refunded", &long_date(refund.created)),
        row("Payment method", &method_line(&charge.method)),
        row("Status", refund_status(refund)),
    ]
    .concat();
    page(
        StatusCode::OK,
        "Refund receipt",
        &format!(
            r#"<h1>Refund from stripe-sim</h1><p>Refund {id} of <a href="{payment}">payment {charge}</a></p><table>{details}</table>"#,
            id = escape(&refund.id),
            payment = escape(&receipt_url(&store.config.base_url, &charge.id)),
            charge = escape(&charge.id),
        ),
    )
}

async fn payment_receipt(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.with_store(|store, _| payment_page(store, &id))
}

async fn refund_receipt(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.with_store(|store, _| refund_page(store, &id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_stripes_receipts_write_them() {
        assert_eq!(long_date(1_767_225_600), "January 1, 2026");
        assert_eq!(long_date(951_782_400), "February 29, 2000");
    }

    #[test]
    fn methods_show_their_brand_and_last4() {
        let card = MethodDetails::Card {
            brand: "amex".into(),
            last4: "0005".into(),
            exp_month: 1,
            exp_year: 2030,
            funding: "credit".into(),
            country: "US".into(),
        };
        assert_eq!(method_line(&card), "American Express – 0005");
        let sepa = MethodDetails::SepaDebit {
            last4: "3000".into(),
            country: "DE".into(),
            bank_code: "37040044".into(),
        };
        assert_eq!(method_line(&sepa), "SEPA Direct Debit – 3000");
    }
}
