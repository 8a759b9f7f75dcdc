//! Stripe's error envelope for the answers axum's own extractors make.
//!
//! Our handlers answer errors as [`ApiError`]s, but a rejection raised before a handler runs (a
//! body over the limit for the `Bytes` extractor, a path or query that does not decode) is
//! axum's plain-text answer. SDKs parse every error as `{"error": {…}}`, so those are rewritten
//! here: a 413 becomes [`ApiError::body_too_large`], any other plain-text 4xx an
//! `invalid_request_error` with axum's text as the message. HTML pages and JSON pass untouched.

use axum::body::to_bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The longest rejection text read into a message; axum's are a line or two.
const MAX_REJECTION_TEXT: usize = 4096;

/// Rewrites a plain-text error answer into Stripe's envelope; `limit` is the body limit to quote
/// in a 413.
pub async fn plain_errors_as_envelopes(response: Response, limit: usize) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::body_too_large(limit).into_response();
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let mut error = ApiError::invalid(
        if text.is_empty() {
            "Invalid request.".to_string()
        } else {
            text
        },
        None,
    );
    error.status = parts.status.as_u16();
    let mut rewritten = error.into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}
