//! Events, newest first, filtered by type and by the object they are about, each with its JSON
//! and, under it, every delivery attempt: time, endpoint, status, latency, the signature header
//! and the first bytes of the answer. Each event has a resend button (`stripe events resend`)
//! and "send a duplicate" (a second Event object for the same change, as Stripe sometimes
//! sends).

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};

use super::format::{json, pill, status_code, time};
use super::layout::{self, Nav};
use super::{done, failed, page_ok, Dash, Query, Viewer, BASE};
use crate::control::{parse_id, EventView};
use crate::resources::event::EventType;
use crate::typed_ids::EventId;
use crate::vocabulary::Vocabulary;
use crate::webhooks::log::DeliveryRecord;

/// Events shown at once by default, and at most.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 200;

/// How much of an answer's body is shown.
const ANSWER_CHARS: usize = 200;

/// `GET /_sim/dashboard/events?type=checkout.session.*&object=cs_…&limit=25`.
pub async fn list(
    State(dash): State<Dash>,
    Extension(viewer): Extension<Viewer>,
    query: Query,
) -> Response {
    let event_type = query.text("type");
    let object = query.text("object");
    let limit = query
        .text("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let events = dash.control.recent_events(event_type, object, limit);
    let back = back_path(event_type, object);
    let body = html! {
        h1 { "Events" }
        section.card {
            form.stack method="get" action={ (BASE) "/events" } {
                label {
                    "Type"
                    select name="type" {
                        option value="" { "all types" }
                        @for pattern in type_patterns() {
                            option value=(pattern) selected[event_type == Some(pattern.as_str())] { (pattern) }
                        }
                    }
                }
                label { "Object" input type="text" name="object" value=(object.unwrap_or("")) placeholder="cs_…, pi_…, ch_…"; }
                button.secondary type="submit" { "Filter" }
                @if event_type.is_some() || object.is_some() {
                    a.button.secondary href={ (BASE) "/events" } { "Clear" }
                }
            }
        }
        div id="events" data-live {
            @if events.is_empty() {
                section.card { p.muted { "No event matches." } }
            }
            @for event in &events {
                (event_card(&dash, &viewer, event, &back))
            }
        }
    };
    page_ok(&dash, &query, "Events", Nav::Events, &viewer, body)
}

/// Every type, and a `prefix.*` for each group of them.
fn type_patterns() -> Vec<String> {
    let mut patterns = BTreeSet::new();
    for t in EventType::ALL {
        let name = t.as_str();
        if let Some((prefix, _)) = name.rsplit_once('.') {
            patterns.insert(format!("{prefix}.*"));
        }
        patterns.insert(name.to_string());
    }
    patterns.into_iter().collect()
}

/// The events page with the same filters, where an action leads back.
fn back_path(event_type: Option<&str>, object: Option<&str>) -> String {
    let mut pairs = Vec::new();
    if let Some(t) = event_type {
        pairs.push(format!("type={}", encode(t)));
    }
    if let Some(o) = object {
        pairs.push(format!("object={}", encode(o)));
    }
    if pairs.is_empty() {
        format!("{BASE}/events")
    } else {
        format!("{BASE}/events?{}", pairs.join("&"))
    }
}

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn event_card(dash: &Dash, viewer: &Viewer, event: &EventView, back: &str) -> Markup {
    let records = dash.control.deliveries_of_event(&event.id);
    let rendered = dash.control.object(&event.id);
    let action = |verb: &str| format!("{BASE}/events/{}/{verb}?back={}", event.id, encode(back));
    html! {
        section.card.event id=(event.id) {
            div {
                strong.mono { (event.event_type.as_str()) }
                " "
                span.mono.muted { (event.id) }
            }
            p.muted {
                (time(event.created)) " UTC · about "
                a.mono href={ (BASE) "/events?object=" (encode(&event.object_id)) } { (event.object_id) }
                " · pending webhooks: " (event.pending_webhooks)
            }
            div {
                (layout::button(viewer, &action("resend"), "Resend", "secondary"))
                (layout::button(viewer, &action("duplicate"), "Send a duplicate", "secondary"))
            }
            @if let Some(value) = rendered {
                details id={ "json-" (event.id) } { summary { "JSON" } pre { (json(&value)) } }
            }
            (attempts_table(&records))
        }
    }
}

fn attempts_table(records: &[DeliveryRecord]) -> Markup {
    html! {
        @if records.is_empty() {
            p.muted { "No webhook endpoint was sent this event." }
        } @else {
            table.attempts {
                thead { tr {
                    th { "Time" } th { "Endpoint" } th { "Status" } th.num { "Latency" }
                    th.hide-narrow { "Stripe-Signature" } th.hide-narrow { "Answer" }
                } }
                tbody {
                    @for record in records {
                        @if record.attempts.is_empty() {
                            tr {
                                td.muted { "—" }
                                td.mono { (record.endpoint_id) }
                                td { (pill(record_status(record))) }
                                td {} td.hide-narrow {} td.hide-narrow {}
                            }
                        }
                        @for attempt in &record.attempts {
                            tr.attempt {
                                td.mono { (time(attempt.at)) }
                                td.mono { (record.endpoint_id) }
                                td {
                                    span class=(if attempt.delivered() { "pill ok" } else { "pill bad" }) {
                                        (status_code(attempt.status_code, attempt.error.as_deref()))
                                    }
                                    @if attempt.manual { " " span.pill { "resend" } }
                                    @if let Some(fault) = attempt.fault { " " span.pill.warn { (fault.to_string()) } }
                                }
                                td.num { (attempt.latency_ms) " ms" }
                                td.hide-narrow.mono.sig { (attempt.signature.as_deref().unwrap_or("")) }
                                td.hide-narrow.mono.sig { (excerpt(&attempt.response)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn record_status(record: &DeliveryRecord) -> &'static str {
    record.status.as_str()
}

/// The first characters of an answer.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(ANSWER_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Where an action goes back to: the `back` the form named when it is an events page.
fn back_of(query: &Query) -> String {
    query
        .text("back")
        .filter(|b| b.starts_with(&format!("{BASE}/events")) && !b.contains("//"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{BASE}/events"))
}

fn event_id(id: &str) -> Result<EventId, crate::error::ApiError> {
    parse_id(id, EventId::parse, "event", "id")
}

/// `POST /_sim/dashboard/events/{id}/resend`: to every endpoint it was meant for.
pub async fn resend(State(dash): State<Dash>, Path(id): Path<String>, query: Query) -> Response {
    let back = back_of(&query);
    let event = match event_id(&id) {
        Ok(event) => event,
        Err(e) => return failed(&dash, &back, &e),
    };
    match dash.control.resend(&event, None).await {
        Ok(attempts) => {
            let outcomes: Vec<String> = attempts
                .iter()
                .map(|a| status_code(a.status_code, a.error.as_deref()))
                .collect();
            let notice = if outcomes.is_empty() {
                format!("{id}: no endpoint to resend it to.")
            } else {
                format!("Resent {id}: {}.", outcomes.join(", "))
            };
            done(&dash, &back, &notice)
        }
        Err(e) => failed(&dash, &back, &e),
    }
}

/// `POST /_sim/dashboard/events/{id}/duplicate`: a second Event object for the same change.
pub async fn duplicate(State(dash): State<Dash>, Path(id): Path<String>, query: Query) -> Response {
    let back = back_of(&query);
    match event_id(&id).and_then(|event| dash.control.reissue_event(&event)) {
        Ok(copy) => done(
            &dash,
            &back,
            &format!("Sent {} as a duplicate of {id}.", copy.id),
        ),
        Err(e) => failed(&dash, &back, &e),
    }
}
