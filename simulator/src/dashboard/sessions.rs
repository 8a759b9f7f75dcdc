//! Checkout sessions: the list (status, payment status, amount, `client_reference_id`, email),
//! and a page per session with its PaymentIntent, charges, refunds and events, and buttons to
//! pay it with any test card or delayed method, expire it, and refund it fully or partly.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};
use serde_json::Value;

use super::format::{field, json, money, pill, time};
use super::layout::{self, Nav};
use super::{done, failed, form_of, html, page_ok, Dash, Form, Query, Viewer, BASE};
use crate::control::parse_id;
use crate::error::ApiError;
use crate::payment::{Buyer, PaymentMethodInput};
use crate::test_cards::{
    DelayedOutcome, TEST_BANK_ACCOUNTS, TEST_CARDS, TEST_IBANS, TEST_ROUTING_NUMBER,
};
use crate::typed_ids::{PaymentIntentId, SessionId};

/// Sessions shown on the list, newest first.
const LIST_LIMIT: usize = 200;

/// `GET /_sim/dashboard/sessions`.
pub async fn list(
    State(dash): State<Dash>,
    Extension(viewer): Extension<Viewer>,
    query: Query,
) -> Response {
    let sessions = dash.control.sessions();
    let total = sessions.len();
    let body = html! {
        h1 { "Checkout sessions" }
        section.card id="sessions" data-live {
            @if sessions.is_empty() {
                p.muted { "No Checkout Session yet. Visit a payment link (Overview), or POST /v1/checkout/sessions." }
            } @else {
                @if total > LIST_LIMIT { p.muted { "The newest " (LIST_LIMIT) " of " (total) "." } }
                table {
                    thead { tr {
                        th.hide-narrow { "Created" } th { "Session" } th { "Status" } th { "Payment" }
                        th { "Amount" } th { "client_reference_id" } th.hide-narrow { "Customer email" }
                    } }
                    tbody {
                        @for s in sessions.iter().rev().take(LIST_LIMIT) {
                            tr {
                                td.hide-narrow.mono { (time(s.created)) }
                                td.mono { a href={ (BASE) "/sessions/" (s.id) } { (s.id) } }
                                td { (pill(s.status.as_str())) }
                                td { (pill(s.payment_status.as_str())) }
                                td.num { (money(s.amount_total, &s.currency)) }
                                td.mono { (s.client_reference_id.as_deref().unwrap_or("")) }
                                td.hide-narrow { (s.customer_email.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    page_ok(
        &dash,
        &query,
        "Checkout sessions",
        Nav::Sessions,
        &viewer,
        body,
    )
}

/// `GET /_sim/dashboard/sessions/{id}`.
pub async fn detail(
    State(dash): State<Dash>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    query: Query,
) -> Response {
    let found = SessionId::parse(&id)
        .ok()
        .and_then(|sid| dash.control.session_detail(&sid).map(|d| (sid, d)));
    let Some((sid, detail)) = found else {
        let body = html! {
            h1 { "No such Checkout Session" }
            p { "There is no Checkout Session " code { (id) } "." }
            p { a href={ (BASE) "/sessions" } { "All sessions" } }
        };
        return html(
            StatusCode::NOT_FOUND,
            layout::page("Not found", Nav::Sessions, &viewer, None, body),
        );
    };
    let session = &detail.session;
    let status = field(session, "status");
    let currency = field(session, "currency").to_string();
    let intent_status = detail.payment_intent.as_ref().map(|pi| field(pi, "status"));
    let refundable = intent_status == Some("succeeded");
    let page_path = format!("{BASE}/sessions/{sid}");
    let body = html! {
        h1 { "Checkout Session " code { (sid) } }
        div id="detail" data-live {
            section.card {
                table.kv {
                    tr { th { "Status" } td { (pill(status)) } }
                    tr { th { "Payment status" } td { (pill(field(session, "payment_status"))) } }
                    tr { th { "Amount" } td { (money(session["amount_total"].as_i64().unwrap_or(0), &currency)) } }
                    tr { th { "client_reference_id" } td.mono { (field(session, "client_reference_id")) } }
                    tr { th { "Customer email" } td { (session_email(session)) } }
                    tr { th { "Created" } td { (time(session["created"].as_i64().unwrap_or(0))) " UTC" } }
                    tr { th { "Expires" } td { (time(session["expires_at"].as_i64().unwrap_or(0))) " UTC" } }
                    @if let Some(url) = session["url"].as_str() {
                        tr { th { "Hosted page" } td.mono { a href=(url) { (url) } } }
                    }
                }
                details id="session-json" { summary { "JSON" } pre { (json(session)) } }
            }
        }
        section.card {
            h2 { "Actions" }
            @if status == "open" {
                (pay_form(&viewer, &page_path, &currency))
                (layout::button(&viewer, &format!("{page_path}/expire"), "Expire", "danger"))
            } @else {
                p.muted { "The session is " (status) ": it can no longer be paid or expired." }
            }
            @if refundable {
                form.stack method="post" action={ (page_path) "/refund" } {
                    (layout::csrf_field(&viewer))
                    label { "Amount in minor units (empty: all that is left)" input type="number" name="amount" min="1" placeholder="all"; }
                    button type="submit" { "Refund" }
                }
            }
        }
        div id="payment" data-live {
            (intent_section(detail.payment_intent.as_ref()))
            (charges_section(&detail.charges))
            (refunds_section(&detail.refunds))
            section.card {
                h2 { "Events" }
                @if detail.events.is_empty() { p.muted { "None yet." } }
                @else {
                    table {
                        thead { tr { th { "Time" } th { "Type" } th { "Event" } } }
                        tbody {
                            @for e in detail.events.iter().rev() {
                                tr {
                                    td.mono { (time(e.created)) }
                                    td.mono { (e.event_type.as_str()) }
                                    td.mono { a href={ (BASE) "/events?object=" (e.object_id) "#" (e.id) } { (e.id) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page_ok(
        &dash,
        &query,
        "Checkout Session",
        Nav::Sessions,
        &viewer,
        body,
    )
}

fn session_email(session: &Value) -> &str {
    session["customer_details"]["email"]
        .as_str()
        .or_else(|| session["customer_email"].as_str())
        .unwrap_or_default()
}

fn intent_section(intent: Option<&Value>) -> Markup {
    html! {
        section.card {
            h2 { "PaymentIntent" }
            @match intent {
                None => p.muted { "None yet: it is made at the first payment attempt." },
                Some(pi) => {
                    table.kv {
                        tr { th { "PaymentIntent" } td.mono { (field(pi, "id")) } }
                        tr { th { "Status" } td { (pill(field(pi, "status"))) } }
                        tr { th { "Amount" } td { (money(pi["amount"].as_i64().unwrap_or(0), field(pi, "currency"))) } }
                        @if let Some(error) = pi["last_payment_error"]["message"].as_str() {
                            tr { th { "Last error" } td.error { (error) } }
                        }
                    }
                    details id="intent-json" { summary { "JSON" } pre { (json(pi)) } }
                }
            }
        }
    }
}

fn charges_section(charges: &[Value]) -> Markup {
    html! {
        section.card {
            h2 { "Charges" }
            @if charges.is_empty() { p.muted { "None yet." } }
            @else {
                table {
                    thead { tr { th { "Charge" } th { "Status" } th { "Amount" } th { "Refunded" } th.hide-narrow { "Method" } th.hide-narrow { "Failure" } } }
                    tbody {
                        @for c in charges {
                            tr {
                                td.mono { (field(c, "id")) }
                                td { (pill(field(c, "status"))) }
                                td.num { (money(c["amount"].as_i64().unwrap_or(0), field(c, "currency"))) }
                                td.num { (money(c["amount_refunded"].as_i64().unwrap_or(0), field(c, "currency"))) }
                                td.hide-narrow { (field(&c["payment_method_details"], "type")) }
                                td.hide-narrow { (field(c, "failure_message")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn refunds_section(refunds: &[Value]) -> Markup {
    html! {
        section.card {
            h2 { "Refunds" }
            @if refunds.is_empty() { p.muted { "None." } }
            @else {
                table {
                    thead { tr { th { "Refund" } th { "Status" } th { "Amount" } th.hide-narrow { "Created" } } }
                    tbody {
                        @for r in refunds {
                            tr {
                                td.mono { (field(r, "id")) }
                                td { (pill(field(r, "status"))) }
                                td.num { (money(r["amount"].as_i64().unwrap_or(0), field(r, "currency"))) }
                                td.hide-narrow.mono { (time(r["created"].as_i64().unwrap_or(0))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a delayed method's test account does, in words.
fn delayed(outcome: DelayedOutcome) -> String {
    match outcome {
        DelayedOutcome::Succeeds => "settles: succeeds".to_string(),
        DelayedOutcome::Fails { code, .. } => format!("settles: fails ({code})"),
        DelayedOutcome::NeverSettles => "stays processing".to_string(),
    }
}

/// The pay form: every test card, and the delayed methods of the session's currency.
fn pay_form(viewer: &Viewer, page_path: &str, currency: &str) -> Markup {
    html! {
        form.stack method="post" action={ (page_path) "/pay" } {
            (layout::csrf_field(viewer))
            label {
                "Pay with"
                select name="method" {
                    optgroup label="Cards" {
                        @for card in TEST_CARDS {
                            option value={ "card:" (card.number) } { (card.number) " · " (card.brand) " · " (card.note) }
                        }
                    }
                    @if currency == "eur" {
                        optgroup label="SEPA Direct Debit" {
                            @for iban in TEST_IBANS {
                                option value={ "sepa_debit:" (iban.iban) } { "SEPA " (iban.iban) " · " (delayed(iban.outcome)) }
                            }
                        }
                    }
                    @if currency == "usd" {
                        optgroup label="ACH Direct Debit" {
                            @for account in TEST_BANK_ACCOUNTS {
                                option value={ "us_bank_account:" (account.account_number) } { "ACH " (TEST_ROUTING_NUMBER) " / " (account.account_number) " · " (delayed(account.outcome)) }
                            }
                        }
                    }
                }
            }
            label { "Email (optional)" input type="email" name="email" placeholder="buyer@example.com"; }
            button type="submit" { "Pay" }
        }
    }
}

/// Reads `card:4242…`, `sepa_debit:DE89…` or `us_bank_account:000123456789`.
fn read_method(form: &Form) -> Result<PaymentMethodInput, ApiError> {
    let method = form
        .text("method")
        .ok_or_else(|| ApiError::missing_param("method"))?;
    match method.split_once(':') {
        Some(("card", number)) => Ok(PaymentMethodInput::card(number)),
        Some(("sepa_debit", iban)) => Ok(PaymentMethodInput::sepa_debit(iban)),
        Some(("us_bank_account", account)) => Ok(PaymentMethodInput::us_bank_account(account)),
        _ => Err(ApiError::invalid(
            format!("Unknown payment method {method:?}: pick one from the list."),
            Some("method"),
        )),
    }
}

fn session_id(id: &str) -> Result<SessionId, ApiError> {
    parse_id(id, SessionId::parse, "checkout.session", "session")
}

/// `POST /_sim/dashboard/sessions/{id}/pay` with `method` and `email`.
pub async fn pay(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    form: Option<Extension<Form>>,
) -> Response {
    let form = form_of(form);
    let back = format!("{BASE}/sessions/{id}");
    let outcome = session_id(&id).and_then(|sid| {
        let method = read_method(&form)?;
        let buyer = Buyer {
            email: form.text("email").map(str::to_string),
            name: None,
        };
        dash.control.pay(&sid, &method, &buyer)
    });
    match outcome {
        Ok(session) => done(
            &dash,
            &back,
            &format!(
                "Paid: the session is {}, its payment {}.",
                session.status.as_str(),
                session.payment_status.as_str()
            ),
        ),
        Err(e) => failed(&dash, &back, &e),
    }
}

/// `POST /_sim/dashboard/sessions/{id}/expire`.
pub async fn expire(State(dash): State<Dash>, Path(id): Path<String>) -> Response {
    let back = format!("{BASE}/sessions/{id}");
    match session_id(&id).and_then(|sid| dash.control.expire_session(&sid)) {
        Ok(_) => done(&dash, &back, "Expired."),
        Err(e) => failed(&dash, &back, &e),
    }
}

/// `POST /_sim/dashboard/sessions/{id}/refund` with `amount` (empty: all that is left).
pub async fn refund(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    form: Option<Extension<Form>>,
) -> Response {
    let form = form_of(form);
    let back = format!("{BASE}/sessions/{id}");
    let outcome = session_id(&id).and_then(|sid| {
        let session = dash
            .control
            .session(&sid)
            .ok_or_else(|| ApiError::no_such("checkout.session", &sid, "session"))?;
        let intent: PaymentIntentId = session.payment_intent.ok_or_else(|| {
            ApiError::invalid(
                "This session has no payment to refund yet.",
                Some("payment_intent"),
            )
        })?;
        let amount = form
            .text("amount")
            .map(|a| {
                a.parse::<i64>().map_err(|_| {
                    ApiError::invalid(
                        format!("amount must be a whole number of minor units, not {a:?}."),
                        Some("amount"),
                    )
                })
            })
            .transpose()?;
        dash.control.refund(&intent, amount)
    });
    match outcome {
        Ok(refund) => done(
            &dash,
            &back,
            &format!(
                "Refunded {} ({}).",
                money(
                    refund["amount"].as_i64().unwrap_or(0),
                    field(&refund, "currency")
                ),
                field(&refund, "status")
            ),
        ),
        Err(e) => failed(&dash, &back, &e),
    }
}
