//! The HTTP error type: every failure becomes a status code and `{"error": "…"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::signature::SignatureError;
use crate::store::StoreError;

/// The body of a 503 for a refund that arrived before its payment.
pub const RETRY_REFUND: &str = "payment not known yet; retry";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the webhook is not provably from Stripe. The reason is logged, not returned, so a
    /// forger learns nothing from the answer.
    #[error("invalid signature")]
    InvalidSignature(#[source] SignatureError),
    /// 404.
    #[error("{0}")]
    NotFound(&'static str),
    /// 502: Stripe could not answer a read the client is waiting for.
    #[error("{0}")]
    BadGateway(String),
    /// 503: Stripe should deliver this webhook again later.
    #[error("{0}")]
    RetryLater(&'static str),
    /// 500: our database failed; Stripe will retry.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidSignature(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::RetryLater(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::InvalidSignature(reason) => {
                crate::log::line(format_args!("webhook rejected: {reason}"));
            }
            ApiError::Store(err) => crate::log::line(format_args!("{err}")),
            ApiError::BadGateway(reason) => crate::log::line(format_args!("{reason}")),
            _ => {}
        }
        (self.status(), Json(json!({ "error": self.to_string() }))).into_response()
    }
}
