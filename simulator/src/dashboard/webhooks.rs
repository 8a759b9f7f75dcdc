//! Webhooks: holding deliveries and releasing them (in order, reversed or shuffled), the faults
//! waiting to apply (and a form to add one), and the endpoints (enable or disable, roll the
//! secret with an overlap).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use maud::html;
use serde_json::{Map, Value};

use super::format::{pill, time};
use super::layout::{self, Nav};
use super::{done, failed, form_of, page_ok, Dash, Form, Query, Viewer, BASE};
use crate::control::{parse_id, DeliveryFilter, Release};
use crate::error::ApiError;
use crate::resources::webhook_endpoint::DEFAULT_ROLL_OVERLAP;
use crate::typed_ids::EndpointId;
use crate::vocabulary::Vocabulary;
use crate::webhooks::faults::{DuplicateMode, Fault, FaultKind};
use crate::webhooks::log::{DeliveryMode, RecordStatus, ReleaseOrder, ReleaseOrderWord};

fn page_path() -> String {
    format!("{BASE}/webhooks")
}

/// `GET /_sim/dashboard/webhooks`.
pub async fn page(
    State(dash): State<Dash>,
    Extension(viewer): Extension<Viewer>,
    query: Query,
) -> Response {
    let control = &dash.control;
    let status = control.delivery_status();
    let held = control.deliveries(&DeliveryFilter {
        outcome: Some(RecordStatus::Held),
        ..DeliveryFilter::default()
    });
    let endpoints = control.webhook_endpoints();
    let base = page_path();
    let holding = status.mode == DeliveryMode::Hold;
    let body = html! {
        h1 { "Webhooks" }
        section.card {
            h2 { "Delivery" }
            div id="delivery" data-live {
                p {
                    "Mode: " (pill(status.mode.as_str()))
                    " · held " (status.held) " · pending " (status.pending) " · in flight " (status.in_flight)
                    " · succeeded " (status.succeeded) " · failed " (status.failed)
                    @if let Some(next) = status.next_attempt_at { " · next retry at " (time(next)) " UTC" }
                }
            }
            form.inline method="post" action={ (base) "/mode" } {
                (layout::csrf_field(&viewer))
                @if holding {
                    input type="hidden" name="mode" value="auto";
                    button type="submit" { "Deliver automatically" }
                } @else {
                    input type="hidden" name="mode" value="hold";
                    button type="submit" { "Hold deliveries" }
                }
            }
        }
        section.card {
            h2 { "Held deliveries" }
            div id="held" data-live {
                @if held.is_empty() {
                    p.muted { "None held." @if !holding { " Hold deliveries to queue the next ones here." } }
                } @else {
                    table {
                        thead { tr { th { "#" } th { "Event" } th { "Type" } th { "Endpoint" } th.hide-narrow { "Created" } } }
                        tbody {
                            @for (i, record) in held.iter().enumerate() {
                                tr {
                                    td.num { (i + 1) }
                                    td.mono { (record.event_id) }
                                    td.mono { (record.event_type.as_str()) }
                                    td.mono { (record.endpoint_id) }
                                    td.mono.hide-narrow { (time(record.created)) }
                                }
                            }
                        }
                    }
                }
            }
            form.stack method="post" action={ (base) "/release" } {
                (layout::csrf_field(&viewer))
                label { "Order" select name="order" {
                    option value="as_is" { "in order" }
                    option value="reverse" { "reversed" }
                    option value="shuffle" { "shuffled" }
                } }
                label { "Shuffle seed" input type="number" name="seed" min="0" placeholder="random" style="width:8em"; }
                label { "Send each" select name="duplicate" {
                    option value="" { "once" }
                    @for mode in DuplicateMode::ALL { option value=(mode.as_str()) { "twice, " (mode.as_str()) } }
                } }
                label { "Then" select name="resume" {
                    option value="false" { "keep holding" }
                    option value="true" { "deliver automatically" }
                } }
                button type="submit" { "Release" }
            }
        }
        section.card {
            h2 { "Faults" }
            div id="faults" data-live {
                @if status.faults.is_empty() {
                    p.muted { "No fault pending." }
                } @else {
                    table {
                        thead { tr { th { "Fault" } th.num { "Count" } th { "Event type" } th { "Endpoint" } th { "Options" } } }
                        tbody {
                            @for fault in &status.faults {
                                tr {
                                    td.mono { (fault.fault.to_string()) }
                                    td.num { (fault.count) }
                                    td.mono { (fault.event_type.as_deref().unwrap_or("any")) }
                                    td.mono { (fault.endpoint.as_deref().unwrap_or("any")) }
                                    td.mono {
                                        @if let Some(mode) = fault.duplicate_mode { (mode.as_str()) " " }
                                        @if let Some(s) = fault.delay_seconds { (s) " s " }
                                        @if let Some(ms) = fault.delay_ms { (ms) " ms" }
                                    }
                                }
                            }
                        }
                    }
                    (layout::button(&viewer, &format!("{base}/faults/clear"), "Clear faults", "danger"))
                }
            }
            h2 { "Add a fault" }
            form.stack method="post" action={ (base) "/faults" } {
                (layout::csrf_field(&viewer))
                label { "Fault" select name="fault" {
                    @for kind in FaultKind::ALL { option value=(kind.as_str()) { (kind.as_str()) } }
                } }
                label { "Count" input type="number" name="count" min="1" value="1" style="width:5em"; }
                label { "Event type" input type="text" name="event_type" placeholder="any, or checkout.session.*"; }
                label { "Endpoint" select name="endpoint" {
                    option value="" { "any" }
                    @for endpoint in &endpoints { option value=(endpoint.id) { (endpoint.id) } }
                } }
                label { "Duplicate mode" select name="duplicate_mode" {
                    option value="" { "default" }
                    @for mode in DuplicateMode::ALL { option value=(mode.as_str()) { (mode.as_str()) } }
                } }
                label { "Delay (sim. seconds)" input type="number" name="delay_seconds" min="1" style="width:7em"; }
                label { "Delay (ms)" input type="number" name="delay_ms" min="1" style="width:7em"; }
                button type="submit" { "Add fault" }
            }
        }
        section.card {
            h2 { "Endpoints" }
            @if endpoints.is_empty() {
                p.muted { "No endpoint yet: start with --forward-to URL, or POST /v1/webhook_endpoints." }
            }
            @for endpoint in &endpoints {
                div.endpoint id={ "endpoint-" (endpoint.id) } {
                    p {
                        strong.mono { (endpoint.id) } " " (pill(endpoint.status)) " "
                        span.mono { (endpoint.url) }
                        @if let Some(reason) = &endpoint.disabled_reason { br; span.error { (reason) } }
                        @if let Some(since) = endpoint.failing_since { br; span.muted { "failing since " (time(since)) " UTC" } }
                    }
                    p.muted { "Events: " span.mono { (endpoint.enabled_events.join(", ")) } }
                    details id={ "whsec-" (endpoint.id) } { summary { "Reveal signing secret" } code { (endpoint.secret) } }
                    form.inline method="post" action={ (base) "/endpoints/" (endpoint.id) "/enabled" } {
                        (layout::csrf_field(&viewer))
                        @if endpoint.status == "enabled" {
                            input type="hidden" name="enabled" value="false";
                            button.danger type="submit" { "Disable" }
                        } @else {
                            input type="hidden" name="enabled" value="true";
                            button type="submit" { "Enable" }
                        }
                    }
                    form.inline method="post" action={ (base) "/endpoints/" (endpoint.id) "/roll" } {
                        (layout::csrf_field(&viewer))
                        label { "old secret signs for " input type="number" name="expires_in" min="0" max=(crate::control::MAX_ROLL_OVERLAP) value=(DEFAULT_ROLL_OVERLAP) style="width:7em"; " s" }
                        button.secondary type="submit" { "Roll secret" }
                    }
                }
            }
        }
    };
    page_ok(&dash, &query, "Webhooks", Nav::Webhooks, &viewer, body)
}

