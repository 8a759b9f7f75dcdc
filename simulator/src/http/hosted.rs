//! The pages a buyer sees: `/b/{token}` (a payment link) and `/c/pay/{session}` (hosted
//! Checkout). Plain HTML forms that work without JavaScript, so a test can drive them with any
//! HTTP client; the templates are in `checkout_page.rs`, the shell in `page.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::clock::civil_date;
use crate::error::ApiError;
use crate::form::{self, FormError, FormValue};
use crate::payment::{Buyer, CardInput, PaymentMethodInput};
use crate::resources::checkout_session::{
    CheckoutSession, PaymentStatus, SessionStatus, VisitError,
};
use crate::resources::display_amount;
use crate::resources::payment_link::AfterCompletion;
use crate::shared::Shared;
use crate::store::{Ctx, Store};

use super::checkout_page::{self, CheckoutView, ConfirmationView, Entered, ItemView, PayMethod};
use super::page::{message_page, page, Layout};
use super::receipts::method_line;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/b/{token}", get(visit_link))
        .route("/c/pay/{id}", get(show_checkout).post(submit_checkout))
}

/// A parsed query string or form body.
type Fields = BTreeMap<String, FormValue>;

/// A query string or form body as text fields. A malformed one reads as empty, as Stripe ignores
/// bad URL parameters; one past the parser's limits is refused with Stripe's error envelope.
fn fields(text: &str) -> Result<Fields, FormError> {
    match form::parse(text) {
        Ok(fields) => Ok(fields),
        Err(e) if e.is_limit() => Err(e),
        Err(_) => Ok(Default::default()),
    }
}

