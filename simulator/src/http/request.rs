//! What every API request goes through: a request id, the API key check, the API version it
//! asks for (`Stripe-Version`), idempotency for POSTs, and the parsing of form parameters into
//! [`ApiRequest`].

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::error::ApiError;
use crate::form::{self, FormError};
use crate::ids::IdKind;
use crate::params::Params;
use crate::resources::event::RequestMeta;
use crate::shared::Shared;
use crate::store::IdempotencyRecord;
use crate::versions::{self, ApiVersion};

pub const API_KEY_HEADER_HELP: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

/// Longest idempotency key Stripe accepts.
const MAX_IDEMPOTENCY_KEY: usize = 255;

impl From<FormError> for ApiError {
    fn from(e: FormError) -> Self {
        ApiError::invalid(e.to_string(), e.param())
    }
}

/// A parsed API request: its parameters, its `expand[]` list, the API version its answer is
/// rendered at, and where it came from.
#[derive(Debug)]
pub struct ApiRequest {
    pub params: Params,
    pub expand: Vec<String>,
    pub version: ApiVersion,
    pub meta: RequestMeta,
}

/// The API version a request is answered at: its `Stripe-Version`, or the account's default.
#[derive(Debug, Clone, Copy)]
pub struct RequestedVersion(pub ApiVersion);

/// The version a request asks for with `Stripe-Version` (absent or empty: `None`); one Stripe
/// never published is refused in Stripe's words.
pub fn requested_version(headers: &HeaderMap) -> Result<Option<ApiVersion>, ApiError> {
    match headers.get("stripe-version") {
        None => Ok(None),
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            versions::parse_or_invalid(text).map(Some)
        }
    }
}

impl FromRequest<Arc<Shared>> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let meta = req
            .extensions()
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_default();
        let version = req
            .extensions()
            .get::<RequestedVersion>()
            .map(|v| v.0)
            .unwrap_or_else(|| shared.config.default_version());
        let query = req.uri().query().unwrap_or_default().to_string();
        let is_json = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let limit = shared.config.max_body_bytes;
        let bytes = to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::body_too_large(limit))?;
        let mut fields = form::parse(&query)?;
        if !bytes.is_empty() {
            if is_json {
                return Err(ApiError::invalid(
                    "Invalid request: the Stripe API takes application/x-www-form-urlencoded bodies, not JSON.",
                    None,
                ));
            }
            let text =
                std::str::from_utf8(&bytes).map_err(|_| ApiError::from(FormError::NotUtf8))?;
            fields.extend(form::parse(text)?);
        }
        let mut params = Params::new(fields);
        let expand = params.string_list("expand")?.unwrap_or_default();
        Ok(ApiRequest {
            params,
            expand,
            version,
            meta,
        })
    }
}

/// The key from `Authorization: Bearer sk_…` or HTTP Basic with the key as user name.
pub(crate) fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    if let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        return Some(token.trim().to_string());
    }
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_string())
}

/// `sk_test_****abcd`, as Stripe redacts keys in messages.
fn redact(key: &str) -> String {
    let visible: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let prefix = if key.starts_with("sk_test_") {
        "sk_test_"
    } else if key.starts_with("sk_live_") {
        "sk_live_"
    } else {
        ""
    };
    format!(
        "{prefix}{}{visible}",
        "*".repeat(key.len().saturating_sub(prefix.len() + 4).min(24))
    )
}

/// Checks the API key: missing or unknown gets 401, and a live key is refused outright.
pub fn authenticate(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let Some(key) = presented_key(headers).filter(|k| !k.is_empty()) else {
        return Err(ApiError::authentication(API_KEY_HEADER_HELP));
    };
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
        return Err(ApiError::authentication(format!(
            "stripe-sim refuses live-mode keys ({}): it is a test simulator and must never be mistaken for production. Use a sk_test_ key.",
            redact(&key)
        )));
    }
    if key != expected {
        return Err(ApiError::authentication(format!(
            "Invalid API Key provided: {}",
            redact(&key)
        )));
    }
    Ok(())
}