/// `POST /_sim/dashboard/webhooks/mode` with `mode` (`hold` or `auto`).
pub async fn mode(State(dash): State<Dash>, form: Option<Extension<Form>>) -> Response {
    let form = form_of(form);
    let word = form.text("mode").unwrap_or_default();
    match DeliveryMode::parse_word(word) {
        Ok(mode) => {
            dash.control.set_delivery_mode(mode);
            done(
                &dash,
                &page_path(),
                &format!("Delivery mode: {}.", mode.as_str()),
            )
        }
        Err(e) => failed(
            &dash,
            &page_path(),
            &ApiError::invalid(e.to_string(), Some("mode")),
        ),
    }
}

fn read_release(form: &Form) -> Result<Release, ApiError> {
    let word = ReleaseOrderWord::parse_word(form.text("order").unwrap_or("as_is"))
        .map_err(|e| ApiError::invalid(e.to_string(), Some("order")))?;
    let seed = form
        .text("seed")
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| ApiError::invalid_value("seed", "integer", s))
        })
        .transpose()?;
    let duplicate = form
        .text("duplicate")
        .map(|d| {
            DuplicateMode::parse_word(d)
                .map_err(|e| ApiError::invalid(e.to_string(), Some("duplicate")))
        })
        .transpose()?;
    Ok(Release {
        order: ReleaseOrder::from_word(word, seed),
        duplicate,
        parallel: false,
        resume: form.text("resume") == Some("true"),
    })
}

