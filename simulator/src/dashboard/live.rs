//! `GET /_sim/dashboard/live`: the live stream, as server-sent events. Each notice is one SSE
//! event, `event`, `attempt` or `clock`, whose data is a small JSON object (with the tail's
//! line).
//! Subscribing is what makes the simulator build notices at all; closing the page stops it.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;

use super::Dash;
use crate::live::Notice;

pub async fn stream(
    State(dash): State<Dash>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let subscription = dash.control.subscribe();
    let stream = futures_util::stream::unfold(subscription, |mut subscription| async move {
        let notice = subscription.next().await?;
        Some((Ok(event(&notice)), subscription))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// One notice as an SSE event.
fn event(notice: &Notice) -> Event {
    let (line, delivered) = super::tail::line(notice);
    let (name, data) = match notice {
        Notice::Event {
            id,
            event_type,
            object_id,
            created,
        } => (
            "event",
            json!({
                "id": id,
                "type": event_type.as_str(),
                "object": object_id,
                "created": created,
                "line": line,
            }),
        ),
        Notice::Attempt {
            event_id,
            event_type,
            endpoint_id,
            at,
            status_code,
            latency_ms,
            error,
            manual,
            record_status,
        } => (
            "attempt",
            json!({
                "event": event_id,
                "type": event_type.as_str(),
                "endpoint": endpoint_id,
                "at": at,
                "status": status_code,
                "latency_ms": latency_ms,
                "error": error,
                "manual": manual,
                "record_status": record_status,
                "delivered": delivered,
                "line": line,
            }),
        ),
        Notice::Clock { now } => ("clock", json!({ "now": now, "line": line })),
    };
    Event::default().event(name).data(data.to_string())
}
