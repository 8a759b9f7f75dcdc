//! `/_sim/webhooks…`, `/_sim/deliveries`, `/_sim/events/{id}/resend` and
//! `/_sim/webhook_endpoints/{id}/roll_secret`: control over webhook delivery for test drivers, as
//! a thin adapter over [`crate::Control`] (wire JSON in, typed values to the control layer, JSON
//! out).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::control::{
    parse_id, Delivery, DeliveryBody, DeliveryFilter, DeliveryTarget, Release, MAX_DELIVERY_PAGE,
};
use crate::error::{ApiError, ApiResult};
use crate::http::control::{control, json_body};
use crate::resources::webhook_endpoint::DEFAULT_ROLL_OVERLAP;
use crate::shared::Shared;
use crate::table::PageRequest;
use crate::typed_ids::{EndpointId, EventId};
use crate::vocabulary::Vocabulary;
use crate::webhooks::faults::{DuplicateMode, Fault, Forgery};
use crate::webhooks::log::{DeliveryMode, RecordStatus, ReleaseOrder, ReleaseOrderWord};

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
        .route("/_sim/webhook_endpoints", get(webhook_endpoints))
        .route("/_sim/events/{id}/resend", post(resend))
        .route("/_sim/events/{id}/reissue", post(reissue_event))
        .route("/_sim/events/{id}/duplicate", post(reissue_event))
        .route(
            "/_sim/webhook_endpoints/{id}/roll_secret",
            post(roll_secret),
        )
}

async fn status(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(control(&shared).delivery_status()))
}

async fn hold(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let control = control(&shared);
    control.set_delivery_mode(DeliveryMode::Hold);
    Json(json!(control.delivery_status()))
}

async fn auto(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let control = control(&shared);
    control.set_delivery_mode(DeliveryMode::Auto);
    Json(json!(control.delivery_status()))
}

/// `order`: `"as_is"`, `"reverse"`, `"shuffle"` (with `seed`) or a list of event ids.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OrderField {
    Events(Vec<EventId>),
    Word(ReleaseOrderWordField),
}

/// A release order word, read through the vocabulary so an unknown one lists the known ones
/// (serde's untagged enums would only say that nothing matched).
#[derive(Debug)]
struct ReleaseOrderWordField(Result<ReleaseOrderWord, String>);

impl<'de> Deserialize<'de> for ReleaseOrderWordField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        Ok(ReleaseOrderWordField(
            ReleaseOrderWord::parse_word(&word).map_err(|e| e.to_string()),
        ))
    }
}

/// `duplicate`: `true` (concurrent), `false`, or a mode.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DuplicateField {
    Flag(bool),
    Mode(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    order: Option<OrderField>,
    seed: Option<u64>,
    duplicate: Option<DuplicateField>,
    #[serde(default)]
    resume: bool,
    #[serde(default)]
    parallel: bool,
}

impl ReleaseRequest {
    fn into_release(self) -> ApiResult<Release> {
        let order = match self.order {
            None => ReleaseOrder::AsIs,
            Some(OrderField::Events(ids)) => ReleaseOrder::Events(ids),
            Some(OrderField::Word(ReleaseOrderWordField(word))) => {
                let word = word.map_err(|e| ApiError::invalid(e, Some("order")))?;
                ReleaseOrder::from_word(word, self.seed)
            }
        };
        let duplicate = match self.duplicate {
            None | Some(DuplicateField::Flag(false)) => None,
            Some(DuplicateField::Flag(true)) => Some(DuplicateMode::Concurrent),
            Some(DuplicateField::Mode(word)) => Some(
                DuplicateMode::parse_word(&word)
                    .map_err(|e| ApiError::invalid(e.to_string(), Some("duplicate")))?,
            ),
        };
        Ok(Release {
            order,
            duplicate,
            parallel: self.parallel,
            resume: self.resume,
        })
    }
}