/// Stamps `Request-Id` and `Stripe-Version` (the version the answer is rendered at), checks the
/// key and the version asked for, and makes POSTs idempotent.
pub async fn api_layer(
    State(shared): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let request_id = shared.with_store(|s, _| s.request_ids.id(IdKind::Request));
    let mut version = shared.config.default_version();
    let checked = authenticate(req.headers(), &shared.config.api_key)
        .and_then(|()| requested_version(req.headers()));
    let mut response = match checked {
        Err(e) => e.into_response(),
        Ok(requested) => {
            version = requested.unwrap_or(version);
            req.extensions_mut().insert(RequestedVersion(version));
            let key = req
                .headers()
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            req.extensions_mut().insert(RequestMeta {
                id: Some(request_id.clone()),
                idempotency_key: key.clone(),
            });
            match key {
                Some(key) if req.method() == Method::POST => {
                    idempotent(&shared, key, req, next).await
                }
                _ => next.run(req).await,
            }
        }
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", v);
    }
    headers.insert("stripe-version", HeaderValue::from_static(version.as_str()));
    response
}

enum Decision {
    Run,
    Replay(u16, Vec<u8>),
    Refuse(ApiError),
}

/// Runs a POST under an idempotency key: the first answer (success or card error) is kept and
/// replayed for the same parameters; other parameters get `idempotency_error`; a request still
/// in flight with the same key gets 409. Validation errors are not kept, as on Stripe, so a
/// corrected retry can succeed.
async fn idempotent(shared: &Arc<Shared>, key: String, req: Request, next: Next) -> Response {
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return ApiError::invalid(
            format!("Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters long."),
            None,
        )
        .into_response();
    }
    let (parts, body) = req.into_parts();
    let limit = shared.config.max_body_bytes;
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::body_too_large(limit).into_response();
    };
    let params = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| form::parse(text).ok())
        .map(|p| form::canonical(&p))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let fingerprint = format!(
        "{} {}?{} {}",
        parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        params
    );
    let decision = shared.with_store(|store, _| match store.idempotency.get(&key) {
        None => {
            store.idempotency.insert(
                key.clone(),
                IdempotencyRecord::InFlight {
                    fingerprint: fingerprint.clone(),
                },
            );
            Decision::Run
        }
        Some(IdempotencyRecord::InFlight { fingerprint: first }) => {
            Decision::Refuse(if *first == fingerprint {
                ApiError::idempotency_in_flight(&key)
            } else {
                ApiError::idempotency_mismatch(&key)
            })
        }
        Some(IdempotencyRecord::Done {
            fingerprint: first,
            status,
            body,
        }) => {
            if *first == fingerprint {
                Decision::Replay(*status, body.clone())
            } else {
                Decision::Refuse(ApiError::idempotency_mismatch(&key))
            }
        }
    });
    match decision {
        Decision::Refuse(e) => e.into_response(),
        Decision::Replay(status, body) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Decision::Run => {
            let req = Request::from_parts(parts, Body::from(bytes));
            let response = next.run(req).await;
            let (parts, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let status = parts.status.as_u16();
            let keep = parts.status.is_success() || status == 402;
            shared.with_store(|store, _| {
                if keep {
                    store.idempotency.insert(
                        key.clone(),
                        IdempotencyRecord::Done {
                            fingerprint,
                            status,
                            body: body.to_vec(),
                        },
                    );
                } else {
                    store.idempotency.remove(&key);
                }
            });
            Response::from_parts(parts, Body::from(body))
        }
    }
}

/// Any URL the simulator does not serve.
pub async fn unknown_route(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::unknown_route(method.as_str(), uri.path()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_auth_both_carry_the_key() {
        assert!(authenticate(&headers("Bearer sk_test_abc"), "sk_test_abc").is_ok());
        let basic = base64::engine::general_purpose::STANDARD.encode("sk_test_abc:");
        assert!(authenticate(&headers(&format!("Basic {basic}")), "sk_test_abc").is_ok());
    }

    #[test]
    fn missing_unknown_and_live_keys_are_refused() {
        let e = authenticate(&HeaderMap::new(), "sk_test_abc").unwrap_err();
        assert_eq!(e.status, 401);
        let e = authenticate(&headers("Bearer sk_test_other1234"), "sk_test_abc").unwrap_err();
        assert!(
            e.message.starts_with("Invalid API Key provided: sk_test_"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("1234"));
        let e = authenticate(&headers("Bearer sk_live_abcdef"), "sk_live_abcdef").unwrap_err();
        assert!(
            e.message.contains("refuses live-mode keys"),
            "{}",
            e.message
        );
    }
}