/// A text field, trimmed; empty counts as absent.
fn text(fields: &Fields, key: &str) -> Option<String> {
    match fields.get(key) {
        Some(FormValue::Text(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// `GET /b/{token}?client_reference_id=…&prefilled_email=…`: a new session, then the checkout page.
async fn visit_link(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match fields(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let raw = |key: &str| match params.get(key) {
        Some(FormValue::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    let outcome = shared.with_store(|store, now| {
        store.visit_payment_link(
            &token,
            raw("client_reference_id"),
            raw("prefilled_email"),
            &Ctx::automatic(now),
        )
    });
    match outcome {
        Ok(session_id) => Redirect::to(&format!("/c/pay/{session_id}")).into_response(),
        Err(VisitError::UnknownLink) => message_page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "Something went wrong",
            "The page you were looking for could not be found. Please check the URL or contact the merchant.",
        ),
        Err(VisitError::Deactivated { message }) => message_page(
            StatusCode::GONE,
            "Link deactivated",
            "This link has been deactivated",
            message.as_deref().unwrap_or(
                "This link is no longer active. Please contact the merchant for a new one.",
            ),
        ),
        Err(VisitError::Invalid(e)) => message_page(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "Something went wrong",
            &e.message,
        ),
    }
}

/// What a checkout URL shows, read from the store under its lock and rendered after it.
#[derive(Debug)]
enum Shown {
    NotFound,
    Expired,
    Open {
        status: StatusCode,
        view: Box<CheckoutView>,
    },
    Confirmation(Box<ConfirmationView>),
    /// A completed session with a success URL: a 303 there.
    Redirect(HeaderValue),
}

impl Shown {
    fn render(self) -> Response {
        match self {
            Shown::NotFound => message_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "Something went wrong",
                "This Checkout Session does not exist.",
            ),
            Shown::Expired => message_page(
                StatusCode::GONE,
                "Session expired",
                "This Checkout Session has expired",
                "Your session has expired. Please return to the merchant and try again.",
            ),
            Shown::Open { status, view } => page(
                status,
                "Checkout",
                Layout::Wide,
                checkout_page::checkout(&view),
            ),
            Shown::Confirmation(view) => page(
                StatusCode::OK,
                view.title(),
                Layout::Narrow,
                checkout_page::confirmation(&view),
            ),
            Shown::Redirect(location) => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
            }
        }
    }
}

/// Why an open session's page is shown again after a submission.
struct Refusal {
    status: StatusCode,
    message: String,
    /// What the buyer typed that the page keeps.
    kept: Entered,
}

/// `GET /c/pay/{id}?prefill=…`: the page, with a test entry's values in the form when asked.
async fn show_checkout(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match fields(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let prefill = text(&params, "prefill");
    let mut shown = shared.with_store(|store, now| shown(store, &id, now, None));
    if let (Shown::Open { view, .. }, Some(value)) = (&mut shown, prefill) {
        view.prefill(&value);
    }
    shown.render()
}

/// The checkout URL of a session in whatever state it is.
fn shown(store: &Store, id: &str, now: i64, refusal: Option<Refusal>) -> Shown {
    let Some(session) = store.sessions.get(id) else {
        return Shown::NotFound;
    };
    match session.status {
        SessionStatus::Expired => Shown::Expired,
        SessionStatus::Complete => completed(store, session),
        SessionStatus::Open => {
            let (status, error, kept) = match refusal {
                Some(r) => (r.status, Some(r.message), r.kept),
                None => (StatusCode::OK, None, Entered::default()),
            };
            Shown::Open {
                status,
                view: Box::new(checkout_view(store, session, now, error, kept)),
            }
        }
    }
}

fn items(session: &CheckoutSession) -> Vec<ItemView> {
    let currency = session.currency();
    session
        .line_items
        .iter()
        .map(|item| ItemView {
            description: item.description.clone(),
            quantity: item.quantity,
            unit_amount: display_amount(item.unit_amount, &currency),
            amount: display_amount(item.amount(), &currency),
        })
        .collect()
}

fn checkout_view(
    store: &Store,
    session: &CheckoutSession,
    now: i64,
    error: Option<String>,
    mut entered: Entered,
) -> CheckoutView {
    if entered.email.is_empty() {
        entered.email = session
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
    }
    let (year, _, _) = civil_date(now);
    CheckoutView {
        session_id: session.id.clone(),
        items: items(session),
        total: display_amount(session.amount_total(), &session.currency()),
        // Payment links have no way back: Stripe shows none.
        cancel_url: session
            .cancel_url
            .clone()
            .filter(|_| session.payment_link.is_none()),
        methods: session
            .payment_method_types
            .iter()
            .filter_map(|m| PayMethod::parse(m))
            .collect(),
        entered,
        error,
        test_expiry: format!("12 / {:02}", (year + 3).rem_euclid(100)),
        settlement_delay: store.config.settlement_delay,
    }
}

/// After a payment: a redirect to the success URL, or Stripe's own confirmation page.
fn completed(store: &Store, session: &CheckoutSession) -> Shown {
    let custom_message = match session
        .payment_link
        .as_ref()
        .and_then(|l| store.payment_links.get(l))
        .map(|l| &l.after_completion)
    {
        Some(AfterCompletion::HostedConfirmation { custom_message }) => custom_message.clone(),
        _ => {
            let location = session.success_url.as_ref().and_then(|url| {
                HeaderValue::from_str(&url.replace("{CHECKOUT_SESSION_ID}", &session.id)).ok()
            });
            // A URL that cannot go in a header (stored before URLs were checked, or by a future
            // path that forgets to check) gets the confirmation page, never a 500.
            if let Some(location) = location {
                return Shown::Redirect(location);
            }
            None
        }
    };
    let charge = session
        .payment_intent
        .as_ref()
        .and_then(|pi| store.payment_intents.get(pi))
        .and_then(|pi| pi.latest_charge.as_ref())
        .and_then(|ch| store.charges.get(ch));
    Shown::Confirmation(Box::new(ConfirmationView {
        session_id: session.id.clone(),
        paid: session.payment_status == PaymentStatus::Paid,
        items: items(session),
        total: display_amount(session.amount_total(), &session.currency()),
        client_reference_id: session.client_reference_id.clone(),
        email: session
            .customer_details
            .as_ref()
            .and_then(|d| d.email.clone())
            .or_else(|| session.customer_email.clone()),
        payment_method: charge.map(|c| method_line(&c.method)),
        receipt_url: charge
            .filter(|c| c.paid())
            .and_then(|c| c.receipt_url.clone()),
        custom_message,
    }))
}

/// `POST /c/pay/{id}`: the buyer submits the form.
async fn submit_checkout(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = match std::str::from_utf8(&body) {
        Ok(body) => match fields(body) {
            Ok(fields) => fields,
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(_) => Default::default(),
    };
    let field = |key: &str| text(&fields, key);
    let method = match field("method").as_deref() {
        Some("sepa_debit") => Ok(PaymentMethodInput::SepaDebit {
            iban: field("iban").unwrap_or_default(),
        }),
        Some("us_bank_account") => Ok(PaymentMethodInput::UsBankAccount {
            routing_number: field("routing_number").unwrap_or_default(),
            account_number: field("account_number").unwrap_or_default(),
        }),
        Some("card") | None => card_from_form(&field),
        Some(other) => Err(format!("Unknown payment method {other}.")),
    };
    let buyer = Buyer {
        email: field("email"),
        name: field("name"),
    };
    let kept = Entered::kept_from(&field);
    let shown = shared.with_store(|store, now| {
        let refused = |status, message| Refusal {
            status,
            message,
            kept: kept.clone(),
        };
        let method = match method {
            Ok(m) => m,
            Err(message) => {
                return shown(
                    store,
                    &id,
                    now,
                    Some(refused(StatusCode::BAD_REQUEST, message)),
                )
            }
        };
        match store.pay_session(&id, &method, &buyer, &Ctx::automatic(now)) {
            Ok(_) => shown(store, &id, now, None),
            Err(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                shown(store, &id, now, Some(refused(status, e.message)))
            }
        }
    });
    shown.render()
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
        let response = shown(&store, &id, 1_767_225_600, None).render();

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

        let response = shown(&store, &id, 1_767_225_600, None).render();

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
