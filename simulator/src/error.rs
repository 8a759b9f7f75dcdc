//! Stripe's error envelope: `{"error": {"type", "code", "message", "param", …}}`.
//!
//! Every failure the API can answer with is an [`ApiError`], built by one of the constructors
//! below so that messages, codes and HTTP statuses stay the ones Stripe uses. The official SDKs
//! turn the status and `type` into their typed errors (`StripeInvalidRequestError`,
//! `StripeCardError`, `AuthenticationError`, …), so both must be right.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The `type` field of a Stripe error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    ApiError,
    CardError,
    IdempotencyError,
    InvalidRequestError,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::ApiError => "api_error",
            ErrorType::CardError => "card_error",
            ErrorType::IdempotencyError => "idempotency_error",
            ErrorType::InvalidRequestError => "invalid_request_error",
        }
    }
}

/// An error answer of the API, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub decline_code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// Further fields of the envelope (`payment_intent`, `charge`, `doc_url`, …).
    pub extra: Box<Map<String, Value>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.message, self.kind.as_str())?;
        if let Some(code) = &self.code {
            write!(f, ", {code}")?;
        }
        write!(f, ", HTTP {})", self.status)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: u16, kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            code: None,
            decline_code: None,
            message: message.into(),
            param: None,
            extra: Box::default(),
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.extra.insert(
            "doc_url".into(),
            Value::String(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            )),
        );
        self.code = Some(code);
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// 400 `invalid_request_error` with a message and the parameter it is about.
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut e = ApiError::new(400, ErrorType::InvalidRequestError, message);
        e.param = param.map(str::to_string);
        e
    }

    pub fn missing_param(param: &str) -> Self {
        ApiError::invalid(format!("Missing required param: {param}."), Some(param))
            .with_code("parameter_missing")
    }

    pub fn unknown_param(param: &str) -> Self {
        ApiError::invalid(format!("Received unknown parameter: {param}"), Some(param))
            .with_code("parameter_unknown")
    }

    /// 400 for a value of the wrong type: "Invalid integer: abc".
    pub fn invalid_value(param: &str, kind: &str, value: &str) -> Self {
        let e = ApiError::invalid(format!("Invalid {kind}: {value}"), Some(param));
        match kind {
            "integer" | "positive integer" | "non-negative integer" => {
                e.with_code("parameter_invalid_integer")
            }
            "array" => e.with_code("parameter_invalid_array"),
            "hash" => e.with_code("parameter_invalid_object"),
            _ => e,
        }
    }

    /// 404 `resource_missing`: "No such checkout.session: 'cs_…'".
    pub fn no_such(object: &str, id: &str, param: &str) -> Self {
        let mut e = ApiError::new(
            404,
            ErrorType::InvalidRequestError,
            format!("No such {object}: '{id}'"),
        )
        .with_code("resource_missing");
        e.param = Some(param.to_string());
        e
    }

    /// 404 for a URL the API does not have.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        ApiError::new(
            404,
            ErrorType::InvalidRequestError,
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            ),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        ApiError::new(
            405,
            ErrorType::InvalidRequestError,
            format!("Unrecognized request URL ({method}: {path}). This URL exists but does not accept {method}."),
        )
    }

    /// 401: no key, an unknown key, or a live key.
    pub fn authentication(message: impl Into<String>) -> Self {
        ApiError::new(401, ErrorType::InvalidRequestError, message)
    }

    /// 402 `card_error` with Stripe's code, decline code and message.
    pub fn card(code: &'static str, decline_code: Option<&'static str>, message: &str) -> Self {
        let mut e = ApiError::new(402, ErrorType::CardError, message).with_code(code);
        e.decline_code = decline_code;
        e
    }

    /// 400 `idempotency_error`: a key reused with other parameters.
    pub fn idempotency_mismatch(key: &str) -> Self {
        ApiError::new(
            400,
            ErrorType::IdempotencyError,
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    /// 409: the same idempotency key is already being processed.
    pub fn idempotency_in_flight(key: &str) -> Self {
        ApiError::new(
            409,
            ErrorType::IdempotencyError,
            format!(
                "There is currently another in-progress request using this Idempotency-Key ('{key}'). That probably means you submitted twice, and the other request is still going through. Please try again later."
            ),
        )
    }

    /// 409 for a state conflict on an object.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(409, ErrorType::InvalidRequestError, message)
    }

    pub fn body_too_large(limit: usize) -> Self {
        ApiError::new(
            413,
            ErrorType::InvalidRequestError,
            format!("Request body too large: the limit is {limit} bytes."),
        )
    }

    /// 408: the request's body did not arrive within the body timeout.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        ApiError::new(
            408,
            ErrorType::InvalidRequestError,
            format!(
                "Request body timed out: the whole body must arrive within {} ms of the request's headers.",
                limit.as_millis()
            ),
        )
    }

    /// 400 once the simulator stores `--max-objects` objects: reads, deletes and resets still
    /// work. Not a 429, which the SDKs would retry for ever.
    pub fn store_full(max: usize) -> Self {
        let mut error = ApiError::new(
            400,
            ErrorType::InvalidRequestError,
            format!(
                "stripe-sim is full: it stores at most {max} objects (--max-objects), so it refuses new writes. Reads and deletes still work; POST /_sim/reset empties it, or restart it with a larger --max-objects."
            ),
        );
        // Not one of Stripe's codes, so no `doc_url` pointing at Stripe's docs.
        error.code = Some("simulator_full");
        error
    }

    /// 503: the state file could not be written, so the change is not durable.
    pub fn state_not_saved(message: impl Into<String>) -> Self {
        ApiError::new(
            503,
            ErrorType::ApiError,
            format!(
                "stripe-sim could not save this change to its state file: {}",
                message.into()
            ),
        )
    }

    /// 500: only for a bug in the simulator itself; never expected.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, ErrorType::ApiError, message)
    }

    /// The JSON envelope.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        if let Some(code) = &self.code {
            error.insert("code".into(), json!(code));
        }
        if let Some(decline) = &self.decline_code {
            error.insert("decline_code".into(), json!(decline));
        }
        for (k, v) in self.extra.iter() {
            error.insert(k.clone(), v.clone());
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        error.insert(
            "request_log_url".into(),
            json!("https://dashboard.stripe.com/test/logs"),
        );
        error.insert("type".into(), json!(self.kind.as_str()));
        json!({ "error": Value::Object(error) })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_resource_uses_stripes_wording_and_code() {
        let e = ApiError::no_such("checkout.session", "cs_test_x", "session");
        assert_eq!(e.status, 404);
        let body = e.body();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "resource_missing");
        assert_eq!(
            body["error"]["message"],
            "No such checkout.session: 'cs_test_x'"
        );
        assert_eq!(body["error"]["param"], "session");
    }

    #[test]
    fn card_errors_carry_decline_codes() {
        let e = ApiError::card(
            "card_declined",
            Some("insufficient_funds"),
            "Your card has insufficient funds.",
        );
        assert_eq!(e.status, 402);
        let body = e.body();
        assert_eq!(body["error"]["type"], "card_error");
        assert_eq!(body["error"]["decline_code"], "insufficient_funds");
        assert_eq!(
            body["error"]["doc_url"],
            "https://stripe.com/docs/error-codes/card-declined"
        );
    }
}
