//! The overview: the simulator clock with advance buttons, the seed, the API version, what is
//! stored, the payment links (with a button to visit each as a buyer) and the webhook endpoints
//! with their secrets, hidden until revealed.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::format::{pill, time};
use super::layout::{self, Nav};
use super::{done, failed, form_of, page_ok, Dash, Form, Query, Viewer, BASE};
use crate::error::ApiError;

/// The quick advance buttons: label and seconds.
const STEPS: &[(&str, i64)] = &[("+1 min", 60), ("+1 h", 3600), ("+1 day", 86_400)];

/// The units of the custom advance.
const UNITS: &[(&str, &str, i64)] = &[
    ("s", "seconds", 1),
    ("min", "minutes", 60),
    ("h", "hours", 3600),
    ("d", "days", 86_400),
];

/// `GET /_sim/dashboard`.
pub async fn page(
    State(dash): State<Dash>,
    Extension(viewer): Extension<Viewer>,
    query: Query,
) -> Response {
    let control = &dash.control;
    let info = control.info();
    let clock = control.clock();
    let sessions = control.sessions();
    let delivery = control.delivery_status();
    let links = control.payment_links();
    let endpoints = control.webhook_endpoints();
    let body = html! {
        h1 { "Overview" }
        section.card {
            h2 { "Clock" }
            div id="clock" data-live {
                p {
                    span.clock { (time(clock.now)) " UTC" }
                    " "
                    span.muted { "(" (format!("{:?}", clock.mode).to_lowercase()) " clock" }
                    @if let Some(next) = clock.next_job_at {
                        span.muted { "; next job at " (time(next)) }
                    }
                    span.muted { ")" }
                }
            }
            @for (label, seconds) in STEPS {
                form.inline method="post" action={ (BASE) "/clock/advance" } {
                    (layout::csrf_field(&viewer))
                    input type="hidden" name="seconds" value=(seconds);
                    button type="submit" { (label) }
                }
            }
            form.inline method="post" action={ (BASE) "/clock/advance" } {
                (layout::csrf_field(&viewer))
                input type="number" name="amount" min="0" value="30" aria-label="How much" style="width:6em";
                select name="unit" aria-label="Unit" {
                    @for (unit, label, _) in UNITS {
                        option value=(unit) selected[*unit == "min"] { (label) }
                    }
                }
                button.secondary type="submit" { "Advance" }
            }
        }
        section.card {
            h2 { "Simulator" }
            table.kv {
                tr { th { "Base URL" } td.mono { (info.base_url) } }
                tr { th { "API version" } td.mono { (info.api_version) } }
                tr { th { "Seed" } td.mono { (info.seed) } }
                tr { th { "Settlement delay" } td { (info.settlement_delay) " s" } }
                tr { th { "Webhook delivery" } td { (pill(if delivery.mode == crate::DeliveryMode::Hold { "hold" } else { "auto" })) } }
            }
        }
        div.grid id="counts" data-live {
            div.stat { b { (sessions.len()) } "checkout sessions" }
            div.stat { b { (info.storage.events) } "events" }
            div.stat { b { (info.storage.delivery_records) } "delivery records" }
            div.stat { b { (delivery.held) } "held deliveries" }
            div.stat { b { (delivery.pending) } "pending retries" }
            div.stat { b { (info.storage.objects) } "objects" }
        }
        section.card {
            h2 { "Payment links" }
            @if links.is_empty() {
                p.muted { "No payment link yet: create one with POST /v1/payment_links, or list one in the seed file." }
            } @else {
                table {
                    thead { tr { th { "Link" } th { "URL" } th {} } }
                    tbody {
                        @for link in &links {
                            tr {
                                td.mono { (link.id) }
                                td.mono { a href=(link.url) { (link.url) } }
                                td { a.button href=(link.url) target="_blank" rel="noopener" { "Visit" } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Webhook endpoints" }
            @if endpoints.is_empty() {
                p.muted { "No endpoint yet: start with --forward-to URL, or POST /v1/webhook_endpoints." }
            } @else {
                table {
                    thead { tr { th { "Endpoint" } th { "URL" } th { "Status" } th { "Signing secret" } } }
                    tbody {
                        @for endpoint in &endpoints {
                            tr {
                                td.mono { (endpoint.id) }
                                td.mono { (endpoint.url) }
                                td { (pill(endpoint.status)) }
                                td {
                                    details id={ "secret-" (endpoint.id) } {
                                        summary { "Reveal" }
                                        code { (endpoint.secret) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page_ok(&dash, &query, "Overview", Nav::Overview, &viewer, body)
}

/// `POST /_sim/dashboard/clock/advance` with `seconds`, or `amount` and `unit`.
pub async fn advance(State(dash): State<Dash>, form: Option<Extension<Form>>) -> Response {
    let form = form_of(form);
    let seconds = match read_seconds(&form) {
        Ok(seconds) => seconds,
        Err(e) => return failed(&dash, BASE, &e),
    };
    match dash.control.advance(seconds) {
        Ok(now) => done(
            &dash,
            BASE,
            &format!("Clock advanced by {seconds} s to {} UTC.", time(now)),
        ),
        Err(e) => failed(&dash, BASE, &e),
    }
}

fn read_seconds(form: &Form) -> Result<i64, ApiError> {
    let number = |key: &str| -> Result<Option<i64>, ApiError> {
        form.text(key)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::invalid(
                        format!("{key} must be a whole number, not {v:?}."),
                        Some(key),
                    )
                })
            })
            .transpose()
    };
    if let Some(seconds) = number("seconds")? {
        return Ok(seconds);
    }
    let amount = number("amount")?.ok_or_else(|| ApiError::missing_param("seconds"))?;
    let unit = form.text("unit").unwrap_or("s");
    let (_, _, factor) = UNITS
        .iter()
        .find(|(u, _, _)| *u == unit)
        .ok_or_else(|| ApiError::invalid(format!("Unknown unit {unit:?}."), Some("unit")))?;
    amount
        .checked_mul(*factor)
        .ok_or_else(|| ApiError::invalid("That is too far ahead.", Some("amount")))
}
