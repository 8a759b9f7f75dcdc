//! `/_sim/webhooks…`, `/_sim/deliveries`, `/_sim/events/{id}/resend` and
//! `/_sim/webhook_endpoints/{id}/roll_secret`: control over webhook delivery for test drivers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::http::control::json_body;
use crate::resources::webhook_endpoint::DEFAULT_ROLL_OVERLAP;
use crate::shared::Shared;
use crate::webhooks::dispatcher::{execute, run_job};
use crate::webhooks::faults::{DuplicateMode, FaultKind, FaultRule};
use crate::webhooks::log::{Attempt, AttemptJob, DeliveryMode, DeliveryRecord, ReleaseOrder};

/// How long `flush` waits by default for deliveries to settle.
const DEFAULT_FLUSH_TIMEOUT_MS: u64 = 30_000;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/webhooks", get(status))
        .route("/_sim/webhooks/hold", post(hold))
        .route("/_sim/webhooks/auto", post(auto))
        .route("/_sim/webhooks/release", post(release))
        .route(
            "/_sim/webhooks/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/_sim/webhooks/deliver", post(deliver))
        .route("/_sim/webhooks/flush", post(flush))
        .route("/_sim/deliveries", get(deliveries))
        .route("/_sim/events/{id}/resend", post(resend))
        .route("/_sim/events/{id}/duplicate", post(duplicate_event))
        .route(
            "/_sim/webhook_endpoints/{id}/roll_secret",
            post(roll_secret),
        )
}

fn status_json(shared: &Shared) -> Value {
    shared.with_store(|store, now| {
        let mut counts = std::collections::HashMap::new();
        for record in store.deliveries.records() {
            *counts.entry(record.status.as_str()).or_insert(0usize) += 1;
        }
        let count = |s: &str| counts.get(s).copied().unwrap_or(0);
        json!({
            "mode": store.deliveries.mode,
            "held": count("held"),
            "pending": count("pending"),
            "in_flight": count("in_flight"),
            "succeeded": count("succeeded"),
            "failed": count("failed"),
            "idle": store.deliveries.idle(now),
            "next_attempt_at": store.deliveries.next_due(),
            "faults": store.deliveries.faults,
            "retry_schedule": store.deliveries.policy.delays,
        })
    })
}

async fn status(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(status_json(&shared))
}

async fn hold(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_store(|store, _| store.deliveries.mode = DeliveryMode::Hold);
    Json(status_json(&shared))
}

async fn auto(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_store(|store, _| store.deliveries.mode = DeliveryMode::Auto);
    Json(status_json(&shared))
}

/// `order`: `"as_is"`, `"reverse"`, `"shuffle"` (with `seed`) or a list of event ids.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OrderField {
    Word(String),
    Events(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DuplicateField {
    Flag(bool),
    Mode(DuplicateMode),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    order: Option<OrderField>,
    seed: Option<u64>,
    duplicate: Option<DuplicateField>,
    /// Switch to automatic delivery afterwards.
    #[serde(default)]
    resume: bool,
    /// Send them all at once (up to the delivery concurrency), as Stripe does when an endpoint
    /// comes back: arrival order is then not guaranteed.
    #[serde(default)]
    parallel: bool,
}

/// Sends held deliveries one after the other, each awaited, so the receiver sees exactly the
/// requested order; or, `parallel`, all at once under the delivery concurrency limit.
pub async fn release_held(
    shared: &Arc<Shared>,
    order: ReleaseOrder,
    duplicate: Option<DuplicateMode>,
    parallel: bool,
) -> ApiResult<Vec<DeliveryRecord>> {
    let jobs = shared.with_store(|store, now| store.release_held(&order, duplicate, now))?;
    let record_ids: Vec<String> = jobs.iter().filter_map(|j| j.record_id.clone()).collect();
    if parallel {
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let shared = shared.clone();
            running.spawn(async move { run_job(&shared, job).await });
        }
        while running.join_next().await.is_some() {}
    } else {
        for job in jobs {
            run_job(shared, job).await;
        }
    }
    Ok(shared.with_store(|store, _| {
        record_ids
            .iter()
            .filter_map(|id| store.deliveries.get(id).cloned())
            .collect()
    }))
}

