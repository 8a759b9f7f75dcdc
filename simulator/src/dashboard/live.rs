//! `GET /_sim/dashboard/live`: the live stream, as server-sent events. Each notice is one SSE
//! event, `event`, `attempt`, `clock` or `webhooks`, whose data is a small JSON object (with the tail's
//! line), sent in batches; a `skipped` event counts the notices that came too fast to show.
//! Subscribing is what makes the simulator build notices at all; closing the page stops it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;

use super::Dash;
use crate::live::Notice;

/// A page is sent at most this many notices at a time...
const BATCH_LINES: usize = 50;
/// ...gathered over this long after the first: a human's worth of lines (up to 1,000 a
/// second). When events come faster, as under a load test, a page gets the latest ones and a
/// `skipped` event saying how many it was not sent, and the API pays nothing for those (with
/// the page open, `stripe-bench --only dashboard` went from 88% of the closed rate, one SSE
/// event per notice, to within noise).
const BATCH_EVERY: Duration = Duration::from_millis(50);

pub async fn stream(
    State(dash): State<Dash>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let subscription = dash.control.subscribe();
    let stream = futures_util::stream::unfold(
        (subscription, VecDeque::<Event>::new()),
        |(mut subscription, mut ready)| async move {
            if ready.is_empty() {
                let first = subscription.next().await?;
                tokio::time::sleep(BATCH_EVERY).await;
                let mut drained = subscription.drain(BATCH_LINES);
                let mut batch = vec![first];
                batch.append(&mut drained.notices);
                let over = batch.len().saturating_sub(BATCH_LINES);
                let skipped = drained.skipped + over as u64;
                if skipped > 0 {
                    ready.push_back(skipped_event(skipped));
                }
                ready.extend(batch[over..].iter().map(event));
            }
            let next = ready.pop_front()?;
            Some((Ok(next), (subscription, ready)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Notices a page was not sent, coming too fast to show.
fn skipped_event(count: u64) -> Event {
    let data = json!({
        "count": count,
        "line": format!("… {count} more, too fast to show (the Events page has them all)"),
    });
    Event::default().event("skipped").data(data.to_string())
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
        Notice::Webhooks { at, change } => (
            "webhooks",
            json!({ "at": at, "change": change, "line": line }),
        ),
    };
    Event::default().event(name).data(data.to_string())
}
