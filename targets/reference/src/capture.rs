//! The return route, `POST /api/orders/capture`: UX only.
//!
//! After paying, the buyer lands on the billing page with `session_id`; the page calls this to
//! show something immediately. Anyone can call it with any session id and the buyer may never
//! arrive at all, so it only *reads*: the webhook alone changes orders.

use serde::Serialize;
use serde_json::Value;

use crate::app::AppState;
use crate::defect::{Defect, DefectExt};
use crate::error::ApiError;
use crate::order::OrderStatus;
use crate::rules::Update;
use crate::stripe_api::StripeApiError;
use crate::stripe_objects::SessionStatus;

/// The answer: what Stripe says about the session and what our order says now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureView {
    /// The session's `client_reference_id` (our order id), if it has one.
    pub order_id: Option<String>,
    /// `open` | `complete` | `expired`.
    pub session_status: &'static str,
    /// `paid` | `unpaid` | `no_payment_required`.
    pub payment_status: &'static str,
    /// The order's current status, or null when no order has that id.
    pub order_status: Option<OrderStatus>,
}

/// Handles a request body `{"session_id": "cs_…"}`.
pub async fn capture(state: &AppState, body: &Value) -> Result<CaptureView, ApiError> {
    let session_id = body
        .get("session_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::BadRequest("session_id is required".into()))?;
    // The id goes into a Stripe URL path; Stripe ids are only letters, digits and `_`.
    if !session_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(ApiError::BadRequest("session_id is not a Stripe id".into()));
    }
    let session = match state.stripe().retrieve_session(session_id).await {
        Ok(session) => session,
        Err(StripeApiError::NotFound) => {
            return Err(ApiError::NotFound("checkout session not found"))
        }
        Err(err) => return Err(ApiError::BadGateway(err.to_string())),
    };
    let order_id = session.client_reference_id.clone();
    if let Some(id) = &order_id {
        // DEFECT(capture_trusts): the return page is treated as proof of payment. A session is
        // `complete` as soon as a delayed debit is *submitted* (payment_status unpaid), and the
        // amount is never compared, so a cheap session for our order id unlocks it.
        if state.defect().is(Defect::CaptureTrusts) && session.status == SessionStatus::Complete {
            let now = state.now_rfc3339();
            let update = Update {
                status: OrderStatus::Paid,
                provider_order_id: Some(session.id.clone()),
                provider_capture_id: session.payment_intent.clone(),
            };
            state.store().write(|tx| tx.apply(id, &update, &now))?;
        }
    }
    let order_status = match &order_id {
        Some(id) => state.order(id)?.map(|order| order.status),
        None => None,
    };
    Ok(CaptureView {
        order_id,
        session_status: session.status.as_str(),
        payment_status: session.payment_status.as_str(),
        order_status,
    })
}