async fn release(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: ReleaseRequest = json_body(&body)?;
    let order = match request.order {
        None => ReleaseOrder::AsIs,
        Some(OrderField::Events(ids)) => ReleaseOrder::Events(ids),
        Some(OrderField::Word(word)) => match word.as_str() {
            "as_is" => ReleaseOrder::AsIs,
            "reverse" => ReleaseOrder::Reverse,
            "shuffle" => ReleaseOrder::Shuffle(request.seed.unwrap_or(0)),
            other => {
                return Err(ApiError::invalid(
                    format!("Invalid order: {other} (expected as_is, reverse, shuffle or a list of event ids)"),
                    Some("order"),
                ))
            }
        },
    };
    let duplicate = match request.duplicate {
        None | Some(DuplicateField::Flag(false)) => None,
        Some(DuplicateField::Flag(true)) => Some(DuplicateMode::Concurrent),
        Some(DuplicateField::Mode(mode)) => Some(mode),
    };
    let released = release_held(&shared, order, duplicate, request.parallel).await?;
    if request.resume {
        shared.with_store(|store, _| store.deliveries.mode = DeliveryMode::Auto);
    }
    Ok(Json(
        json!({ "released": released, "status": status_json(&shared) }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FaultsRequest {
    Many { faults: Vec<FaultRule> },
    One(FaultRule),
}

async fn add_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let rules = match json_body::<FaultsRequest>(&body)? {
        FaultsRequest::Many { faults } => faults,
        FaultsRequest::One(rule) => vec![rule],
    };
    for rule in &rules {
        if rule.fault == FaultKind::Delay && rule.delay_seconds.is_none() && rule.delay_ms.is_none()
        {
            return Err(ApiError::invalid(
                "A delay fault needs delay_seconds (simulator time) or delay_ms (wall time).",
                Some("delay_seconds"),
            ));
        }
        if rule.count == 0 {
            return Err(ApiError::invalid(
                "count must be at least 1.",
                Some("count"),
            ));
        }
    }
    shared.with_store(|store, _| store.deliveries.faults.extend(rules));
    Ok(Json(status_json(&shared)))
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.with_store(|store, _| json!({ "faults": store.deliveries.faults })))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_store(|store, _| store.deliveries.faults.clear());
    Json(status_json(&shared))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverRequest {
    /// The endpoint to send to (its URL and secrets are used unless overridden).
    endpoint: Option<String>,
    url: Option<String>,
    secret: Option<String>,
    /// An event already in the log…
    event_id: Option<String>,
    /// …or any JSON body, sent byte for byte as serialized here…
    event: Option<Value>,
    /// …or a raw body string.
    raw_body: Option<String>,
    /// `tamper`, `stale`, `wrong_secret`, `unsigned` or `bad_header`; none for a genuine signature.
    forgery: Option<FaultKind>,
}

/// `POST /_sim/webhooks/deliver`: one request, signed or forged, answered with what the endpoint
/// said. Not part of the delivery log or its retries.
async fn deliver(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: DeliverRequest = json_body(&body)?;
    if request.forgery.is_some_and(|f| !f.is_forgery()) {
        return Err(ApiError::invalid(
            "forgery must be one of tamper, stale, wrong_secret, unsigned, bad_header.",
            Some("forgery"),
        ));
    }
    let job = shared.with_store(|store, now| -> ApiResult<AttemptJob> {
        let endpoint = match &request.endpoint {
            Some(id) => Some(
                store
                    .webhook_endpoints
                    .get(id)
                    .cloned()
                    .ok_or_else(|| ApiError::no_such("webhook_endpoint", id, "endpoint"))?,
            ),
            None => None,
        };
        let url = request
            .url
            .clone()
            .or_else(|| endpoint.as_ref().map(|e| e.url.clone()))
            .ok_or_else(|| ApiError::missing_param("endpoint"))?;
        crate::url_check::check_endpoint_url(&url, "url")?;
        let secrets = match (&request.secret, &endpoint) {
            (Some(secret), _) => vec![secret.clone()],
            (None, Some(e)) => e.signing_secrets(now),
            (None, None) => return Err(ApiError::missing_param("secret")),
        };
        let body = match (&request.event_id, &request.event, &request.raw_body) {
            (Some(id), None, None) => {
                let endpoint_id = endpoint.as_ref().map(|e| e.id.clone()).unwrap_or_default();
                store
                    .events
                    .get(id)
                    .ok_or_else(|| ApiError::no_such("event", id, "event_id"))?;
                store
                    .event_body(id, &endpoint_id)
                    .or_else(|| {
                        store
                            .events
                            .get(id)
                            .and_then(|e| serde_json::to_vec(&e.render()).ok())
                    })
                    .unwrap_or_default()
            }
            (None, Some(event), None) => serde_json::to_vec(event).unwrap_or_default(),
            (None, None, Some(raw)) => raw.clone().into_bytes(),
            _ => {
                return Err(ApiError::invalid(
                    "Give exactly one of event_id, event or raw_body.",
                    Some("event_id"),
                ))
            }
        };
        Ok(AttemptJob {
            record_id: None,
            url,
            secrets,
            body,
            fault: request.forgery.map(FaultRule::new),
            manual: true,
        })
    })?;
    let attempts = execute(
        &shared.http,
        &job,
        shared.clock.now(),
        shared.config.webhook_timeout,
    )
    .await;
    let attempt = attempts.into_iter().next();
    Ok(Json(json!({ "attempt": attempt })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlushRequest {
    timeout_ms: Option<u64>,
}

/// `POST /_sim/webhooks/flush`: waits until no delivery is in flight or due (held ones wait for
/// a release), then answers the delivery status.
async fn flush(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: FlushRequest = json_body(&body)?;
    let timeout = Duration::from_millis(
        request
            .timeout_ms
            .unwrap_or(DEFAULT_FLUSH_TIMEOUT_MS)
            .min(600_000),
    );
    shared.wait_for_deliveries(timeout).await;
    Ok(Json(status_json(&shared)))
}

#[derive(Debug, Deserialize)]
struct DeliveriesQuery {
    event: Option<String>,
    endpoint: Option<String>,
    outcome: Option<String>,
}

async fn deliveries(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<DeliveriesQuery>,
) -> Json<Value> {
    Json(shared.with_store(|store, _| {
        store.deliveries_json(
            q.event.as_deref(),
            q.endpoint.as_deref(),
            q.outcome.as_deref(),
        )
    }))
}

/// Resends an event now, outside its retry schedule, and returns the attempts.
pub async fn resend_event(
    shared: &Shared,
    event_id: &str,
    endpoint: Option<&str>,
) -> ApiResult<Vec<Attempt>> {
    let jobs = shared.with_store(|store, now| store.resend_jobs(event_id, endpoint, now))?;
    let mut attempts = Vec::new();
    for job in jobs {
        attempts.extend(run_job(shared, job).await);
    }
    Ok(attempts)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResendRequest {
    endpoint: Option<String>,
}

async fn resend(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let request: ResendRequest = json_body(&body)?;
    let attempts = resend_event(&shared, &id, request.endpoint.as_deref()).await?;
    Ok(Json(json!({ "event": id, "attempts": attempts })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollRequest {
    /// Seconds the old secret keeps signing (default 24 hours).
    expires_in: Option<i64>,
}

async fn roll_secret(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let request: RollRequest = json_body(&body)?;
    let overlap = request.expires_in.unwrap_or(DEFAULT_ROLL_OVERLAP);
    shared
        .with_store(|store, now| store.roll_webhook_secret(&id, overlap, now))
        .map(Json)
}

/// `POST /_sim/events/{id}/duplicate`: a second Event object for the same change, delivered as a
/// new event (Stripe's "two separate Event objects").
async fn duplicate_event(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    shared
        .with_store(|store, now| store.duplicate_event(&id, now))
        .map(Json)
}
