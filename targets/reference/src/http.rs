//! The routes. Handlers are thin: they extract, call the library, and shape JSON.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::capture;
use crate::error::ApiError;
use crate::order::{NewOrder, Order};
use crate::webhook;

/// Every route of the target, ready to serve or to drive in-process with `tower::ServiceExt`.
pub fn router(state: AppState) -> Router {
    let literal_paths = state.config().literal_paths;
    let router = Router::new()
        .route("/health", get(health))
        .route("/api/orders", post(create_order))
        .route("/api/orders/capture", post(capture_order))
        .route("/api/orders/{id}", get(get_order))
        .route("/api/webhooks/stripe", post(stripe_webhook))
        .fallback(not_found)
        .with_state(state);
    if literal_paths {
        router.layer(axum::middleware::from_fn(match_literal_paths))
    } else {
        router
    }
}

/// A router that matches the path as sent finds no route for a percent-encoded one.
async fn match_literal_paths(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.uri().path().contains('%') {
        return not_found().await.into_response();
    }
    next.run(req).await
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn create_order(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let body = parse_json(&body)?;
    let new = NewOrder::from_json(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let order = new.into_order(state.next_order_id(), state.now_rfc3339());
    state.store().insert_order(&order)?;
    Ok((StatusCode::CREATED, Json(order)))
}

async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    state
        .order(&id)?
        .map(Json)
        .ok_or(ApiError::NotFound("order not found"))
}

async fn capture_order(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<capture::CaptureView>, ApiError> {
    let body = parse_json(&body)?;
    capture::capture(&state, &body).await.map(Json)
}

/// The body is taken as raw bytes: the signature covers the exact bytes Stripe sent, so it must
/// be checked before any parsing or re-serialisation.
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    let ack = webhook::receive(&state, signature, &body).await?;
    Ok(Json(webhook::ack_json(ack)))
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" })))
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}
