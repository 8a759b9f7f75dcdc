//! `/_sim`: the control API for test drivers in any language (JSON in, JSON out, the same API
//! key as `/v1`). A thin adapter over [`crate::Control`]: each handler reads the wire JSON into
//! the control layer's typed values, calls one operation, and renders the answer. The Rust
//! [`crate::Simulator`] handle reaches the same operations directly.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::control::{parse_id, Control};
use crate::error::{ApiError, ApiResult};
use crate::form::{self, FormError, FormValue};
use crate::http::request::{authenticate, requested_version};
use crate::payment::{Buyer, CardInput, PaymentMethodInput};
use crate::shared::Shared;
use crate::typed_ids::{PaymentLinkId, SessionId};
use crate::versions::ApiVersion;

pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let protected = Router::new()
        .route("/_sim/checkout/sessions/{id}/pay", post(pay))
        .route("/_sim/payment_links/{id}/visit", post(visit))
        .route("/_sim/clock", get(clock))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/reset", post(reset))
        .route("/_sim/info", get(info))
        .merge(crate::http::webhook_control::router())
        .method_not_allowed_fallback(crate::http::request::unknown_route)
        .route_layer(middleware::from_fn_with_state(shared, require_key));
    Router::new()
        .route("/_sim/health", get(health))
        .merge(protected)
}

async fn require_key(
    State(shared): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    match authenticate(req.headers(), &shared.config.api_key) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Parses a JSON body, answering Stripe's envelope when it is malformed. An empty body is `{}`.
pub(crate) fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> ApiResult<T> {
    let text = if body.is_empty() {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON body: {e}"), None))
}

/// Like [`json_body`], but also takes the form encoding (`card=4242…`, `sepa_debit[iban]=…`) that
/// the official SDKs' raw-request helpers (stripe-node `rawRequest`, stripe-python
/// `raw_request`) send to any non-`/v2` path, so a driver can let its SDK parse the answer (a 402
/// becomes the SDK's own card error). Form values are strings.
pub(crate) fn json_or_form_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<T> {
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form || body.is_empty() {
        return json_body(body);
    }
    let text = std::str::from_utf8(body).map_err(|_| ApiError::from(FormError::NotUtf8))?;
    let fields = form::parse(text)?;
    let value = Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k, form_to_json(v)))
            .collect(),
    );
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid(format!("Invalid form body: {e}"), None))
}

fn form_to_json(value: FormValue) -> Value {
    match value {
        FormValue::Text(s) => Value::String(s),
        FormValue::List(items) => Value::Array(items.into_iter().map(form_to_json).collect()),
        FormValue::Map(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, form_to_json(v))).collect())
        }
    }
}

/// A card given as a bare number or as `{number, exp_month, exp_year, cvc}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CardField {
    Number(String),
    Details(CardInput),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SepaField {
    iban: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BankField {
    routing_number: String,
    account_number: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    card: Option<CardField>,
    sepa_debit: Option<SepaField>,
    us_bank_account: Option<BankField>,
    email: Option<String>,
    name: Option<String>,
}

impl PayRequest {
    fn method(self) -> ApiResult<(PaymentMethodInput, Buyer)> {
        let buyer = Buyer {
            email: self.email,
            name: self.name,
        };
        let method = match (self.card, self.sepa_debit, self.us_bank_account) {
            (Some(CardField::Number(n)), None, None) => {
                PaymentMethodInput::Card(CardInput::number(&n))
            }
            (Some(CardField::Details(c)), None, None) => PaymentMethodInput::Card(c),
            (None, Some(s), None) => PaymentMethodInput::SepaDebit { iban: s.iban },
            (None, None, Some(b)) => PaymentMethodInput::UsBankAccount {
                routing_number: b.routing_number,
                account_number: b.account_number,
            },
            _ => {
                return Err(ApiError::invalid(
                    "Give exactly one of card, sepa_debit or us_bank_account.",
                    Some("card"),
                ))
            }
        };
        Ok((method, buyer))
    }
}

/// The control layer for a request's simulator.
pub(crate) fn control(shared: &Arc<Shared>) -> Control {
    Control::new(shared.clone())
}

/// The API version an answer carrying Stripe objects is rendered at: the request's
/// `Stripe-Version` (an SDK's `rawRequest` sends its own), or the account's default.
fn version(shared: &Shared, headers: &HeaderMap) -> ApiResult<ApiVersion> {
    Ok(requested_version(headers)?.unwrap_or_else(|| shared.config.default_version()))
}

/// `POST /_sim/checkout/sessions/{id}/pay`: pays as the hosted page would; answers the session or
/// a 402 card error.
async fn pay(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let version = version(&shared, &headers)?;
    let (method, buyer) = json_or_form_body::<PayRequest>(&headers, &body)?.method()?;
    let session = parse_id(&id, SessionId::parse, "checkout.session", "session")?;
    let control = control(&shared);
    let paid = control
        .pay(&session, &method, &buyer)
        .map_err(|e| control.error_at(e, version))?;
    rendered(&control, &paid.id, version)
}

/// An object as the API renders it at `version`.
fn rendered(control: &Control, id: &str, version: ApiVersion) -> ApiResult<Json<Value>> {
    control
        .object_at(id, version)
        .map(Json)
        .ok_or_else(|| ApiError::internal(format!("{id} vanished")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitRequest {
    client_reference_id: Option<String>,
    prefilled_email: Option<String>,
}

/// `POST /_sim/payment_links/{id}/visit`: what `GET /b/{token}?client_reference_id=…` does, as
/// JSON: the new session (with the same silent dropping of an invalid `client_reference_id`).
async fn visit(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let version = version(&shared, &headers)?;
    let request: VisitRequest = json_or_form_body(&headers, &body)?;
    let link = parse_id(&id, PaymentLinkId::parse, "payment_link", "id")?;
    let control = control(&shared);
    let session = control.visit_link(
        &link,
        request.client_reference_id.as_deref(),
        request.prefilled_email.as_deref(),
    )?;
    rendered(&control, &session.id, version)
}

async fn clock(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(control(&shared).clock()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    seconds: i64,
}

/// `POST /_sim/clock/advance {"seconds": N}`: moves simulator time and runs what fell due.
async fn advance(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: AdvanceRequest = json_body(&body)?;
    let control = control(&shared);
    control.advance(request.seconds)?;
    Ok(Json(json!(control.clock())))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    /// Restart ids from this seed instead of the simulator's own.
    seed: Option<u64>,
}

/// `POST /_sim/reset {"seed": N}`: forget everything; the seed file and start-up endpoints are
/// applied again.
async fn reset(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: ResetRequest = json_body(&body)?;
    let seed = control(&shared).reset(request.seed)?;
    Ok(Json(json!({ "reset": true, "seed": seed })))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Settings and the seeded payment links, so a driver can find its way around.
async fn info(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(control(&shared).info()))
}