/// `POST /_sim/webhooks/release`: sends held deliveries in the requested order.
async fn release(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let release = json_body::<ReleaseRequest>(&body)?.into_release()?;
    let control = control(&shared);
    let released = control.release(release).await?;
    Ok(Json(
        json!({ "released": released, "status": control.delivery_status() }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FaultsRequest {
    Many { faults: Vec<Value> },
    One(Value),
}

/// A fault read from JSON, with serde's message (which lists the known words) as a 400.
fn read_fault(value: Value) -> ApiResult<Fault> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid(format!("Invalid fault: {e}"), Some("fault")))
}

async fn add_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let faults = match json_body::<FaultsRequest>(&body)? {
        FaultsRequest::Many { faults } => faults
            .into_iter()
            .map(read_fault)
            .collect::<ApiResult<Vec<Fault>>>()?,
        FaultsRequest::One(fault) => vec![read_fault(fault)?],
    };
    let control = control(&shared);
    control.add_faults(faults)?;
    Ok(Json(json!(control.delivery_status())))
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "faults": control(&shared).faults() }))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let control = control(&shared);
    control.clear_faults();
    Json(json!(control.delivery_status()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverRequest {
    /// A registered endpoint (its URL and secrets)…
    endpoint: Option<String>,
    /// …or any URL with a secret.
    url: Option<String>,
    secret: Option<String>,
    /// An event already in the log…
    event_id: Option<String>,
    /// …or any JSON body, sent byte for byte as serialized here…
    event: Option<Value>,
    /// …or a raw body string.
    raw_body: Option<String>,
    /// `tamper`, `stale`, `wrong_secret`, `unsigned` or `bad_header`; none for a genuine signature.
    forgery: Option<Forgery>,
}

impl DeliverRequest {
    fn into_delivery(self) -> ApiResult<Delivery> {
        let to = match (self.endpoint, self.url, self.secret) {
            (Some(id), None, None) => DeliveryTarget::Endpoint(parse_id(
                &id,
                EndpointId::parse,
                "webhook_endpoint",
                "endpoint",
            )?),
            (None, Some(url), Some(secret)) => DeliveryTarget::Url { url, secret },
            (None, Some(_), None) => return Err(ApiError::missing_param("secret")),
            (None, None, _) => return Err(ApiError::missing_param("endpoint")),
            (Some(_), _, _) => {
                return Err(ApiError::invalid(
                    "Give either endpoint, or url and secret.",
                    Some("endpoint"),
                ))
            }
        };
        let body = match (self.event_id, self.event, self.raw_body) {
            (Some(id), None, None) => {
                DeliveryBody::Event(parse_id(&id, EventId::parse, "event", "event_id")?)
            }
            (None, Some(event), None) => DeliveryBody::Json(event),
            (None, None, Some(raw)) => DeliveryBody::Raw(raw),
            _ => {
                return Err(ApiError::invalid(
                    "Give exactly one of event_id, event or raw_body.",
                    Some("event_id"),
                ))
            }
        };
        Ok(Delivery {
            to,
            body,
            forgery: self.forgery,
        })
    }
}

/// `POST /_sim/webhooks/deliver`: one request, signed or forged, answered with what the endpoint
/// said. Not part of the delivery log or its retries.
async fn deliver(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let delivery = json_body::<DeliverRequest>(&body)?.into_delivery()?;
    let attempt = control(&shared).deliver(delivery).await?;
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
    let control = control(&shared);
    control.wait_for_deliveries(timeout).await;
    Ok(Json(json!(control.delivery_status())))
}

/// A whole number from the query string, or a 400 naming it.
fn query_integer(key: &str, value: &str) -> ApiResult<i64> {
    value
        .parse()
        .map_err(|_| ApiError::invalid_value(key, "integer", value))
}

/// `GET /_sim/deliveries?event=evt_…&endpoint=we_…&outcome=failed&created[gte]=…&limit=10
/// &starting_after=wd_…`: one page of the delivery log, newest first, as Stripe pages its lists.
async fn deliveries(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut filter = DeliveryFilter::default();
    let mut page = PageRequest {
        limit: 10,
        ..PageRequest::default()
    };
    for (key, value) in crate::form::parse(query.as_deref().unwrap_or_default())? {
        if key == "created" {
            match value {
                crate::form::FormValue::Text(at) => {
                    let at = query_integer("created", &at)?;
                    filter.since = Some(at);
                    filter.until = Some(at);
                }
                crate::form::FormValue::Map(range) => {
                    for (op, bound) in range {
                        let param = format!("created[{op}]");
                        let crate::form::FormValue::Text(bound) = bound else {
                            return Err(ApiError::invalid_value(&param, "integer", "a hash"));
                        };
                        let bound = query_integer(&param, &bound)?;
                        match op.as_str() {
                            "gt" => filter.since = Some(bound.saturating_add(1)),
                            "gte" => filter.since = Some(bound),
                            "lt" => filter.until = Some(bound.saturating_sub(1)),
                            "lte" => filter.until = Some(bound),
                            _ => return Err(ApiError::unknown_param(&param)),
                        }
                    }
                }
                crate::form::FormValue::List(_) => {
                    return Err(ApiError::invalid_value("created", "integer", "a list"))
                }
            }
            continue;
        }
        let crate::form::FormValue::Text(value) = value else {
            return Err(ApiError::invalid_value(&key, "string", "a hash or list"));
        };
        match key.as_str() {
            "event" => filter.event = Some(parse_id(&value, EventId::parse, "event", "event")?),
            "endpoint" => {
                filter.endpoint = Some(parse_id(
                    &value,
                    EndpointId::parse,
                    "webhook_endpoint",
                    "endpoint",
                )?)
            }
            "outcome" => {
                filter.outcome = Some(
                    RecordStatus::parse_word(&value)
                        .map_err(|e| ApiError::invalid(e.to_string(), Some("outcome")))?,
                )
            }
            "limit" => {
                let limit = query_integer("limit", &value)?;
                page.limit = usize::try_from(limit).unwrap_or(0);
                if page.limit == 0 {
                    return Err(ApiError::invalid(
                        format!("Invalid limit: must be between 1 and {MAX_DELIVERY_PAGE} (got {limit})"),
                        Some("limit"),
                    ));
                }
            }
            "starting_after" => page.starting_after = Some(value),
            "ending_before" => page.ending_before = Some(value),
            other => return Err(ApiError::unknown_param(other)),
        }
    }
    if page.starting_after.is_some() && page.ending_before.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            Some("ending_before"),
        ));
    }
    let found = control(&shared).delivery_page(&filter, &page)?;
    Ok(Json(json!({
        "object": "list",
        "data": found.data,
        "has_more": found.has_more,
        "url": "/_sim/deliveries",
        "dropped": found.dropped,
    })))
}

