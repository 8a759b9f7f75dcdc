//! The tail: `stripe listen` in a page. One line per event as it is created and one per
//! delivery attempt as it comes back, with its status and latency:
//!
//! ```text
//! 00:03:00  --> checkout.session.async_payment_succeeded [evt_…]
//! 00:03:00  <-- [200] checkout.session.async_payment_succeeded [evt_…] we_… 12 ms
//! ```
//!
//! The page starts with the latest events and their attempts; the live stream appends the
//! rest (with JavaScript; without it, a reload shows them).

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::format::{status_code, time, time_of_day};
use super::layout::Nav;
use super::{page_ok, Dash, Query, Viewer};
use crate::live::Notice;

/// Events shown when the page opens.
const BACKLOG: usize = 20;

/// A line of the tail, and whether it is good news (an attempt delivered).
pub fn line(notice: &Notice) -> (String, bool) {
    match notice {
        Notice::Event {
            id,
            event_type,
            created,
            ..
        } => (
            format!(
                "{}  --> {} [{id}]",
                time_of_day(*created),
                event_type.as_str()
            ),
            true,
        ),
        Notice::Attempt {
            event_id,
            event_type,
            endpoint_id,
            at,
            status_code: code,
            latency_ms,
            error,
            manual,
            ..
        } => {
            let delivered = code.is_some_and(|c| (200..300).contains(&c));
            (
                format!(
                    "{}  <-- [{}] {} [{event_id}] {endpoint_id} {latency_ms} ms{}",
                    time_of_day(*at),
                    status_code(*code, error.as_deref()),
                    event_type.as_str(),
                    if *manual { " (resend)" } else { "" }
                ),
                delivered,
            )
        }
        Notice::Clock { now } => (
            format!(
                "{}  ~~ clock advanced to {} UTC",
                time_of_day(*now),
                time(*now)
            ),
            true,
        ),
        Notice::Webhooks { at, change } => {
            (format!("{}  ~~ webhooks: {change}", time_of_day(*at)), true)
        }
    }
}

/// `GET /_sim/dashboard/tail`.
pub async fn page(
    State(dash): State<Dash>,
    Extension(viewer): Extension<Viewer>,
    query: Query,
) -> Response {
    let control = &dash.control;
    let mut events = control.recent_events(None, None, BACKLOG);
    events.reverse();
    let mut lines = Vec::new();
    for event in &events {
        lines.push(line(&Notice::Event {
            id: event.id.clone(),
            event_type: event.event_type,
            object_id: event.object_id.clone(),
            created: event.created,
        }));
        for record in control.deliveries_of_event(&event.id) {
            for attempt in &record.attempts {
                lines.push(line(&Notice::Attempt {
                    event_id: record.event_id.clone(),
                    event_type: record.event_type,
                    endpoint_id: record.endpoint_id.clone(),
                    at: attempt.at,
                    status_code: attempt.status_code,
                    latency_ms: attempt.latency_ms,
                    error: attempt.error.clone(),
                    manual: attempt.manual,
                    record_status: record.status,
                }));
            }
        }
    }
    let body = html! {
        h1 { "Tail" }
        p.muted { "Each event as it happens and each delivery attempt with its status and latency, like " code { "stripe listen" } ". Times are simulator time (UTC)." }
        ol.tail id="tail" aria-live="polite" {
            @for (text, good) in &lines {
                @let is_event = !text.contains("  <-- ");
                li class=(if is_event { "ev" } else if *good { "ok" } else { "fail" }) { (text) }
            }
        }
    };
    page_ok(&dash, &query, "Tail", Nav::Tail, &viewer, body)
}