/// `POST /_sim/dashboard/webhooks/release` with `order`, `seed`, `duplicate`, `resume`.
pub async fn release(State(dash): State<Dash>, form: Option<Extension<Form>>) -> Response {
    let form = form_of(form);
    let release = match read_release(&form) {
        Ok(release) => release,
        Err(e) => return failed(&dash, &page_path(), &e),
    };
    match dash.control.release(release).await {
        Ok(released) => {
            let order: Vec<&str> = released.iter().map(|r| r.event_id.as_str()).collect();
            let notice = if order.is_empty() {
                "Nothing was held.".to_string()
            } else {
                format!("Released {} deliveries: {}.", order.len(), order.join(", "))
            };
            done(&dash, &page_path(), &notice)
        }
        Err(e) => failed(&dash, &page_path(), &e),
    }
}

/// The fault a form describes, read by the same rules as the control API's JSON.
fn read_fault(form: &Form) -> Result<Fault, ApiError> {
    let mut object = Map::new();
    for key in ["fault", "event_type", "endpoint", "duplicate_mode"] {
        if let Some(value) = form.text(key) {
            object.insert(key.to_string(), Value::String(value.to_string()));
        }
    }
    for key in ["count", "delay_seconds", "delay_ms"] {
        if let Some(value) = form.text(key) {
            let number: i64 = value
                .parse()
                .map_err(|_| ApiError::invalid_value(key, "integer", value))?;
            object.insert(key.to_string(), Value::from(number));
        }
    }
    serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::invalid(format!("Invalid fault: {e}"), Some("fault")))
}

/// `POST /_sim/dashboard/webhooks/faults`.
pub async fn add_fault(State(dash): State<Dash>, form: Option<Extension<Form>>) -> Response {
    let form = form_of(form);
    match read_fault(&form).and_then(|fault| {
        let word = fault.fault.to_string();
        dash.control.add_fault(fault).map(|()| word)
    }) {
        Ok(word) => done(&dash, &page_path(), &format!("Fault added: {word}.")),
        Err(e) => failed(&dash, &page_path(), &e),
    }
}

/// `POST /_sim/dashboard/webhooks/faults/clear`.
pub async fn clear_faults(State(dash): State<Dash>) -> Response {
    dash.control.clear_faults();
    done(&dash, &page_path(), "Faults cleared.")
}

fn endpoint_id(id: &str) -> Result<EndpointId, ApiError> {
    parse_id(id, EndpointId::parse, "webhook_endpoint", "id")
}

/// `POST /_sim/dashboard/webhooks/endpoints/{id}/enabled` with `enabled` (`true` or `false`).
pub async fn set_enabled(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    form: Option<Extension<Form>>,
) -> Response {
    let form = form_of(form);
    let enabled = form.text("enabled") == Some("true");
    match endpoint_id(&id).and_then(|e| dash.control.set_webhook_endpoint_enabled(&e, enabled)) {
        Ok(info) => done(
            &dash,
            &page_path(),
            &format!("{} is {}.", info.id, info.status),
        ),
        Err(e) => failed(&dash, &page_path(), &e),
    }
}

/// `POST /_sim/dashboard/webhooks/endpoints/{id}/roll` with `expires_in` (seconds).
pub async fn roll(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    form: Option<Extension<Form>>,
) -> Response {
    let form = form_of(form);
    let outcome = endpoint_id(&id).and_then(|endpoint| {
        let overlap = form
            .text("expires_in")
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::invalid_value("expires_in", "integer", v))
            })
            .transpose()?
            .unwrap_or(DEFAULT_ROLL_OVERLAP);
        dash.control.roll_webhook_secret(&endpoint, overlap)
    });
    match outcome {
        Ok(rolled) => done(
            &dash,
            &page_path(),
            &format!(
                "Rolled the secret of {}; the old one signs until {} UTC.",
                rolled.id,
                time(rolled.previous_secret_expires_at)
            ),
        ),
        Err(e) => failed(&dash, &page_path(), &e),
    }
}
