//! What every request goes through for bounded, durable state: a write is refused once the
//! store is full (`--max-objects`), and with `--state` an answer waits until the change it
//! reports is committed to the state file ("a request answered 2xx is on disk").
//!
//! Without `--max-objects` and `--state` this layer does nothing but pass the request on.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::shared::Shared;

/// Whether a request may create objects: a POST to the Stripe API, or a buyer on a hosted page
/// (opening a payment link makes a session). The control API's `pay`, `visit` and `reissue`
/// check for themselves, in the control layer.
fn creates_objects(method: &Method, path: &str) -> bool {
    (method == Method::POST && path.starts_with("/v1/"))
        || path.starts_with("/b/")
        || (method == Method::POST && path.starts_with("/c/pay/"))
}

pub async fn state_layer(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if shared.config.retention.max_objects.is_some()
        && creates_objects(req.method(), req.uri().path())
    {
        if let Err(e) = shared.with_store(|store, _| store.admit_write()) {
            return e.into_response();
        }
    }
    let (response, written) = shared.written_by_this_request(next.run(req)).await;
    match written {
        Ok(()) => response,
        Err(message) => ApiError::state_not_saved(message).into_response(),
    }
}
