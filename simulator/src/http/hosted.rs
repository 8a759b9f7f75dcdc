//! The pages a buyer sees: `/b/{token}` (a payment link) and `/c/pay/{session}` (hosted
//! Checkout). Plain HTML forms, no JavaScript, so a test can drive them with any HTTP client.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::form::{self, FormValue};
use crate::payment::{Buyer, CardInput, PaymentMethodInput};
use crate::resources::checkout_session::{CheckoutSession, SessionStatus, VisitError};
use crate::resources::display_amount;
use crate::resources::payment_link::AfterCompletion;
use crate::shared::Shared;
use crate::store::{Ctx, Store};

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/b/{token}", get(visit_link))
        .route("/c/pay/{id}", get(show_checkout).post(submit_checkout))
}

/// Escapes text for HTML.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · stripe-sim</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f6f9fc;color:#30313d;margin:0}}
main{{max-width:560px;margin:40px auto;background:#fff;border-radius:8px;padding:32px;box-shadow:0 2px 8px rgba(0,0,0,.08)}}
h1{{font-size:22px}} table{{width:100%;border-collapse:collapse}} td{{padding:6px 0}} td.amount{{text-align:right}}
.total{{font-weight:600;border-top:1px solid #e6e6e6}} fieldset{{border:1px solid #e6e6e6;border-radius:6px;margin:16px 0}}
label{{display:block;margin:8px 0 2px;font-size:14px}} input{{width:100%;padding:8px;box-sizing:border-box}}
button{{margin-top:12px;background:#635bff;color:#fff;border:0;border-radius:6px;padding:10px 16px;font-size:15px}}
.error{{background:#fde8e8;color:#b42318;padding:12px;border-radius:6px}} .test{{color:#8a6d00;font-size:13px}}
</style></head>
<body><main><p class="test">TEST MODE · stripe-sim</p>
{body}
</main></body></html>"#,
        title = escape(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// `GET /b/{token}?client_reference_id=…&prefilled_email=…`: a new session, then the checkout page.
async fn visit_link(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    // A malformed query string is ignored, as Stripe ignores bad URL parameters; one past the
    // parser's limits is refused with Stripe's error envelope.
    let params = match form::parse(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(e) if e.is_limit() => return ApiError::from(e).into_response(),
        Err(_) => Default::default(),
    };
    let text = |key: &str| match params.get(key) {
        Some(FormValue::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    let outcome = shared.with_store(|store, now| {
        store.visit_payment_link(
            &token,
            text("client_reference_id"),
            text("prefilled_email"),
            &Ctx::automatic(now),
        )
    });
    match outcome {
        Ok(session_id) => Redirect::to(&format!("/c/pay/{session_id}")).into_response(),
        Err(VisitError::UnknownLink) => page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "<h1>Something went wrong</h1><p>The page you were looking for could not be found. Please check the URL or contact the merchant.</p>",
        ),
        Err(VisitError::Deactivated { message }) => page(
            StatusCode::GONE,
            "Link deactivated",
            &format!(
                "<h1>This link has been deactivated</h1><p>{}</p>",
                escape(message.as_deref().unwrap_or("This link is no longer active. Please contact the merchant for a new one."))
            ),
        ),
        Err(VisitError::Invalid(e)) => page(StatusCode::BAD_REQUEST, "Invalid link", &format!("<h1>Something went wrong</h1><p>{}</p>", escape(&e.message))),
    }
}

async fn show_checkout(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.with_store(|store, _| checkout_page(store, &id, None))
}

/// The checkout page for a session in whatever state it is.
fn checkout_page(store: &Store, id: &str, error: Option<(StatusCode, &str)>) -> Response {
    let Some(session) = store.sessions.get(id) else {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "<h1>Something went wrong</h1><p>This Checkout Session does not exist.</p>",
        );
    };
    match session.status {
        SessionStatus::Expired => page(
            StatusCode::GONE,
            "Session expired",
            "<h1>This Checkout Session has expired</h1><p>Your session has expired. Please return to the merchant and try again.</p>",
        ),
        SessionStatus::Complete => confirmation(store, session),
        SessionStatus::Open => {
            let (status, banner) = match error {
                Some((status, message)) => (status, format!(r#"<p class="error" role="alert">{}</p>"#, escape(message))),
                None => (StatusCode::OK, String::new()),
            };
            page(status, "Checkout", &format!("{banner}{}", payment_form(store, session)))
        }
    }
}

fn payment_form(store: &Store, session: &CheckoutSession) -> String {
    let currency = session.currency();
    let mut rows = String::new();
    for item in &session.line_items {
        rows.push_str(&format!(
            r#"<tr><td>{} × {}</td><td class="amount">{}</td></tr>"#,
            escape(&item.description),
            item.quantity,
            escape(&display_amount(item.amount(), &currency))
        ));
    }
    let email = session
        .customer_email
        .clone()
        .or_else(|| {
            session
                .customer
                .as_ref()
                .and_then(|c| store.customers.get(c))
                .and_then(|c| c.email.clone())
        })
        .unwrap_or_default();
    let email_field = format!(
        r#"<label for="email">Email</label><input id="email" name="email" type="email" value="{}">"#,
        escape(&email)
    );
    let action = format!("/c/pay/{}", session.id);
    let mut forms = String::new();
    let accepts = |t: &str| session.payment_method_types.iter().any(|m| m == t);
    if accepts("card") {
        forms.push_str(&format!(
            r#"<form method="post" action="{action}"><fieldset><legend>Card</legend>
<input type="hidden" name="method" value="card">{email_field}
<label for="card_number">Card number</label><input id="card_number" name="card_number" inputmode="numeric" placeholder="4242 4242 4242 4242">
<label for="exp">Expiry (MM / YY)</label><input id="exp" name="exp" placeholder="12 / 34">
<label for="cvc">CVC</label><input id="cvc" name="cvc" placeholder="123">
<label for="name">Name on card</label><input id="name" name="name">
<button type="submit">Pay {total}</button></fieldset></form>"#,
            total = escape(&display_amount(session.amount_total(), &currency))
        ));
    }
    if accepts("sepa_debit") {
        forms.push_str(&format!(
            r#"<form method="post" action="{action}"><fieldset><legend>SEPA Direct Debit</legend>
<input type="hidden" name="method" value="sepa_debit">{email_field}
<label for="iban">IBAN</label><input id="iban" name="iban" placeholder="DE89370400440532013000">
<label for="sepa_name">Account holder</label><input id="sepa_name" name="name">
<button type="submit">Pay with SEPA Direct Debit</button></fieldset></form>"#
        ));
    }
    if accepts("us_bank_account") {
        forms.push_str(&format!(
            r#"<form method="post" action="{action}"><fieldset><legend>US bank account (ACH Direct Debit)</legend>
<input type="hidden" name="method" value="us_bank_account">{email_field}
<label for="routing_number">Routing number</label><input id="routing_number" name="routing_number" placeholder="110000000">
<label for="account_number">Account number</label><input id="account_number" name="account_number" placeholder="000123456789">
<button type="submit">Pay with bank account</button></fieldset></form>"#
        ));
    }
    let cancel = session
        .cancel_url
        .as_ref()
        .filter(|_| session.payment_link.is_none())
        .map(|url| format!(r#"<p><a href="{}">← Back</a></p>"#, escape(url)))
        .unwrap_or_default();
    format!(
        r#"{cancel}<h1>Pay {total}</h1><table>{rows}<tr class="total"><td>Total due</td><td class="amount">{total}</td></tr></table>{forms}"#,
        total = escape(&display_amount(session.amount_total(), &currency))
    )
}

/// After a payment: redirect to the success URL, or Stripe's own confirmation page.
fn confirmation(store: &Store, session: &CheckoutSession) -> Response {
    let hosted_message = session
        .payment_link
        .as_ref()
        .and_then(|l| store.payment_links.get(l))
        .and_then(|l| match &l.after_completion {
            AfterCompletion::HostedConfirmation { custom_message } => Some(custom_message.clone()),
            AfterCompletion::Redirect { .. } => None,
        });
    let message = match hosted_message {
        Some(m) => m,
        None => match &session.success_url {
            Some(url) => match redirect_to(&url.replace("{CHECKOUT_SESSION_ID}", &session.id)) {
                Some(redirect) => return redirect,
                // A URL that cannot go in a header (stored before URLs were checked, or by a
                // future path that forgets to check) gets the confirmation page, never a 500.
                None => None,
            },
            None => None,
        },
    };
    let (title, detail) = match session.payment_status {
        crate::resources::checkout_session::PaymentStatus::Paid => {
            ("Thanks for your payment", "Your payment is complete.")
        }
        crate::resources::checkout_session::PaymentStatus::Unpaid => (
            "Thanks for your order",
            "Your payment is processing. You will be notified once it completes.",
        ),
    };
    page(
        StatusCode::OK,
        title,
        &format!(
            "<h1>{title}</h1><p>{}</p><p>{}</p>",
            escape(detail),
            escape(message.as_deref().unwrap_or(""))
        ),
    )
}

/// A 303 to `target`, or nothing when `target` cannot be a `Location` header.
fn redirect_to(target: &str) -> Option<Response> {
    let location = HeaderValue::from_str(target).ok()?;
    Some((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// `POST /c/pay/{id}`: the buyer submits one of the forms.
async fn submit_checkout(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = match std::str::from_utf8(&body).map(form::parse) {
        Ok(Ok(fields)) => fields,
        Ok(Err(e)) if e.is_limit() => return ApiError::from(e).into_response(),
        _ => Default::default(),
    };
    let text = |key: &str| match fields.get(key) {
        Some(FormValue::Text(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let method = match text("method").as_deref() {
        Some("sepa_debit") => Ok(PaymentMethodInput::SepaDebit {
            iban: text("iban").unwrap_or_default(),
        }),
        Some("us_bank_account") => Ok(PaymentMethodInput::UsBankAccount {
            routing_number: text("routing_number").unwrap_or_default(),
            account_number: text("account_number").unwrap_or_default(),
        }),
        Some("card") | None => card_from_form(&text),
        Some(other) => Err(format!("Unknown payment method {other}.")),
    };
    let buyer = Buyer {
        email: text("email"),
        name: text("name"),
    };
    shared.with_store(|store, now| {
        let method = match method {
            Ok(m) => m,
            Err(message) => {
                return checkout_page(store, &id, Some((StatusCode::BAD_REQUEST, &message)))
            }
        };
        match store.pay_session(&id, &method, &buyer, &Ctx::automatic(now)) {
            Ok(_) => match store.sessions.get(&id) {
                Some(session) => confirmation(store, session),
                None => checkout_page(store, &id, None),
            },
            Err(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                checkout_page(store, &id, Some((status, &e.message)))
            }
        }
    })
}

/// Card fields as typed: spaces in the number, `MM / YY` expiry.
fn card_from_form(text: &dyn Fn(&str) -> Option<String>) -> Result<PaymentMethodInput, String> {
    let number: String = text("card_number")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if number.is_empty() {
        return Err("Your card number is incomplete.".to_string());
    }
    let mut card = CardInput::number(&number);
    if let Some(exp) = text("exp") {
        let parts: Vec<&str> = exp.split('/').map(str::trim).collect();
        let parsed = match parts.as_slice() {
            [m, y] => m.parse::<u32>().ok().zip(y.parse::<u32>().ok()),
            _ => None,
        };
        let Some((month, year)) = parsed else {
            return Err("Your card's expiration date is incomplete.".to_string());
        };
        card.exp_month = month;
        card.exp_year = year;
    }
    if let Some(cvc) = text("cvc") {
        card.cvc = cvc;
    }
    Ok(PaymentMethodInput::Card(card))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::resources::checkout_session::SessionSpec;
    use crate::store::Ctx;

    #[test]
    fn a_completed_session_whose_success_url_cannot_be_a_header_shows_the_confirmation_page() {
        // Arrange: a stored URL with a control character, as URLs were stored before they were
        // checked.
        let mut store = Store::new(SimConfig::default());
        let ctx = Ctx::automatic(1_767_225_600);
        let spec = SessionSpec {
            success_url: Some("https://example.com/\u{1}done".to_string()),
            ..SessionSpec::default()
        };
        let id = store.open_session(spec, &ctx).expect("opened");
        if let Some(session) = store.sessions.get_mut(&id) {
            session.status = SessionStatus::Complete;
        }

        // Act
        let response = checkout_page(&store, &id, None);

        // Assert
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get(header::LOCATION).is_none());
    }

    #[test]
    fn a_completed_session_redirects_with_its_id_in_place_of_the_placeholder() {
        let mut store = Store::new(SimConfig::default());
        let ctx = Ctx::automatic(1_767_225_600);
        let spec = SessionSpec {
            success_url: Some("https://example.com/done?s={CHECKOUT_SESSION_ID}".to_string()),
            ..SessionSpec::default()
        };
        let id = store.open_session(spec, &ctx).expect("opened");
        if let Some(session) = store.sessions.get_mut(&id) {
            session.status = SessionStatus::Complete;
        }

        let response = checkout_page(&store, &id, None);

        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            location,
            Some(format!("https://example.com/done?s={id}").as_str())
        );
    }
}
