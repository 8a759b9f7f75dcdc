//! Receipts: the page behind a succeeded charge's `receipt_url` (`/receipts/payment/{charge}`),
//! and one per refund (`/receipts/refund/{refund}`, linked from its charge's receipt). Stripe
//! makes a receipt for every successful payment and keeps it up to date with the refunds; these
//! show the amount, the payment method's brand and last4, the date, what was bought and the
//! refunds. Plain HTML in the hosted pages' shell (`page.rs`), no key needed (a receipt URL is
//! shared with the buyer).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::page::{message_page, page, Layout, MERCHANT};
use crate::clock::civil_date;
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
pub(super) fn method_line(method: &MethodDetails) -> String {
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
    message_page(
        StatusCode::NOT_FOUND,
        "Receipt not found",
        "Receipt not found",
        &format!("There is no receipt for this {what}."),
    )
}

/// One `label: value` row of a receipt's table.
fn row(label: &str, value: &str) -> Markup {
    html! {
        tr {
            td { (label) }
            td.amount { (value) }
        }
    }
}

/// What the payment bought: the line items of the Checkout Session it paid.
fn items(store: &Store, charge: &Charge) -> Markup {
    let Some(session) = store
        .sessions
        .iter()
        .find(|s| s.payment_intent.as_deref() == Some(charge.payment_intent.as_str()))
    else {
        return html! {};
    };
    html! {
        h2 { "Summary" }
        table {
            @for item in &session.line_items {
                (row(
                    &format!("{} × {}", item.description, item.quantity),
                    &display_amount(item.amount(), &charge.currency),
                ))
            }
            tr.total {
                td { "Amount charged" }
                td.amount { (display_amount(charge.amount, &charge.currency)) }
            }
        }
    }
}

fn refund_status(refund: &Refund) -> &'static str {
    match refund.status.as_str() {
        "pending" => "Pending",
        "failed" => "Failed",
        _ => "Succeeded",
    }
}

/// The refunds of a charge, oldest first, each linking to its own receipt.
fn refunds(store: &Store, charge: &Charge) -> Markup {
    let refunds: Vec<&Refund> = store
        .refunds
        .iter()
        .filter(|r| r.charge == charge.id)
        .collect();
    if refunds.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Refunds" }
        table {
            @for r in refunds {
                tr {
                    td {
                        a href=(refund_receipt_url(&store.config.base_url, &r.id)) {
                            "Refund · " (long_date(r.created))
                        }
                        " (" (refund_status(r)) ")"
                    }
                    td.amount { "−" (display_amount(r.amount, &r.currency)) }
                }
            }
        }
    }
}

/// The receipt of a succeeded charge, as its `receipt_url` shows it.
pub fn payment_page(store: &Store, charge_id: &str) -> Response {
    let Some(charge) = store.charges.get(charge_id).filter(|c| c.paid()) else {
        return not_found("payment");
    };
    let body = html! {
        h1 { "Receipt from " (MERCHANT) }
        p.muted { "Payment " (charge.id) }
        table {
            (row("Amount paid", &display_amount(charge.amount, &charge.currency)))
            (row("Date paid", &long_date(charge.created)))
            (row("Payment method", &method_line(&charge.method)))
            @if charge.amount_refunded > 0 {
                (row("Refunded", &display_amount(charge.amount_refunded, &charge.currency)))
            }
        }
        (items(store, charge))
        (refunds(store, charge))
    };
    page(StatusCode::OK, "Receipt", Layout::Narrow, body)
}

/// The receipt of a refund.
pub fn refund_page(store: &Store, refund_id: &str) -> Response {
    let Some(refund) = store.refunds.get(refund_id) else {
        return not_found("refund");
    };
    let Some(charge) = store.charges.get(&refund.charge) else {
        return not_found("refund");
    };
    let body = html! {
        h1 { "Refund from " (MERCHANT) }
        p.muted {
            "Refund " (refund.id) " of "
            a href=(receipt_url(&store.config.base_url, &charge.id)) { "payment " (charge.id) }
        }
        table {
            (row("Amount refunded", &display_amount(refund.amount, &refund.currency)))
            (row("Date refunded", &long_date(refund.created)))
            (row("Payment method", &method_line(&charge.method)))
            (row("Status", refund_status(refund)))
        }
    };
    page(StatusCode::OK, "Refund receipt", Layout::Narrow, body)
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