/// `GET /_sim/webhook_endpoints`: every endpoint with its current secret, its status and, when
/// the simulator disabled it, why.
async fn webhook_endpoints(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": control(&shared).webhook_endpoints(),
        "has_more": false,
        "url": "/_sim/webhook_endpoints",
    }))
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
    let event = parse_id(&id, EventId::parse, "event", "id")?;
    let endpoint = request
        .endpoint
        .map(|e| parse_id(&e, EndpointId::parse, "webhook_endpoint", "endpoint"))
        .transpose()?;
    let attempts = control(&shared).resend(&event, endpoint.as_ref()).await?;
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
    let endpoint = parse_id(&id, EndpointId::parse, "webhook_endpoint", "id")?;
    let rolled = control(&shared).roll_webhook_secret(
        &endpoint,
        request.expires_in.unwrap_or(DEFAULT_ROLL_OVERLAP),
    )?;
    let mut answer = json!(rolled);
    answer["object"] = json!("webhook_endpoint");
    Ok(Json(answer))
}

/// `POST /_sim/events/{id}/reissue` (also `…/duplicate`): a second Event object for the same
/// change, delivered as a new event (Stripe's "two separate Event objects").
async fn reissue_event(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let event = parse_id(&id, EventId::parse, "event", "id")?;
    let control = control(&shared);
    let reissued = control.reissue_event(&event)?;
    control
        .object(&reissued.id)
        .map(Json)
        .ok_or_else(|| ApiError::internal("the reissued event vanished"))
}
